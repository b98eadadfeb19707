"""The admin API's bearer token: ``<data>/edge_token``, 0600, made on first serve.

Whoever can read that file is the machine's owner already (it sits beside the
root key file in the 0700 data directory). Presented tokens are compared in
constant time, so a wrong guess teaches nothing about how close it was.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from edge_core.support import paths
from edge_core.keys import material

FILENAME = "edge_token"


def token_path(home: Path) -> Path:
    return home / FILENAME


def load_or_create(home: Path) -> str:
    """The token, made (256 bits, URL-safe) if there is none yet; a readable-by-others file is refused."""
    path = token_path(home)
    if not path.exists():
        paths.atomic_write(path, secrets.token_urlsafe(32).encode("ascii"))
    paths.check_private_file(path)
    return path.read_text("ascii").strip()


def matches(presented: str, expected: str) -> bool:
    """Constant-time comparison of the presented token with the expected one."""
    return material.same_secret(presented.encode("utf-8", "replace"), expected.encode("ascii"))
