"""Failed unlocks (and locks), recorded even though the database cannot be opened.

When the vault does not open (wrong or missing root key, damaged key store),
nothing can be written into the encrypted database. The event is instead
sealed to the vault's audit-inbox public key (X25519 sealed box, PyNaCl) and
appended to ``<data>/audit-inbox``; only the private key, kept sealed inside
the vault, can read it. The next successful unlock moves these events into the
hash chain. The file therefore reveals nothing but how many failures there were.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

FILENAME = "audit-inbox"


def new_keypair() -> tuple[bytes, str]:
    """(private key bytes to seal in the vault, public key base64 for the key store)."""
    key = PrivateKey.generate()
    return bytes(key), base64.b64encode(bytes(key.public_key)).decode()


def record(data_dir: Path, public_key_b64: str, reason: str, kind: str = "unlock_failed",
           details: dict[str, Any] | None = None) -> bool:
    """Append one sealed event (a failed unlock, a lock set while the vault would not open, a kill switch
    whose event the full database could not take); ``details`` join the event's fields in the chain.

    Never raises: it is best effort by nature, and must not hide the failure it reports.
    Returns whether the event was written.
    """
    try:
        event = {"id": uuid.uuid4().hex, "ts": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "reason": reason, "kind": kind}
        if details:
            event["details"] = dict(details)
        box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
        line = base64.b64encode(box.encrypt(json.dumps(event).encode())) + b"\n"
        fd = os.open(data_dir / FILENAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
    except Exception:  # recording a failure must never hide the failure being reported
        return False
    return True


def read(data_dir: Path, private_key: bytes) -> list[dict]:
    """Every readable event in the inbox; lines that do not open are skipped (garbage in a public file)."""
    path = data_dir / FILENAME
    if not path.exists():
        return []
    box = SealedBox(PrivateKey(private_key))
    found = []
    for line in path.read_bytes().splitlines():
        try:
            found.append(json.loads(box.decrypt(base64.b64decode(line, validate=True))))
        except (CryptoError, ValueError):
            continue
    return found


def details(event: dict) -> dict[str, Any]:
    """The extra fields an event carries into the chain (never one that would replace ``reason`` or ``at``)."""
    found = event.get("details")
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(k, str) and k not in ("reason", "at", "kind", "conn")}


def remove(data_dir: Path) -> None:
    try:
        (data_dir / FILENAME).unlink()
    except FileNotFoundError:
        pass
