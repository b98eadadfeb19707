"""Writing a file a person asked for (recovery kit, audit evidence) wherever they pointed.

Unlike :func:`paths.atomic_write`, the folder is theirs: it is neither created
nor re-permissioned. The file is written under a temporary name, fsynced, and
linked into place only if nothing is there yet, so an existing file is never
overwritten and a crash never leaves half a file under the real name. The
file is 0600: a recovery kit is a secret even under its passphrase.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from edge_core.errors import UsageError, disk_full, is_disk_full


def check_new_file(path: Path) -> Path:
    """``path``'s folder, if a new file can be made there: else the one line that says why (before anything is
    done that the file would record, as a deletion its certificate)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    if path.exists() or path.is_symlink():
        raise UsageError(f"{path} already exists; choose another name (FaceSeal never overwrites it)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{folder} is not writable by this user; choose another folder")
    return folder


def write_new_file(path: Path, fill: Callable[[BinaryIO], None]) -> None:
    """Create ``path`` with what ``fill`` writes; refuse if it exists or its folder does not."""
    folder = check_new_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        raise UsageError(f"{path} already exists; choose another name (FaceSeal never overwrites it)") from None
    except OSError as error:
        if is_disk_full(error):  # nothing was linked under the real name
            raise disk_full(str(folder)) from None
        raise
    finally:
        os.unlink(tmp)
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
