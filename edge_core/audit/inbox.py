"""Events recorded while the vault would not open: failed unlocks, a lock, a kill switch on a full disk.

When the database cannot take an event, it is appended to ``<data>/audit-inbox``
instead, and the next successful open moves it into the hash chain. That file
sits in the data folder, so anyone who can write there can append to it
(issue 25: forged ``identity_shredded``, ``policy_changed`` and camera
``verification`` entries were drained into the signed chain). Hence two kinds
of line, and only one of them is ever chained:

* **authenticated** (``a1:`` + base64): written by a process that holds the
  root, so it has unwrapped the vault's database key. The event is sealed with
  AES-256-GCM under ``HKDF(database key, "faceseal/audit-inbox/v2")``: only a
  holder of the root can write such a line, and only the vault can read it.
  These are chained as they are (once: their ids are remembered).
* **unauthenticated** (base64 of an X25519 sealed box to the public key in the
  key store, the only form before this rule): written by a process that has no
  root (a missing or wrong root key), which holds nothing an outsider with
  write access to the folder could not also hold. They are never chained as
  what they claim to be: the next open records one ``audit_inbox_refused``
  event saying how many there were and, from a fixed vocabulary, what they
  claimed (a genuine failed unlock still leaves a trace; a forgery leaves
  nothing but that count).

The file reveals nothing but how many lines there are.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from edge_core.keys import material

FILENAME = "audit-inbox"
AUTHENTICATED = b"a1:"
_AAD = b"faceseal/audit-inbox/v2"
#: What an unauthenticated entry may be said to have claimed in the refusal event; anything else is "other".
CLAIMED_KINDS = frozenset({"unlock_failed", "vault_locked", "root_revoked"})
CLAIMED_REASONS = frozenset({"root_key_missing", "wrong_root_key", "database_unreadable", "vault_locked", "disk_full"})


def new_keypair() -> tuple[bytes, str]:
    """(private key bytes to seal in the vault, public key base64 for the key store)."""
    key = PrivateKey.generate()
    return bytes(key), base64.b64encode(bytes(key.public_key)).decode()


def _entry_key(database_key: bytes) -> bytes:
    return material.hkdf(database_key, _AAD)


def record(data_dir: Path, public_key_b64: str, reason: str, kind: str = "unlock_failed",
           details: dict[str, Any] | None = None, database_key: bytes | None = None) -> bool:
    """Append one event; ``details`` join the event's fields in the chain.

    With ``database_key`` (the writer holds the root) the line is authenticated
    and will be chained; without it, it is only ever counted as unauthenticated.
    Never raises: it is best effort by nature, and must not hide the failure it
    reports. Returns whether the event was written.
    """
    try:
        event = {"id": uuid.uuid4().hex, "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "reason": reason, "kind": kind}
        if details:
            event["details"] = dict(details)
        plain = json.dumps(event).encode()
        if database_key is not None:
            line = AUTHENTICATED + base64.b64encode(material.aead_wrap(_entry_key(database_key), plain, _AAD))
        else:
            line = base64.b64encode(SealedBox(PublicKey(base64.b64decode(public_key_b64))).encrypt(plain))
        fd = os.open(data_dir / FILENAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
    except Exception:  # recording a failure must never hide the failure being reported
        return False
    return True


@dataclass
class Inbox:
    """What the inbox holds: authenticated events to chain, and unauthenticated ones to refuse."""

    authenticated: list[dict] = field(default_factory=list)
    unauthenticated: list[dict] = field(default_factory=list)


def read(data_dir: Path, private_key: bytes | bytearray, database_key: bytes | bytearray) -> Inbox:
    """Every readable line of the inbox, sorted by whether it is authenticated; garbage is skipped."""
    path = data_dir / FILENAME
    found = Inbox()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # none, or a link planted in its place: nothing to read
        return found
    with os.fdopen(fd, "rb") as handle:
        lines = handle.read(16 << 20).splitlines()
    box = SealedBox(PrivateKey(bytes(private_key)))  # PyNaCl takes bytes only (and keeps them while the box lives)
    key = _entry_key(database_key)
    for line in lines:
        try:
            if line.startswith(AUTHENTICATED):
                plain = material.aead_unwrap(key, base64.b64decode(line[len(AUTHENTICATED):], validate=True), _AAD)
                target = found.authenticated
            else:
                plain = box.decrypt(base64.b64decode(line, validate=True))
                target = found.unauthenticated
            event = json.loads(plain) if plain is not None else None
        except (CryptoError, ValueError, binascii.Error):
            continue
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            target.append(event)
    return found


def details(event: dict) -> dict[str, Any]:
    """The extra fields an event carries into the chain (never one that would replace ``reason`` or ``at``)."""
    found = event.get("details")
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(k, str) and k not in ("reason", "at", "kind", "conn")}


def refusal(events: list[dict]) -> dict[str, Any]:
    """The fields of the one ``audit_inbox_refused`` event: how many, and what they claimed (fixed vocabulary)."""
    def tally(name: str, known: frozenset[str]) -> dict[str, int]:
        claims = (e.get(name) for e in events)
        return dict(Counter(c if isinstance(c, str) and c in known else "other" for c in claims))

    return {"entries": len(events), "claimed_kinds": tally("kind", CLAIMED_KINDS),
            "claimed_reasons": tally("reason", CLAIMED_REASONS), "authenticated": False}


def remove(data_dir: Path) -> None:
    try:
        (data_dir / FILENAME).unlink()
    except FileNotFoundError:
        pass
