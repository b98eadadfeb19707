"""Admin › Telemetry: a bad collector URL or pin is refused in one sentence and nothing is switched on; the
dead-letter queue is listed (batch, events, attempts, last error) and one batch replayed, another dropped after
a confirmation, each audited; a policy that forbids telemetry leaves only "off"."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from edge_core import ops
from edge_core.telemetry.device import DeviceKey
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, click, confirm
from tests.conftest import cli_json
from tests.telemetry.servers import Collector


@pytest.fixture
def collector(tmp_path):
    running = Collector(tmp_path / "collector.db").start()
    yield running
    running.stop()


def refused_batches(tmp_path, collector: Collector) -> list[str]:
    """Two batches the collector refused (it knows this device under another key), then the operator's fix."""
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    device_id = cli_json("status")["device_id"]
    with sqlite3.connect(collector.db) as conn:
        conn.execute("INSERT INTO devices VALUES (?, ?, 'x', 'x')", (device_id, DeviceKey.generate().public_key_b64))
    for seed in (7, 8):
        np.save(tmp_path / f"{seed}.npy", np.random.default_rng(seed).normal(size=(2, 64)).astype(np.float32))
        cli_json("enroll", "--consent", f"person {seed}", "--embedding", str(tmp_path / f"{seed}.npy"))
        assert cli_json("telemetry", "flush", "--wait", "0")["dead_lettered"] == 1
    with sqlite3.connect(collector.db) as conn:
        conn.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))
    return [d["batch_id"] for d in cli_json("telemetry", "dlq", "list")["dead_letters"]]


def test_bad_endpoints_and_pins_are_refused_and_nothing_is_switched_on(qtbot, window):
    section = admin_section(window, "Telemetry")
    qtbot.waitUntil(lambda: section.telemetry_state.text().startswith("Off"), timeout=LONG)
    for url, pin, said in (("ftp://collector.example.org", "", "must be an http:// or https:// URL"),
                           ("http://collector.example.org", "", "must be https:// unless the collector is on this"),
                           ("not a url", "", "must not contain spaces"),
                           ("https://u:p@collector.example.org", "", "must not carry credentials"),
                           ("https://collector.example.org", "sha256//short", "The pin must be the SHA-256")):
        section.banner.clear()
        section.endpoint.setText(url)
        section.pin.setText(pin)
        click(qtbot, section.telemetry_on)
        qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG)
        assert said in section.banner.text.text(), section.banner.text.text()
        qtbot.waitUntil(section.telemetry_on.isEnabled, timeout=LONG)
    assert window.session.call(lambda v: ops.status(v).telemetry.enabled) is False
    assert window.delivery.sender is None


def test_dead_letters_are_listed_replayed_and_dropped(qtbot, tmp_path, isolated, collector):
    first, second = refused_batches(tmp_path, collector)
    cli_json("telemetry", "disable")  # the window must not send on its own while the test looks
    window = open_window(qtbot)
    section = admin_section(window, "Telemetry")
    qtbot.waitUntil(lambda: section.dead.rowCount() == 2, timeout=LONG)
    rows = {section.dead.item(r, 0).text(): [section.dead.item(r, c).text() for c in range(1, 4)]
            for r in range(2)}
    assert set(rows) == {first, second} and all(error == "refused:key_mismatch" for *_, error in rows.values())
    assert not section.drop.isEnabled() and not section.replay_one.isEnabled(), "nothing selected yet"

    section.dead.selectRow([section.dead.item(r, 0).text() for r in range(2)].index(first))
    click(qtbot, section.replay_one)
    qtbot.waitUntil(lambda: "1 batch(es) from the dead-letter queue" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: section.dead.rowCount() == 1, timeout=LONG)
    assert section.dead.item(0, 0).text() == second

    section.dead.selectRow(0)
    click(qtbot, section.drop)
    assert "never sent" in confirm(qtbot, section, accept=False)
    assert section.dead.rowCount() == 1, "cancelled: nothing dropped"
    click(qtbot, section.drop)
    confirm(qtbot, section)
    qtbot.waitUntil(lambda: "was dropped" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: section.dead.rowCount() == 0, timeout=LONG)
    assert not section.replay.isEnabled()
    audited = [e.kind for e in window.session.call(ops.audit_list)]
    assert audited[-2:] == ["telemetry_dead_letters_retried", "telemetry_dead_letter_dropped"]

    cli_json("policy", "set", "telemetry_allowed=false")
    window.session.notify()
    qtbot.waitUntil(lambda: "policy does not allow" in section.telemetry_state.text(), timeout=LONG)
    assert not section.telemetry_on.isEnabled()
    window.close()
