"""The per-installation Ed25519 device key, which signs telemetry batches, audit heads and presence assertions.

Storage is deliberately not here: the vault seals the 32-byte seed (``seed()``)
under the root key and rebuilds the key with ``from_seed``. Nothing in this
module writes the seed anywhere, and ``repr`` shows only the public device id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_core.errors import InvalidKeyMaterial
from edge_core.support.canonical import canonical_json
from edge_core.telemetry.canonical import SIGNED_FIELDS, signing_bytes

SEED_BYTES = 32
AUDIT_HEAD_DOMAIN = b"faceseal/audit-head/v1\n"
"""Prefix of every signed audit head; no telemetry envelope (canonical JSON, so ``{``) can start with it."""
AUDIT_HEAD_FIELDS = frozenset({"device_id", "hash", "seq", "signed_at"})
ASSERTION_DOMAIN = b"faceseal/assertion/v1\n"
"""Prefix of every signed presence assertion (:mod:`edge_core.audit.assertion`): never an envelope, never a head."""
PAD_REPORT_DOMAIN = b"faceseal/pad-report/v1\n"
"""Prefix of every signed spoof-test report (:mod:`edge_core.audit.padreport`): none of the three others."""
PAD_REPORT_FORMAT = "faceseal-pad-report/v1"


def audit_head_message(head: Mapping[str, object]) -> bytes:
    """The bytes an audit head signature covers: the domain, then the canonical JSON of the signed fields."""
    return AUDIT_HEAD_DOMAIN + canonical_json({k: head[k] for k in sorted(AUDIT_HEAD_FIELDS)})


def device_id_for(public_key_raw: bytes) -> str:
    """The device id: the first 16 bytes of SHA-256(raw public key) as a UUID string.

    The bytes are used as they are (no version/variant bits forced), so anyone
    can recompute the id from the public key alone.
    """
    return str(uuid.UUID(bytes=hashlib.sha256(public_key_raw).digest()[:16]))


class DeviceKey:
    """An Ed25519 key pair identifying one FaceSeal installation."""

    __slots__ = ("_private", "_public_raw")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        """Prefer ``generate`` or ``from_seed``; this wraps an existing key object."""
        self._private = private
        self._public_raw = private.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> DeviceKey:
        """A fresh key from the OS CSPRNG: a new device identity."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes | bytearray) -> DeviceKey:
        """Rebuild the key the vault unsealed. Refuses anything but 32 bytes."""
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != SEED_BYTES:
            raise InvalidKeyMaterial(f"a device key seed must be exactly {SEED_BYTES} bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def seed(self) -> bytes:
        """The 32-byte private seed, for the vault to seal. Never log or display it."""
        return self._private.private_bytes_raw()

    @property
    def public_key_raw(self) -> bytes:
        return self._public_raw

    @property
    def public_key_b64(self) -> str:
        """The raw 32-byte public key in standard base64 (as carried in envelopes)."""
        return base64.b64encode(self._public_raw).decode("ascii")

    @property
    def device_id(self) -> str:
        return device_id_for(self._public_raw)

    def sign_batch(self, unsigned: Mapping[str, object]) -> str:
        """Sign an unsigned envelope; return the standard-base64 signature.

        Refuses anything that is not an envelope of this very device, so the
        key cannot be used as a general-purpose signing oracle.
        """
        if (
            set(unsigned) != SIGNED_FIELDS
            or unsigned["device_id"] != self.device_id
            or unsigned["public_key"] != self.public_key_b64
        ):
            raise ValueError("the device key signs only this device's telemetry envelopes")
        return base64.b64encode(self._private.sign(signing_bytes(unsigned))).decode("ascii")

    def sign_audit_head(self, head: Mapping[str, object]) -> str:
        """Sign this device's audit head (seq, hash, time); return the standard-base64 signature.

        Like :meth:`sign_batch`, it signs nothing else: the message always
        starts with :data:`AUDIT_HEAD_DOMAIN`, so a head can never pass for a
        telemetry envelope, nor an envelope for a head.
        """
        if set(head) != AUDIT_HEAD_FIELDS or head["device_id"] != self.device_id:
            raise ValueError("the device key signs only this device's audit heads")
        return base64.b64encode(self._private.sign(audit_head_message(head))).decode("ascii")

    def sign_assertion(self, payload: bytes) -> bytes:
        """Sign the canonical JSON of a presence assertion's claims; the message starts with :data:`ASSERTION_DOMAIN`.

        Refuses claims that do not name this device and its key, so an app
        cannot have anything else signed through an assertion.
        """
        claims = json.loads(payload)
        if claims.get("iss") != self.device_id or claims.get("key") != self.public_key_b64:
            raise ValueError("the device key signs only this device's presence assertions")
        return self._private.sign(ASSERTION_DOMAIN + payload)

    def sign_pad_report(self, body: Mapping[str, object]) -> str:
        """Sign a spoof-test report's body (every field but ``signature``); return the standard-base64 signature.

        The message is :data:`PAD_REPORT_DOMAIN` and the body's canonical JSON, and
        only a report naming this device and its key is signed: the key stays no
        general-purpose signing oracle, and a report can never pass for an
        envelope, a head or an assertion.
        """
        if (body.get("format") != PAD_REPORT_FORMAT or body.get("device_id") != self.device_id
                or body.get("public_key") != self.public_key_b64 or "signature" in body):
            raise ValueError("the device key signs only this device's spoof-test reports")
        return base64.b64encode(self._private.sign(PAD_REPORT_DOMAIN + canonical_json(dict(body)))).decode("ascii")

    def __repr__(self) -> str:
        return f"DeviceKey(device_id={self.device_id!r})"
