"""Telemetry benchmark: signing/verifying batches, and outbox appends, against bare baselines.

Each figure is a ratio against the irreducible cost measured in the same run
on the same machine, so the numbers say what FaceSeal adds (canonical JSON,
shape and vocabulary checks, transactions) rather than how fast this laptop is:

* sign: ``build_envelope`` vs a bare Ed25519 sign of the same canonical bytes;
* verify: ``verify_envelope`` vs a bare Ed25519 verify of those bytes;
* append: ``Outbox.append`` (one BEGIN IMMEDIATE/COMMIT each, on sqlcipher)
  vs a bare autocommit INSERT of the same row on the same kind of database.

Run: ``.venv/bin/python benchmarks/bench_telemetry.py`` (or import ``run``).
"""

from __future__ import annotations

import base64
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlcipher3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_core.telemetry import events as ev
from edge_core.telemetry.canonical import canonical_json, signing_bytes
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope, verify_envelope
from edge_core.telemetry.outbox import SCHEMA_STATEMENTS, Outbox

APPENDS = 350
REPEATS = 7


def _best_ms(action: Callable[[], object], loops: int) -> float:
    """Best-of-REPEATS mean time of ``action`` in milliseconds (least disturbed by noise)."""
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(loops):
            action()
        samples.append((time.perf_counter() - start) * 1000 / loops)
    return min(samples)


def _figure(ours_ms: float, bare_ms: float) -> dict[str, float]:
    return {
        "ms": round(ours_ms, 4),
        "bare_ms": round(bare_ms, 4),
        "ratio": round(ours_ms / bare_ms, 2),
    }


def _batch_figures(size: int) -> dict[str, dict[str, float]]:
    key = DeviceKey.generate()
    bare_private = Ed25519PrivateKey.from_private_bytes(key.seed())
    bare_public = bare_private.public_key()
    events = [ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, i, count=i) for i in range(size)]
    batch_id, created = str(uuid.uuid4()), ev.utc_timestamp()
    envelope = build_envelope(key, batch_id, created, events)
    content = signing_bytes(envelope)
    signature = base64.b64decode(str(envelope["signature"]))
    loops = max(1, 2000 // size)
    return {
        f"sign_{size}": _figure(
            _best_ms(lambda: build_envelope(key, batch_id, created, events), loops),
            _best_ms(lambda: bare_private.sign(content), loops),
        ),
        f"verify_{size}": _figure(
            _best_ms(lambda: verify_envelope(envelope), loops),
            _best_ms(lambda: bare_public.verify(signature, content), loops),
        ),
    }


def _encrypted_db(path: Path) -> Any:
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA key = \"x'" + "5a" * 32 + "'\"")
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)
    return conn


def _append_figures(folder: Path) -> dict[str, dict[str, float]]:
    event = ev.operation(ev.Operation.IDENTIFY, ev.Outcome.NO_MATCH, 17, count=250)
    body = canonical_json(event.as_dict()).decode("ascii")
    outbox = Outbox(_encrypted_db(folder / "outbox.db"))
    outbox.enable("http://127.0.0.1:9")
    bare = _encrypted_db(folder / "bare.db")

    def insert() -> None:
        bare.execute(
            "INSERT INTO telemetry_events (recorded_at, body) VALUES (?, ?)", (time.time(), body)
        )

    # Best of REPEATS short rounds each, so one disk hiccup does not decide the ratio.
    loops = APPENDS // REPEATS
    ours = 1000 / _best_ms(lambda: outbox.append(event), loops)
    baseline = 1000 / _best_ms(insert, loops)
    return {
        "append": {
            "per_s": round(ours),
            "bare_per_s": round(baseline),
            "ratio": round(baseline / ours, 2),
        }
    }


def run() -> dict[str, dict[str, float]]:
    """Measure, print a table and return the figures (every ratio = our time / bare time)."""
    results: dict[str, dict[str, float]] = {}
    for size in (100, 1000):
        results.update(_batch_figures(size))
    with tempfile.TemporaryDirectory() as folder:
        results.update(_append_figures(Path(folder)))
    for name, figure in results.items():
        if name == "append":
            print(
                f"{name:12} {figure['per_s']:>10} events/s"
                f"  bare INSERT {figure['bare_per_s']:>10}/s"
                f"  ratio x{figure['ratio']}"
            )
        else:
            print(
                f"{name:12} {figure['ms']:>10.3f} ms  bare Ed25519 {figure['bare_ms']:>8.3f} ms"
                f"  ratio x{figure['ratio']}"
            )
    return results


if __name__ == "__main__":
    run()
