"""The liveness prompt of the moment ("Turn your head to your left") beside its progress ring and a
small animated face doing the movement (``ChallengeHint``)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from app.widgets.challenge_hint import ChallengeHint
from app.widgets.progress_ring import ProgressRing
from app.workers import Task
from edge_core.liveness import Progress


class ChallengePrompt(QWidget):
    """Hidden until a task reports liveness progress, so a check without one shows nothing of it."""

    def __init__(self) -> None:
        super().__init__()
        self.ring = ProgressRing()
        self.hint = ChallengeHint()
        self.prompt = QLabel("")
        self.prompt.setAccessibleName("Liveness prompt")
        self.prompt.setWordWrap(True)
        font = self.prompt.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.prompt.setFont(font)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.ring)
        layout.addWidget(self.hint)
        layout.addWidget(self.prompt, 1)
        self.hide()

    def follow(self, task: Task) -> None:
        """Start over for ``task``; appear with its first prompt."""
        self.hide()
        self.prompt.clear()
        self.ring.set_progress(0.0, "not started")
        self.ring.show()
        task.signals.liveness.connect(self.show_progress)

    def show_progress(self, progress: Progress) -> None:
        self.hint.show_challenge(progress.challenge.code if progress.challenge else None)
        self.prompt.setText(progress.prompt)
        self.prompt.setAccessibleDescription(f"{progress.prompt}. {self.hint.description()}")
        self.ring.set_progress(progress.fraction, f"step {progress.step} of {progress.steps}")
        self.show()

    def finish(self, passed: bool) -> None:
        """Replace the last prompt with the outcome, so no instruction is left standing after the check."""
        self.hint.show_challenge(None)
        if passed:
            self.ring.set_progress(1.0, "check passed")
        else:
            self.ring.hide()  # a refusal ends the check: no ring left part-filled as if it were going on
        self.prompt.setText("Liveness check passed" if passed else "Liveness check failed")
        self.prompt.setAccessibleDescription(self.prompt.text())
