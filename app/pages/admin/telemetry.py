"""Telemetry: state, collector (checked when saved), queue, last delivery and error, on/off within the policy,
and the dead-letter queue with replay and drop, each over ``edge_core.ops.telemetry``."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import button, packed
from app.widgets.confirm import ConfirmDialog
from edge_core.ops import telemetry as telemetry_ops
from edge_core.ops.telemetry import TelemetryReport

REFRESH_MS = 5000
"""While the section is shown, its figures are read again this often (delivery runs in the background)."""
DEAD_COLUMNS = ("Batch", "Events", "Attempts", "Last error", "Sealed")


def _when(epoch: float | None) -> str:
    """A local date and time, to the second."""
    return datetime.fromtimestamp(epoch or 0).strftime("%Y-%m-%d %H:%M:%S")


class TelemetrySection(Section):
    title = "Telemetry"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dialog: ConfirmDialog | None = None
        self.report: TelemetryReport | None = None
        self.telemetry_state = self._label("Telemetry state")
        self.telemetry_queue = self._label("Telemetry queue")
        self.telemetry_last = self._label("Last telemetry delivery")
        self.telemetry_error = self._label("Last telemetry error")
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText("https://collector.example.org")
        self.endpoint.setAccessibleName("Collector URL")
        self.pin = QLineEdit()
        self.pin.setPlaceholderText("optional: sha256//… of the collector's public key")
        self.pin.setAccessibleName("Collector certificate pin")
        self.telemetry_on = button("Turn telemetry on", self._enable, "primary")
        self.telemetry_off = button("Turn telemetry off", self._disable)
        state = QGroupBox("State and collector")
        form = QFormLayout(state)
        form.addRow("State", self.telemetry_state)
        form.addRow("Queue", self.telemetry_queue)
        form.addRow("Last delivery", self.telemetry_last)
        form.addRow("Last error", self.telemetry_error)
        form.addRow("Collector URL", self.endpoint)
        form.addRow("Certificate pin", self.pin)
        form.addRow("", packed(self.telemetry_on, self.telemetry_off))

        self.dead = QTableWidget(0, len(DEAD_COLUMNS))
        self.dead.setHorizontalHeaderLabels(DEAD_COLUMNS)
        self.dead.setAccessibleName("Dead-letter queue")
        self.dead.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.dead.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.dead.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.dead.verticalHeader().hide()
        self.dead.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.dead.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.dead.setMinimumHeight(150)
        self.dead.itemSelectionChanged.connect(self._selection_changed)
        self.replay_one = button("Replay the selected batch", self._replay_selected)
        self.replay = button("Replay every dead letter", self._replay_all)
        self.drop = button("Drop the selected batch…", self._ask_drop, "danger")
        dead = QGroupBox("Dead-letter queue (batches the collector refused or that failed too often)")
        dead_layout = QVBoxLayout(dead)
        dead_layout.addWidget(self.dead)
        dead_layout.addLayout(packed(self.replay_one, self.replay, self.drop))

        layout = QVBoxLayout(self.body)
        layout.addWidget(state)
        layout.addWidget(dead)
        layout.addStretch(1)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    @staticmethod
    def _label(name: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setAccessibleName(name)
        return label


    # ------------------------------------------------------------ reading
    def load(self) -> None:
        for widget in (self.telemetry_on, self.telemetry_off, self.replay, self.replay_one, self.drop):
            widget.setEnabled(False)
        self.in_vault(telemetry_ops.status, self._show, lambda message: self.telemetry_state.setText(message))

    def _tick(self) -> None:
        if self.isVisible() and self.session.is_open:
            self.load()

    def _show(self, report: TelemetryReport) -> None:
        """What telemetry does now; the buttons offer only what the policy and the state allow."""
        self.report = report
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
        chosen = self.selected_batch()
        self.dead.setRowCount(0)
        for letter in report.dead_letters:
            row = self.dead.rowCount()
            self.dead.insertRow(row)
            cells = (letter.batch_id, str(letter.event_count), str(letter.attempts), letter.last_error or "",
                     _when(letter.sealed_at))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.dead.setItem(row, column, item)
            if letter.batch_id == chosen:
                self.dead.selectRow(row)
        self.replay.setEnabled(bool(report.dead_letters))
        self._selection_changed()

    def selected_batch(self) -> str | None:
        rows = self.dead.selectionModel().selectedRows()
        return self.dead.item(rows[0].row(), 0).text() if rows else None

    def _selection_changed(self) -> None:
        chosen = self.selected_batch() is not None
        self.replay_one.setEnabled(chosen)
        self.drop.setEnabled(chosen)

    # ------------------------------------------------------------ changing
    def _enable(self) -> None:
        url, pin = self.endpoint.text().strip(), self.pin.text().strip() or None
        self.banner.clear()
        self.telemetry_on.setEnabled(False)
        self.in_vault(lambda v: telemetry_ops.enable(v, url, pin), self._enabled, self._failed)

    def _enabled(self, settings: telemetry_ops.TelemetrySettings) -> None:
        kind = "success" if settings.health == "ok" else "warning"
        self.banner.show_message(kind, f"Telemetry is on, sending to {settings.endpoint}. Checked the collector: "
                                       f"{settings.found}.")
        self.session.notify()

    def _disable(self) -> None:
        self.banner.clear()
        self.in_vault(telemetry_ops.disable, lambda _off: self._done(
            "info", "Telemetry is off: nothing more is recorded or sent; what is queued stays on this computer."),
            self._failed)

    def _replay_all(self) -> None:
        self._replay(None)

    def _replay_selected(self) -> None:
        self._replay(self.selected_batch())

    def _replay(self, batch: str | None) -> None:
        self.banner.clear()
        self.in_vault(lambda v: telemetry_ops.retry_dead_letter(v, batch), lambda requeued: self._done(
            "info", f"{len(requeued.batch_ids)} batch(es) from the dead-letter queue will be sent again now "
                    "(audited)."), self._failed)

    def _ask_drop(self) -> None:
        batch = self.selected_batch()
        if batch is None:
            return
        self.dialog = ConfirmDialog(self, "Drop a dead letter", f"Batch {batch} is deleted from this computer and "
                                    "never sent (audited). Its counts are lost to the collector.", "Drop it")
        self.dialog.accepted.connect(lambda: self._drop(batch))
        self.dialog.open()

    def _drop(self, batch: str) -> None:
        self.banner.clear()
        self.in_vault(lambda v: telemetry_ops.drop_dead_letter(v, batch), lambda dropped: self._done(
            "info", f"Batch {dropped.dropped.batch_id} ({dropped.dropped.event_count} event(s)) was dropped and "
                    "will never be sent (audited)."), self._failed)

    def _done(self, kind: str, message: str) -> None:
        self.banner.show_message(kind, message)
        self.session.notify()

    def _failed(self, message: str) -> None:
        self.show_error(message)
        self.load()
