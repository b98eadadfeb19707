"""The real window delivers telemetry in the background, and its Admin › Telemetry section shows and controls it.

A real ``MainWindow`` (offscreen, pytest-qt) over the test's own vault, the
real collector behind a relay that counts every batch posted, and a real
``faceseal serve`` on the same data folder at the same time: the two senders
share the send lock, so no batch is posted twice. The schedule is made short
through the configuration (``telemetry schedule --interval 1 --max-delay 1``).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sqlite3
from pathlib import Path

import numpy as np

from edge_core.telemetry.device import DeviceKey
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, click
from tests.conftest import cli_json, serve_api

from .relays import recording_relay
from .servers import Collector


def enrol(tmp_path: Path, name: str, seed: int) -> None:
    np.save(tmp_path / f"{seed}.npy", (np.random.default_rng(seed).normal(size=64) + 0.05 * np.random.default_rng(seed + 100).normal(size=(2, 64))).astype(np.float32))
    cli_json("enroll", "--consent", name, "--embedding", str(tmp_path / f"{seed}.npy"))


def test_the_window_sends_in_the_background_and_settings_show_and_control_telemetry(
        qtbot, isolated: Path, tmp_path: Path, collector: Collector) -> None:
    cli_json("telemetry", "schedule", "--interval", "1", "--max-delay", "1")
    device_id = cli_json("status")["device_id"]
    with recording_relay(collector.url) as (relay, seen):
        window = open_window(qtbot)
        assert window.session.is_open, window.session.problem
        settings = admin_section(window, "Telemetry")
        qtbot.waitUntil(lambda: settings.telemetry_state.text().startswith("Off"), timeout=LONG)
        assert window.delivery.sender is None and not settings.telemetry_off.isEnabled()  # off: nothing runs

        # Turn it on from Settings, with the full /v1/batches URL: checked once, and the window starts sending.
        qtbot.keyClicks(settings.endpoint, relay + "/v1/batches")
        click(qtbot, settings.telemetry_on)
        qtbot.waitUntil(lambda: "Checked the collector" in settings.banner.text.text(), timeout=LONG)
        assert "a FaceSeal collector answered its health check" in settings.banner.text.text()
        qtbot.waitUntil(lambda: window.delivery.running, timeout=LONG)
        qtbot.waitUntil(lambda: settings.telemetry_state.text().startswith("On"), timeout=LONG)
        assert relay in settings.telemetry_state.text()

        # The window and `faceseal serve` both deliver on the same data: every batch arrives, each posted once.
        with serve_api(isolated):
            for index in range(4):
                enrol(tmp_path, f"person {index}", index)
            qtbot.waitUntil(lambda: collector.event_count(device_id) == 4, timeout=LONG * 2)
        posts = seen.posts_per_batch()
        assert posts and set(posts.values()) == {1}, posts
        qtbot.waitUntil(lambda: settings.telemetry_last.text() != "Never.", timeout=LONG)
        qtbot.waitUntil(lambda: "0 batch(es) waiting to be sent" in settings.telemetry_queue.text(), timeout=LONG)

        # A batch the collector refuses lands in the dead-letter queue; Settings shows it and replays it.
        with sqlite3.connect(collector.db) as conn:
            conn.execute("DELETE FROM events WHERE device_id = ?", (device_id,))
            conn.execute("DELETE FROM batches WHERE device_id = ?", (device_id,))
            conn.execute("UPDATE devices SET public_key = ? WHERE device_id = ?",
                         (DeviceKey.generate().public_key_b64, device_id))
        enrol(tmp_path, "refused", 10)
        qtbot.waitUntil(lambda: "1 in the dead-letter queue" in settings.telemetry_queue.text(), timeout=LONG)
        assert "refused:key_mismatch" in settings.telemetry_error.text() and settings.replay.isEnabled()
        with sqlite3.connect(collector.db) as conn:
            conn.execute("DELETE FROM devices WHERE device_id = ?", (device_id,))  # the operator fixed it
        click(qtbot, settings.replay)
        qtbot.waitUntil(lambda: collector.event_count(device_id) == 1, timeout=LONG)
        qtbot.waitUntil(lambda: "0 in the dead-letter queue" in settings.telemetry_queue.text(), timeout=LONG)
        audited = [event["kind"] for event in cli_json("audit", "list")]
        assert "telemetry_dead_letters_retried" in audited

        # Turning it off stops the sender; a policy that forbids telemetry leaves only "off".
        click(qtbot, settings.telemetry_off)
        qtbot.waitUntil(lambda: not window.delivery.running, timeout=LONG)
        assert cli_json("telemetry", "status")["enabled"] is False
        cli_json("policy", "set", "telemetry_allowed=false")
        window.session.notify()
        qtbot.waitUntil(lambda: "policy does not allow" in settings.telemetry_state.text(), timeout=LONG)
        assert not settings.telemetry_on.isEnabled()
        window.close()
    assert window.delivery.sender is None


def test_closing_the_window_stops_its_sender_cleanly(qtbot, isolated: Path, tmp_path: Path,
                                                     collector: Collector) -> None:
    cli_json("telemetry", "enable", "--endpoint", collector.url, "--interval", "1", "--max-delay", "1")
    device_id = cli_json("status")["device_id"]
    window = open_window(qtbot)
    qtbot.waitUntil(lambda: window.delivery.running, timeout=LONG)  # on at start: it starts by itself
    sender = window.delivery.sender
    enrol(tmp_path, "someone", 20)
    qtbot.waitUntil(lambda: collector.event_count(device_id) == 1, timeout=LONG)
    window.close()
    assert not sender.running and window.delivery.sender is None
    assert cli_json("telemetry", "status")["pending_batches"] == 0


def test_the_window_follows_an_opt_in_and_opt_out_made_from_the_command_line(qtbot, isolated: Path, tmp_path: Path,
                                                                            collector: Collector) -> None:
    window = open_window(qtbot)
    assert window.session.is_open and window.delivery.sender is None  # off: nothing runs
    cli_json("telemetry", "enable", "--endpoint", collector.url, "--interval", "1", "--max-delay", "1")
    qtbot.waitUntil(lambda: window.delivery.running, timeout=LONG)  # noticed without a click
    device_id = cli_json("status")["device_id"]
    enrol(tmp_path, "someone", 21)
    qtbot.waitUntil(lambda: collector.event_count(device_id) == 1, timeout=LONG)
    cli_json("telemetry", "disable")
    qtbot.waitUntil(lambda: not window.delivery.running, timeout=LONG)
    window.close()
