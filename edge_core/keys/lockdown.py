"""The lock marker: tells every FaceSeal process on this data directory to drop its keys.

``faceseal lock`` (or :meth:`Vault.lock`) and the kill switch write
``<data>/keys/lockdown`` holding only the reason ("locked" or "revoked"). A
process holding keys checks it (one ``stat``) before each use of the database
and drops them when it is there; ``faceseal unlock`` removes it. Revocation
itself is recorded in the key store: the marker is only the signal.
"""

from __future__ import annotations

from pathlib import Path

from edge_core.errors import RootKeyRevoked, VaultLocked
from edge_core.support import paths

FILENAME = "lockdown"
LOCKED = "locked"
REVOKED = "revoked"
REVOKED_MESSAGE = (
    "root key revoked: the kill switch destroyed it; restore it from a recovery kit "
    "(faceseal key restore --from KIT) to open the data again"
)


def path(keys_dir: Path) -> Path:
    return keys_dir / FILENAME


def mark(keys_dir: Path, reason: str) -> None:
    paths.atomic_write(path(keys_dir), reason.encode("ascii"))


def clear(keys_dir: Path) -> None:
    path(keys_dir).unlink(missing_ok=True)
    paths.fsync_dir(keys_dir)


def refusal(keys_dir: Path) -> Exception | None:
    """The error every key use must raise now, or ``None`` when the vault may be used."""
    marker = path(keys_dir)
    if not marker.exists():
        return None
    try:
        reason = marker.read_text("ascii", "replace").strip()
    except FileNotFoundError:  # unlocked between the two calls
        return None
    if reason == REVOKED:
        return RootKeyRevoked(REVOKED_MESSAGE)
    return VaultLocked("the vault is locked (faceseal lock); run 'faceseal unlock' to use it again")
