"""The sealed template blob, format v2 (docs/FORMAT.md has it byte for byte).

    offset size  field
    0      4     magic "SENC" (0x53454E43)
    4      1     format version, 0x02
    5      4     key version, u32 big-endian (the vault key version of the identity key)
    9      16    salt, fresh per blob
    25     12    AES-GCM nonce
    37     n+16  AES-256-GCM ciphertext of the template, then its 16-byte tag

The template key is HKDF-SHA256(identity key, salt, info "faceseal/template/v2:<id>"),
so every blob has its own key. The AAD is the 37 header bytes followed by
"template:<id>": a blob moved under another template id, or a header byte
changed, does not open.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from edge_core.errors import CorruptBlob
from edge_core.keys.material import decrypt_into, encrypt, hkdf
from edge_core.keys.secret import Secret

MAGIC = b"SENC"
VERSION = 0x02
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">4sBI16s12s")
HEADER_BYTES = _HEADER.size  # 37


@dataclass(frozen=True)
class BlobHeader:
    key_version: int
    salt: bytes
    nonce: bytes


def template_key(identity_key: bytes | bytearray, salt: bytes, template_id: str) -> Secret:
    """L4: one key per blob, derived so that no two blobs ever share a key."""
    return hkdf(identity_key, f"faceseal/template/v2:{template_id}".encode(), salt=salt)


def _aad(header: bytes, template_id: str) -> bytes:
    return header + f"template:{template_id}".encode()


def seal(identity_key: bytes | bytearray, key_version: int, template_id: str,
         plaintext: bytes | bytearray | memoryview) -> bytes:
    """Encrypt one template under a fresh salt and nonce (its key overwritten once used)."""
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    header = _HEADER.pack(MAGIC, VERSION, key_version, salt, nonce)
    with template_key(identity_key, salt, template_id) as key:
        return header + encrypt(key, nonce, plaintext, _aad(header, template_id))


def parse_header(blob: bytes) -> BlobHeader:
    """Check the frame of a blob without any key; every malformed input is a CorruptBlob."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise CorruptBlob("sealed template is not bytes")
    if len(blob) < HEADER_BYTES + TAG_BYTES:
        raise CorruptBlob("sealed template is truncated")
    magic, version, key_version, salt, nonce = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise CorruptBlob("sealed template has no SENC header")
    if version != VERSION:
        raise CorruptBlob(f"sealed template format {version} is not supported")
    return BlobHeader(key_version, salt, nonce)


def plaintext_size(blob: bytes) -> int:
    """How many bytes the template sealed in ``blob`` has, known before it is opened (a CorruptBlob if malformed)."""
    parse_header(blob)
    return len(blob) - HEADER_BYTES - TAG_BYTES


def open_blob(identity_key: bytes | bytearray, template_id: str, blob: bytes,
              out: Secret | memoryview | None = None) -> Secret | memoryview:
    """Authenticate and decrypt into the byte buffer ``out`` (of :func:`plaintext_size`; a new :class:`Secret`
    by default), returned; any tampering or a wrong key is a CorruptBlob, and ``out`` is left as it was."""
    header = parse_header(blob)
    if out is None:
        out = Secret(plaintext_size(blob))
    with template_key(identity_key, header.salt, template_id) as key:
        opened = decrypt_into(key, header.nonce, bytes(blob[HEADER_BYTES:]),
                              _aad(bytes(blob[:HEADER_BYTES]), template_id), out)
    if opened is None:
        raise CorruptBlob(f"sealed template {template_id} failed authentication (tampered or wrong key)")
    return opened
