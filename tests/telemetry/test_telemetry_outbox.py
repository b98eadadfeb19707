"""The outbox on real databases: opt-in recording, sealing bounds, retries, DLQ, atomicity."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.errors import ForbiddenEvent, InvalidEndpoint, OutboxBusy
from edge_core.telemetry.outbox import SCHEMA_STATEMENTS, BatchLimits, Outbox, RetryPolicy

from .conftest import open_outbox_db
from .test_telemetry_envelope import independently_verify

ENDPOINT = "http://127.0.0.1:9/"  # never contacted: the outbox makes no connection


class Clock:
    """Time the test moves by hand (epoch seconds)."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def op(marker: int) -> ev.Event:
    return ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, marker)


def _sqlite_default_mode(path: Path) -> Any:
    conn = sqlite3.connect(path)  # Python's implicit-transaction mode
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)
    conn.commit()
    return conn


def _sqlcipher(path: Path) -> Any:
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA key = \"x'" + "ab" * 32 + "'\"")
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)
    return conn


@pytest.mark.parametrize("connect", [open_outbox_db, _sqlite_default_mode, _sqlcipher])
def test_lifecycle_on_every_kind_of_connection(
    tmp_path: Path, key: DeviceKey, connect: Callable[[Path], Any]
) -> None:
    outbox = Outbox(connect(tmp_path / "db"), limits=BatchLimits(max_events=3))
    assert outbox.append(op(0)) is False  # off by default: nothing recorded
    assert outbox.status().queued_events == 0
    outbox.enable(ENDPOINT)
    assert all(outbox.append(op(i)) for i in range(7))
    assert len(outbox.seal(key)) == 2  # two full batches; one event waits for the age bound
    assert len(outbox.seal(key, force=True)) == 1
    status = outbox.status()
    assert (status.queued_events, status.pending_batches, status.pending_events) == (0, 3, 7)
    lines = list(outbox.envelopes())
    markers = [e["latency_ms"] for line in lines for e in independently_verify(line)["events"]]
    assert markers == list(range(7))
    outbox.disable()
    assert outbox.append(op(99)) is False
    assert outbox.clear() == type(outbox.clear())(events=0, batches=3)
    # A reopened connection sees it all: every write was committed.
    reopened = Outbox(connect(tmp_path / "db"))
    assert reopened.status().pending_batches == 0 and reopened.settings().enabled is False


def test_age_bound_seals_old_events(make_outbox: Callable[..., Outbox], key: DeviceKey) -> None:
    clock = Clock()
    outbox = make_outbox(ENDPOINT, limits=BatchLimits(max_events=100, max_age_s=60), clock=clock)
    outbox.append(op(1))
    clock.now += 59
    assert outbox.seal(key) == []
    clock.now += 1
    assert len(outbox.seal(key)) == 1


def test_events_older_than_the_collector_takes_leave_the_queue_unsent(make_outbox: Callable[..., Outbox],
                                                                     key: DeviceKey) -> None:
    """Queued for a month while nothing delivered: sealed with fresh events, they would get the whole batch refused
    (out_of_window) and dead-lettered; they are left out instead, and the fresh ones still go."""
    clock = Clock()
    outbox = make_outbox(ENDPOINT, clock=clock)
    sealed_at = datetime.fromtimestamp(clock.now, timezone.utc)
    stale = ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, 1, at=sealed_at - timedelta(days=30, seconds=1))
    edge = ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, 2, at=sealed_at - timedelta(days=30))
    for event in (stale, edge, op(3)):
        outbox.append(event)
    [batch] = outbox.seal(key, force=True)
    envelope = json.loads(next(outbox.envelopes()))
    assert [e["latency_ms"] for e in envelope["events"]] == [2, 3] and envelope["batch_id"] == batch
    assert outbox.status().queued_events == 0
    outbox.append(stale)  # a queue of nothing but stale events seals nothing and empties
    assert outbox.seal(key, force=True) == [] and outbox.status().queued_events == 0


