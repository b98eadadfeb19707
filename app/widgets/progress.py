"""The progress dialog long work shows (rotation, pack install) while the window stays usable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from app.workers import Task


class WorkProgress(QProgressDialog):
    """Busy until the task reports a total, then a real bar; closes itself when the task ends.

    There is no Cancel: neither a rotation nor an install can stop half way,
    and both are written so that they finish or leave everything as it was.
    """

    def __init__(self, parent: QWidget, title: str, text: str, task: Task) -> None:
        super().__init__(text, "", 0, 0, parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setCancelButton(None)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        task.signals.progress.connect(self._progress)
        task.signals.done.connect(lambda _result: self.close())
        task.signals.failed.connect(lambda _message: self.close())
        self.show()

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.setRange(0, total)
            self.setValue(min(done, total))
