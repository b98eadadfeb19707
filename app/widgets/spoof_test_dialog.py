"""Verify's "Spoof test on my camera…": ``faceseal pad-eval --camera`` in a dialog that walks a person through it.

The guide, the judging and the report are ``edge_core.ops.padtest``'s, as for
the command line: the dialog asks for each attempt in turn (a few bona fide,
then a phone screen, a printed photo, a video replay), records it from the
camera the window uses (or the video standing in for it) with the preview
shown, and once every attempt is in has the report made and signed by the
device key (audited; the kept recordings sealed in the vault). It shows the
figures and offers Save; nothing is written anywhere else.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import workers
from app.capture import open_camera
from app.preferences import CaptureSettings
from app.widgets.capture_view import CaptureView
from edge_core.biometrics import Pipeline, load_pack
from edge_core.liveness import RiskBands
from edge_core.ops import liveness_bands, padtest
from edge_core.ops.padeval import ModelMaker

if TYPE_CHECKING:
    from app.session import Session

COLUMNS = ("Attempt", "Band", "Risk", "Refused", "Caught by")


def record_attempt(settings: CaptureSettings, pipeline: Pipeline, judging: tuple[RiskBands, ModelMaker],
                   step: padtest.Step, name: str, seconds: float, keep: bool,
                   reporter: workers.Reporter) -> padtest.Attempt:
    """One attempt from the window's camera (or its stand-in), each frame previewed as it is judged."""
    source, _pace = open_camera(settings)
    wanted = padtest.attempt_frames(seconds, source.fps)

    def previewed(frames: Any) -> Any:
        for number, frame in enumerate(frames, start=1):
            if reporter.cancelled:
                raise workers.Cancelled()
            reporter.frame(frame.image)
            reporter.progress(number, wanted)
            yield frame

    try:
        bands, models = judging
        return padtest.record(step, name, previewed(islice(iter(source), wanted)), source.fps, pipeline, bands,
                              keep=keep, models=models)
    finally:
        source.close()


