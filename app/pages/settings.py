"""Settings: which camera, which model pack (installed from a folder with progress), the match threshold,
and telemetry (state, endpoint, queue, last delivery and error; on/off within the policy; replaying dead letters)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.pages.base import Context, Page
from app.widgets import packed
from app.widgets.confirm import ConfirmDialog
from app.widgets.progress import WorkProgress
from app.widgets.source import VIDEO_FILTER
from app.workers import Task
from edge_core import ops
from edge_core.biometrics import PackInfo, install_pack, list_packs, pack_info
from edge_core.ops import telemetry as telemetry_ops
from edge_core.ops.results import ThresholdReport
from edge_core.ops.telemetry import TelemetryReport

TELEMETRY_REFRESH_MS = 5000
"""While Settings is shown, the telemetry figures are read again this often (delivery runs in the background)."""


class SettingsPage(Page):
    title = "Settings"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.progress: WorkProgress | None = None
        self.dialog: ConfirmDialog | None = None
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._camera_box())
        layout.addWidget(self._pack_box())
        layout.addWidget(self._threshold_box())
        layout.addWidget(self._telemetry_box())
        layout.addStretch(1)
        self.telemetry_timer = QTimer(self)
        self.telemetry_timer.setInterval(TELEMETRY_REFRESH_MS)
        self.telemetry_timer.timeout.connect(self._telemetry_tick)
        self.telemetry_timer.start()

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
        form = QFormLayout(box)
        form.addRow("Pack", packed(self.pack))
        form.addRow("", self.pack_state)
        form.addRow("", packed(self.install_button))
        return box

    def _pack_chosen(self, row: int) -> None:
        self.prefs.pack = self.pack.itemData(row)
        self.session.notify()

    def ask_install(self) -> None:
        info = pack_info(self.prefs.pack)
        folder = QFileDialog.getExistingDirectory(self, f"Folder holding the files of pack '{info.name}'")
        if not folder:
            return
        if info.requires_consent:
            self.dialog = ConfirmDialog(self, f"Licence of pack '{info.name}'", info.licence_notice,
                                        "I accept, install it")
            self.dialog.accepted.connect(lambda: self._install(info, Path(folder)))
            self.dialog.open()
        else:
            self._install(info, Path(folder))

    def _install(self, info: PackInfo, folder: Path) -> None:
        self.banner.clear()
        self.run(lambda reporter: install_pack(info.name, folder, reporter.progress), self._installed,
                 watch=lambda task: self._show_progress("Installing model pack",
                                                        f"Checking and installing '{info.name}'…", task))

    def _show_progress(self, title: str, text: str, task: Task) -> None:
        self.progress = WorkProgress(self, title, text, task)

    def _installed(self, info: PackInfo) -> None:
        self.banner.show_message("success", f"Model pack '{info.name}' is installed and every file checked.")
        self.session.notify()

    # ------------------------------------------------------------ threshold
    def _threshold_box(self) -> QGroupBox:
        box = QGroupBox("Match threshold")
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(0.01)
        self.threshold.setAccessibleName("Match threshold")
        self.threshold.editingFinished.connect(self._threshold_changed)
        self.threshold_note = QLabel()
        self.threshold_note.setWordWrap(True)
        self.threshold_note.setAccessibleName("About the threshold")
        form = QFormLayout(box)
        form.addRow("Threshold", packed(self.threshold))
        form.addRow("", self.threshold_note)
        return box

    def _threshold_changed(self) -> None:
        """Kept in the vault, audited, and used by the command line too (``faceseal threshold``)."""
        if not self.threshold.isEnabled():
            return
        info, value = pack_info(self.prefs.pack), self.threshold.value()
        self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold, value)),
                 lambda _answer: self.session.notify())

    # ------------------------------------------------------------ telemetry
    def _telemetry_box(self) -> QGroupBox:
        box = QGroupBox("Telemetry")
        self.telemetry_state = QLabel()
        self.telemetry_state.setWordWrap(True)
        self.telemetry_state.setAccessibleName("Telemetry state")
        self.telemetry_queue = QLabel()
        self.telemetry_queue.setWordWrap(True)
        self.telemetry_queue.setAccessibleName("Telemetry queue")
        self.telemetry_last = QLabel()
        self.telemetry_last.setWordWrap(True)
        self.telemetry_last.setAccessibleName("Last telemetry delivery")
        self.telemetry_error = QLabel()
        self.telemetry_error.setWordWrap(True)
        self.telemetry_error.setAccessibleName("Last telemetry error")
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("https://collector.example.org")
        self.endpoint.setAccessibleName("Collector URL")
        self.pin = QLineEdit()
        self.pin.setPlaceholderText("optional: sha256//… of the collector's public key")
        self.pin.setAccessibleName("Collector certificate pin")
        self.telemetry_on = QPushButton("Turn telemetry on")
        self.telemetry_on.setAccessibleName("Turn telemetry on")
        self.telemetry_on.clicked.connect(self._enable_telemetry)
        self.telemetry_off = QPushButton("Turn telemetry off")
        self.telemetry_off.setAccessibleName("Turn telemetry off")
        self.telemetry_off.clicked.connect(self._disable_telemetry)
        self.replay = QPushButton("Replay dead letters")
        self.replay.setAccessibleName("Replay the telemetry dead-letter queue")
        self.replay.clicked.connect(self._replay_dead_letters)
        self.telemetry_report: TelemetryReport | None = None
        form = QFormLayout(box)
        form.addRow("State", self.telemetry_state)
        form.addRow("Queue", self.telemetry_queue)
        form.addRow("Last delivery", self.telemetry_last)
        form.addRow("Last error", self.telemetry_error)
        form.addRow("Collector URL", self.endpoint)
        form.addRow("Certificate pin", self.pin)
        form.addRow("", packed(self.telemetry_on, self.telemetry_off, self.replay))
        return box

    def _load_telemetry(self) -> None:
        for widget in (self.telemetry_on, self.telemetry_off, self.replay):
            widget.setEnabled(False)
        if not self.session.is_open:
            self.telemetry_state.setText("Unlock the vault to see and change telemetry.")
            for label in (self.telemetry_queue, self.telemetry_last, self.telemetry_error):
                label.setText("")
            return
        self.run(lambda _r: self.session.call(telemetry_ops.status), self._show_telemetry,
                 lambda message: self.telemetry_state.setText(message))

    def _telemetry_tick(self) -> None:
        if self.isVisible() and self.session.is_open:
            self._load_telemetry()

    def _show_telemetry(self, report: TelemetryReport) -> None:
        """What telemetry does now; the buttons offer only what the policy and the state allow."""
        self.telemetry_report = report
        s = report.status
        if s.enabled:
            state = f"On: operational counts (never biometric data) are sent to {s.endpoint}."
        elif not report.allowed:
            state = "Off: the security policy does not allow telemetry."
        else:
            state = "Off: nothing is recorded or sent."
        if report.schedule.pin_sha256 and s.enabled:
            state += f" The collector's key is pinned ({report.schedule.pin_sha256})."
        self.telemetry_state.setText(state)
        self.telemetry_queue.setText(
            f"{s.queued_events} event(s) waiting to be sealed; {s.pending_batches} batch(es) waiting to be sent; "
            f"{s.sent_batches} sent; {s.dead_batches} in the dead-letter queue.")
        self.telemetry_last.setText(_when(s.last_delivery_at) if s.last_delivery_at else "Never.")
        self.telemetry_error.setText(f"{s.last_error} ({_when(s.last_error_at)})" if s.last_error else "None.")
        if s.endpoint and not self.endpoint.text():
            self.endpoint.setText(s.endpoint)
        self.telemetry_on.setEnabled(report.allowed)
        self.telemetry_on.setText("Save and check the collector" if s.enabled else "Turn telemetry on")
        self.telemetry_off.setEnabled(s.enabled)
        self.replay.setEnabled(s.dead_batches > 0)

    def _enable_telemetry(self) -> None:
        url, pin = self.endpoint.text().strip(), self.pin.text().strip() or None
        self.banner.clear()
        self.telemetry_on.setEnabled(False)
        self.run(lambda _r: self.session.call(lambda v: telemetry_ops.enable(v, url, pin)), self._enabled,
                 self._telemetry_failed)

    def _enabled(self, settings: telemetry_ops.TelemetrySettings) -> None:
        kind = "success" if settings.health == "ok" else "warning"
        self.banner.show_message(kind, f"Telemetry is on, sending to {settings.endpoint}. Checked the collector: "
                                       f"{settings.found}.")
        self.session.notify()

    def _disable_telemetry(self) -> None:
        self.banner.clear()
        self.run(lambda _r: self.session.call(telemetry_ops.disable),
                 lambda _off: (self.banner.show_message("info", "Telemetry is off: nothing more is recorded or "
                                                        "sent; what is queued stays on this computer."),
                               self.session.notify()), self._telemetry_failed)

    def _replay_dead_letters(self) -> None:
        self.banner.clear()
        self.run(lambda _r: self.session.call(lambda v: telemetry_ops.retry_dead_letter(v, None)),
                 lambda requeued: (self.banner.show_message("info", f"{len(requeued.batch_ids)} batch(es) from the "
                                                            "dead-letter queue will be sent again now."),
                                   self.session.notify()), self._telemetry_failed)

    def _telemetry_failed(self, message: str) -> None:
        self.show_error(message)
        self._load_telemetry()

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
        self.pack.setCurrentIndex(max(0, self.pack.findData(self.prefs.pack)))
        info = pack_info(self.prefs.pack)
        state = "installed and checked" if info.installed else "not installed: enrolment and verification need it"
        self.pack_state.setText(f"{info.title}. Licence: {info.licence}. State: {state}.")
        self.install_button.setText("Reinstall from a folder…" if info.installed else "Install from a folder…")
        self.threshold.setEnabled(False)
        if self.session.is_open:
            self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold)),
                     lambda report: self._show_threshold(report, info),
                     lambda message: self.threshold_note.setText(message))
        else:
            self.threshold_note.setText("Unlock the vault to change the threshold: its allowed range is the "
                                        "vault's policy.")
        self._load_telemetry()

    def _show_threshold(self, report: ThresholdReport, info: PackInfo) -> None:
        """The threshold box, bounded by the policy in force (ops refuses anything outside it)."""
        low, high = report.low, report.high
        self.threshold.setRange(low, high)
        self.threshold.setValue(report.threshold)
        self.threshold.setEnabled(True)
        self.threshold_note.setText(
            f"A face matches when its score reaches this. The policy allows {low:.2f} to {high:.2f}; "
            f"the pack's measured default is {info.default_threshold:.2f} ({info.threshold_note}). "
            "Higher lets fewer strangers in and turns more genuine people away.")


def _when(epoch: float | None) -> str:
    """A local date and time, to the second."""
    return datetime.fromtimestamp(epoch or 0).strftime("%Y-%m-%d %H:%M:%S")
