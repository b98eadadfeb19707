"""``faceseal`` with no arguments (and ``make run``): open the window."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app import theme
from app.display import window_parser
from app.window import MainWindow


def close_on_signals(app: QApplication) -> None:
    """Ctrl-C in the terminal (SIGINT) and SIGTERM close the window as its close button does: running work is
    waited for, the admin API it started is stopped and reaped, the keys are dropped. Python runs the handler
    between two Qt events (the session's poll wakes Python every second at least)."""
    def close(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, app.closeAllWindows)

    signal.signal(signal.SIGINT, close)
    signal.signal(signal.SIGTERM, close)


def main(argv: list[str] | None = None) -> int:
    """Open FaceSeal's window and run until it is closed; returns the exit code."""
    args, qt_args = window_parser("faceseal-app").parse_known_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("FaceSeal")
    app.setDesktopFileName("faceseal")
    app.setWindowIcon(theme.icon())
    theme.apply(app, args.theme)
    close_on_signals(app)
    window = MainWindow()
    window.show()
    if os.environ.get("FACESEAL_EXIT_WHEN_SHOWN"):  # benchmarks/bench_packaging.py times the start to here
        QTimer.singleShot(0, lambda: (print("faceseal: window shown", flush=True), window.close()))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
