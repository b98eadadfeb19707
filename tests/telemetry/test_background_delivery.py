"""Telemetry that delivers itself: ``faceseal serve`` sends on its own schedule, one process at a time.

Everything is real: the vault in the test's own data folder, ``faceseal serve``
subprocesses, the collector subprocess on 127.0.0.1, and relays that count
every batch posted through them. The schedule is made short through the
configuration (``telemetry enable --interval 1 --max-delay 1``); the tests wait
for outcomes with bounded polls and assert no durations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge_core.ops import telemetry as telemetry_ops
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.outbox import Outbox
from edge_core.telemetry.sender import BackgroundSender, send_lock
from edge_core.telemetry.uploader import Timeouts, flush
from tests.conftest import cli_json, run_cli, serve_api

from .conftest import fill, open_outbox_db
from .relays import recording_relay
from .servers import Collector, stalling

FAST = ("--interval", "1", "--max-delay", "1")


def until(condition: Callable[[], bool], what: str, limit_s: float = 120.0) -> None:
    """Poll ``condition`` (bounded); fail naming ``what`` if it never holds."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def enrol(tmp_path: Path, name: str, seed: int) -> Path:
    samples = (np.random.default_rng(seed).normal(size=64) + 0.05 * np.random.default_rng(seed + 100).normal(size=(2, 64))).astype(np.float32)
    np.save(tmp_path / f"{seed}.npy", samples)
    cli_json("enroll", "--consent", name, "--embedding", str(tmp_path / f"{seed}.npy"))
    np.save(tmp_path / f"probe-{seed}.npy", samples[0])
    return tmp_path / f"probe-{seed}.npy"


def test_nothing_starts_while_telemetry_is_off(isolated: Path, tmp_path: Path) -> None:
    enrol(tmp_path, "someone", 1)
    assert telemetry_ops.start_background(isolated) is None
    assert not [t for t in threading.enumerate() if t.name == "faceseal-telemetry"]
    assert telemetry_ops.background_round(isolated).next_in_s is None  # a round finds it off and ends


def test_serve_delivers_enrolment_and_verification_without_any_flush(isolated: Path, tmp_path: Path,
                                                                     collector: Collector) -> None:
    cli_json("telemetry", "enable", "--endpoint", collector.url, *FAST)
    device_id = cli_json("status")["device_id"]
    with serve_api(isolated) as (_base, _token, process):
        probe = enrol(tmp_path, "Ada Lovelace", 2)
        assert cli_json("verify", "Ada Lovelace", "--embedding", str(probe))["match"] is True
        until(lambda: collector.event_count(device_id) == 2, "serve delivered the enrolment and the verification")
        status = cli_json("telemetry", "status")
        assert (status["queued_events"], status["pending_batches"], status["last_error"]) == (0, 0, None)
        assert status["last_delivery_at"] is not None and status["sent_events"] == 2
    said = process.stderr.read()
    assert "delivering telemetry in the background" in said and "telemetry delivery stopped\n" in said, said
    assert "Traceback" not in said  # SIGTERM: the sender stopped cleanly with the server
    assert collector.event_count(device_id) == 2


def test_serve_started_while_off_delivers_once_telemetry_is_turned_on_elsewhere(isolated: Path, tmp_path: Path,
                                                                               collector: Collector) -> None:
    """``serve`` runs for months: an opt-in made later from the CLI reaches it without a restart."""
    enrol(tmp_path, "before", 3)  # recorded nowhere: telemetry is off
    with serve_api(isolated) as (_base, _token, process):
        cli_json("telemetry", "enable", "--endpoint", collector.url, *FAST)
        device_id = cli_json("status")["device_id"]
        enrol(tmp_path, "after", 4)
        until(lambda: collector.event_count(device_id) == 1, "serve noticed the opt-in and delivered the enrolment")
        cli_json("telemetry", "disable")
        until(lambda: not (isolated / telemetry_ops.ON_FLAG).exists(), "the opt-out lowered the flag")
        enrol(tmp_path, "while-off", 5)
    assert "delivery starts if it is turned on" in process.stderr.read()
    assert collector.event_count(device_id) == 1  # nothing recorded or sent while off


