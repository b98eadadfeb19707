"""Fixtures for the desktop app tests: real windows, offscreen, over a real vault and real models.

Qt is told to draw offscreen before it is imported anywhere. The ``open`` pack
is installed once per session from ../shared/models into a temporary models
folder (FACESEAL_MODELS), so the pipeline is built once; every test still has
its own data directory (``isolated`` from tests/conftest.py), hence its own
vault, preferences file and audit log.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.app.drive import LONG  # noqa: E402
from tests.conftest import shared_or_skip  # noqa: E402


@pytest.fixture
def photos() -> dict[str, list[Path]]:
    shared_or_skip("faces")
    from tests.app.media import photos_by_identity

    return photos_by_identity()


def open_window(qtbot):
    from app.window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session.state.value != "opening", timeout=LONG)
    return window


@pytest.fixture
def window(qtbot, models_env: Path, isolated: Path) -> Iterator:
    """The real main window over a fresh vault, unlocked, with the open pack installed."""
    win = open_window(qtbot)
    assert win.session.is_open, win.session.problem
    yield win
    win.close()
