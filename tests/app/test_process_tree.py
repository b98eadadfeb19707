"""One process tree, one state (issue 26, item 9): Ctrl-C in the terminal closes the window as its close button
does (and the admin API with it), and an API child that stopped on its own is reaped and shown as stopped, never
left defunct under "answers at"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from edge_core import ops
from tests.app.admin_drive import admin_section
from tests.app.drive import LONG, click
from tests.conftest import REPO, free_port


def _alive_or_defunct(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_an_api_child_stopped_by_ctrl_c_is_reaped_and_shown_stopped(qtbot, window):
    section = admin_section(window, "Admin API")
    section.port.setValue(free_port())
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "answers at" in section.banner.text.text(), timeout=LONG * 2)
    pid = section.server.state().pid
    os.kill(pid, signal.SIGINT)  # what Ctrl-C in the terminal sends to every process of its group
    qtbot.waitUntil(lambda: section.address.text() == "Not running.", timeout=LONG)
    said = section.banner.text.text()
    assert "answers at" not in said and "stopped without being asked" in said, said
    assert section.start_button.isEnabled() and not section.stop_button.isEnabled()
    assert not _alive_or_defunct(pid), "the child is left <defunct>"


def test_ctrl_c_closes_the_window_like_its_close_button(models_env, isolated, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    window = subprocess.Popen([sys.executable, "-m", "app"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        database = ops.layout_for(isolated).db
        waited = 0.0
        while not database.exists() and window.poll() is None and waited < LONG / 1000:
            subprocess.run(["sleep", "0.2"])
            waited += 0.2
        assert window.poll() is None, window.stderr.read().decode()
        window.send_signal(signal.SIGINT)
        code = window.wait(timeout=LONG / 1000)
        assert code == 0, window.stderr.read().decode()
        assert b"Traceback" not in window.stderr.read()
    finally:
        if window.poll() is None:
            window.kill()
            window.wait()
