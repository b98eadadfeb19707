"""A cross-process lock for key operations (rotation, shredding, reset).

SQLite serialises writers to the database, but a key operation also changes the
key store and the root's home. Holding this lock exclusively for the whole
operation means two rotations never interleave, and a process that reloads its
keys (shared) never sees a half-switched root.

flock locks belong to an open file, so a second flock in the same process would
wait for the first forever; the lock is therefore re-entrant within a process
(an inner request while the outer one is held simply passes).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_held: dict[Path, int] = {}
_guard = threading.RLock()


@contextlib.contextmanager
def key_lock(keys_dir: Path, exclusive: bool) -> Iterator[None]:
    path = (keys_dir / ".lock").absolute()
    with _guard:
        if path in _held:
            _held[path] += 1
            try:
                yield
            finally:
                _held[path] -= 1
            return
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            _held[path] = 1
            try:
                yield
            finally:
                del _held[path]
        finally:
            os.close(fd)  # closing releases the lock
