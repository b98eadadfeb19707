"""When the window cannot start, the person is told where they look: the terminal, the journal, a notification.

On Debian 13 the installed window never opened (a Qt library refused by the
loader) and a menu entry showed nothing at all. Here Qt is made unimportable
for the real launcher in a real process; ``notify-send`` is a small recorder
on PATH (no notification daemon runs in the test machine), so the test sees
the notification a desktop would show.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BLOCK_QT = "import sys; sys.modules['PySide6'] = None; from app.launcher import main; sys.exit(main([]))"


def test_a_window_that_cannot_start_says_why_in_one_line_and_a_notification(tmp_path: Path) -> None:
    recorder = tmp_path / "bin" / "notify-send"
    recorder.parent.mkdir()
    recorder.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path / 'notified'}\n")
    recorder.chmod(0o755)
    env = {**os.environ, "DISPLAY": ":99", "PATH": f"{recorder.parent}{os.pathsep}{os.environ['PATH']}",
           "FACESEAL_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", BLOCK_QT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 70, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("faceseal: the window cannot start: "), done.stderr
    assert "Traceback" not in done.stderr and "faceseal self-test" in done.stderr
    notified = (tmp_path / "notified").read_text().splitlines()
    assert notified[:3] == ["--app-name=FaceSeal", "--icon=faceseal", "FaceSeal cannot start"]
    assert notified[3].startswith("the window cannot start: ")
    assert not (tmp_path / "home").exists()  # nothing was created on the way


def test_without_a_notifier_the_terminal_still_says_why(tmp_path: Path) -> None:
    env = {**os.environ, "DISPLAY": ":99", "PATH": "/nonexistent", "FACESEAL_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", BLOCK_QT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 70 and done.stderr.startswith("faceseal: the window cannot start: "), done.stderr


def test_the_self_test_names_the_library_qt_cannot_load(tmp_path: Path) -> None:
    """`faceseal self-test` is what the message above sends the person to: it must say why too, not
    "unexpected internal error (ImportError)" as it did in the Debian 13 root."""
    env = {**os.environ, "FACESEAL_HOME": str(tmp_path / "home"), "FACESEAL_MODELS": str(tmp_path / "models")}
    block = BLOCK_QT.replace("main([])", "main(['self-test'])")
    done = subprocess.run([sys.executable, "-c", block], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("faceseal: error: self-test failed at 'window': Qt cannot be loaded: "), done.stderr
    assert "PySide6" in done.stderr
