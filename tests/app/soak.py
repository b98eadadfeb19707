"""The soak run behind tests/app/test_defects_crash.py: a long faceless video through the real Enrol page.

Run as ``python -m tests.app.soak VIDEO`` in a subprocess (so a crash of the
interpreter is a failed test, not a dead test run), with FACESEAL_HOME and
FACESEAL_MODELS set. It enrols from VIDEO as a person would, waits for the
end, and prints how many frames the page read and what it said; exit code 0
means the window lived through every frame.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

WAIT_MS = 20 * 60 * 1000
"""A bound on the run (a hang is a failure too), far above what it takes."""


def wait_for(condition, app: QCoreApplication) -> bool:
    deadline = QDeadlineTimer(WAIT_MS)
    while not condition():
        if deadline.hasExpired():
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return True


def main(video: Path) -> int:
    app = QApplication([sys.argv[0]])
    from app.window import MainWindow

    window = MainWindow()
    window.show()
    if not wait_for(lambda: window.session.is_open, app):
        print("the vault did not open:", window.session.problem)
        return 2
    page = window.show_page("Enrol")
    page.name.setText("Nobody")
    page.source.set_files("video", [video])
    page.samples.setValue(3)
    page.start()  # ops first says Nobody must consent and what the enrolment would drop (nothing here)
    if not wait_for(lambda: page.dialog is not None and page.dialog.isVisible(), app):
        print("the consent text was not shown:", page.banner.text.text())
        return 2
    page.dialog.confirm_button.click()  # they consent: then the capture starts
    if not wait_for(lambda: page.steps.currentIndex() == 1 or not page.banner.isHidden(), app) or page.task is None:
        print("the enrolment did not start:", page.banner.text.text())
        return 2
    progress: deque[str] = deque(maxlen=1)
    page.task.signals.hint.connect(progress.append)
    if not wait_for(lambda: page.task is None, app):
        print("the enrolment did not end:", page.banner.text.text())
        return 2
    print(f"last progress: {progress[0] if progress else ''}")
    print(f"banner: {page.banner.text.text()}")
    print(f"frames shown: {page.view.preview.frames_shown}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
