"""Settings' "Calibrate on my photos": ``faceseal calibrate`` in a dialog.

It runs the very use case of the command line (``ops.calibrate``) on a worker
thread, shows the error rates at the threshold in force and at the thresholds
for 1 %, 0.1 % and 0.01 % false accepts, draws the DET curve, and offers to use
the threshold for 0.1 %, which goes through the same threshold use case as the
Settings spin box (bounded by the policy, audited).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTemporaryDir, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import workers
from app.preferences import Preferences
from edge_core.biometrics import load_pack, threshold_text
from edge_core.ops import calibrate as calibration

if TYPE_CHECKING:
    from app.session import Session

TABLE_ROWS = ("in force", "1 %", "0.1 %", "0.01 %")
"""The rows of the figures: the threshold in force, then those for each target false-accept rate."""
CURVE_HEIGHT = 320
"""The DET curve is scaled down to this height, so the dialog fits a small screen with its table whole."""
RECOMMENDED = "0.1 %"
"""The target false-accept rate the dialog offers to use (the packs' defaults are chosen for it)."""


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f} %"


class CalibrateDialog(QDialog):
    """Pick a folder of labelled photos, see how the pack does on them, and use the 0.1 % threshold."""

    def __init__(self, parent: QWidget | None, session: Session, pack: str | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.pack = pack or session.pack
        self.report: calibration.Calibration | None = None
        self._images = QTemporaryDir()
        self.setWindowTitle(f"Calibrate pack '{self.pack}' on your photos")
        self.setAccessibleName("Calibrate on your photos")
        explain = QLabel("Choose a folder with one sub-folder per person (or a labels.csv). Every photo goes "
                         "through the face pipeline on this computer; nothing is stored.")
        explain.setWordWrap(True)
        self.choose = QPushButton("Choose folder…")
        self.choose.setAccessibleName("Choose folder")
        self.choose.clicked.connect(self._pick)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Calibration status")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Threshold", "False rejects", "False accepts", "Held out (FR / FA)"])
        self.table.setAccessibleName("Error rates")
        self.table.verticalHeader().hide()
        # every header whole, before and after the figures; the table as tall as its rows (never one row shown)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self._fit_rows(len(TABLE_ROWS))
        self.curve = QLabel()
        self.curve.setAccessibleName("DET curve")
        self.use = QPushButton(f"Use threshold for {RECOMMENDED}")
        self.use.setAccessibleName(f"Use threshold for {RECOMMENDED}")
        self.use.setEnabled(False)
        self.use.clicked.connect(self._use)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose)
        buttons.addStretch()
        buttons.addWidget(self.use)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        for widget in (explain, self.progress, self.status, self.table, self.curve):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.setMinimumWidth(680)

    def _fit_rows(self, rows: int) -> None:
        """The table exactly as tall as its header and ``rows`` rows, whatever the dialog's height."""
        table = self.table
        row = table.verticalHeader().defaultSectionSize()
        height = table.horizontalHeader().sizeHint().height() + rows * row + 2 * table.frameWidth()
        if table.horizontalScrollBar().isVisible():
            height += table.horizontalScrollBar().sizeHint().height()
        table.setFixedHeight(height)

    def _pick(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of labelled photos")
        if folder:
            self.start(Path(folder))

    def start(self, folder: Path) -> workers.Task:
        """Calibrate on ``folder`` off the UI thread (what choosing a folder does)."""
        self.choose.setEnabled(False)
        self.use.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText(f"Reading the photos in {folder}…")
        det = Path(self._images.path()) / f"det-{self.pack}.png"

        def work(reporter: workers.Reporter) -> calibration.Calibration:
            pipeline = load_pack(self.pack)
            return self.session.call(
                lambda vault: calibration.calibrate(vault, folder, pipeline, det, reporter.progress))

        return workers.start(work, self._shown, self._failed, owner=self,
                             watch=lambda task: task.signals.progress.connect(self._progressed))

    def _progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _shown(self, report: calibration.Calibration) -> None:
        self.report = report
        self.progress.setVisible(False)
        self.choose.setEnabled(True)
        self.table.setRowCount(len(report.rows))
        for index, row in enumerate(report.rows):
            name = "in force" if row.label == "current" else f"for {row.label} false accepts"
            held = "" if row.held_out_frr is None else f"{_percent(row.held_out_frr)} / {_percent(row.held_out_far)}"
            for column, text in enumerate((f"{row.threshold:.3f} ({name})", _percent(row.frr), _percent(row.far),
                                           held)):
                self.table.setItem(index, column, QTableWidgetItem(text))
        self._fit_rows(len(report.rows))
        curve = QPixmap(str(report.det_curve))
        self.curve.setPixmap(curve.scaledToHeight(min(curve.height(), CURVE_HEIGHT),
                                                  Qt.TransformationMode.SmoothTransformation))
        left_out = f"; left out (no face or unreadable): {', '.join(report.unusable)}" if report.unusable else ""
        self.status.setText(f"{report.photos} photos of {report.people} people: {report.genuine_pairs} same-person "
                            f"and {report.impostor_pairs} different-person pairs{left_out}.")
        self.use.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.progress.setVisible(False)
        self.choose.setEnabled(True)
        self.status.setText(message)

    def _use(self) -> None:
        report = self.report
        if report is None:
            return
        self.use.setEnabled(False)
        workers.start(lambda _reporter: self.session.call(
            lambda vault: calibration.use_threshold(vault, report, RECOMMENDED)),
            self._threshold_set, self._failed, owner=self)

    def _threshold_set(self, chosen: object) -> None:
        self.status.setText(f"The threshold of pack '{chosen.pack}' is now {threshold_text(chosen.threshold)} "
                            f"(for {RECOMMENDED} false accepts on your photos).")