def test_two_serve_processes_never_send_the_same_batch(isolated: Path, tmp_path: Path, collector: Collector) -> None:
    with recording_relay(collector.url) as (relay, seen):
        cli_json("telemetry", "enable", "--endpoint", relay, *FAST)
        device_id = cli_json("status")["device_id"]
        with serve_api(isolated), serve_api(isolated):
            people = 6
            for index in range(people):  # each enrolment takes about a round: batches come from both servers' turns
                enrol(tmp_path, f"person {index}", 10 + index)
            until(lambda: collector.event_count(device_id) == people, "every enrolment reached the collector")
            until(lambda: cli_json("telemetry", "status")["pending_batches"] == 0, "nothing left to send")
        posts = seen.posts_per_batch()
    stored = {row[0] for row in collector.rows("SELECT batch_id FROM batches WHERE device_id = ?", (device_id,))}
    assert set(posts) == stored and set(posts.values()) == {1}, posts  # every batch posted exactly once
    assert collector.event_count(device_id) == people


def test_a_round_that_finds_the_send_lock_taken_sends_nothing(isolated: Path, tmp_path: Path,
                                                              collector: Collector) -> None:
    with recording_relay(collector.url) as (relay, seen):
        cli_json("telemetry", "enable", "--endpoint", relay, *FAST)
        cli_json("telemetry", "schedule", "--max-delay", "1")
        enrol(tmp_path, "someone", 3)
        device_id = cli_json("status")["device_id"]
        until(lambda: cli_json("telemetry", "status")["oldest_queued_at"] < time.time() - 1, "the event is ripe")
        with send_lock(isolated, wait=False) as held:  # as if the window or serve were sending now
            assert held
            busy = telemetry_ops.background_round(isolated)
            assert (busy.busy, busy.sent, seen.posts_per_batch().total()) == (True, False, 0)
            assert cli_json("telemetry", "status")["queued_events"] == 1
        done = telemetry_ops.background_round(isolated)
        assert (done.sent, done.delivered) == (True, 1)
        assert collector.event_count(device_id) == 1 and seen.posts_per_batch().total() == 1
        assert done.next_in_s is not None and done.next_in_s <= 1.0  # the configured interval


def test_a_young_event_waits_for_its_batch_until_max_delay(isolated: Path, tmp_path: Path,
                                                           collector: Collector) -> None:
    cli_json("telemetry", "enable", "--endpoint", collector.url, "--interval", "1", "--max-delay", "3600")
    enrol(tmp_path, "someone", 4)
    waiting = telemetry_ops.background_round(isolated)
    assert (waiting.sent, waiting.delivered) == (True, 0)  # not ripe: not sealed, not sent
    assert cli_json("telemetry", "status")["queued_events"] == 1
    cli_json("telemetry", "schedule", "--max-delay", "1")
    until(lambda: telemetry_ops.background_round(isolated).delivered == 1, "the ripe event was delivered")


def test_stopping_mid_send_neither_loses_nor_doubles_a_batch(tmp_path: Path, make_outbox: Callable[..., Outbox],
                                                             key: DeviceKey, collector: Collector) -> None:
    with stalling() as (url, accepted):
        outbox = make_outbox(url)
        fill(outbox, 5)

        def one_round(stop: Callable[[], bool]) -> float:  # on the sender's thread, with its own connection
            own = Outbox(open_outbox_db(tmp_path / "outbox.db"))
            flush(own, key, timeouts=Timeouts(connect_s=1, io_s=1), should_stop=stop)
            return 60.0

        rounds = BackgroundSender(one_round).start()
        until(lambda: len(accepted) > 0, "the request is in flight")
        rounds.stop(wait_s=30)  # the request in flight finishes (here: times out); nothing new starts
        assert not rounds.running
    status = outbox.status()
    assert (status.pending_batches, status.pending_events, status.sent_batches) == (1, 5, 0)  # kept, not lost
    outbox.enable(collector.url)
    outbox.retry_dlq()
    until(lambda: flush(outbox, key, max_wait_s=10).pending == 0, "the kept batch was delivered")
    assert collector.markers(key.device_id) == [0, 1, 2, 3, 4]  # every event, once


def test_an_idle_sender_stops_at_once_and_a_disabled_one_stops_itself(make_outbox: Callable[..., Outbox]) -> None:
    idle = BackgroundSender(lambda _stop: 3600.0).start()
    until(lambda: idle.rounds == 1, "one round ran")
    assert idle.stop(wait_s=30) and not idle.running
    finished = BackgroundSender(lambda _stop: None).start()
    until(lambda: not finished.running, "a round that finds telemetry off ends the sender")