def test_refuses_to_run_inside_the_callers_transaction(tmp_path: Path) -> None:
    conn = open_outbox_db(tmp_path / "db")
    outbox = Outbox(conn)
    outbox.enable(ENDPOINT)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO telemetry_events (recorded_at, body) VALUES (0, 'callers')")
    with pytest.raises(OutboxBusy):
        outbox.append(op(1))
    assert conn.in_transaction  # the caller's transaction is left exactly as it was
    conn.execute("ROLLBACK")
    assert outbox.status().queued_events == 0


def test_only_events_go_in_and_bad_endpoints_are_refused(
    make_outbox: Callable[..., Outbox],
) -> None:
    outbox = make_outbox(ENDPOINT)
    with pytest.raises(ForbiddenEvent):
        outbox.append({"kind": "app_started"})  # type: ignore[arg-type]
    for bad in (
        "",
        "ftp://host/",
        "http://",
        "https:///path",
        "file:///etc/passwd",
        "localhost:8750",
        "http://user:pw@host/",
        "http://host/?token=1",
        "http://host:99999/",
        "http://ho st/",
        "http://999.999.999.999/",
        "http://a..b/",
    ):
        with pytest.raises(InvalidEndpoint):
            outbox.enable(bad)
    assert outbox.settings().endpoint == ENDPOINT.rstrip("/")  # stored as the base URL (issue 16)


def test_backoff_grows_with_jitter_then_dead_letters(
    make_outbox: Callable[..., Outbox], key: DeviceKey
) -> None:
    clock = Clock()
    policy = RetryPolicy(max_attempts=4, base_delay_s=2, max_delay_s=5)
    outbox = make_outbox(ENDPOINT, retry=policy, clock=clock, rng=random.Random(7))
    outbox.append(op(1))
    [batch_id] = outbox.seal(key, force=True)
    for failures, ceiling in ((1, 2), (2, 4), (3, 5)):
        assert outbox.mark_failed(batch_id, "timeout") == "pending"
        delay = outbox.status().next_attempt_at - clock.now
        assert ceiling / 2 <= delay <= ceiling
        assert outbox.due() == []
        clock.now += delay
        assert [b.attempts for b in outbox.due()] == [failures]
    assert outbox.mark_failed(batch_id, "http_500") == "dead"
    [dead] = outbox.dead_letters()
    assert (dead.batch_id, dead.attempts, dead.last_error) == (batch_id, 4, "http_500")
    assert outbox.retry_dlq() == 1
    assert [b.attempts for b in outbox.due()] == [0]
    assert outbox.mark_failed(batch_id, "refused:replay", permanent=True) == "dead"
    outbox.mark_sent(batch_id)
    assert outbox.mark_failed(batch_id, "late") == "sent"


def start_worker(mode: str, db: Path, key: DeviceKey) -> subprocess.Popen[bytes]:
    """Run worker.py in its own process; the seed goes through a pipe, not argv."""
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("worker.py")), mode, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    worker.stdin.write(key.seed().hex().encode() + b"\n")  # type: ignore[union-attr]
    worker.stdin.close()  # type: ignore[union-attr]
    return worker


def test_sigkill_while_appending_and_sealing_loses_and_duplicates_nothing(
    tmp_path: Path, key: DeviceKey
) -> None:
    db = tmp_path / "outbox.db"
    outbox = Outbox(open_outbox_db(db))
    outbox.enable(ENDPOINT)
    for _ in range(3):
        outbox.clear()
        worker = start_worker("append", db, key)
        deadline = time.monotonic() + 60
        while outbox.status().sent_batches + outbox.status().pending_batches < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        sealed = [
            e["latency_ms"] for line in outbox.envelopes() for e in json.loads(line)["events"]
        ]
        queued = [
            json.loads(body)["latency_ms"]
            for (body,) in open_outbox_db(db).execute(
                "SELECT body FROM telemetry_events ORDER BY seq"
            )
        ]
        # Markers were appended as 0, 1, 2, ...: what survived is exactly a prefix, in order.
        assert sealed + queued == list(range(len(sealed) + len(queued)))
        assert all(len(json.loads(line)["events"]) == 5 for line in outbox.envelopes())
