"""Identities: who is enrolled, when, with how many samples; deleting one is crypto-shredding."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.pages.base import Context, Page
from app.pages.security import RECOVERY_GONE, RECOVERY_STOPS, forget_if_covered, report_root_change
from app.widgets.confirm import ConfirmDialog
from app.widgets.consent import consent_dialog
from edge_core import ops
from edge_core.ops.results import ConsentRecord, ConsentTerms, Deletion, IdentitySummary, SubjectReport

COLUMNS = ("Name", "Enrolled", "Samples", "Model pack")


class IdentitiesPage(Page):
    title = "Identities"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setAccessibleName("Enrolled people")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setProperty("role", "danger")
        self.delete_button.setAccessibleName("Delete the selected person")
        self.delete_button.setToolTip("Crypto-shred the selected person's templates; this cannot be undone.")
        self.delete_button.clicked.connect(self.ask_delete)
        self.report_button = QPushButton("What FaceSeal holds…")
        self.report_button.setAccessibleName("Save what FaceSeal holds about the selected person")
        self.report_button.setToolTip("Their record, sample dates and attempts from the audit log, as a file they can "
                                      "read: never a template or a score. Saving it is recorded in the audit log.")
        self.report_button.clicked.connect(self.save_report)
        self.consent_button = QPushButton("Consent again…")
        self.consent_button.setAccessibleName("Record the selected person's consent again")
        self.consent_button.setToolTip("They read the consent text in force and agree again: their retention then "
                                       "counts from today (recorded in the audit log). The way to keep someone "
                                       "whose retention ends soon.")
        self.consent_button.clicked.connect(self.ask_consent)
        self.enrol_button = QPushButton("Enrol someone…")
        self.enrol_button.setAccessibleName("Enrol someone")
        self.enrol_button.clicked.connect(lambda: self.ctx.navigate("Enrol"))
        self.empty = QLabel("Nobody is enrolled yet. Enrol someone to see them here.")
        self.empty.setAccessibleName("Nobody is enrolled yet")
        self.empty.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.enrol_button)
        buttons.addStretch(1)
        buttons.addWidget(self.consent_button)
        buttons.addWidget(self.report_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.dialog: ConfirmDialog | None = None
        self.deleted: str | None = None
        """The person the banner says was deleted, while it says so."""
        self._update()

    def load(self) -> None:
        self.run(lambda _r: self.session.call(ops.list_identities), self._fill)
        if RECOVERY_GONE in self.banner.text.text():
            self.run(lambda _r: self.session.call(ops.status), lambda status: forget_if_covered(self, status))

    def names(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    def _fill(self, identities: list[IdentitySummary]) -> None:
        if self.deleted is not None and self.deleted in {person.name for person in identities}:
            self.banner.clear()  # the deletion banner would stand beside someone new of the same name
            self.deleted = None
        chosen = self.selected()
        self.table.blockSignals(True)  # the selection follows the person, never the row number
        self.table.clearSelection()
        self.table.setRowCount(len(identities))
        for row, person in enumerate(identities):
            for column, text in enumerate((person.name, person.enrolled[:16].replace("T", " ") + " UTC",
                                           str(person.samples), person.pack)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        if chosen in (names := self.names()):
            self.table.selectRow(names.index(chosen))
        self.table.blockSignals(False)
        self.table.resizeColumnsToContents()
        self.empty.setVisible(not identities)
        self._update()

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def _update(self) -> None:
        chosen = self.selected() is not None and self.session.is_open
        self.delete_button.setEnabled(chosen)
        self.report_button.setEnabled(chosen)
        self.consent_button.setEnabled(chosen)

    def ask_delete(self) -> None:
        name = self.selected()
        if name is None:
            return
        self.dialog = ConfirmDialog(
            self, f"Delete {name}?",
            f"{name}'s identity key will be destroyed (crypto-shredding): their templates can never be opened "
            "again, by anyone, not even from a backup copy of the data. To make that final the root key is "
            f"replaced too: {RECOVERY_STOPS} This cannot be undone.",
            f"Delete {name}")
        certificate = self.dialog.add_option("Save a deletion certificate…")
        certificate.setToolTip("A file signed by this device that proves the deletion (when, which keys were "
                               "destroyed); anyone can check it with 'faceseal audit verify-certificate'.")
        with_name = self.dialog.add_option(f"Put {name}'s name on the certificate")
        with_name.setToolTip("Otherwise the certificate names the person only by their random id.")
        with_name.setEnabled(False)  # a choice about the certificate, offered once one is asked for
        certificate.toggled.connect(with_name.setEnabled)
        self.dialog.accepted.connect(lambda: self._delete(name, certificate.isChecked(), with_name.isChecked()))
        self.dialog.open()

    def _delete(self, name: str, certify: bool = False, with_name: bool = False) -> None:
        wanted = None
        if certify:
            file, _ = QFileDialog.getSaveFileName(self, "Save the deletion certificate",
                                                  "faceseal-deletion-certificate.json", "JSON (*.json)")
            if not file:
                self.banner.show_message("info", f"Nothing was done: {name} was not deleted (no file was chosen for "
                                                 "the certificate).")
                return
            wanted = ops.CertificateRequest(Path(file), with_name)
        self.delete_button.setEnabled(False)
        self.run(lambda _r: self.session.call(lambda v: ops.delete_identity(v, name, wanted)), self._deleted,
                 self._not_deleted)

    def save_report(self) -> None:
        """What FaceSeal holds about the selected person, saved where the user says (Markdown or JSON)."""
        name = self.selected()
        if name is None:
            return
        file, chosen = QFileDialog.getSaveFileName(self, f"Save what FaceSeal holds about {name}",
                                                   "faceseal-subject-report.md", "Markdown (*.md);;JSON (*.json)")
        if not file:
            return
        form = "json" if Path(file).suffix.lower() == ".json" or chosen.startswith("JSON") else "markdown"
        self.run(lambda _r: self.session.call(lambda v: ops.subject_report(v, name, "window", Path(file), form)),
                 self._report_saved)

    def ask_consent(self) -> None:
        """The consent text in force, shown to the selected person; their agreement records it again (ops checks
        it is still the text in force when it is recorded)."""
        name = self.selected()
        if name is None:
            return
        self.run(lambda _r: self.session.call(ops.consent_terms), lambda terms: self._show_consent(name, terms))

    def _show_consent(self, name: str, terms: ConsentTerms) -> None:
        self.dialog = consent_dialog(self, name, terms, "before their consent is recorded again")
        self.dialog.accepted.connect(lambda: self.run(
            lambda _r: self.session.call(lambda v: ops.renew_consent(v, name, terms)), self._consented))
        self.dialog.rejected.connect(lambda: self.banner.show_message(
            "info", f"Nothing was recorded: {name} did not consent again."))
        self.dialog.open()

    def _consented(self, record: ConsentRecord) -> None:
        kept = f"until {record.expires_at[:10]}" if record.expires_at else "until they are deleted"
        self.banner.show_message("success", f"{record.name}'s consent is recorded again: FaceSeal keeps them {kept}.")

    def _report_saved(self, report: SubjectReport) -> None:
        self.banner.show_message("success", f"What FaceSeal holds about {report.name} was saved to {report.file}.")

    def _not_deleted(self, message: str) -> None:
        """Refused or cancelled (the admin passphrase not given): said, and the person can be chosen again."""
        self._report_failure(message)
        self._update()

    def _deleted(self, result: Deletion) -> None:
        self.deleted = result.name
        text = f"{result.name} was deleted; {result.templates_deleted} templates were crypto-shredded."
        if result.certificate_file:
            text += f" The deletion certificate was saved to {result.certificate_file}."
        if result.warning:
            report_root_change(self, f"{text} Note: {result.warning}.", "warning")
        else:
            report_root_change(self, text)
