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

from edge_core.errors import DataDirUnreadable, InsecureDataDir, InsecureKeyFile, disk_full, is_disk_full

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


def config_dir() -> Path:
    """This user's FaceSeal settings on this machine, outside any data directory (platformdirs' config dir)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and any missing parents) as 0700; a folder that already exists keeps its mode.

    Only folders FaceSeal makes get their mode set: pointing FaceSeal at an
    existing folder (``/tmp``, a shared folder) must never change it.
    """
    path = Path(path)
    missing = []
    folder = path
    while not (folder.exists() or folder.is_symlink()) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by someone else meanwhile: not ours to change
        os.chmod(folder, DIR_MODE)  # the umask must not widen or narrow a folder FaceSeal made
    path.mkdir(exist_ok=True)  # no-op for a folder; a file in the way is an error, as before
    return path


def ensure_data_dir(path: Path) -> Path:
    """The data directory (or a folder inside it): made 0700 if missing, else checked and left as it is.

    A folder that belongs to another user, or that others can write to (group
    or other write bit, ``/tmp``'s 1777 included), is refused: whoever can write
    there could swap FaceSeal's files. Nothing is created or changed in it.
    """
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return ensure_private_dir(path)
    try:
        info = path.stat()
    except OSError as error:
        raise DataDirUnreadable(f"{path} cannot be read ({error.strerror or error})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise DataDirUnreadable(f"{path} is not a folder")
    owner = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
    if info.st_uid != owner:
        raise InsecureDataDir(
            f"{path} belongs to another user (uid {info.st_uid}); FaceSeal keeps its data only in a folder of yours "
            "that no one else can write to: set FACESEAL_HOME to one. Nothing was changed"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise InsecureDataDir(
            f"{path} can be written by other users (mode {mode:o}); FaceSeal keeps its data only in a folder "
            "no one else can write to: set FACESEAL_HOME to one of yours (or remove the group/other write bits). "
            "Nothing was changed"
        )
    return path


def check_private_file(path: Path) -> None:
    """Refuse a secret-holding file that group or others can read or write."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureKeyFile(
            f"{path} is accessible by other users (mode {mode:o}); "
            f"run 'chmod 600 {path}' if it is yours, then try again"
        )


#: How a key file is opened: never through a symbolic link, never blocking on a FIFO.
NOFOLLOW_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def open_private(path: Path, flags: int = os.O_RDONLY, private: bool = True) -> int | None:
    """A descriptor on the secret-holding file ``path``, opened without following a symbolic link; ``None`` if absent.

    A symbolic link, anything but a regular file, and a file group or others can
    read or write (unless not ``private``: a file of public facts) are refused with one
    line (:class:`InsecureKeyFile`): a key file planted as a link to another file of
    the user is never read through, nor written.
    """
    try:
        fd = os.open(path, flags | NOFOLLOW_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as error:
        if os.path.islink(path):
            raise InsecureKeyFile(f"{path} is a symbolic link; FaceSeal never follows one to a key file and changed "
                                  "nothing: put the file itself there") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InsecureKeyFile(f"{path} is not a regular file; FaceSeal changed nothing")
        if private and stat.S_IMODE(info.st_mode) & 0o077:
            check_private_file(path)  # the one wording for a file others can reach
            raise InsecureKeyFile(f"{path} is accessible by other users; run 'chmod 600 {path}' if it is yours")
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_private(path: Path, limit: int = 1 << 20, private: bool = True) -> bytes | None:
    """The first ``limit`` bytes of the key file ``path`` (see :func:`open_private`), or ``None`` if absent."""
    fd = open_private(path, private=private)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def read_private_into(path: Path, buffer: bytearray, private: bool = True) -> int | None:
    """Read the key file ``path`` (see :func:`open_private`) into ``buffer``, unbuffered: no copy of a secret is
    left in a reader's buffer or an immutable ``bytes``. How many bytes were read, or ``None`` if absent."""
    fd = open_private(path, private=private)
    if fd is None:
        return None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        return handle.readinto(buffer)


def atomic_write(path: Path, data: bytes | bytearray, mode: int = FILE_MODE, durable_rename: bool = True) -> None:
    """Write ``data`` to ``path`` so a crash leaves either the old or the new file, never half.

    The bytes go to a temporary file in the same folder, are fsynced, and are
    renamed over the target; the folder is fsynced so the rename itself is durable
    (``durable_rename=False`` skips that for a file where the old version after a
    crash is as good as the new: the rollback anchor, written after every write).
    """
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", buffering=0) as handle:  # unbuffered: no copy of a key file left in a buffer
            view = memoryview(data)
            while view:
                view = view[handle.write(view):]
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if is_disk_full(error):  # the old file is intact: say so, not "internal OSError"
            raise disk_full(str(path.parent)) from None
        raise
    if durable_rename:
        fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
