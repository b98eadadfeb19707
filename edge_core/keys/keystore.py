"""The key-store file: the keys just below the root, wrapped by the root.

``<data>/keys/keystore.json`` holds, for each root that is (or, during a
rotation, is about to become) active, the database key and every live vault key
version wrapped under that root. Nothing in it is usable without the root.

Authenticated (issue 25): the file is plain JSON in a folder others may be able
to write (a synced backup, a shared machine), and its fields decide things (a
``revoked`` record makes the root be destroyed, ``recovery_kit`` silences the
kill switch's warning, ``wraps`` names roots). So the whole document carries
``mac``: HMAC-SHA256 under ``HKDF(database key, "faceseal/keystore-mac/v1")``
over its canonical JSON. Only a holder of the root can unwrap the database key,
so only a holder of the root can write a store that verifies. A store made
before this rule has no ``mac``; the first open by the root holder adds it and
records in the encrypted database that every later store must carry one
(:func:`edge_core.vault.store.authenticate_keystore`).

Why per root: a rotation first adds wraps under the new root, then switches the
root in its store (one atomic step), then drops the old wraps. A process killed
at any instant finds the wraps for whichever root its store holds.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from edge_core.errors import DataDirUnreadable, KeyStoreTampered, WrongRootKey
from edge_core.keys import material
from edge_core.keys.roots import RootKey
from edge_core.keys.secret import Secret
from edge_core.support import paths
from edge_core.support.canonical import canonical_json

FILENAME = "keystore.json"
FORMAT = 1
DATABASE = "database"
MAX_BYTES = 1 << 20
TAMPERED = ("the key store {path} was changed outside FaceSeal (its authentication tag {how}); FaceSeal acted on "
            "none of its fields, destroyed nothing and changed nothing: restore it from a backup")


def vault_slot(version: int) -> str:
    return f"vault/{version}"


def _aad(slot: str) -> bytes:
    return f"faceseal/keystore/v1:{slot}".encode()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _optional_facts(value: object) -> dict[str, str] | None:
    """A small record of public facts, or ``None``; anything else is a damaged store."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("facts")
    return dict(value)


@dataclass
class UnlockedKeys:
    """The L2 keys in memory: the database key and the vault keys by version, each a :class:`Secret`."""

    database: Secret
    vault: dict[int, Secret]

    @property
    def primary_version(self) -> int:
        return max(self.vault)

    def wipe(self) -> None:
        """Overwrite every key (the vault closed or locked): whoever still held one sees zeros, never the key."""
        self.database.wipe()
        for key in self.vault.values():
            key.wipe()


