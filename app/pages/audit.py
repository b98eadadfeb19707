"""Audit: the tamper-evident log in a filterable table (a person's name beside their id while they exist, every
detail in full), the chain check, the signed evidence export, and the check of an evidence zip picked from disk."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QResizeEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
)

from app.pages.base import Context, Page
from edge_core import ops
from edge_core.ops.results import AuditCheck, AuditEntry, EvidenceCheck, EvidenceExport

COLUMNS = ("#", "When (UTC)", "Event", "Person", "Details")
DETAILS = 4
ALL_KINDS = "All events"
EVIDENCE_FILTER = "Zip archives (*.zip)"


def details_of(event: AuditEntry) -> str:
    """Every detail of ``event`` in full (the person's name has its own column)."""
    return ", ".join(f"{key}={value}" for key, value in sorted(event.detail.items()))


class _Filter(QSortFilterProxyModel):
    """Rows of one kind (or all) whose text contains the search words."""

    def __init__(self) -> None:
        super().__init__()
        self.kind = ""
        self.words = ""

    def set_filter(self, kind: str, words: str) -> None:
        self.beginFilterChange()
        self.kind, self.words = kind, words.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: object) -> bool:  # noqa: N802 - Qt's name
        model = self.sourceModel()
        cells = [str(model.index(row, column, parent).data() or "") for column in range(model.columnCount())]
        if self.kind and cells[2] != self.kind:
            return False
        return not self.words or self.words in " ".join(cells).lower()


class _WrappingTable(QTableView):
    """A table whose rows grow to show every wrapped line: Qt cuts a cell to "…" when its row is too short, and
    the rows' heights depend on the details column's width, which changes with the window and the scroll bar."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.horizontalHeader().sectionResized.connect(lambda *_: self.fit_rows())

    def fit_rows(self) -> None:
        """Now, and once more after Qt has laid the table out (a scroll bar may have appeared)."""
        self.resizeRowsToContents()
        QTimer.singleShot(0, self.resizeRowsToContents)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_rows()


class AuditPage(Page):
    title = "Audit"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.events: list[AuditEntry] = []
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.filter = _Filter()
        self.filter.setSourceModel(self.model)
        self.table = _WrappingTable()
        self.table.setModel(self.filter)
        self.table.setAccessibleName("Audit events")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(DETAILS, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("The selected event in full")
        self.detail.setPlaceholderText("Select an event to read it in full.")
        self.checked_events: int | None = None
        """How many events the chain check shown in the banner covered (a later change makes it stale)."""
        self.kind = QComboBox()
        self.kind.setAccessibleName("Event kind")
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.kind.currentTextChanged.connect(self._apply_filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the details")
        self.search.setAccessibleName("Search the details")
        self.search.textChanged.connect(self._apply_filter)
        self.verify_button = QPushButton("Verify the chain")
        self.verify_button.setAccessibleName("Verify the chain")
        self.verify_button.clicked.connect(self.verify_chain)
        self.export_button = QPushButton("Export evidence…")
        self.export_button.setAccessibleName("Export the signed evidence")
        self.export_button.clicked.connect(self.export)
        self.check_button = QPushButton("Check an evidence zip…")
        self.check_button.setAccessibleName("Check an evidence zip")
        self.check_button.clicked.connect(self.check_evidence)
        tools = QHBoxLayout()
        tools.addWidget(self.kind)
        tools.addWidget(self.search, 1)
        tools.addWidget(self.verify_button)
        tools.addWidget(self.export_button)
        tools.addWidget(self.check_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(split, 1)

    def load(self) -> None:
        self.run(lambda _r: self.session.call(ops.audit_list), self._fill)

    def _fill(self, events: list[AuditEntry]) -> None:
        self.events = events
        if self.checked_events is not None and self.checked_events != len(events):
            self.banner.clear()  # a chain check of fewer (or more) events no longer describes this log
            self.checked_events = None
        self.model.setRowCount(0)
        for event in events:
            seq = QStandardItem()
            seq.setData(event.seq, Qt.ItemDataRole.DisplayRole)
            details = QStandardItem(details_of(event))
            details.setToolTip(details.text())
            self.model.appendRow([seq, QStandardItem(event.ts[:19].replace("T", " ")), QStandardItem(event.kind),
                                  QStandardItem(event.person or ""), details])
        chosen = self.kind.currentText()
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItems([ALL_KINDS, *sorted({e.kind for e in events})])
        self.kind.setCurrentText(chosen if chosen else ALL_KINDS)
        self.kind.blockSignals(False)
        for column in range(DETAILS):
            self.table.resizeColumnToContents(column)
        self._apply_filter()
        self.table.fit_rows()
        self._show_selected()

    def _apply_filter(self) -> None:
        kind = self.kind.currentText()
        self.filter.set_filter("" if kind in ("", ALL_KINDS) else kind, self.search.text())

    def _show_selected(self) -> None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            self.detail.clear()
            return
        seq = self.filter.index(index.row(), 0).data()
        event = next((e for e in self.events if e.seq == seq), None)
        if event is None:
            self.detail.clear()
            return
        lines = [f"Event {event.seq}: {event.kind}, {event.ts}"]
        if event.person:
            lines.append(f"person: {event.person}")
        lines += [f"{key}: {value}" for key, value in sorted(event.detail.items())]
        self.detail.setPlainText("\n".join(lines))

    def shown_kinds(self) -> list[str]:
        return [self.filter.index(row, 2).data() for row in range(self.filter.rowCount())]

    def verify_chain(self) -> None:
        self.run(lambda _r: self.session.call(ops.audit_verify), self._verified)

    def _verified(self, check: AuditCheck) -> None:
        self.checked_events = check.events
        if not check.intact:
            self.banner.show_message("error", f"The audit log was tampered with: {'; '.join(check.problems or [])}.")
        else:
            self.banner.show_message("success",
                                     f"The chain is intact: all {check.events} events are as they were written.")

    def export(self) -> None:
        """The signed evidence zip (events, signed head, public key), as ``faceseal audit export`` writes it."""
        name, _ = QFileDialog.getSaveFileName(self, "Export the audit evidence", "faceseal-audit-evidence.zip",
                                              EVIDENCE_FILTER)
        if not name:
            return
        self.run(lambda _r: self.session.call(lambda v: ops.audit_export(v, Path(name))), self._exported)

    def _exported(self, result: EvidenceExport) -> None:
        self.banner.show_message("success", f"{result.events} events exported to {result.path}, "
                                            f"with the head signed by device {result.device_id}.")

    def check_evidence(self) -> None:
        """Check a zip offline, as ``faceseal audit verify --evidence`` does: intact, or what is wrong."""
        name, _ = QFileDialog.getOpenFileName(self, "An audit evidence zip to check", "", EVIDENCE_FILTER)
        if not name:
            return
        self.checked_events = None
        self.run(lambda _r: ops.verify_evidence(Path(name)), lambda check: self._evidence_checked(name, check))

    def _evidence_checked(self, name: str, check: EvidenceCheck) -> None:
        signer = f"device {check.device_id} (key {check.device_key})" if check.device_key else "no usable key"
        if check.intact:
            self.banner.show_message("success", f"The evidence in {name} is intact: {check.events} events, the head "
                                                f"(event {check.head_seq}) signed by {signer} at {check.signed_at}.")
        else:
            self.banner.show_message("error", f"The evidence in {name} is NOT intact: "
                                              f"{'; '.join(check.problems)}.", news=True)  # about a file, not now
