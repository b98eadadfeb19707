"""Raw key material: parsing what a person hands us, wrapping, and key ids.

Keys are always exactly 32 bytes (AES-256). Parsing never echoes the value it
was given: a malformed key in an error message would be a leaked key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edge_core.errors import InvalidKeyMaterial

KEY_BYTES = 32
NONCE_BYTES = 12


def random_key() -> bytes:
    """A fresh 256-bit key from the OS CSPRNG."""
    return os.urandom(KEY_BYTES)


KEY_FORMS = ("hex", "base64", "file")
"""How a person hands over a key: typed as hex, typed as base64, or a file (32 raw bytes, or their hex or base64)."""
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def parse_key(value: str | bytes, form: str, source: str) -> bytes:
    """The bytes of a key a person gave, in one of :data:`KEY_FORMS`; ``source`` names where it came from.

    The one parser for every front end (the CLI's ``key import``, the window's
    key field and key file, the admin API). Length is not judged here: the
    policy's minimum is checked first by the caller, so a short key is told
    "the policy requires 256 bits" rather than "malformed". Errors never echo the value.
    """
    if form == "file":
        raw = value.encode("latin-1") if isinstance(value, str) else bytes(value)
        if len(raw) == KEY_BYTES:
            return raw
        text = raw.strip()
        if text and len(text) % 2 == 0 and set(text) <= _HEX_DIGITS:
            return bytes.fromhex(text.decode("ascii"))
        try:
            return base64.b64decode(text, validate=True) if text else raw
        except (binascii.Error, ValueError):
            return raw
    text = (value.decode("ascii", "replace") if isinstance(value, bytes) else value).strip()
    if form == "hex":
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise InvalidKeyMaterial(f"{source} is not a hexadecimal key") from None
    if form == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidKeyMaterial(f"{source} is not valid base64") from None
    raise InvalidKeyMaterial(f"a key is given as {', '.join(KEY_FORMS)}; not as '{form}'")


def parse_hex_key(text: str, source: str) -> bytes:
    """Exactly 64 hex characters -> 32 bytes: how FaceSeal itself stores a software root (file, keychain, variable)."""
    wrong = InvalidKeyMaterial(f"{source} must be exactly 64 hex characters (a 256-bit key)")
    try:
        key = parse_key(text, "hex", source)
    except InvalidKeyMaterial:
        raise wrong from None
    if len(key) != KEY_BYTES:
        raise wrong
    return key


_SHA256 = hashes.SHA256()


def hkdf(key: bytes, info: bytes, salt: bytes | None = None, length: int = KEY_BYTES) -> bytes:
    """HKDF-SHA256: every derived key in FaceSeal goes through this one call."""
    return HKDF(_SHA256, length, salt, info).derive(key)


def key_id(key: bytes) -> str:
    """A public identifier for a software key: reveals nothing, stable for the key's life."""
    return hkdf(key, b"faceseal/key-id/v1", length=12).hex()


def fingerprint(key: bytes) -> str:
    """What a person may compare by eye (status, recovery kit): never the key itself."""
    digest = hkdf(key, b"faceseal/fingerprint/v1", length=10).hex().upper()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def aead_wrap(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a random nonce, nonce prepended: how keys are wrapped by keys."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_unwrap(key: bytes, blob: bytes, aad: bytes) -> bytes | None:
    """Inverse of :func:`aead_wrap`; ``None`` when the key or the context is wrong."""
    if len(blob) < NONCE_BYTES + 16:
        return None
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        return None


def same_secret(a: bytes, b: bytes) -> bool:
    """Constant-time comparison for anything secret."""
    return hmac.compare_digest(a, b)
