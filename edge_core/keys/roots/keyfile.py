"""The last resort: the root as hex in ``<data>/keys/root_key.hex`` (0600 in a 0700 folder).

Used only when there is no keychain and no variable. Anyone who copies the data
directory copies this file too; docs/KEYS.md says so, and status shows it.
"""

from __future__ import annotations

import os
from pathlib import Path

from edge_core.keys import material
from edge_core.keys.roots.base import RootKey, RootStore, SoftwareRootKey
from edge_core.keys.secret import Secret
from edge_core.support import paths

FILENAME = "root_key.hex"


def notice(path: Path) -> str:
    """Why the root is in ``path`` and how to get it into a keychain: said on stderr when it goes there, and by
    every status."""
    return (f"the root key is in the file {path}, beside the data, because no keychain (Secret Service) answered: "
            "whoever copies the data folder copies the key with it. To keep it in a keychain, run a Secret Service "
            "in your session (GNOME Keyring, KWallet or KeePassXC; without a desktop, gnome-keyring-daemon --unlock "
            "inside dbus-run-session), then 'faceseal key move-to-keychain'")


class FileRootStore(RootStore):
    name = "file"
    priority = 10
    is_fallback_file = True

    def __init__(self, keys_dir: Path) -> None:
        self.path = keys_dir / FILENAME

    def available(self) -> bool:
        return True

    def describe(self) -> str:
        return f"file {self.path} (no keychain on this machine)"

    def notice(self) -> str:
        return notice(self.path)

    def load(self) -> RootKey | None:
        with Secret(4096) as raw:  # read into a buffer overwritten once parsed: never an immutable copy of the hex
            size = paths.read_private_into(self.path, raw)  # never through a symbolic link
            if size is None:
                return None
            return SoftwareRootKey(material.parse_hex_key(memoryview(raw)[:size], str(self.path)))

    def generate(self) -> RootKey:
        return SoftwareRootKey(material.random_key())

    def activate(self, key: RootKey) -> None:
        assert isinstance(key, SoftwareRootKey)
        with key.secret_bytes().spelt_hex(b"\n") as line:
            paths.atomic_write(self.path, line)

    def destroy(self) -> bool:
        # Overwrite before unlinking: a journaling filesystem may keep old blocks,
        # which docs/KEYS.md admits, but the common case leaves nothing to undelete.
        # Opened without following a link: a root_key.hex planted as a link to another
        # file of the user is refused, never written through (issue 25).
        fd = paths.open_private(self.path, os.O_WRONLY, private=False)
        if fd is None:
            return False
        try:
            os.write(fd, b"\0" * os.fstat(fd).st_size)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.path.unlink()
        paths.fsync_dir(self.path.parent)
        return True
