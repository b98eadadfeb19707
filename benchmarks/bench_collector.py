"""Collector scale benchmark: a simulated fleet sending signed batches to one collector on loopback.

1,000 devices, each with its own Ed25519 key, sign 100,000 events in batches of
25 (4,000 batches) before the clock starts; then 8 client threads with
keep-alive connections send them all to one real collector process
(``python -m faceseal_collector``) on 127.0.0.1, once on an sqlite file and
once on a real PostgreSQL server (started here in a temp folder, fsync on, see
tests/collector/pgserver.py). Figures per backend:

* batches/s and events/s accepted (each answer must be ``201 accepted``, and
  the database must then hold exactly the events sent);
* the collector's cost per event: its process CPU time (user + system, from
  /proc; the PostgreSQL server's own CPU is not included) and the wall time,
  each divided by the events stored;
* the ratio of that CPU cost to a bare Ed25519 verify of the same signed bytes
  (one verify per batch, divided by its events), measured in the same run,
  and beside it ``verify_envelope`` in-process (shape, attribution, signature,
  vocabulary: what the collector must do before storing anything).

Bounded: fixed counts, and a deadline (``DEADLINE_S`` per backend) after
which sending stops and the partial figures are reported as such.

Run: ``.venv/bin/python benchmarks/bench_collector.py [--events N --devices N]``
(``--events 4000 --devices 40`` for a quick look), or ``python -m benchmarks collector``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_core.telemetry import events as ev
from edge_core.telemetry.canonical import signing_bytes
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope, verify_envelope

EVENTS = 100_000
DEVICES = 1_000
PER_BATCH = 25
CLIENTS = 8
DEADLINE_S = 600.0
ROOT = Path(__file__).resolve().parent.parent


def _fleet(events: int, devices: int) -> list[tuple[bytes, bytes, bytes, bytes, int]]:
    """(body, public key, signature, signed bytes, event count) for every batch of every device."""
    batches = []
    per_device = events // devices
    kinds = [
        lambda i: ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, i % 500, count=1),
        lambda i: ev.operation(ev.Operation.IDENTIFY, ev.Outcome.NO_MATCH, i % 700, count=40),
        lambda i: ev.app_started(),
    ]
    for _ in range(devices):
        key = DeviceKey.generate()
        for start in range(0, per_device, PER_BATCH):
            size = min(PER_BATCH, per_device - start)
            items = [kinds[i % 3](i) for i in range(start, start + size)]
            envelope = build_envelope(key, str(uuid.uuid4()), ev.utc_timestamp(), items)
            batches.append(
                (
                    json.dumps(envelope, separators=(",", ":")).encode(),
                    base64.b64decode(str(envelope["public_key"])),
                    base64.b64decode(str(envelope["signature"])),
                    signing_bytes(envelope),
                    size,
                )
            )
    return batches


def _bare_verify_s(batches: list[tuple[bytes, bytes, bytes, bytes, int]]) -> float:
    """Seconds for a bare Ed25519 verify of every batch's signed bytes (keys loaded beforehand)."""
    keys = [Ed25519PublicKey.from_public_bytes(public) for _, public, _, _, _ in batches]
    start = time.perf_counter()
    for key, (_, _, signature, content, _) in zip(keys, batches):
        key.verify(signature, content)
    return time.perf_counter() - start


def _verify_envelope_s(batches: list[tuple[bytes, bytes, bytes, bytes, int]]) -> float:
    start = time.perf_counter()
    for body, *_ in batches:
        verify_envelope(json.loads(body))
    return time.perf_counter() - start


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send_all(url: str, batches: list[tuple[bytes, bytes, bytes, bytes, int]], deadline: float) -> dict[int, int]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(batches)))

    def client() -> None:
        with httpx.Client(timeout=60, headers={"Content-Type": "application/json"}) as http:
            while time.monotonic() < deadline:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                status = http.post(f"{url}/v1/batches", content=batches[index][0]).status_code
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _stored_events(db: str) -> int:
    from sqlalchemy import create_engine, text

    from faceseal_collector.database import parse_database

    engine = create_engine(parse_database(db))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)
    finally:
        engine.dispose()