def test_sent_batches_are_purged_after_the_retention(make_outbox: Callable[..., Outbox], key: DeviceKey,
                                                     collector: Collector) -> None:
    outbox = make_outbox(collector.url)
    for start in (0, 2):
        fill(outbox, 2, start=start)
        assert flush(outbox, key).delivered == 1
    fill(outbox, 2, start=4)
    outbox.seal(key, force=True)  # a third batch, never sent: pending batches are never purged
    days = 86400.0

    def later(by_days: float) -> Outbox:  # the same outbox, read by a clock that many days on
        return make_outbox(collector.url, clock=lambda: time.time() + by_days * days)

    assert later(29).purge_sent() == 0 and outbox.status().sent_batches == 2  # the default keeps 30 days
    later(0).configure(retention_days=1)
    assert later(0.5).purge_sent() == 0
    aged = later(1.01)
    assert flush(aged, key, seal_all=False, should_stop=lambda: True).purged == 2  # flushing purges too
    status = outbox.status()
    assert (status.sent_batches, status.pending_batches) == (0, 1)
    assert collector.markers(key.device_id) == [0, 1, 2, 3]  # purging is local: the collector keeps them


def test_retention_is_configurable_from_the_command_line(tmp_path: Path, collector: Collector) -> None:
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    enrol(tmp_path, "someone", 5)
    cli_json("telemetry", "flush", "--wait", "0")
    assert cli_json("telemetry", "status")["sent_batches"] == 1  # the default keeps it 30 days
    assert cli_json("telemetry", "schedule", "--retention-days", "0")["retention_days"] == 0
    enrol(tmp_path, "someone else", 6)
    assert cli_json("telemetry", "flush", "--wait", "0")["purged"] == 2
    assert cli_json("telemetry", "status")["sent_batches"] == 0
    for bad in (("--retention-days", "-1"), ("--interval", "0"), ("--max-delay", "nan"), ("--interval", "x")):
        refused = run_cli("telemetry", "schedule", *bad)
        assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1


@pytest.fixture
def two_dead_letters(tmp_path: Path, collector: Collector) -> tuple[str, list[str]]:
    """Two batches refused by the collector (it registered this device with another key)."""
    import sqlite3

    cli_json("telemetry", "enable", "--endpoint", collector.url)
    device_id = cli_json("status")["device_id"]
    with sqlite3.connect(collector.db) as conn:
        conn.execute("INSERT INTO devices VALUES (?, ?, 'x', 'x')", (device_id, DeviceKey.generate().public_key_b64))
    for seed in (7, 8):
        enrol(tmp_path, f"person {seed}", seed)
        assert cli_json("telemetry", "flush", "--wait", "0")["dead_lettered"] == 1
    with sqlite3.connect(collector.db) as conn:
        conn.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))  # the operator fixed it
    return device_id, [d["batch_id"] for d in cli_json("telemetry", "dlq", "list")["dead_letters"]]


def test_the_dead_letter_queue_is_listed_replayed_and_dropped_and_each_change_is_audited(
        two_dead_letters: tuple[str, list[str]], collector: Collector) -> None:
    device_id, (first, second) = two_dead_letters
    listed = run_cli("telemetry", "dlq", "list").stdout
    assert first in listed and second in listed and "refused:key_mismatch" in listed

    assert cli_json("telemetry", "dlq", "retry", first.upper()) == {"batch_ids": [first]}
    assert cli_json("telemetry", "flush", "--wait", "0")["delivered"] == 1
    assert [d["batch_id"] for d in cli_json("telemetry", "dlq", "list")["dead_letters"]] == [second]
    dropped = cli_json("telemetry", "dlq", "drop", second)
    assert (dropped["batch_id"], dropped["event_count"]) == (second, 1)
    assert cli_json("telemetry", "dlq", "list") == {"dead_letters": []}
    assert cli_json("telemetry", "dlq", "retry", "--all") == {"batch_ids": []}
    assert collector.event_count(device_id) == 1  # the dropped one is never sent

    audited = [(e["kind"], e.get("detail", e)) for e in cli_json("audit", "list") if e["kind"].startswith("telemetry")]
    assert [kind for kind, _ in audited] == ["telemetry_dead_letters_retried", "telemetry_dead_letter_dropped"]
    assert first in str(audited[0][1]) and second in str(audited[1][1])

    for args, text in ((("retry",), "--all"), (("retry", first, "--all"), "--all"), (("retry", first), "no dead"),
                       (("drop", "not-a-batch"), "no dead")):
        refused = run_cli("telemetry", "dlq", *args)
        assert refused.returncode == 2 and text in refused.stderr and len(refused.stderr.splitlines()) == 1


def test_retry_all_requeues_every_dead_letter(two_dead_letters: tuple[str, list[str]], collector: Collector) -> None:
    device_id, ids = two_dead_letters
    assert cli_json("telemetry", "dlq", "retry", "--all") == {"batch_ids": ids}
    assert cli_json("telemetry", "flush", "--wait", "0")["delivered"] == 2
    assert collector.event_count(device_id) == 2
