"""The byte-exact form that device keys sign and collectors verify.

It lives apart from ``envelope`` so that ``device`` can check what it signs
without an import cycle. docs/TELEMETRY.md describes the same form byte for
byte; an independent verifier needs nothing but these rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge_core.support.canonical import canonical_json

#: Envelope format version, carried in the signed field ``v``.
ENVELOPE_VERSION = 1
#: Every field of an envelope except ``signature``, i.e. exactly what is signed.
SIGNED_FIELDS = frozenset({"v", "device_id", "public_key", "batch_id", "created_at", "events"})


def signing_bytes(envelope: Mapping[str, object]) -> bytes:
    """The canonical bytes of ``envelope`` without its ``signature`` field."""
    return canonical_json({key: value for key, value in envelope.items() if key != "signature"})
