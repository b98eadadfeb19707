"""The one canonical JSON form: what FaceSeal hashes, MACs and signs.

Sorted keys, no insignificant whitespace, ASCII only, NaN and infinities
refused. The audit chain, the audit head signature, the policy MAC, the
recovery kit's associated data and the telemetry envelope all use this one
function, so a verifier written from docs/FORMAT.md, docs/SOVEREIGNTY.md or
docs/TELEMETRY.md needs these rules alone.
"""

from __future__ import annotations

import json


def canonical_json(value: object) -> bytes:
    """UTF-8 (in fact ASCII) JSON bytes, identical to ``json.dumps(sort_keys=True, separators=(',', ':'))``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