def _one_backend(db: str, batches: list[tuple[bytes, bytes, bytes, bytes, int]], bare_per_event_s: float) -> dict[str, Any]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "faceseal_collector", "--db", db, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        ready = time.monotonic() + 30
        while time.monotonic() < ready:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the collector did not start")
        cpu_before = _cpu_s(process.pid)
        start = time.perf_counter()
        statuses = _send_all(url, batches, time.monotonic() + DEADLINE_S)
        wall = time.perf_counter() - start
        cpu = _cpu_s(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(timeout=30)
    sent = sum(statuses.values())
    stored = _stored_events(db)
    cpu_per_event = cpu / max(stored, 1)
    return {
        "batches_sent": sent,
        "complete": sent == len(batches),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "events_stored": stored,
        "wall_s": round(wall, 2),
        "batches_per_s": round(statuses.get(201, 0) / wall, 1),
        "events_per_s": round(stored / wall),
        "collector_cpu_s": round(cpu, 2),
        "cpu_us_per_event": round(cpu_per_event * 1e6, 1),
        "wall_us_per_event": round(wall / max(stored, 1) * 1e6, 1),
        "ratio_cpu_vs_bare_verify": round(cpu_per_event / bare_per_event_s, 1),
    }


def run(events: int = EVENTS, devices: int = DEVICES, backends: tuple[str, ...] = ("sqlite", "postgresql")) -> dict[str, Any]:
    """Measure, print a table and return the figures."""
    started = time.perf_counter()
    batches = _fleet(events, devices)
    total_events = sum(b[4] for b in batches)
    print(f"signed {len(batches)} batches, {total_events} events from {devices} devices"
          f" in {time.perf_counter() - started:.1f} s", flush=True)
    bare = min(_bare_verify_s(batches) for _ in range(3)) / total_events
    verify = min(_verify_envelope_s(batches) for _ in range(2)) / total_events
    results: dict[str, Any] = {
        "devices": devices,
        "batches": len(batches),
        "events": total_events,
        "events_per_batch": PER_BATCH,
        "clients": CLIENTS,
        "bare_verify_us_per_event": round(bare * 1e6, 2),
        "verify_envelope_us_per_event": round(verify * 1e6, 2),
        "verify_envelope_ratio": round(verify / bare, 1),
    }
    with tempfile.TemporaryDirectory(prefix="faceseal-bench-collector-") as folder:
        for backend in backends:
            if backend == "sqlite":
                results["sqlite"] = _one_backend(str(Path(folder) / "collector.db"), batches, bare)
                continue
            from tests.collector.pgserver import PostgresServer, PostgresUnavailable

            try:
                server = PostgresServer(durable=True).start()
            except PostgresUnavailable as error:
                results["postgresql"] = {"skipped": str(error)}
                continue
            try:
                results["postgresql"] = _one_backend(server.database(), batches, bare)
            finally:
                server.stop()
    print(f"bare Ed25519 verify {results['bare_verify_us_per_event']} us/event;"
          f" verify_envelope {results['verify_envelope_us_per_event']} us/event (x{results['verify_envelope_ratio']})")
    for backend in backends:
        figure = results[backend]
        if "skipped" in figure:
            print(f"{backend:10} skipped: {figure['skipped']}")
            continue
        print(
            f"{backend:10} {figure['batches_per_s']:>8} batches/s {figure['events_per_s']:>8} events/s"
            f"  collector CPU {figure['cpu_us_per_event']} us/event (x{figure['ratio_cpu_vs_bare_verify']} bare verify)"
            f"  wall {figure['wall_us_per_event']} us/event  stored {figure['events_stored']}"
            f"{'' if figure['complete'] else '  INCOMPLETE (deadline)'}"
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    options = parser.parse_args()
    print(json.dumps(run(options.events, options.devices, tuple(options.backend or ("sqlite", "postgresql"))), indent=1))
