"""Audit: the tamper-evident log in a filterable table, the chain check, and an export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from app.pages.base import Context, Page
from edge_core import ops
from edge_core.ops.results import AuditCheck, AuditEntry, EvidenceExport

COLUMNS = ("#", "When (UTC)", "Event", "Details")
ALL_KINDS = "All events"


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


class AuditPage(Page):
    title = "Audit"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.events: list[AuditEntry] = []
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.filter = _Filter()
        self.filter.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.filter)
        self.table.setAccessibleName("Audit events")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
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
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the events")
        self.export_button.clicked.connect(self.export)
        tools = QHBoxLayout()
        tools.addWidget(self.kind)
        tools.addWidget(self.search, 1)
        tools.addWidget(self.verify_button)
        tools.addWidget(self.export_button)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)

    def load(self) -> None:
        self.run(lambda _r: self.session.call(ops.audit_list), self._fill)

    def _fill(self, events: list[AuditEntry]) -> None:
        self.events = events
        self.model.setRowCount(0)
        for event in events:
            seq = QStandardItem()
            seq.setData(event.seq, Qt.ItemDataRole.DisplayRole)
            details = ", ".join(f"{k}={v}" for k, v in sorted(event.detail.items()))
            self.model.appendRow([seq, QStandardItem(event.ts[:19].replace("T", " ")), QStandardItem(event.kind),
                                  QStandardItem(details)])
        chosen = self.kind.currentText()
        self.kind.blockSignals(True)
        self.kind.clear()
        self.kind.addItems([ALL_KINDS, *sorted({e.kind for e in events})])
        self.kind.setCurrentText(chosen if chosen else ALL_KINDS)
        self.kind.blockSignals(False)
        self.table.resizeColumnsToContents()
        self._apply_filter()

    def _apply_filter(self) -> None:
        kind = self.kind.currentText()
        self.filter.set_filter("" if kind in ("", ALL_KINDS) else kind, self.search.text())

    def shown_kinds(self) -> list[str]:
        return [self.filter.index(row, 2).data() for row in range(self.filter.rowCount())]

    def verify_chain(self) -> None:
        self.run(lambda _r: self.session.call(ops.audit_verify), self._verified)

    def _verified(self, check: AuditCheck) -> None:
        if not check.intact:
            self.banner.show_message("error", f"The audit log was tampered with: {'; '.join(check.problems or [])}.")
        else:
            self.banner.show_message("success",
                                     f"The chain is intact: all {check.events} events are as they were written.")

    def export(self) -> None:
        """The signed evidence zip (events, signed head, public key), as ``faceseal audit export`` writes it."""
        name, _ = QFileDialog.getSaveFileName(self, "Export the audit evidence", "faceseal-audit-evidence.zip",
                                              "Zip archives (*.zip)")
        if not name:
            return
        self.run(lambda _r: self.session.call(lambda v: ops.audit_export(v, Path(name))), self._exported)

    def _exported(self, result: EvidenceExport) -> None:
        self.banner.show_message("success", f"{result.events} events exported to {result.path}, "
                                            f"with the head signed by device {result.device_id}.")
