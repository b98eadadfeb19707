"""Where FaceSeal keeps its files, and how secret files are written.

Everything lives under one data directory (platformdirs' user data dir, or
``FACESEAL_HOME``), so a stolen laptop exposes only ciphertext and backing up
means copying one folder plus the root key.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import platformdirs

from edge_core.errors import InsecureKeyFile

APP_NAME = "faceseal"
DIR_MODE = 0o700
FILE_MODE = 0o600


def data_dir() -> Path:
    """The data directory: ``FACESEAL_HOME`` if set, else the platform's user data dir."""
    override = os.environ.get("FACESEAL_HOME")
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """Where model packs are installed: ``FACESEAL_MODELS`` if set, else ``<data>/models``."""
    override = os.environ.get("FACESEAL_MODELS")
    if override:
        return Path(override).expanduser().absolute()
    return data_dir() / "models"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as 0700 and tighten it if it already exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def check_private_file(path: Path) -> None:
    """Refuse a secret-holding file that group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureKeyFile(
            f"{path} is accessible by other users (mode {mode:o}); "
            f"run 'chmod 600 {path}' if it is yours, then try again"
        )


def atomic_write(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` so a crash leaves either the old or the new file, never half.

    The bytes go to a temporary file in the same folder, are fsynced, and are
    renamed over the target; the folder is fsynced so the rename itself is durable.
    """
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
