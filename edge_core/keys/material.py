"""Raw key material: parsing what a person hands us, wrapping, and key ids.

Keys are always exactly 32 bytes (AES-256). Parsing never echoes the value it
was given: a malformed key in an error message would be a leaked key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidTag

from ..errors import InvalidKeyMaterial

KEY_BYTES = 32
NONCE_BYTES = 12


def random_key() -> bytes:
    """A fresh 256-bit key from the OS CSPRNG."""
    return os.urandom(KEY_BYTES)


def parse_hex_key(text: str, source: str) -> bytes:
    """Exactly 64 hex characters -> 32 bytes; ``source`` names where it came from, never the value."""
    cleaned = text.strip()
    if len(cleaned) != 2 * KEY_BYTES:
        raise InvalidKeyMaterial(f"{source} must be exactly 64 hex characters (a 256-bit key)")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InvalidKeyMaterial(
            f"{source} must be exactly 64 hex characters (a 256-bit key)"
        ) from None


def parse_base64_key(text: str, source: str) -> bytes:
    """Standard base64 of exactly 32 bytes -> the bytes."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKeyMaterial(f"{source} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise InvalidKeyMaterial(
            f"{source} decodes to {len(raw) * 8} bits; a 256-bit key (32 bytes) is required"
        )
    return raw


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
