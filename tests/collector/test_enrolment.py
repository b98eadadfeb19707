"""The operator decides which devices may register (issue 25's eleventh attack: any key could register, 50 made
up in a loop). Real collector, real devices' outboxes and the real ``faceseal telemetry enable``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.outbox import Outbox
from edge_core.telemetry.uploader import flush
from faceseal_collector.cli import main as collector_main
from tests.collector.conftest import BackendCollector as Collector
from tests.telemetry.conftest import fill


def enrol(collector: Collector, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert collector_main(["enrol", *args, "--db", str(collector.db)]) == 0
    return capsys.readouterr().out.strip()


def devices(collector: Collector) -> set[str]:
    return {device for (device,) in collector.rows("SELECT device_id FROM devices")}


def test_open_is_the_default_and_admits_any_key(make_outbox: Callable[..., Outbox], key: DeviceKey,
                                                collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    assert enrol(collector, capsys, "mode") == "enrolment: open"
    outbox = make_outbox(collector.url)
    fill(outbox, 1)
    assert flush(outbox, key).delivered == 1


def test_made_up_keys_cannot_register_under_an_allow_list(make_outbox: Callable[..., Outbox], key: DeviceKey,
                                                          collector: Collector,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    enrol(collector, capsys, "mode", "allow-list")
    for _ in range(5):  # made up in a loop
        stranger = make_outbox(collector.url, name=f"s{_}.db")
        fill(stranger, 1)
        report = flush(stranger, DeviceKey.generate())
        assert report.dead_lettered == 1 and stranger.dead_letters()[0].last_error == "refused:not_enrolled"
    assert devices(collector) == set()
    enrol(collector, capsys, "allow", key.device_id)
    outbox = make_outbox(collector.url)
    fill(outbox, 2)
    assert flush(outbox, key).delivered == 1 and devices(collector) == {key.device_id}
    enrol(collector, capsys, "forbid", key.device_id)  # taken off the list: its next batch is refused at once
    fill(outbox, 1)
    assert flush(outbox, key).dead_lettered == 1
    assert collector.markers(key.device_id) == [0, 1]


def test_a_new_device_needs_the_operators_token(make_outbox: Callable[..., Outbox], key: DeviceKey,
                                                collector: Collector, capsys: pytest.CaptureFixture[str]) -> None:
    enrol(collector, capsys, "mode", "token")
    assert collector_main(["enrol", "token", "new", "--db", str(collector.db)]) == 0
    token = capsys.readouterr().out.strip()
    without = make_outbox(collector.url, name="without.db")
    fill(without, 1)
    assert flush(without, DeviceKey.generate()).dead_lettered == 1
    wrong = make_outbox(collector.url, name="wrong.db")
    wrong.set_enrolment_token("A" * 43)
    fill(wrong, 1)
    assert flush(wrong, DeviceKey.generate()).dead_lettered == 1
    outbox = make_outbox(collector.url)
    outbox.set_enrolment_token(token)
    fill(outbox, 1)
    assert flush(outbox, key).delivered == 1 and devices(collector) == {key.device_id}
    assert collector_main(["enrol", "token", "revoke", "--db", str(collector.db)]) == 0
    fill(outbox, 1)
    assert flush(outbox, key).delivered == 1  # once registered, its key identifies it
    assert token not in "".join(str(row) for row in collector.rows("SELECT * FROM enrolment_tokens"))
