"""The real uploader against the real collector (and against servers that fail) on loopback."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.envelope import build_envelope
from edge_core.telemetry.errors import TelemetryDisabled
from edge_core.telemetry.outbox import BatchLimits, Outbox, RetryPolicy
from edge_core.telemetry.uploader import Timeouts, flush

from .conftest import open_outbox_db
from .servers import Collector, answer_losing_proxy, answering_500, stalling
from .test_telemetry_outbox import start_worker

QUICK = Timeouts(connect_s=0.5, io_s=0.3)


def fill(outbox: Outbox, count: int, start: int = 0) -> None:
    """Queue ``count`` events whose latency_ms markers start..start+count-1 are unique."""
    for marker in range(start, start + count):
        assert outbox.append(
            ev.operation(ev.Operation.IDENTIFY, ev.Outcome.NO_MATCH, marker, count=9)
        )


def markers(collector: Collector, device_id: str) -> list[int]:
    bodies = collector.rows("SELECT body FROM events WHERE device_id = ?", (device_id,))
    return sorted(json.loads(str(body))["latency_ms"] for (body,) in bodies)


def post(collector: Collector, envelope: object) -> httpx.Response:
    body = envelope if isinstance(envelope, str) else json.dumps(envelope)
    return httpx.post(
        f"{collector.url}/v1/batches",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def refused(collector: Collector, envelope: object) -> tuple[int, str]:
    answer = post(collector, envelope)
    return answer.status_code, answer.json()["error"]


def test_batches_are_accepted_and_stored_once(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    outbox = make_outbox(collector.url, limits=BatchLimits(max_events=40))
    fill(outbox, 100)
    report = flush(outbox, key)
    assert (report.sealed, report.delivered, report.delivered_events, report.pending) == (
        3,
        3,
        100,
        0,
    )
    assert markers(collector, key.device_id) == list(range(100))
    [(public_key,)] = collector.rows(
        "SELECT public_key FROM devices WHERE device_id = ?", (key.device_id,)
    )
    assert public_key == key.public_key_b64  # registered on its first batch
    assert flush(outbox, key).delivered == 0  # nothing left to send


def test_collector_refusals_have_clear_codes(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    outbox = make_outbox(collector.url)
    fill(outbox, 2)
    flush(outbox, key)
    line = next(outbox.envelopes())
    envelope = json.loads(line)

    identical = post(collector, line)
    assert identical.status_code == 200 and identical.json()["status"] == "duplicate"

    tampered = line.replace('"latency_ms":0', '"latency_ms":1', 1)
    assert refused(collector, tampered) == (401, "bad_signature")
    replay = build_envelope(key, envelope["batch_id"], envelope["created_at"], [ev.app_started()])
    assert refused(collector, replay) == (409, "replay")
    misattributed = dict(envelope, device_id=DeviceKey.generate().device_id)
    assert refused(collector, misattributed) == (403, "device_mismatch")
    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    assert refused(collector, unsigned) == (400, "unsigned")
    assert refused(collector, "not json") == (400, "malformed")
    assert refused(collector, '{"a":1,"a":1}') == (400, "malformed")
    smuggled = dict(envelope, events=[{"kind": "app_started", "name": "x"}])
    assert refused(collector, smuggled) == (401, "bad_signature")
    assert refused(collector, "x" * (1 << 20 + 1)) == (413, "too_large")
    assert httpx.post(f"{collector.url}/v1/batches", content=line, timeout=10).status_code == 415
    assert httpx.get(f"{collector.url}/v1/nothing", timeout=10).json()["error"] == "not_found"
    assert markers(collector, key.device_id) == [0, 1]  # nothing refused was stored


def test_a_device_id_registered_with_another_key_is_refused(
    make_outbox: Callable[..., Outbox], key: DeviceKey, collector: Collector
) -> None:
    """The operator's registry wins over whatever key an envelope carries."""
    stranger = DeviceKey.generate().public_key_b64
    with sqlite3.connect(collector.db) as conn:
        conn.execute("INSERT INTO devices VALUES (?, ?, 'x', 'x')", (key.device_id, stranger))
    outbox = make_outbox(collector.url)
    fill(outbox, 1)
    report = flush(outbox, key)
    assert report.dead_lettered == 1
    assert outbox.dead_letters()[0].last_error == "refused:key_mismatch"