@dataclass
class KeyStore:
    """What the file says: public facts in the clear, keys only wrapped."""

    wraps: dict[str, dict[str, str]] = field(default_factory=dict)  # kid -> slot -> b64 blob
    root_created: dict[str, str] = field(default_factory=dict)  # kid -> ISO time
    vault_created: dict[int, str] = field(default_factory=dict)  # version -> ISO time
    audit_inbox_public_key: str = ""
    #: the last recovery kit written: {"kid", "fingerprint", "exported_at"}; a kit holds one root only
    recovery_kit: dict[str, str] | None = None
    #: set by the kill switch: {"kid", "fingerprint", "revoked_at"}; nothing opens while it is
    revoked: dict[str, str] | None = None
    #: HMAC-SHA256 (hex) of every other field, under a key derived from the database key; ``None`` before issue 25
    mac: str | None = None

    # ---- file -------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "KeyStore":
        """The store as the file says, unauthenticated: act on its fields only after :meth:`check`."""
        try:
            data = paths.read_private(path, MAX_BYTES, private=False)  # wrapped keys only: never via a link
            if data is None:
                raise FileNotFoundError(path)
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError("format")
            if not isinstance(raw.get("mac", ""), str):
                raise ValueError("mac")
            store = cls(
                wraps={k: dict(v) for k, v in raw["wraps"].items()},
                root_created=dict(raw["root_created"]),
                vault_created={int(k): v for k, v in raw["vault_created"].items()},
                audit_inbox_public_key=raw["audit_inbox_public_key"],
                recovery_kit=_optional_facts(raw.get("recovery_kit")),
                revoked=_optional_facts(raw.get("revoked")),
                mac=raw.get("mac"),
            )
            for slots in store.wraps.values():
                for blob in slots.values():
                    base64.b64decode(blob, validate=True)
            return store
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DataDirUnreadable(
                f"the key store {path} is damaged; FaceSeal left it as it is. "
                "Restore the data directory from a backup"
            ) from None

    @classmethod
    def load_authentic(cls, path: Path, database_key: bytes, legacy: bool = False) -> "KeyStore":
        """The store, refused (:class:`KeyStoreTampered`) unless its tag holds; ``legacy``: a store with none passes."""
        store = cls.load(path)
        store.check(path, database_key, legacy)
        return store

    def check(self, path: Path, database_key: bytes, legacy: bool = False) -> None:
        """Refuse a store whose tag does not hold (or, unless ``legacy``, that has none)."""
        state = self.authentic(database_key)
        if state is False:
            raise KeyStoreTampered(TAMPERED.format(path=path, how="does not match its fields"))
        if state is None and not legacy:
            raise KeyStoreTampered(TAMPERED.format(path=path, how="was removed"))

    def authentic(self, database_key: bytes) -> bool | None:
        """Whether the tag holds under ``database_key``; ``None`` when the store has no tag (made before issue 25)."""
        if self.mac is None:
            return None
        return material.same_secret(self._tag(database_key).encode(), self.mac.encode())

    def _doc(self) -> dict:
        doc = {
            "format": FORMAT,
            "wraps": self.wraps,
            "root_created": self.root_created,
            "vault_created": {str(k): v for k, v in sorted(self.vault_created.items())},
            "audit_inbox_public_key": self.audit_inbox_public_key,
        }
        # Written only when set, so a store that never used them keeps its exact old form.
        if self.recovery_kit is not None:
            doc["recovery_kit"] = self.recovery_kit
        if self.revoked is not None:
            doc["revoked"] = self.revoked
        return doc

    def _tag(self, database_key: bytes) -> str:
        mac = crypto_hmac.HMAC(material.hkdf(database_key, b"faceseal/keystore-mac/v1"), hashes.SHA256())
        mac.update(canonical_json(self._doc()))
        return mac.finalize().hex()

    def save(self, path: Path, database_key: bytes) -> None:
        """Write the store with its tag under ``database_key`` (only a holder of the root has it)."""
        self.mac = self._tag(database_key)
        paths.atomic_write(path, json.dumps({**self._doc(), "mac": self.mac}, indent=1, sort_keys=True).encode())

    # ---- keys -------------------------------------------------------------
    def unlock(self, root: RootKey) -> UnlockedKeys:
        """Unwrap every L2 key with ``root``; a root this store does not know is refused."""
        slots = self.wraps.get(root.kid)
        if not slots:
            raise WrongRootKey(
                "the root key found is not the one this data was sealed with "
                f"(root fingerprint {root.fingerprint})"
            )
        keys: dict[str, Secret] = {}
        for slot, blob in slots.items():
            plain = root.unwrap(base64.b64decode(blob), _aad(slot))
            if plain is None:
                raise WrongRootKey("the key store does not open with this root key (edited or foreign)")
            keys[slot] = plain
        vault = {int(s.split("/", 1)[1]): k for s, k in keys.items() if s.startswith("vault/")}
        if DATABASE not in keys or not vault:
            raise DataDirUnreadable("the key store is incomplete; FaceSeal left it as it is")
        return UnlockedKeys(database=keys[DATABASE], vault=vault)

    def wrapped_by(self, root: RootKey, database_key: bytes) -> bool:
        """Whether ``root`` opens its wrap of the database key here and finds ``database_key``: proof it was this vault's root.

        A kid in :attr:`wraps` proves nothing (anyone who can write the file can
        add one, or copy another vault's wraps under that vault's kid); only this
        vault's own database key, which nobody outside the vault knows, does.
        """
        blob = self.wraps.get(root.kid, {}).get(DATABASE)
        if blob is None:
            return False
        plain = root.unwrap(base64.b64decode(blob), _aad(DATABASE))
        return plain is not None and material.same_secret(plain, database_key)

    def add_root(self, root: RootKey, keys: UnlockedKeys, versions: set[int] | None = None) -> None:
        """Wrap the database key and the given vault versions (default: all) under ``root``."""
        keep = set(keys.vault) if versions is None else versions
        slots = {DATABASE: base64.b64encode(root.wrap(keys.database, _aad(DATABASE))).decode()}
        for version in sorted(keep):
            slot = vault_slot(version)
            slots[slot] = base64.b64encode(root.wrap(keys.vault[version], _aad(slot))).decode()
        self.wraps[root.kid] = slots
        self.root_created.setdefault(root.kid, now_iso())

    def add_vault_version(self, root: RootKey, version: int, key: bytes) -> None:
        """Add a vault key version under the active root (a deep rotation's first step)."""
        slot = vault_slot(version)
        self.wraps[root.kid][slot] = base64.b64encode(root.wrap(key, _aad(slot))).decode()
        self.vault_created[version] = now_iso()

    def keep_only(self, kid: str) -> None:
        """Drop every wrap but those under ``kid``: the last step of a rotation."""
        self.wraps = {kid: self.wraps[kid]}
        self.root_created = {kid: self.root_created.get(kid, now_iso())}
        live = self._all_versions()
        self.vault_created = {v: t for v, t in self.vault_created.items() if v in live}

    def _all_versions(self) -> set[int]:
        return {int(s.split("/", 1)[1]) for slots in self.wraps.values() for s in slots if s.startswith("vault/")}
