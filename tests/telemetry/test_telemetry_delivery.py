"""The real uploader against the real collector (and against servers that fail) on loopback."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.errors import TelemetryDisabled
from edge_core.telemetry.outbox import BatchLimits, Outbox, RetryPolicy
from edge_core.telemetry.uploader import Timeouts, flush

from .conftest import fill, open_outbox_db
from .servers import Collector, answer_losing_proxy, answering_500, stalling
from .test_telemetry_outbox import start_worker

QUICK = Timeouts(connect_s=0.5, io_s=0.3)


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
    assert collector.markers(key.device_id) == list(range(5))
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
    outbox = make_outbox("https://xn--/", retry=fast_retry)  # fails before any DNS lookup
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
    assert own_collector.markers(key.device_id) == list(range(40))
    assert outbox.status().sent_events == 40


def test_sigkill_mid_flush_then_restart_delivers_everything_exactly_once(
    tmp_path: Path, key: DeviceKey, collector: Collector
) -> None:
    db = tmp_path / "outbox.db"
    outbox = Outbox(open_outbox_db(db), limits=BatchLimits(max_events=5))
    outbox.enable(collector.url)
    fill(outbox, 400)  # 80 batches of 5, sealed by the worker itself
    for _ in range(3):
        before = len(collector.markers(key.device_id))
        worker = start_worker("flush", db, key)
        deadline = time.monotonic() + 60
        while len(collector.markers(key.device_id)) == before and worker.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    delivered = len(collector.markers(key.device_id))
    assert 0 < delivered < 400  # the kills really landed mid-flush
    flush(outbox, key, timeouts=Timeouts(connect_s=2, io_s=5))
    assert collector.markers(key.device_id) == list(range(400))
    status = outbox.status()
    assert (
        status.sent_events,
        status.pending_batches,
        status.dead_batches,
        status.queued_events,
    ) == (400, 0, 0, 0)
