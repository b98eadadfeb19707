"""Where the agent listens: ``$XDG_RUNTIME_DIR/faceseal/agent.sock``, in a folder only its user can enter.

The agent makes the folder 0700 and refuses one it did not make safely (another
owner, group or other bits, a symlink). A client (the CLI, the PAM helper running
as root) believes a socket only when the folder and the socket belong to the user
it asks for: a socket planted by someone else at the expected path is refused,
never spoken to.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from edge_core.errors import InsecureDataDir, UsageError

FOLDER = "faceseal"
SOCKET = "agent.sock"


def runtime_dir(uid: int | None = None, base: Path | None = None) -> Path:
    """``$XDG_RUNTIME_DIR`` (this process), or ``base/<uid>`` (``/run/user/<uid>`` when PAM asks for a user)."""
    if uid is None:
        own = os.environ.get("XDG_RUNTIME_DIR")
        if own:
            return Path(own)
        uid = os.getuid()
    return (base or Path("/run/user")) / str(uid)


def socket_path(uid: int | None = None, base: Path | None = None) -> Path:
    return runtime_dir(uid, base) / FOLDER / SOCKET


def prepare(folder: Path) -> Path:
    """The agent's folder, made 0700 if missing; an existing one must be ours, a real folder, and 0700. Without a
    runtime folder (no login session made ``/run/user/<uid>``, and no ``XDG_RUNTIME_DIR``) it says so."""
    if not folder.parent.is_dir():
        raise UsageError(f"there is no runtime folder {folder.parent} for the agent's socket (a login session makes "
                         "it); set XDG_RUNTIME_DIR to a private folder of yours")
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    check_private(folder, os.getuid())
    return folder


def check_private(path: Path, uid: int, kind: int = stat.S_IFDIR) -> None:
    """Refuse ``path`` unless it is a ``kind`` (not a symlink), owned by ``uid``, with no group or other access
    (a socket may keep the group/other bits the kernel ignores only if its folder is private: checked apart)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise  # no agent: the caller says so in its own words
    except OSError as error:
        raise InsecureDataDir(f"{path} cannot be examined ({error.strerror or error})") from None
    if stat.S_IFMT(info.st_mode) != kind:
        raise InsecureDataDir(f"{path} is not what the agent made (a symlink or another kind of file); refused")
    if info.st_uid != uid:
        raise InsecureDataDir(f"{path} belongs to uid {info.st_uid}, not to uid {uid}; refused")
    if kind == stat.S_IFDIR and stat.S_IMODE(info.st_mode) & 0o077:
        raise InsecureDataDir(f"{path} can be entered by other users (mode {stat.S_IMODE(info.st_mode):o}); refused")


def check_socket(path: Path, uid: int) -> None:
    """Before speaking to ``path``: its folder and the socket itself belong to ``uid`` and no one else can enter."""
    check_private(path.parent, uid)
    check_private(path, uid, stat.S_IFSOCK)
