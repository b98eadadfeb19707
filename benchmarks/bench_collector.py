"""Collector scale benchmark: a simulated fleet sending signed batches to one collector on loopback.

1,000 devices, each with its own Ed25519 key, sign 100,000 events in batches of
25 (4,000 batches, each in the canonical JSON a device sends) before the clock
starts; then ``CLIENTS`` threads send them all, each batch on a connection of
its own as devices do (plain sockets and the raw HTTP/1.1 bytes prepared
beforehand, so that the client takes as little of the shared cores as it can),
to one real collector (``python -m faceseal_collector --workers 2``) on
127.0.0.1, once on an sqlite
file and once on a real PostgreSQL server (started here in a temp folder, fsync
on, see tests/collector/pgserver.py). Figures per backend:

* batches/s and events/s accepted (each answer must be ``201 accepted``, and
  the database must then hold exactly the events sent), and the p50/p99
  latency of one batch (request written to answer read) at that load;
* the collector's cost per event: the CPU time (user + system, from /proc) of
  its process and its workers, and the wall time, each divided by the events
  stored; the PostgreSQL server's own CPU (postmaster and backends) beside it;
* the ratio of that CPU cost to a bare Ed25519 verify of the same signed bytes
  (one verify per batch, divided by its events), measured in the same run,
  and beside it ``verify_envelope`` in-process (shape, attribution, signature,
  vocabulary: what the collector must do before storing anything).

Bounded: fixed counts, and a deadline (``DEADLINE_S`` per backend) after
which sending stops and the partial figures are reported as such.

Run: ``.venv/bin/python benchmarks/bench_collector.py [--events N --devices N --workers N]``
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
from edge_core.telemetry.canonical import canonical_json, signing_bytes
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope, verify_envelope

EVENTS = 100_000
DEVICES = 1_000
PER_BATCH = 25
CLIENTS = 128  # batches in flight at once: the collector answers each after its group commits
WORKERS = 2
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
                    canonical_json(envelope),  # what a device's outbox sends
                    base64.b64decode(str(envelope["public_key"])),
                    base64.b64decode(str(envelope["signature"])),
                    signing_bytes(envelope),
                    size,
                )
            )
    return batches


def _bare_verify_s(batches: list[tuple[bytes, bytes, bytes, bytes, int]]) -> float:
    """CPU seconds for a bare Ed25519 verify of every batch's signed bytes (keys loaded beforehand)."""
    keys = [Ed25519PublicKey.from_public_bytes(public) for _, public, _, _, _ in batches]
    start = time.process_time()  # CPU time, as the collector's is counted: on shared cores wall time is not the cost
    for key, (_, _, signature, content, _) in zip(keys, batches):
        key.verify(signature, content)
    return time.process_time() - start