class SpoofTestDialog(QDialog):
    """Step by step through the guided spoof test, then the signed report with Save."""

    def __init__(self, parent: QWidget | None, session: Session, settings: CaptureSettings) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.steps: list[tuple[padtest.Step, str]] = []
        self.attempts: list[padtest.Attempt] = []
        self.report: padtest.PadReport | None = None
        self.task: workers.Task | None = None
        self._pipeline: Pipeline | None = None
        self.setWindowTitle("Spoof test on my camera")
        self.setAccessibleName("Spoof test on my camera")
        explain = QLabel("Try to fool FaceSeal's liveness check the way someone could at home: first a few "
                         "attempts of your own face, then a photo of you on a phone screen, a printed photo, and "
                         "a video of you played on a screen. The report says what was refused and by which "
                         "signal, and is signed by this device's key. Nothing recorded leaves this computer; the "
                         "recordings are gone once judged unless you keep them (sealed in the vault).")
        explain.setWordWrap(True)
        self.attempts_box = QSpinBox()
        self.attempts_box.setRange(1, padtest.MAX_ATTEMPTS)
        self.attempts_box.setValue(2)
        self.attempts_box.setAccessibleName("Attempts of each kind")
        self.seconds_box = QSpinBox()
        self.seconds_box.setRange(1, int(padtest.MAX_SECONDS))
        self.seconds_box.setValue(int(padtest.ATTEMPT_SECONDS))
        self.seconds_box.setSuffix(" s")
        self.seconds_box.setAccessibleName("Seconds per attempt")
        self.keep = QCheckBox("Keep the recordings, sealed in the vault")
        form = QFormLayout()
        form.addRow("Attempts of each kind", self.attempts_box)
        form.addRow("Each attempt records", self.seconds_box)
        form.addRow("", self.keep)
        self.ask = QLabel("")
        self.ask.setObjectName("hint")
        self.ask.setAccessibleName("What to show the camera")
        self.ask.setWordWrap(True)
        self.view = CaptureView()
        self.view.progress.setFormat("%v of %m frames")
        self.view.progress.setAccessibleName("Frames recorded")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Attempts judged")
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.figures.setAccessibleName("Report")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Spoof test status")
        self.record = QPushButton("Start")
        self.record.setProperty("role", "primary")
        self.record.setAccessibleName("Record")
        self.record.clicked.connect(self.next_step)
        self.save = QPushButton("Save…")
        self.save.setAccessibleName("Save the report")
        self.save.setEnabled(False)
        self.save.clicked.connect(self._pick_file)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record)
        buttons.addStretch()
        buttons.addWidget(self.save)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addLayout(form)
        for widget in (self.ask, self.view, self.table, self.figures, self.status):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.setMinimumWidth(720)

    def next_step(self) -> None:
        """Start the test (the plan fixed from the choices), or record the attempt now asked for."""
        if self.task is not None:
            return
        if not self.steps or self.report is not None or len(self.attempts) == len(self.steps):
            self._begin()
            return
        step, name = self.steps[len(self.attempts)]
        settings, seconds, keep = self.settings, float(self.seconds_box.value()), self.keep.isChecked()
        self.record.setEnabled(False)
        self.status.setText(f"Recording {name}…")

        def work(reporter: workers.Reporter) -> padtest.Attempt:
            if self._pipeline is None:
                self._pipeline = load_pack(settings.pack)
            judging = self.session.call(padtest.judging)
            return record_attempt(settings, self._pipeline, judging, step, name, seconds, keep, reporter)

        self.task = workers.start(work, self._recorded, self._failed, owner=self,
                                  watch=lambda task: self.view.follow(task, 1))

    def _begin(self) -> None:
        self.steps = padtest.numbered(padtest.plan(self.attempts_box.value()))
        self.attempts, self.report = [], None
        self.table.setRowCount(0)
        self.figures.clear()
        self.save.setEnabled(False)
        for box in (self.attempts_box, self.seconds_box, self.keep):
            box.setEnabled(False)
        self._ask_next()

    def _ask_next(self) -> None:
        step, _name = self.steps[len(self.attempts)]
        self.ask.setText(f"Step {len(self.attempts) + 1} of {len(self.steps)}: {step.ask}")
        self.record.setText("Record")
        self.record.setEnabled(True)

    def _recorded(self, attempt: padtest.Attempt) -> None:
        self.task = None
        self.attempts.append(attempt)
        item = attempt.item
        row = self.table.rowCount()
        self.table.setRowCount(row + 1)
        risk = "" if item.risk is None else f"{item.risk:.2f}"
        for column, text in enumerate((item.file, item.band or "no face", risk, "yes" if item.refused else "no",
                                       item.caught_by or "")):
            self.table.setItem(row, column, QTableWidgetItem(text))
        self.status.setText(f"{item.file}: {'refused' if item.refused else 'let through'}")
        if len(self.attempts) < len(self.steps):
            self._ask_next()
            return
        self.ask.setText("Every attempt is in: making the report…")
        attempts, pack = list(self.attempts), self.settings.pack
        self.task = workers.start(
            lambda _r: self.session.call(lambda vault: padtest.camera_report(
                vault, attempts, liveness_bands(vault), pack)),
            self._reported, self._failed, owner=self)

    def _reported(self, report: padtest.PadReport) -> None:
        self.task = None
        self.report = report
        evaluation = report.evaluation
        lines = [f"APCER {species}: {rate.text()}" for species, rate in evaluation.apcer.items()]
        lines.append(f"BPCER: {evaluation.bpcer.text()}")
        suggestion = evaluation.suggested_bands
        lines.append(f"Suggested bands: low {suggestion.suggested['low']:g}, high {suggestion.suggested['high']:g} "
                     f"({suggestion.why})" if suggestion.suggested else f"No band suggested: {suggestion.why}")
        lines.append(f"Signed by this device's key {report.key_fingerprint}")
        if report.kept:
            lines.append(f"{len(report.kept)} recordings kept, sealed in the vault")
        self.figures.setText("\n".join(lines))
        self.ask.setText("The report is ready: save it to keep it as evidence.")
        self.status.setText("")
        self.save.setEnabled(True)
        self._offer_again()

    def _offer_again(self) -> None:
        self.record.setText("Start again")
        self.record.setEnabled(True)
        for box in (self.attempts_box, self.seconds_box, self.keep):
            box.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.task = None
        self.status.setText(message)
        if len(self.attempts) < len(self.steps):
            self._ask_next()  # the same attempt again
        else:
            self.steps = []  # the report could not be made: the test starts again from its first attempt
            self._offer_again()

    def _pick_file(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, "Save the spoof-test report", "spoof-test-report.json",
                                                    "JSON (*.json)")
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> workers.Task | None:
        """Write the signed report to ``path`` (a new file) off the UI thread."""
        report = self.report
        if report is None:
            return None
        return workers.start(lambda _r: padtest.save_report(report, path), self._saved, self.status.setText,
                             owner=self)

    def _saved(self, report: padtest.PadReport) -> None:
        self.report = report
        self.status.setText(f"Saved to {report.file}; check it with: faceseal pad-eval verify {report.file} "
                            f"--device-key {report.key_fingerprint}")

    def reject(self) -> None:
        """Closing stops a recording under way; nothing of it is kept."""
        if self.task is not None:
            self.task.cancel()
        super().reject()