def test_a_lost_answer_counts_as_delivered_not_duplicated(
    make_outbox: Callable[..., Outbox],
    key: DeviceKey,
    collector: Collector,
    fast_retry: RetryPolicy,
) -> None:
    with answer_losing_proxy(collector.url, lose=1) as (url, proxy):
        outbox = make_outbox(url, retry=fast_retry)
        fill(outbox, 5)
        report = flush(outbox, key, timeouts=QUICK, max_wait_s=5)
    assert proxy.requests == 2 and report.failed_attempts == 1 and report.delivered == 1
    assert markers(collector, key.device_id) == list(range(5))
    assert outbox.status().sent_batches == 1


def test_nothing_is_sent_while_disabled(make_outbox: Callable[..., Outbox], key: DeviceKey) -> None:
    with answering_500() as (url, server):
        outbox = make_outbox(url)
        fill(outbox, 1)
        outbox.disable()
        with pytest.raises(TelemetryDisabled):
            flush(outbox, key)
    assert server.requests == 0
    assert make_outbox(name="never-enabled.db").append(ev.app_started()) is False


def test_a_host_that_cannot_be_encoded_is_a_failed_attempt_not_a_crash(
    make_outbox: Callable[..., Outbox], key: DeviceKey, fast_retry: RetryPolicy
) -> None:
    outbox = make_outbox("http://xn--/", retry=fast_retry)  # fails before any DNS lookup
    fill(outbox, 1)
    report = flush(outbox, key, timeouts=QUICK, max_wait_s=5)
    assert (report.failed_attempts, report.dead_lettered) == (3, 1)
    assert outbox.dead_letters()[0].last_error == "invalid_endpoint"


def test_failing_servers_retry_then_dead_letter_then_deliver_exactly_once(
    make_outbox: Callable[..., Outbox],
    key: DeviceKey,
    own_collector: Collector,
    fast_retry: RetryPolicy,
) -> None:
    """Down, 500 and stalling collectors; then the real one comes up and gets everything once."""
    down = own_collector.url  # its port is free and nobody listens there yet
    outbox = make_outbox(down, retry=fast_retry, limits=BatchLimits(max_events=10))

    fill(outbox, 25, start=0)
    report = flush(outbox, key, timeouts=QUICK, max_wait_s=10)
    assert (report.sealed, report.failed_attempts, report.dead_lettered) == (3, 9, 3)
    assert {d.last_error.split(":")[0] for d in outbox.dead_letters()} == {"network"}

    with answering_500() as (url, server):
        outbox.enable(url)
        fill(outbox, 10, start=25)
        report = flush(outbox, key, timeouts=QUICK, max_wait_s=10)
    assert (report.failed_attempts, report.dead_lettered, server.requests) == (3, 1, 3)

    with stalling() as (url, accepted):
        outbox.enable(url)
        fill(outbox, 5, start=35)
        report = flush(outbox, key, timeouts=QUICK, max_wait_s=10)  # each stall is a timeout
    assert (report.failed_attempts, report.dead_lettered, len(accepted)) == (3, 1, 3)
    assert {d.last_error for d in outbox.dead_letters()[-1:]} == {"timeout"}

    status = outbox.status()
    assert (status.dead_batches, status.dead_events, status.pending_batches) == (5, 40, 0)

    own_collector.start()
    outbox.enable(own_collector.url)
    assert outbox.retry_dlq() == 5
    report = flush(outbox, key, timeouts=QUICK)
    assert (report.delivered, report.delivered_events, report.dead_lettered) == (5, 40, 0)
    assert markers(own_collector, key.device_id) == list(range(40))
    assert outbox.status().sent_events == 40


def test_sigkill_mid_flush_then_restart_delivers_everything_exactly_once(
    tmp_path: Path, key: DeviceKey, collector: Collector
) -> None:
    db = tmp_path / "outbox.db"
    outbox = Outbox(open_outbox_db(db), limits=BatchLimits(max_events=5))
    outbox.enable(collector.url)
    fill(outbox, 400)  # 80 batches of 5, sealed by the worker itself
    for _ in range(3):
        before = len(markers(collector, key.device_id))
        worker = start_worker("flush", db, key)
        deadline = time.monotonic() + 30
        while len(markers(collector, key.device_id)) == before and worker.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    delivered = len(markers(collector, key.device_id))
    assert 0 < delivered < 400  # the kills really landed mid-flush
    flush(outbox, key, timeouts=Timeouts(connect_s=2, io_s=5))
    assert markers(collector, key.device_id) == list(range(400))
    status = outbox.status()
    assert (
        status.sent_events,
        status.pending_batches,
        status.dead_batches,
        status.queued_events,
    ) == (400, 0, 0, 0)
