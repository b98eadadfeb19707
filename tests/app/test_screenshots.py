"""``make screenshots`` still renders every picture docs/ links to, with real data.

The script drives the real window through every page and Admin section (issue 15's proof); when a page
changes under it (the default pack did), it stops half-way and the committed pictures silently go stale.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2

from tests.conftest import shared_or_skip

REPO = Path(__file__).resolve().parents[2]


def test_make_screenshots_renders_every_committed_picture(tmp_path: Path) -> None:
    shared_or_skip("models")
    shared_or_skip("faces")
    out = tmp_path / "screenshots"
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "screenshots.py"), str(out)], cwd=REPO,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    committed = sorted(p.name for p in (REPO / "docs" / "screenshots").glob("*.png"))
    assert sorted(p.name for p in out.glob("*.png")) == committed
    for name in committed:
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[:2] == (760, 1180), name  # the window, whole
        assert image.std() > 10, f"{name} is blank"
