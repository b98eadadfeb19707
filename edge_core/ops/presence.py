"""Proof of presence before loosening security: what an unlocked, unattended desktop must not allow (issue 25).

Why: anyone at an unlocked desktop could open Admin and turn liveness off,
lower a threshold, delete people, reset the vault, write a copy of the root
into a recovery kit or let a face unlock sudo. Those use cases are declared
with :func:`needs_presence`, like Electrum's ``@command('wp')``: one wrapper
enforces it for the command line, the window, the admin API and whatever
front end comes next, so none of them has to remember the rule.

The proof is the vault's **admin passphrase**, chosen by its owner. Why not the
face: the attacker at the desk may hold a photo of the owner, and a desk
without a camera (or the command line over SSH) could then never loosen
anything. Why not the OS password through polkit: it needs a system daemon
and an authentication agent (absent over SSH, in a container, on macOS), and
on a machine where a face signs in to polkit it would be the face again. The
passphrase is kept as a scrypt hash in the encrypted database (``meta`` row
``admin/passphrase``): someone who can write into the data folder cannot
replace it without the database key, and a copy of the folder yields only a
slow hash under SQLCipher. Wrong passphrases count toward the policy's
lockout (as failed verifications do) and are audited; the passphrase is
never logged, audited or shown.

A vault without an admin passphrase loosens without asking (``status`` and
the window say so and offer to set one): there is nothing the owner could
prove with. Setting the first one needs no proof; changing or removing it
needs the current one.

Freshness: a :class:`Proof` lives only in the memory of the process that
made it and holds :data:`FRESH_S` seconds: the window asks once for a series
of deletions and forgets it when the vault locks; a command asks per command,
the admin API per call.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from edge_core.audit import chain as audit
from edge_core.errors import PresenceRefused, PresenceRequired, UsageError
from edge_core.ops.keyops.recovery_kit import check_passphrase
from edge_core.ops.results import AdminPassphrase
from edge_core.policy import lockout
from edge_core.support.database import get_meta, set_meta
from edge_core.vault.anchor import GUARD_META
from edge_core.vault.store import Vault

FRESH_S = 120.0
"""How long a proof holds: long enough for a person to finish what they came to do in the window, short enough
that a desk left for a coffee asks again."""

PASSPHRASE_META = GUARD_META
"""Where the passphrase's hash lives; kept by a reset, like the policy (the owner's standing decision), and carried
by the rollback anchor outside the folder (an older copy takes the newest one before it is accepted)."""
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
"""scrypt's cost (32 MiB, about a tenth of a second here): each guess costs an attacker with a copy as much."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Proof:
    """That the admin passphrase of one vault was given at ``at`` (``time.monotonic``) in this process."""

    home: str
    salt: str
    """The salt of the passphrase it proved: changing or removing the passphrase voids every earlier proof."""
    at: float


PresenceProvider = Callable[[Vault, str], Proof]
"""How a front end asks the person for proof to do ``action`` (a terminal prompt, a dialog, a request header);
returns :func:`prove`'s proof or raises (:class:`PresenceRequired` when it cannot ask)."""

_provider: ContextVar[PresenceProvider | None] = ContextVar("faceseal_presence_provider", default=None)

DECLARED: dict[str, str] = {}
"""Every use case that needs fresh proof, by name, with the action it names: what the tests walk through."""


@contextlib.contextmanager
def asking(provider: PresenceProvider) -> Iterator[None]:
    """Use cases called inside ask ``provider`` for proof when they need it (and none was passed)."""
    token = _provider.set(provider)
    try:
        yield
    finally:
        _provider.reset(token)


def _stored(vault: Vault) -> dict[str, Any] | None:
    raw = get_meta(vault.conn, PASSPHRASE_META)
    return json.loads(raw) if raw else None


def has_passphrase(vault: Vault) -> bool:
    """Whether loosening this vault asks for the admin passphrase."""
    return _stored(vault) is not None


def _kdf(salt: bytes) -> Scrypt:
    return Scrypt(salt=salt, length=32, **_SCRYPT)


