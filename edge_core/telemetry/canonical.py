"""The byte-exact form that device keys sign and collectors verify.

It lives apart from ``envelope`` so that ``device`` can check what it signs
without an import cycle. docs/TELEMETRY.md describes the same form byte for
byte; an independent verifier needs nothing but these rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

#: Envelope format version, carried in the signed field ``v``.
ENVELOPE_VERSION = 1
#: Every field of an envelope except ``signature``, i.e. exactly what is signed.
SIGNED_FIELDS = frozenset({"v", "device_id", "public_key", "batch_id", "created_at", "events"})


def canonical_json(value: object) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace.

    ``ensure_ascii`` keeps the bytes identical to a plain
    ``json.dumps(sort_keys=True, separators=(',', ':'))`` (every string in the
    vocabulary is ASCII anyway); NaN and infinities are refused outright.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("utf-8")


def signing_bytes(envelope: Mapping[str, object]) -> bytes:
    """The canonical bytes of ``envelope`` without its ``signature`` field."""
    return canonical_json({key: value for key, value in envelope.items() if key != "signature"})
