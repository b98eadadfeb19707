"""Settings: which camera, which model pack (installed from a folder with progress) and the match threshold.

The model pack and the threshold are the vault's settings (``ops.use_pack``,
``ops.threshold``), the same the command line and the admin API use: choosing
an installed pack here makes it the one in use everywhere. Telemetry, the
policy and the rest of the administration are on the Admin page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.pages.admin import install
from app.pages.base import Context, Page
from app.widgets import packed
from app.widgets.calibrate_dialog import CalibrateDialog
from app.widgets.confirm import ConfirmDialog
from app.widgets.progress import WorkProgress
from app.widgets.source import VIDEO_FILTER
from edge_core import ops
from edge_core.biometrics import PackInfo, list_packs, pack_info, threshold_text
from edge_core.ops.results import ThresholdReport

FAR_FROM_DEFAULT = 0.15
"""A chosen threshold this far from the pack's measured default is saved with a word of what it does."""


class SettingsPage(Page):
    title = "Settings"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.progress: WorkProgress | None = None
        self.dialog: ConfirmDialog | None = None
        self.threshold_report: ThresholdReport | None = None
        self.shown_pack: str | None = None
        """A pack picked in the box that is not installed (shown with its install button), else None: the box
        shows the pack in use."""
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._camera_box())
        layout.addWidget(self._pack_box())
        layout.addWidget(self._threshold_box())
        layout.addStretch(1)

    # --------------------------------------------------------------- camera
    def _camera_box(self) -> QGroupBox:
        box = QGroupBox("Camera")
        self.camera_index = QSpinBox()
        self.camera_index.setRange(0, 9)
        self.camera_index.setAccessibleName("Camera number")
        self.camera_index.valueChanged.connect(self._camera_changed)
        self.stand_in = QLabel()
        self.stand_in.setAccessibleName("Video standing in for the camera")
        self.stand_in.setWordWrap(True)
        self.stand_in_button = QPushButton("Use a video file as the camera…")
        self.stand_in_button.setAccessibleName("Use a video file as the camera")
        self.stand_in_button.clicked.connect(self._choose_stand_in)
        self.real_camera = QPushButton("Use the real camera")
        self.real_camera.setAccessibleName("Use the real camera")
        self.real_camera.clicked.connect(lambda: self._set_stand_in(None))
        form = QFormLayout(box)
        form.addRow("Camera number", packed(self.camera_index))
        form.addRow("Stand-in", self.stand_in)
        form.addRow("", packed(self.stand_in_button, self.real_camera))
        return box

    def _camera_changed(self, index: int) -> None:
        self.prefs.camera_index = index
        self.session.notify()

    def _choose_stand_in(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "A video to use as the camera", "", VIDEO_FILTER)
        if name:
            self._set_stand_in(Path(name))

    def _set_stand_in(self, path: Path | None) -> None:
        self.prefs.camera_video = path
        self.session.notify()

    # ----------------------------------------------------------------- pack
    def _pack_box(self) -> QGroupBox:
        box = QGroupBox("Model pack")
        self.pack = QComboBox()
        self.pack.setAccessibleName("Model pack")
        self.pack.activated.connect(self._pack_chosen)
        self.pack_state = QLabel()
        self.pack_state.setWordWrap(True)
        self.pack_state.setAccessibleName("Model pack state")
        self.install_button = QPushButton("Install from a folder…")
        self.install_button.setAccessibleName("Install the model pack from a folder")
        self.install_button.clicked.connect(self.ask_install)
        layout = QVBoxLayout(box)  # a form's rows would leave gaps around the wrapped state line
        layout.addLayout(packed(QLabel("Pack"), self.pack, self.install_button))
        layout.addWidget(self.pack_state)
        return box

    def _pack_chosen(self, row: int) -> None:
        """An installed pack becomes the one in use (for the command line and the admin API too); one that is
        not installed is shown with the way to install it, and the pack in use stays."""
        name = self.pack.itemData(row)
        self.banner.clear()
        if not pack_info(name).installed:
            self.shown_pack = name
            self.load()
            return
        self.shown_pack = None
        install.use(self, name, done=self.load)

    def ask_install(self) -> None:
        info = pack_info(self.shown_pack or self.session.pack)
        if info.awaits_consent:  # FaceSeal came with it: only the licence question is left
            install.install(self, info, None, self._installed)
            return
        folder = QFileDialog.getExistingDirectory(self, f"Folder holding the files of pack '{info.name}'")
        if folder:
            install.install(self, info, Path(folder), self._installed)

    def _installed(self, info: PackInfo) -> None:
        """Installed from this box, where it was chosen: it becomes the pack in use."""
        self.shown_pack = None
        install.use(self, info.name, f"Model pack '{info.name}' is installed and every file checked. ", self.load)
        self.session.notify()

    # ------------------------------------------------------------ threshold
    def _threshold_box(self) -> QGroupBox:
        box = QGroupBox("Match threshold")
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(3)  # the packs' defaults and calibration use a third decimal
        self.threshold.setSingleStep(0.01)
        self.threshold.setRange(0.0, 1.0)  # never clamped to the policy here: ops refuses, and the page says why
        self.threshold.setAccessibleName("Match threshold")
        self.threshold.editingFinished.connect(self._threshold_changed)
        self.default_button = QPushButton("Back to the pack's default")
        self.default_button.setAccessibleName("Back to the pack's default threshold")
        self.default_button.clicked.connect(self._threshold_default)
        self.calibrate_button = QPushButton("Calibrate on my photos…")
        self.calibrate_button.setAccessibleName("Calibrate on my photos")
        self.calibrate_button.clicked.connect(self._calibrate)
        self.threshold_note = QLabel()
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setAccessibleName("About the threshold")
        layout = QVBoxLayout(box)
        layout.addLayout(packed(QLabel("Threshold"), self.threshold, self.default_button, self.calibrate_button))
        layout.addWidget(self.threshold_note)
        return box

    def _calibrate(self) -> None:
        """Error rates on the user's own labelled photos (the same use case as ``faceseal calibrate``); the
        threshold box shows what the dialog set once it closes."""
        self.calibration = CalibrateDialog(self, self.session, self.session.pack)
        self.calibration.finished.connect(lambda _code: self.load())
        self.calibration.open()

    def _threshold_changed(self) -> None:
        """Kept in the vault, bounded by the policy and audited by ops (``faceseal threshold`` uses the same)."""
        report = self.threshold_report
        if not self.threshold.isEnabled() or report is None:
            return
        value = round(self.threshold.value(), 3)
        if value == round(report.threshold, 3):
            return  # nothing changed: nothing to save or audit
        info = pack_info(self.session.pack)
        self.banner.clear()
        self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold, value)),
                 lambda answer: self._threshold_saved(answer, info), self._threshold_refused)

    def _threshold_saved(self, report: ThresholdReport, info: PackInfo) -> None:
        text = f"The threshold of pack '{report.pack}' is now {threshold_text(report.threshold)} (saved in the vault, audited)."
        if report.threshold - report.default >= FAR_FROM_DEFAULT:
            text += (f" That is far above the pack's measured default ({threshold_text(report.default)}): strangers are "
                     "almost never accepted, and many genuine people will be turned away.")
        elif report.default - report.threshold >= FAR_FROM_DEFAULT:
            text += (f" That is far below the pack's measured default ({threshold_text(report.default)}): strangers who "
                     "look alike may be accepted.")
        far = abs(report.threshold - report.default) >= FAR_FROM_DEFAULT
        self.banner.show_message("warning" if far else "success", text, *(
            ("Back to the default", self._threshold_default) if far else ()))
        self._show_threshold(report, info)
        self.session.notify()

    def _threshold_refused(self, message: str) -> None:
        """ops refused the value (outside the policy): say so, and show the threshold still in force."""
        report = self.threshold_report
        kept = f" Nothing was changed: the threshold stays {threshold_text(report.threshold)}." if report else ""
        self.banner.show_message("error", message + kept)
        if report is not None:
            self.threshold.setValue(report.threshold)

    def _threshold_default(self) -> None:
        info = pack_info(self.session.pack)
        self.banner.clear()
        self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold,
                                                                      clear=True)),
                 lambda report: (self.banner.show_message(
                     "success", f"The threshold of pack '{report.pack}' is back to its measured default "
                                f"{threshold_text(report.default)} (audited)."), self._show_threshold(report, info),
                     self.session.notify()))

    # ----------------------------------------------------------------- load
    def load(self) -> None:
        self.camera_index.blockSignals(True)
        self.camera_index.setValue(self.prefs.camera_index)
        self.camera_index.blockSignals(False)
        video = self.prefs.camera_video
        self.stand_in.setText(f"{video} is used instead of a camera" if video else "none: the real camera is used")
        self.real_camera.setEnabled(video is not None)
        packs = list_packs()
        self.pack.clear()
        for info in packs:
            self.pack.addItem(f"{info.name} ({'installed' if info.installed else 'not installed'})", info.name)
        used = self.session.pack_in_use()
        shown = pack_info(self.shown_pack or used.pack)
        self.pack.setCurrentIndex(max(0, self.pack.findData(shown.name)))
        state = "installed and checked" if shown.installed else \
            "included with FaceSeal: accept its licence notice to use it" if shown.awaits_consent else \
            "not installed: enrolment and verification need it" if shown.name == used.pack else \
            "not installed: install it to use it"
        if shown.name == used.pack and shown.installed:
            state += ", in use" + (f" because {used.reason}" if used.reason else "")
        elif shown.name != used.pack:
            state += f"; pack '{used.pack}' stays in use meanwhile"
        self.pack_state.setText(f"{shown.title}. Licence: {shown.licence}. State: {state}.")
        self.install_button.setText("Reinstall from a folder…" if shown.installed else
                                    "Read its licence and use it…" if shown.awaits_consent else
                                    "Install from a folder…")
        info = pack_info(used.pack)
        shown = self.threshold_report
        if not self.session.is_open or shown is None or shown.pack != info.name:
            self.threshold_report = None  # nothing is saved until the threshold in force was read
            self.threshold.setEnabled(False)
            self.default_button.setEnabled(False)
        if not self.session.is_open:
            self.threshold_note.setText("Unlock the vault to change the threshold: its allowed range is the "
                                        "vault's policy.")
            return
        self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold)),
                 lambda report: self._show_threshold(report, info),
                 lambda message: self.threshold_note.setText(message))

    def _show_threshold(self, report: ThresholdReport, info: PackInfo) -> None:
        """The threshold in force; the policy's range is said, not enforced here (ops refuses what is outside)."""
        self.threshold_report = report
        self.threshold.setValue(report.threshold)
        self.threshold.setEnabled(True)
        self.default_button.setEnabled(report.chosen)
        self.threshold_note.setText(
            f"A face matches when its score reaches this. The policy allows {report.low:.2f} to {report.high:.2f}; "
            f"the pack's measured default is {threshold_text(info.default_threshold)} ({info.threshold_note}). "
            "Higher lets fewer strangers in and turns more genuine people away.")
