"""Verify ("is this Alice?") and Identify ("who is this?"), live or from a photo, with the decision in plain words."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from edge_core.biometrics import pack_info
from edge_core.matching import MatchResult

from ..capture import capture_samples, probe_photo
from ..widgets.capture_view import CaptureView
from ..widgets.source import SourcePicker
from ..workers import Reporter, Task
from .base import Context, Page
from .enrol import pack_problem


def decision_text(result: MatchResult, verifying: bool) -> tuple[str, str]:
    """(headline, details) for a result: the decision first, then the numbers it rests on."""
    numbers = f"score {result.score:.3f}, threshold {result.threshold:.2f}, model pack {result.pack}"
    if result.name is None:
        return "No match", "Nobody is enrolled with this model pack yet."
    if result.match:
        headline = f"Match: this is {result.name}" if verifying else f"Identified: {result.name}"
        return headline, f"The score reaches the threshold ({numbers})."
    headline = f"No match: this is not {result.name}" if verifying else "No match: not anyone enrolled"
    closest = "" if verifying else f" Closest was {result.name}."
    return headline, f"The score is below the threshold ({numbers}).{closest}"


class MatchPage(Page):
    title = "Verify"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.task: Task | None = None
        self._asked_to_verify = True
        self.verify_mode = QRadioButton("Verify: is this the person they claim to be?")
        self.identify_mode = QRadioButton("Identify: who is this?")
        modes = QButtonGroup(self)
        for button in (self.verify_mode, self.identify_mode):
            button.setAccessibleName(button.text().split(":")[0])
            modes.addButton(button)
        self.verify_mode.setChecked(True)
        self.verify_mode.toggled.connect(self._update)
        self.person = QComboBox()
        self.person.setAccessibleName("Person to verify")
        self.source = SourcePicker(("camera", "photo"))
        self.source.changed.connect(self._update)
        self.threshold = QLabel()
        self.threshold.setAccessibleName("Threshold")
        self.go_button = QPushButton("Verify")
        self.go_button.setProperty("role", "primary")
        self.go_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop capture")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.decision = QLabel("No decision yet")
        self.decision.setObjectName("decision")
        self.decision.setAccessibleName("Decision")
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Score and threshold")
        self.view = CaptureView()

        form = QFormLayout()
        form.addRow("", self.verify_mode)
        form.addRow("", self.identify_mode)
        form.addRow("Person", self.person)
        form.addRow("Probe", self.source)
        form.addRow("Threshold", self.threshold)
        buttons = QHBoxLayout()
        buttons.addWidget(self.go_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        result = QVBoxLayout()
        result.addWidget(self.decision)
        result.addWidget(self.details)
        result.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addLayout(result, 1)
        columns = QHBoxLayout(self.body)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.addWidget(left, 2)
        columns.addWidget(self.view, 3)

    @property
    def verifying(self) -> bool:
        return self.verify_mode.isChecked()

    def load(self) -> None:
        problem = pack_problem(self.prefs.pack)
        if problem:
            self.banner.show_message("error", problem, "Open Settings", lambda: self.ctx.navigate("Settings"))
        else:
            info = pack_info(self.prefs.pack)
            self.threshold.setText(f"{self.prefs.threshold(info):.2f} (model pack {info.name}; change it in Settings)")
        self.run(lambda _r: self.session.call(lambda v: [i.name for i in v.list_identities()]), self._fill_people)
        self._update()

    def _fill_people(self, names: list[str]) -> None:
        current = self.person.currentText()
        self.person.clear()
        self.person.addItems(names)
        if current in names:
            self.person.setCurrentText(current)
        self._update()

    def _update(self) -> None:
        self.person.setEnabled(self.verifying)
        self.go_button.setText("Verify" if self.verifying else "Identify")
        self.go_button.setAccessibleName(self.go_button.text())
        ready = (self.session.is_open and self.task is None and self.source.choice() is not None
                 and pack_problem(self.prefs.pack) is None and (not self.verifying or self.person.count() > 0))
        self.go_button.setEnabled(ready)
        if self.verifying and self.person.count() == 0 and self.session.is_open:
            self.details.setText("Nobody is enrolled yet: enrol someone first.")

    def start(self) -> None:
        choice = self.source.choice()
        if not self.go_button.isEnabled() or choice is None:
            return
        settings = self.prefs.capture_settings()
        threshold = self.prefs.threshold(pack_info(settings.pack))
        name, verifying = self.person.currentText(), self.verifying

        def decide(reporter: Reporter) -> MatchResult:
            if choice.kind == "camera":
                pipeline, samples = capture_samples(choice, settings, 1, reporter)
                probe = samples[0]
            else:
                pipeline, probe = probe_photo(choice.files[0], settings, reporter)
            if verifying:
                return self.session.call(lambda v: v.verify(name, probe, pipeline.pack, threshold))
            return self.session.call(lambda v: v.identify(probe, pipeline.pack, threshold))

        self._asked_to_verify = verifying
        self.banner.clear()
        self.decision.setText("Looking…")
        self.decision.setProperty("outcome", "")
        self.details.clear()
        self.task = self.run(decide, self._decided, self._failed, watch=lambda task: self.view.follow(task, None))
        self.stop_button.setEnabled(True)
        self._update()

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _finish(self) -> None:
        self.task = None
        self.stop_button.setEnabled(False)
        self._update()

    def _decided(self, result: MatchResult) -> None:
        headline, details = decision_text(result, self._asked_to_verify)
        self._show_outcome("match" if result.match else "nomatch", headline, details)
        self._finish()

    def _failed(self, message: str) -> None:
        self._show_outcome("", "No decision", message)
        self._finish()

    def _show_outcome(self, outcome: str, headline: str, details: str) -> None:
        self.decision.setText(headline)
        self.decision.setAccessibleDescription(headline)
        self.decision.setProperty("outcome", outcome)
        self.decision.style().unpolish(self.decision)
        self.decision.style().polish(self.decision)
        self.details.setText(details)
