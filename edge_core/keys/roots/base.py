"""The one interface every home of the root key implements.

Like Electrum's keystores: the vault never asks *where* the root is, only for a
:class:`RootKey` that can wrap and unwrap. A keychain entry, an environment
variable, a file and a PKCS#11 token are plugins behind this interface,
chosen by priority (python-keyring style). A root that cannot leave its store
(an HSM key) fits too, because nothing outside a store ever needs the bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from edge_core.errors import VaultLocked
from edge_core.keys import material
from edge_core.keys.secret import Secret


class RootKey(ABC):
    """A root key (L1), usable only for wrapping the keys directly below it."""

    @property
    @abstractmethod
    def kid(self) -> str:
        """Public, stable id, recorded beside everything wrapped with this root."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """What a person compares by eye; reveals nothing about the key."""

    @abstractmethod
    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt and authenticate a lower key, bound to ``aad``."""

    @abstractmethod
    def unwrap(self, blob: bytes, aad: bytes) -> Secret | None:
        """Inverse of :meth:`wrap`; ``None`` if this root did not wrap ``blob`` for ``aad``."""

    def forget(self) -> None:
        """Overwrite the root's bytes if this process holds them (the vault closed); a root in hardware has none."""


class SoftwareRootKey(RootKey):
    """A root whose 32 bytes are in this process's memory (keychain, variable, file), in a :class:`Secret`."""

    def __init__(self, key: Secret | bytes) -> None:
        if len(key) != material.KEY_BYTES:
            raise ValueError("a root key is 32 bytes")
        # a key typed or imported as bytes is copied: that copy is ours to overwrite, the caller's is not
        self._key: Secret | None = key if isinstance(key, Secret) else Secret(key)
        self._kid = material.key_id(key)
        self._fingerprint = material.fingerprint(key)

    @property
    def kid(self) -> str:
        return self._kid

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return material.aead_wrap(self.secret_bytes(), plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> Secret | None:
        return material.aead_unwrap(self.secret_bytes(), blob, aad)

    def forget(self) -> None:
        """Overwrite the key; from then on this object refuses to be used (never a wrap under zeros)."""
        if self._key is not None:
            self._key.wipe()
            self._key = None

    def secret_bytes(self) -> Secret:
        """The raw key, for a store that must persist it. Never log or print it."""
        if self._key is None:
            raise VaultLocked("the vault was closed and its root key overwritten; open it again")
        return self._key

    def __repr__(self) -> str:  # never the bytes, even in a debugger or a traceback
        return f"SoftwareRootKey(kid={self._kid})"


class MonotonicCounter(Protocol):
    """A counter in hardware that only ever goes up: what a copy of a folder or a state file cannot bring back."""

    def value(self) -> int | None:
        """The counter now; ``None`` while it was never counted."""

    def bump(self) -> None:
        """Count one up (made on the first bump)."""

    def describe(self) -> str:
        """Where it is, for a person."""

    def forget(self) -> None:
        """Delete it (the root left the hardware): records made after that carry no counter to be held to."""


class RootStore(ABC):
    """A place a root key can live. Stores are tried in ``priority`` order, highest first."""

    #: short machine name shown in status: "keychain", "environment", "file", "pkcs11"
    name: str
    priority: int
    #: whether FaceSeal can replace or destroy the root here (not an environment variable)
    mutable: bool = True
    #: whether the root never leaves a hardware token: no recovery kit, no import, keys made inside it
    in_hardware: bool = False
    #: whether this is the 0600 fallback file (a reset removes a stale copy of an old root from it otherwise)
    is_fallback_file: bool = False

    @abstractmethod
    def available(self) -> bool:
        """Whether this store can be used on this machine at all."""

    @abstractmethod
    def describe(self) -> str:
        """One line for a person: where exactly the root lives."""

    def notice(self) -> str | None:
        """What a person must be told about keeping the root here (and how to do better), or ``None``."""
        return None

    @abstractmethod
    def load(self) -> RootKey | None:
        """The root held here, or ``None`` if this store holds none."""

    @abstractmethod
    def generate(self) -> RootKey:
        """A new root that is *not yet* the active one: :meth:`activate` makes it so.

        Splitting the two lets a rotation wrap everything under the new root
        before the single step that switches over.
        """

    @abstractmethod
    def activate(self, key: RootKey) -> None:
        """Make ``key`` the root of this store in one atomic step, replacing the old one."""

    @abstractmethod
    def destroy(self) -> bool:
        """Destroy the root held here; ``True`` if there was one."""

    def destroy_stale(self, kids: set[str], proven: Callable[[RootKey], bool]) -> None:
        """Destroy a root held here whose kid is in ``kids`` and that ``proven`` shows was this vault's own.

        Called on open with the kids that still have wraps but are not the active
        root, so a switch killed between activating the new root and destroying
        the old one is finished: the old root never outlives the switch. The kids
        come from the key store, a file anyone who can write the data folder can
        edit, so a kid alone never destroys anything: ``proven`` must show the
        root wrapped this vault's own keys (issue 25: a planted kid destroyed
        another vault's HSM root).
        """
        if not self.mutable:
            return
        key = self.load()
        if key is not None and key.kid in kids and proven(key):
            self.destroy()

    def close(self) -> None:
        """Release whatever the store holds open (an HSM session); software stores hold nothing."""

    def monotonic_counter(self, label: str) -> MonotonicCounter | None:
        """A hardware counter for the vault named by ``label`` (its rollback anchor), if this store has one."""
        return None

    def created_at(self) -> datetime | None:
        """When the active root was made, if the store knows (the key store records it too)."""
        return None