def _verify_envelope_s(batches: list[tuple[bytes, bytes, bytes, bytes, int]]) -> float:
    start = time.process_time()
    for body, *_ in batches:
        verify_envelope(json.loads(body))  # the parse is the collector's: see intake.parse_body
    return time.process_time() - start


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``, its live children, and its children that ended and were waited for."""
    fields = _stat(pid)
    ticks = sum(int(value) for value in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            try:
                child = _stat(int(entry.name))
            except (OSError, IndexError):
                continue
            if child[1] == str(pid):
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _send_all(port: int, batches: list[tuple[bytes, bytes, bytes, bytes, int]], deadline: float
              ) -> tuple[dict[int, int], list[float]]:
    """Send every batch from ``CLIENTS`` threads, each batch on a connection of its own as a device sends it
    (one batch every few minutes: no connection lives that long), so that the kernel hands each connection to
    whichever worker accepts first. Plain blocking sockets: the client's CPU is taken from the same two cores.
    Returns the status counts and each batch's latency (connect to the answer's last byte)."""
    requests = iter([b"POST /v1/batches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                     for body, *_ in batches])
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                request = next(requests, None)
            if request is None:
                return
            started = time.perf_counter()
            with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
                connection.sendall(request)
                answer = b"".join(iter(lambda: connection.recv(65536), b""))  # the server closes after answering
            latency = time.perf_counter() - started
            with lock:
                latencies.append(latency)
                status = int(answer[9:12])
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, latencies


def _stored_events(db: str) -> int:
    from sqlalchemy import create_engine, text

    from faceseal_collector.database import parse_database

    engine = create_engine(parse_database(db))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)
    finally:
        engine.dispose()


def _settle(pid: int) -> None:
    """Wait (30 s at most) until the collector's processes stop spending CPU: every worker has imported and
    opened its database, not only the first to answer, so that none of that is counted as serving."""
    previous = _tree_cpu_s(pid)
    for _ in range(60):
        time.sleep(0.5)
        now = _tree_cpu_s(pid)
        if now - previous < 0.02:
            return
        previous = now


def _percentile_ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1e3, 1) if ordered else 0.0


def _one_backend(db: str, batches: list[tuple[bytes, bytes, bytes, bytes, int]], bare_per_event_s: float,
                 workers: int, server_pid: int | None = None) -> dict[str, Any]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "faceseal_collector", "--db", db, "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        ready = time.monotonic() + 60
        while time.monotonic() < ready:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the collector did not start")
        _settle(process.pid)
        cpu_before, server_before = _tree_cpu_s(process.pid), _tree_cpu_s(server_pid) if server_pid else 0.0
        client_before = time.process_time()
        start = time.perf_counter()
        statuses, latencies = _send_all(port, batches, time.monotonic() + DEADLINE_S)
        wall = time.perf_counter() - start
        client_cpu = time.process_time() - client_before
        cpu = _tree_cpu_s(process.pid) - cpu_before
        server_cpu = _tree_cpu_s(server_pid) - server_before if server_pid else None
    finally:
        process.terminate()
        process.wait(timeout=30)
    sent = sum(statuses.values())
    stored = _stored_events(db)
    cpu_per_event = cpu / max(stored, 1)
    figures = {
        "workers": workers,
        "batches_sent": sent,
        "complete": sent == len(batches),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "events_stored": stored,
        "wall_s": round(wall, 2),
        "batches_per_s": round(statuses.get(201, 0) / wall, 1),
        "events_per_s": round(stored / wall),
        "latency_p50_ms": _percentile_ms(latencies, 0.50),
        "latency_p99_ms": _percentile_ms(latencies, 0.99),
        "collector_cpu_s": round(cpu, 2),
        "cpu_us_per_event": round(cpu_per_event * 1e6, 1),
        "wall_us_per_event": round(wall / max(stored, 1) * 1e6, 1),
        "ratio_cpu_vs_bare_verify": round(cpu_per_event / bare_per_event_s, 1),
        "client_cpu_s": round(client_cpu, 2),
    }
    if server_cpu is not None:
        figures["postgres_cpu_s"] = round(server_cpu, 2)
        figures["postgres_cpu_us_per_event"] = round(server_cpu / max(stored, 1) * 1e6, 1)
    return figures


def run(events: int = EVENTS, devices: int = DEVICES, backends: tuple[str, ...] = ("sqlite", "postgresql"),
        workers: int = WORKERS) -> dict[str, Any]:
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
        "load_average_before": os.getloadavg()[0],
        "bare_verify_us_per_event": round(bare * 1e6, 2),
        "verify_envelope_us_per_event": round(verify * 1e6, 2),
        "verify_envelope_ratio": round(verify / bare, 1),
    }
    with tempfile.TemporaryDirectory(prefix="faceseal-bench-collector-") as folder:
        for backend in backends:
            if backend == "sqlite":
                results["sqlite"] = _one_backend(str(Path(folder) / "collector.db"), batches, bare, workers)
                continue
            from tests.collector.pgserver import PostgresServer, PostgresUnavailable

            try:
                server = PostgresServer(durable=True).start()
            except PostgresUnavailable as error:
                results["postgresql"] = {"skipped": str(error)}
                continue
            try:
                results["postgresql"] = _one_backend(server.database(), batches, bare, workers, server.pid())
            finally:
                server.stop()
    results["load_average_after"] = os.getloadavg()[0]
    print(f"bare Ed25519 verify {results['bare_verify_us_per_event']} us/event;"
          f" verify_envelope {results['verify_envelope_us_per_event']} us/event (x{results['verify_envelope_ratio']})")
    for backend in backends:
        figure = results[backend]
        if "skipped" in figure:
            print(f"{backend:10} skipped: {figure['skipped']}")
            continue
        print(
            f"{backend:10} {figure['batches_per_s']:>8} batches/s {figure['events_per_s']:>8} events/s"
            f"  latency p50 {figure['latency_p50_ms']} ms p99 {figure['latency_p99_ms']} ms"
            f"  collector CPU {figure['cpu_us_per_event']} us/event (x{figure['ratio_cpu_vs_bare_verify']} bare verify)"
            f"  wall {figure['wall_us_per_event']} us/event  stored {figure['events_stored']}"
            f"{'  PostgreSQL CPU ' + str(figure['postgres_cpu_us_per_event']) + ' us/event' if 'postgres_cpu_s' in figure else ''}"
            f"{'' if figure['complete'] else '  INCOMPLETE (deadline)'}"
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=WORKERS)
    options = parser.parse_args()
    print(json.dumps(run(options.events, options.devices, tuple(options.backend or ("sqlite", "postgresql")),
                         options.workers), indent=1))
