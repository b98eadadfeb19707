"""Signed batch envelopes: building them on the device, verifying them anywhere.

An envelope is ``{v, device_id, public_key, batch_id, created_at, events,
signature}``; the signature is Ed25519 over ``canonical.signing_bytes`` (the
envelope minus ``signature``). Verification is self-contained (the public key
travels in the envelope) and the device id must be derived from that key, so
a batch cannot claim another device. Whether the key is the one *registered*
for that device is the collector's business, not this module's.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.telemetry.canonical import ENVELOPE_VERSION, SIGNED_FIELDS, canonical_json, signing_bytes
from edge_core.telemetry.device import device_id_for
from edge_core.telemetry.errors import EnvelopeError, ForbiddenEvent
from edge_core.telemetry.events import TIMESTAMP_RE, TIMESTAMP_WHAT, Event, parse_timestamp
from edge_core.telemetry.events import json_schema as event_schema

if TYPE_CHECKING:
    from edge_core.telemetry.device import DeviceKey

__all__ = [
    "MAX_AGE",
    "MAX_EVENTS",
    "MAX_SKEW",
    "VerifiedBatch",
    "build_envelope",
    "canonical_json",
    "signing_bytes",
    "verify_envelope",
]

#: Upper bound on events per batch that any verifier accepts.
MAX_EVENTS = 1000
MAX_AGE = timedelta(days=30)
"""How old a batch's ``created_at``, or any event's ``at``, may be when a collector receives it (the wire
contract: the collector refuses older ones, and a device leaves older events out of what it seals)."""
MAX_SKEW = timedelta(minutes=5)
"""How far ahead a device's clock may run: of the collector's, and an event of its own batch's ``created_at``."""


@dataclass(frozen=True)
class VerifiedBatch:
    """What a verified envelope says; ``content`` (the signed bytes) identifies it exactly."""

    device_id: str
    public_key: str
    batch_id: str
    created_at: str
    events: tuple[Event, ...]
    content: bytes


def build_envelope(
    device_key: DeviceKey, batch_id: str, created_at: str, events: Sequence[Event]
) -> dict[str, object]:
    """A signed envelope for ``events``; refuses non-``Event`` items and bad bounds."""
    if not 1 <= len(events) <= MAX_EVENTS:
        raise ValueError(f"a batch holds 1 to {MAX_EVENTS} events")
    if not all(isinstance(event, Event) for event in events):
        raise ForbiddenEvent("a batch holds only validated Event objects")
    unsigned: dict[str, object] = {
        "v": ENVELOPE_VERSION,
        "device_id": device_key.device_id,
        "public_key": device_key.public_key_b64,
        "batch_id": batch_id,
        "created_at": created_at,
        "events": [event.as_dict() for event in events],
    }
    _check_header(unsigned)
    return {**unsigned, "signature": device_key.sign_batch(unsigned)}


def _b64(value: object, size: int, field: str) -> bytes:
    """Strict standard base64 of exactly ``size`` bytes, in its one canonical spelling."""
    try:
        raw = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size or base64.b64encode(raw).decode("ascii") != value:
        raise EnvelopeError("malformed", f"{field} must be {size} bytes in standard base64")
    return raw


def _is_uuid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _check_header(envelope: Mapping[str, object]) -> bytes:
    """Check every field except events and signature; return the raw public key."""
    if envelope.get("v") != ENVELOPE_VERSION or type(envelope.get("v")) is not int:
        raise EnvelopeError("unsupported_version", f"envelope v must be {ENVELOPE_VERSION}")
    for field in ("device_id", "batch_id"):
        if not _is_uuid(envelope[field]):
            raise EnvelopeError("malformed", f"{field} must be a lower-case UUID string")
    if parse_timestamp(envelope["created_at"]) is None:
        raise EnvelopeError("malformed", f"created_at must be {TIMESTAMP_WHAT}")
    events = envelope["events"]
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
        raise EnvelopeError("malformed", f"events must be a list of 1 to {MAX_EVENTS} events")
    return _b64(envelope["public_key"], 32, "public_key")


_B64_32 = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"  # the one canonical spelling of 32 bytes
_B64_64 = "^[A-Za-z0-9+/]{85}[AQgw]==$"  # and of 64
_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def json_schema() -> dict[str, object]:
    """The JSON Schema of an envelope's form (what :func:`verify_envelope` checks before the signature)."""
    return {
        "type": "object", "additionalProperties": False,
        "required": sorted(SIGNED_FIELDS | {"signature"}),
        "description": "A batch signed by a device key: signature is Ed25519 over the canonical JSON of every "
                       "other field (docs/TELEMETRY.md), device_id the first 16 bytes of SHA-256(public_key) "
                       "as a UUID.",
        "properties": {
            "v": {"type": "integer", "const": ENVELOPE_VERSION},
            "device_id": {"type": "string", "pattern": _UUID},
            "public_key": {"type": "string", "pattern": _B64_32, "description": "raw Ed25519 public key, base64"},
            "batch_id": {"type": "string", "pattern": _UUID},
            "created_at": {"type": "string", "format": "date-time", "pattern": f"^{TIMESTAMP_RE.pattern}$",
                           "description": TIMESTAMP_WHAT},
            "events": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS, "items": event_schema()},
            "signature": {"type": "string", "pattern": _B64_64, "description": "Ed25519 signature, base64"},
        },
    }


def verify_envelope(envelope: object) -> VerifiedBatch:
    """Verify shape, attribution, signature and vocabulary, in that order.

    Raises ``EnvelopeError`` whose ``code`` is one of ``malformed``,
    ``unsigned``, ``unsupported_version``, ``device_mismatch``,
    ``bad_signature`` or ``forbidden_event``. The signature is checked before
    the events' vocabulary so that a tampered byte reads as ``bad_signature``.
    """
    if not isinstance(envelope, Mapping):
        raise EnvelopeError("malformed", "an envelope must be a JSON object")
    if not envelope.get("signature"):
        raise EnvelopeError("unsigned", "the envelope carries no signature")
    if set(envelope) != SIGNED_FIELDS | {"signature"}:
        raise EnvelopeError(
            "malformed",
            "envelope fields must be exactly: " + ", ".join(sorted(SIGNED_FIELDS | {"signature"})),
        )
    public_raw = _check_header(envelope)
    if device_id_for(public_raw) != envelope["device_id"]:
        raise EnvelopeError("device_mismatch", "device_id is not derived from public_key")
    signature = _b64(envelope["signature"], 64, "signature")
    try:
        content = signing_bytes(envelope)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, content)
    except (InvalidSignature, ValueError, TypeError) as error:
        raise EnvelopeError("bad_signature", "the signature does not match the content") from error
    events = []
    for index, item in enumerate(envelope["events"]):
        try:
            events.append(Event(item))
        except ForbiddenEvent as error:
            raise EnvelopeError("forbidden_event", f"event {index}: {error}") from None
    return VerifiedBatch(
        device_id=str(envelope["device_id"]),
        public_key=str(envelope["public_key"]),
        batch_id=str(envelope["batch_id"]),
        created_at=str(envelope["created_at"]),
        events=tuple(events),
        content=content,
    )
