"""The admin API's bearer token: ``<data>/edge_token``, 0600, issued by ``faceseal serve``, replaced by :func:`rotate`.

The file alone is never trusted (issue 25: a well-formed token planted in the
data folder before ``faceseal serve`` started was served with). Whenever
FaceSeal issues a token it also seals the token's SHA-256 digest inside the
vault (a sealed secret, so under the root). ``faceseal serve`` serves with the
file's token only if it matches that digest; otherwise (no file, an empty,
short or malformed one, or a well-formed token FaceSeal did not issue for this
vault) it issues a fresh one and says so in one line. A token made before this
rule existed has no digest and is therefore replaced once.

Presented tokens are compared in constant time, so a wrong guess teaches
nothing about how close it was. A token is 32 random bytes, URL-safe base64
(43 characters or more). An empty expected token never matches anything.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from edge_core.keys import material
from edge_core.support import paths
from edge_core.vault.store import Vault

FILENAME = "edge_token"
TOKEN_BYTES = 32
#: 32 random bytes as URL-safe base64 without padding are 43 characters.
MIN_LENGTH = 43
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{%d,512}" % MIN_LENGTH)
#: The sealed secret holding the SHA-256 digest of the token FaceSeal issued last.
SECRET = "api-token-digest"
MAX_FILE_BYTES = 4096


def token_path(home: Path) -> Path:
    return home / FILENAME


def well_formed(token: str) -> bool:
    """Whether ``token`` is long and random-looking enough to guard the API (43+ URL-safe characters)."""
    return bool(TOKEN_RE.fullmatch(token))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def _read(path: Path) -> str | None:
    """The file's token as text ("" when it is not one), or ``None`` when there is no file.

    Never read through a symbolic link; a file others can read or write is refused (as before).
    """
    raw = paths.read_private(path, MAX_FILE_BYTES)
    if raw is None:
        return None
    try:
        return raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return ""


def _issue(vault: Vault, path: Path) -> str:
    """A fresh token: its digest sealed in the vault first, then the file (atomically, 0600)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    vault.put_secret(SECRET, _digest(token))
    paths.atomic_write(path, token.encode("ascii"))
    return token


def for_serving(vault: Vault) -> tuple[str, str | None]:
    """The token ``faceseal serve`` serves with, and one line to show when the file's token was replaced.

    Kept only when FaceSeal issued it for this vault (its digest is sealed in
    the vault); anything else is replaced. A first token is no replacement.
    """
    path = token_path(vault.layout.home)
    found = _read(path)
    issued = vault.get_secret(SECRET)
    if found and well_formed(found) and issued is not None and material.same_secret(_digest(found), issued):
        return found, None
    token = _issue(vault, path)
    if found is None:
        return token, None
    if well_formed(found):
        return token, (f"{path} held a token FaceSeal did not issue for this vault (planted, copied from "
                       "elsewhere, or made by an older FaceSeal); a new one was made")
    return token, f"{path} held no valid token (empty, too short or malformed); a new one was made"


def rotate(vault: Vault) -> Path:
    """Replace the token with a fresh one: whoever held the old one is locked out.

    A running API reads the token when it starts, so it must be restarted to
    take the new one (the window does that itself). Returns the file's path;
    the token is never returned in a message.
    """
    path = token_path(vault.layout.home)
    _read(path)  # a file others can read or write is refused, not silently replaced
    _issue(vault, path)
    return path


def matches(presented: str, expected: str) -> bool:
    """Constant-time comparison of the presented token with the expected one; a malformed expected one never matches."""
    if not well_formed(expected):
        return False
    return material.same_secret(presented.encode("utf-8", "replace"), expected.encode("ascii"))
