"""The admin API's bearer token: ``<data>/edge_token``, 0600, made on first serve, replaced by :func:`rotate`.

Whoever can read that file is the machine's owner already (it sits beside the
root key file in the 0700 data directory). Presented tokens are compared in
constant time, so a wrong guess teaches nothing about how close it was.

A token is 32 random bytes or more, URL-safe base64 (43 characters or more).
An empty, whitespace-only, short or otherwise malformed file is never served
with: it is replaced (atomically, 0600) by a fresh token, and ``faceseal
serve`` says so in one line. An empty expected token never matches anything.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from edge_core.keys import material
from edge_core.support import paths

FILENAME = "edge_token"
TOKEN_BYTES = 32
#: 32 random bytes as URL-safe base64 without padding are 43 characters.
MIN_LENGTH = 43
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{%d,512}" % MIN_LENGTH)


def token_path(home: Path) -> Path:
    return home / FILENAME


def well_formed(token: str) -> bool:
    """Whether ``token`` is long and random-looking enough to guard the API (43+ URL-safe characters)."""
    return bool(TOKEN_RE.fullmatch(token))


def ensure(home: Path) -> tuple[str, bool]:
    """The token, and whether it replaced an empty or malformed one (a first token is no replacement).

    A file others can read or write is refused (as before), never silently replaced.
    """
    path = token_path(home)
    existed = path.exists()
    if existed:
        paths.check_private_file(path)
        try:
            token = path.read_bytes().decode("ascii").strip()
        except UnicodeDecodeError:
            token = ""
        if well_formed(token):
            return token, False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    paths.atomic_write(path, token.encode("ascii"))
    return token, existed


def rotate(home: Path) -> Path:
    """Replace the token with a fresh one (atomically, 0600): whoever held the old one is locked out.

    A running API reads the token when it starts, so it must be restarted to
    take the new one (the window does that itself). Returns the file's path;
    the token is never returned in a message.
    """
    path = token_path(home)
    if path.exists():
        paths.check_private_file(path)
    paths.atomic_write(path, secrets.token_urlsafe(TOKEN_BYTES).encode("ascii"))
    return path


def load_or_create(home: Path) -> str:
    """The token, made (256 bits, URL-safe) if there is none yet or the file holds no valid one."""
    return ensure(home)[0]


def matches(presented: str, expected: str) -> bool:
    """Constant-time comparison of the presented token with the expected one; a malformed expected one never matches."""
    if not well_formed(expected):
        return False
    return material.same_secret(presented.encode("utf-8", "replace"), expected.encode("ascii"))
