"""Raw key material: parsing what a person hands us, wrapping, and key ids.

Keys are always exactly 32 bytes (AES-256). Parsing never echoes the value it
was given: a malformed key in an error message would be a leaked key. Every key
made, derived or unwrapped here is a :class:`~edge_core.keys.secret.Secret`,
written into by ``cryptography`` itself, never an immutable ``bytes`` copy.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edge_core.errors import InvalidKeyMaterial
from edge_core.keys.secret import Secret

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


def random_key() -> Secret:
    """A fresh 256-bit key from the OS CSPRNG."""
    return Secret.random(KEY_BYTES)


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


def parse_hex_key(text: str | bytes | bytearray, source: str) -> Secret:
    """Exactly 64 hex characters -> 32 bytes: how FaceSeal itself stores a software root (file, keychain, variable).

    Decoded straight into a :class:`Secret` (``bytes.fromhex`` would leave an immutable copy).
    """
    key = Secret.from_hex(text, KEY_BYTES)
    if key is None:
        raise InvalidKeyMaterial(f"{source} must be exactly 64 hex characters (a 256-bit key)")
    return key


_SHA256 = hashes.SHA256()


def hkdf(key: bytes | bytearray, info: bytes, salt: bytes | None = None, length: int = KEY_BYTES) -> Secret:
    """HKDF-SHA256: every derived key in FaceSeal goes through this one call, written into a :class:`Secret`."""
    derived = Secret(length)
    HKDF(_SHA256, length, salt, info).derive_into(key, derived)
    return derived


def key_id(key: bytes) -> str:
    """A public identifier for a software key: reveals nothing, stable for the key's life."""
    return hkdf(key, b"faceseal/key-id/v1", length=12).hex()


def fingerprint(key: bytes) -> str:
    """What a person may compare by eye (status, recovery kit): never the key itself."""
    digest = hkdf(key, b"faceseal/fingerprint/v1", length=10).hex().upper()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


# AES-256-GCM goes through cryptography's streaming Cipher API, not its one-shot AESGCM class: measured
# (tests/security/test_memory_hygiene.py), AESGCM's encrypt and decrypt_into leave a copy of the key on the
# calling thread's stack, where it stays after the vault closed (serve's worker threads); the streaming path
# does not. The format is the same: nonce, ciphertext, 16-byte tag.
def encrypt(key: bytes | bytearray, nonce: bytes, plaintext: bytes | bytearray | memoryview, aad: bytes) -> bytes:
    """AES-256-GCM: the ciphertext followed by its tag."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    sealed = encryptor.update(plaintext) + encryptor.finalize()
    return sealed + encryptor.tag


def aead_wrap(key: bytes | bytearray, plaintext: bytes | bytearray, aad: bytes) -> bytes:
    """AES-256-GCM with a random nonce, nonce prepended: how keys are wrapped by keys."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + encrypt(key, nonce, plaintext, aad)


def aead_unwrap(key: bytes | bytearray, blob: bytes, aad: bytes) -> Secret | None:
    """Inverse of :func:`aead_wrap`, decrypted into a :class:`Secret`; ``None`` when the key or the context is wrong."""
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        return None
    return decrypt_into(key, blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad, Secret(len(blob) - NONCE_BYTES - TAG_BYTES))


def decrypt_into(key: bytes | bytearray, nonce: bytes, sealed: bytes, aad: bytes,
                 out: Secret | memoryview) -> Secret | memoryview | None:
    """AES-256-GCM-open ``sealed`` (ciphertext, then tag) into the byte buffer ``out`` (of the plaintext's size),
    which is returned; ``None`` when it does not open (``out`` untouched: nothing unauthenticated reaches it)."""
    size = len(sealed) - TAG_BYTES
    if size < 0 or memoryview(out).nbytes != size:
        raise ValueError("the buffer is not of the plaintext's size")
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, sealed[size:])).decryptor()
    decryptor.authenticate_additional_data(aad)
    with Secret(size + 15) as scratch:  # update_into wants a block's worth of room beyond the data
        written = decryptor.update_into(memoryview(sealed)[:size], scratch)
        try:
            decryptor.finalize()
        except InvalidTag:
            return None
        memoryview(out).cast("B")[:written] = memoryview(scratch)[:written]
    return out


def same_secret(a: bytes | bytearray, b: bytes | bytearray) -> bool:
    """Constant-time comparison for anything secret."""
    return hmac.compare_digest(a, b)
