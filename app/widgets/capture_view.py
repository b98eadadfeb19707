"""The live part of a capture: preview with faces, the hint of the moment, samples taken."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from app.widgets.preview import Preview
from app.workers import Task


class CaptureView(QWidget):
    """Shows what a running capture task reports; :meth:`follow` connects it to one task."""

    def __init__(self) -> None:
        super().__init__()
        self.preview = Preview()
        self.hint = QLabel("")
        self.hint.setObjectName("hint")
        self.hint.setAccessibleName("Hint")
        self.hint.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Good frames so far")
        self.progress.setFormat("%v of %m good frames")
        self.progress.hide()  # until a capture that counts samples starts
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.hint)
        layout.addWidget(self.progress)

    def follow(self, task: Task, samples: int | None) -> None:
        """Reset and show ``task``'s frames, faces, hints and (with ``samples``) its progress."""
        self.preview.clear("Starting…")
        self.hint.setText("Starting…")
        self.progress.setVisible(samples is not None)
        self.progress.setRange(0, samples or 1)
        self.progress.setValue(0)
        task.signals.frame.connect(self.preview.show_frame)
        task.signals.faces.connect(self.preview.show_faces)
        task.signals.hint.connect(self.hint.setText)
        task.signals.progress.connect(self._progressed)
        task.signals.failed.connect(self._failed)

    def _failed(self, message: str) -> None:
        """The caption says how the capture ended, never "Starting…" with nothing coming."""
        self.hint.setText(message)
        if not self.preview.frames_shown_since_clear:
            self.preview.clear("No picture")

    def _progressed(self, done: int, total: int) -> None:
        """The good frames so far, out of those the capture looks at (twice the samples from a camera or video)."""
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
