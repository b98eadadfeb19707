"""``app.main.main()``: what ``faceseal`` with no arguments runs."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.window import MainWindow


def test_main_opens_the_unlocked_window_and_returns_when_it_is_closed(qtbot, models_env, isolated):
    from app.main import main

    seen: list[str] = []

    def close_once_unlocked() -> None:
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if windows and windows[0].session.is_open:
            seen.append(windows[0].pages["Home"].value("lock"))
            windows[0].close()
        else:
            QTimer.singleShot(50, close_once_unlocked)

    QTimer.singleShot(0, close_once_unlocked)
    assert main(["--theme", "dark"]) == 0
    assert seen == ["Unlocked"]