def _record(passphrase: str) -> dict[str, Any]:
    """The stored form of a new passphrase, held to the recovery kit's strength rule first: the lockout slows
    guessing through FaceSeal, but a copy of the data folder (with its state folder) can be guessed at without it."""
    check_passphrase(passphrase, "new admin passphrase")
    salt = os.urandom(16)
    return {"kdf": "scrypt", **_SCRYPT, "salt": salt.hex(), "hash": _kdf(salt).derive(passphrase.encode()).hex()}


def prove(vault: Vault, passphrase: str) -> Proof:
    """Check the admin passphrase (constant time, counted toward the lockout): a fresh proof, or
    :class:`PresenceRefused`."""
    stored = _stored(vault)
    if stored is None:
        raise UsageError("this vault has no admin passphrase; set one first (nothing needs proof until then)")
    def matches() -> bool:
        try:
            _kdf(bytes.fromhex(stored["salt"])).verify(passphrase.encode(), bytes.fromhex(stored["hash"]))
        except InvalidKey:
            return False
        return True

    # Judged inside the lockout's transaction: guesses sent at once from several processes are counted one after
    # another, and a policy file edited to switch the lockout off counts them under the default lockout.
    if not lockout.attempt(vault, lockout.PRESENCE, matches, "presence_refused"):
        raise PresenceRefused("that is not the admin passphrase; nothing was changed")
    return Proof(str(vault.layout.home), stored["salt"], time.monotonic())


def holds(vault: Vault, proof: Proof | None) -> bool:
    """Whether ``proof`` is fresh and proves the current passphrase of this vault."""
    stored = _stored(vault)
    return (proof is not None and stored is not None and proof.home == str(vault.layout.home)
            and proof.salt == stored["salt"] and 0 <= time.monotonic() - proof.at <= FRESH_S)


def require(vault: Vault, action: str, proof: Proof | None = None) -> None:
    """Refuse ``action`` without fresh proof when the vault has an admin passphrase; asks the front end's provider
    when no proof was passed."""
    if not has_passphrase(vault) or holds(vault, proof):
        return
    provider = _provider.get()
    if provider is not None and holds(vault, provider(vault, action)):
        return
    raise PresenceRequired(f"to {action}, give the admin passphrase first (proof that the owner is here); "
                           "nothing was changed", action=action)


def needs_presence(action: str, when: Callable[..., bool] | None = None) -> Callable[[F], F]:
    """Declare that a use case taking the vault first needs fresh proof (``when``: only for the calls it says
    loosen). The call then accepts ``proof=``; without it the front end's provider is asked."""

    def decorate(fn: F) -> F:
        DECLARED[fn.__name__] = action

        @functools.wraps(fn)
        def checked(vault: Vault, *args: Any, proof: Proof | None = None, **kwargs: Any) -> Any:
            if when is None or when(vault, *args, **kwargs):
                require(vault, action, proof)
            return fn(vault, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def set_admin_passphrase(vault: Vault, passphrase: str | None, current: str | None = None) -> AdminPassphrase:
    """Set, change or remove (``None``) the admin passphrase; audited, never the passphrase itself.

    Changing or removing it needs the ``current`` one typed now, never a proof held from an earlier action: a
    person who walks up to a window still holding one must not make the passphrase theirs.
    """
    had = has_passphrase(vault)
    if not had and passphrase is None:
        raise UsageError("this vault has no admin passphrase to remove")
    record = None if passphrase is None else _record(passphrase)  # a weak new one is refused before any guess counts
    if had:
        what = "change the admin passphrase" if passphrase is not None else "remove the admin passphrase"
        if current is None:  # not PresenceRequired: a proof a front end holds must not stand in for it
            raise UsageError(f"to {what}, type the current admin passphrase; nothing was changed")
        prove(vault, current)
    with vault.writing() as tx:
        if record is None:
            tx.execute("DELETE FROM meta WHERE key = ?", (PASSPHRASE_META,))
        else:
            set_meta(tx, PASSPHRASE_META, json.dumps(record))
        audit.append(tx, "admin_passphrase_" + ("removed" if record is None else "changed" if had else "set"))
    return AdminPassphrase(record is not None, changed=had and record is not None)
