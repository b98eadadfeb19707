"""Defect 1: a long capture must not abort the window ("Fatal Python error: none_dealloc" after ~1,800 frames).

PySide6 6.12.0 loses a reference to True (and, across threads, to None) on
every ``Signal.emit()`` made from Python; a capture that emitted per frame
killed the interpreter. The soak runs a faceless video of 3,000 frames (two
minutes at 25 fps, as in the finding) through the real Enrol page in a
subprocess, so that a crash is this test failing, not the test run dying.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import REPO

FRAMES = 3000
SIZE = (320, 240)
"""Small frames: the soak is about how many frames cross to the window, not how big they are."""


def faceless_video(path: Path) -> Path:
    """A plain green background with a grey disc moving across it, and no face: every frame is read, none kept."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, SIZE)
    try:
        for index in range(FRAMES):
            frame = np.full((SIZE[1], SIZE[0], 3), (80, 140, 60), np.uint8)
            cv2.circle(frame, (40 + (index * 3) % 240, 120), 18, (200, 200, 200), -1)
            writer.write(frame)
    finally:
        writer.release()
    return path


def test_a_faceless_video_of_3000_frames_through_enrol_ends_with_a_sentence_not_a_crash(models_env, isolated,
                                                                                       tmp_path):
    video = faceless_video(tmp_path / "faceless.avi")
    run = subprocess.run([sys.executable, "-m", "tests.app.soak", str(video)], capture_output=True, text=True,
                         cwd=REPO, env=dict(os.environ), timeout=1800)
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert "Fatal Python error" not in run.stderr
    assert f"last progress: reading frame {FRAMES} of {FRAMES}: no face in this frame" in run.stdout, run.stdout
    assert ("banner: The video ended with 0 good frames, fewer than the 3 needed (one per sample); most frequent "
            "problem: no face in this frame.") in run.stdout, run.stdout


def _lost(call, times: int = 200) -> tuple[int, int]:
    """References to None and True lost over ``times`` calls (the fewest of three tries: other threads move them)."""
    losses = []
    for _ in range(3):
        none, true = sys.getrefcount(None), sys.getrefcount(True)
        for _ in range(times):
            call()
        losses.append((none - sys.getrefcount(None), true - sys.getrefcount(True)))
    return min(loss[0] for loss in losses), min(loss[1] for loss in losses)


def test_the_qt_binding_keeps_its_references_to_none_and_true(qtbot):
    """PySide6 6.12.0 lost one reference per call: pyproject.toml keeps it out; this says so at once if it is back."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Pinger(QObject):
        ping = Signal(int)

    label, pinger = QLabel(), Pinger()
    qtbot.addWidget(label)
    pinger.ping.connect(label.setNum)
    assert _lost(lambda: label.setText("x")) == (0, 0), "a Qt method returning nothing lost references"
    assert _lost(lambda: pinger.ping.emit(1)) == (0, 0), "Signal.emit() lost references"
