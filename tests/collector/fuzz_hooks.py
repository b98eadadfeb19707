"""Schemathesis hooks for the collector's fuzz run: envelopes signed by a real device key.

A fuzzer cannot sign, so without these every generated batch would stop at the
device id or the signature, and the checks behind them (the event vocabulary,
real event times, the batch window) would never be reached. Half of the
well-formed envelopes, chosen by their own bytes so the run stays reproducible,
are re-signed by the key whose seed is in ``FACESEAL_FUZZ_DEVICE_SEED``, and half
of those are also dated now so that the collector stores some of them.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import schemathesis

from edge_core.telemetry.canonical import SIGNED_FIELDS
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.events import utc_timestamp


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    body = case.body
    if case.path != "/v1/batches" or not isinstance(body, dict) or set(body) != SIGNED_FIELDS | {"signature"} \
            or not isinstance(body.get("events"), list):
        return
    choice = hashlib.sha256(repr(body).encode()).digest()[0]
    if choice % 2:
        return
    key = DeviceKey.from_seed(bytes.fromhex(os.environ["FACESEAL_FUZZ_DEVICE_SEED"]))
    unsigned = {**{k: v for k, v in body.items() if k != "signature"},
                "device_id": key.device_id, "public_key": key.public_key_b64}
    if choice % 4 == 0:
        now = utc_timestamp()
        unsigned["created_at"] = now
        unsigned["events"] = [dict(event, at=now) if isinstance(event, dict) else event for event in body["events"]]
    try:
        case.body = {**unsigned, "signature": key.sign_batch(unsigned)}
    except (TypeError, ValueError):  # content canonical JSON cannot express: sent as generated
        return
