"""A sealed snapshot of one pack's gallery: identify from cold without opening every template (issue 28, goal 2).

Why: the first identify after the vault opens decrypted every template one by
one (a key derivation and an AES-GCM opening each, behind SQLCipher reading
every page): 3.4 s at 100,000 templates, what a person waits for when they
first show their face after unlocking. The snapshot is the gallery as
identify uses it (names, rows per identity, one float32 matrix, the templates
left out as unreadable), sealed as one AES-256-GCM message: opening it is one
read and one decryption.

Why it can neither lie nor outlive a deletion:

* Its additional data names the pack, the vault key version and the
  *gallery generation*, a counter that SQLite triggers bump on every change to
  the templates or identities tables (schema v4, :mod:`edge_core.vault.schema`:
  no writer can forget it). A snapshot from before any enrolment, deletion or
  reseal, of another pack or another vault, edited or planted by someone who
  can write the data folder, fails authentication and is rebuilt: nothing in
  it is read before it authenticates.
* Its key is derived from the vault key version in force. Deleting a person
  moves every identity to a new vault key version and destroys the old one
  (crypto-shredding), so a snapshot that held their template can never be
  opened again, from this folder or from a copy of it.

Where: ``<data>/cache/gallery-<digest of the pack>.sealed``, 0600 in a 0700
folder, written without fsync: it is a cache, and one lost or stale is rebuilt
from the templates. A gallery over :data:`MAX_BYTES` is not snapshotted.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_core.errors import DiskFull
from edge_core.keys import material
from edge_core.keys.secret import Secret
from edge_core.support import paths

GENERATION_META = "gallery_generation"
"""The ``meta`` row the schema's triggers bump on every change to templates or identities."""

MAX_BYTES = 1 << 30
"""The largest gallery snapshotted (AES-GCM in one call, and the memory of a second copy while it opens)."""

_INFO = b"faceseal/gallery-snapshot/v1"
_LENGTH = struct.Struct(">I")


@dataclass(frozen=True)
class Part:
    """One size of embedding in the gallery: who, how many rows each, and the rows."""

    dim: int
    names: list[str]
    counts: list[int]
    matrix: np.ndarray


def path_for(home: Path, pack: str) -> Path:
    """The snapshot file of ``pack`` (its name digested: a pack name is never a path)."""
    return home / "cache" / f"gallery-{hashlib.sha256(pack.encode()).hexdigest()[:16]}.sealed"


def _aad(pack: str, version: int, generation: str) -> bytes:
    return f"{_INFO.decode()}:{version}:{generation}:".encode() + pack.encode()


def save(path: Path, vault_key: bytes, pack: str, version: int, generation: str, parts: list[Part],
         skipped: list[list[str]]) -> None:
    """Seal and write the gallery (best effort: a full disk or an unwritable folder only means no snapshot)."""
    size = sum(part.matrix.nbytes for part in parts)
    if size > MAX_BYTES:
        return
    header = json.dumps({"parts": [{"dim": p.dim, "names": p.names, "counts": p.counts} for p in parts],
                         "skipped": skipped}).encode()
    with Secret(_LENGTH.size + len(header) + size) as plain, material.hkdf(vault_key, _INFO) as key:
        # the templates are copied into a buffer overwritten once sealed, never into an immutable bytes
        _LENGTH.pack_into(plain, 0, len(header))
        offset = _LENGTH.size + len(header)
        plain[_LENGTH.size:offset] = header
        for part in parts:
            rows = memoryview(np.ascontiguousarray(part.matrix, np.float32)).cast("B")
            plain[offset:offset + rows.nbytes] = rows
            offset += rows.nbytes
        sealed = material.aead_wrap(key, plain, _aad(pack, version, generation))
    try:
        paths.atomic_write(path, sealed, durable_rename=False)
    except (OSError, DiskFull):
        pass  # a cache: without it the next cold identify opens every template, as before


def load(path: Path, vault_key: bytes, pack: str, version: int,
         generation: str) -> tuple[list[Part], list[list[str]]] | None:
    """The gallery sealed for exactly this pack, vault key version and generation; ``None`` otherwise (missing,
    stale, planted, edited, too large, or not a regular file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES + 4096:
            return None
        sealed = handle.read()
    with material.hkdf(vault_key, _INFO) as key:
        plain = material.aead_unwrap(key, sealed, _aad(pack, version, generation))
    if plain is None:
        return None
    with plain:  # overwritten once the matrices are copied out: the gallery's copy is the only one left
        (length,) = _LENGTH.unpack_from(plain)
        header = json.loads(memoryview(plain)[_LENGTH.size:_LENGTH.size + length].tobytes())
        offset = _LENGTH.size + length
        parts = []
        for part in header["parts"]:
            rows = sum(part["counts"])
            matrix = np.frombuffer(plain, np.float32, rows * part["dim"], offset).reshape(rows, part["dim"]).copy()
            offset += matrix.nbytes
            parts.append(Part(part["dim"], part["names"], part["counts"], matrix))
        return parts, header["skipped"]
