"""Models: every pack of the manifest, whether it is installed, which one the window uses, each pack's files with
their checksums; install from a folder or a .zip (licence consent, progress), by download only for a pack whose
every file has an address (none has yet: the face-mesh conversions have none), and switch packs."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.pages.admin import install
from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import button, packed
from app.widgets.confirm import ConfirmDialog
from app.widgets.progress import WorkProgress
from edge_core.biometrics import PackInfo, list_packs, threshold_text

PACK_COLUMNS = ("Pack", "State", "In use", "Licence")
FILE_COLUMNS = ("File (bytes, licence)", "sha256")
SHA_COLUMN = 1


def _item(text: str, font: QFont | None = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    if font is not None:
        item.setFont(font)
    return item


class ModelsSection(Section):
    title = "Models"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dialog: ConfirmDialog | None = None
        self.progress: WorkProgress | None = None
        self.packs: list[PackInfo] = []
        self.table = self._table(PACK_COLUMNS, "Model packs", 3)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._show_files)
        self.files = self._table(FILE_COLUMNS, "Files of the selected pack", None)
        self.digits = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.digits.setPointSizeF(9)
        """Checksums in a fixed-pitch font, whole: a cut checksum cannot be compared."""
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setAccessibleName("About the selected pack")
        self.use_button = button("Use this pack", self.use_selected, "primary")
        self.folder_button = button("Install from a folder…", self.install_from_folder)
        self.zip_button = button("Install from a .zip…", self.install_from_zip)
        self.download_button = button("Download and install…", self.download)
        """Shown only for a pack that can be downloaded: offering one that cannot only ends in an error."""
        packs = QGroupBox("Model packs")
        packs_layout = QVBoxLayout(packs)
        packs_layout.addWidget(self.table)
        packs_layout.addLayout(packed(self.use_button, self.folder_button, self.zip_button, self.download_button))
        files = QGroupBox("The selected pack")
        files_layout = QVBoxLayout(files)
        files_layout.addWidget(self.about)
        files_layout.addWidget(self.files)
        layout = QVBoxLayout(self.body)
        layout.addWidget(packs)
        layout.addWidget(files, 1)

    @staticmethod
    def _table(columns: tuple[str, ...], name: str, stretch: int | None) -> QTableWidget:
        table = QTableWidget(0, len(columns))
        table.setHorizontalHeaderLabels(columns)
        table.setAccessibleName(name)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        table.setWordWrap(True)
        table.setTextElideMode(Qt.TextElideMode.ElideNone)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if stretch is not None:
            table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        else:
            table.horizontalHeader().setStretchLastSection(True)
        table.setMinimumHeight(130)
        return table


    def load(self) -> None:
        chosen = self.selected()
        self.packs = list_packs()
        self.table.setRowCount(0)
        in_use = self.session.pack
        for info in self.packs:
            row = self.table.rowCount()
            self.table.insertRow(row)
            state = "installed, every file checked" if info.installed else "not installed"
            for column, text in enumerate((info.name, state, "yes" if info.name == in_use else "", info.licence)):
                self.table.setItem(row, column, _item(text))
        names = [info.name for info in self.packs]
        wanted = chosen.name if chosen is not None else in_use
        self.table.selectRow(names.index(wanted) if wanted in names else 0)
        self.table.resizeRowsToContents()
        self._show_files()

    def selected(self) -> PackInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return self.packs[rows[0].row()] if rows and rows[0].row() < len(self.packs) else None

    def _show_files(self) -> None:
        info = self.selected()
        self.files.setRowCount(0)
        if info is None:
            return
        self.about.setText(f"{info.title}. {info.embedding_size}-d embeddings, default threshold "
                           f"{threshold_text(info.default_threshold)}. Installed at: "
                           f"{info.location if info.installed else 'nowhere yet'}.")
        for spec in info.files:
            row = self.files.rowCount()
            self.files.insertRow(row)
            self.files.setItem(row, 0, _item(f"{spec.name}\n{spec.size:,} bytes, {spec.licence}"))
            self.files.setItem(row, SHA_COLUMN, _item(spec.sha256, self.digits))
        self.files.resizeRowsToContents()
        self.use_button.setEnabled(info.installed and info.name != self.session.pack)
        again = "Reinstall" if info.installed else "Install"
        self.folder_button.setText(f"{again} from a folder…")
        self.zip_button.setText(f"{again} from a .zip…")
        self.download_button.setVisible(install.downloadable(info))

    def use_selected(self) -> None:
        info = self.selected()
        if info is None:
            return
        install.use(self, info.name)

    def install_from_folder(self) -> None:
        info = self.selected()
        if info is None:
            return
        folder = QFileDialog.getExistingDirectory(self, f"Folder holding the files of pack '{info.name}'")
        if folder:
            install.install(self, info, Path(folder), self._installed)

    def install_from_zip(self) -> None:
        info = self.selected()
        if info is None:
            return
        name, _ = QFileDialog.getOpenFileName(self, f"A .zip holding the files of pack '{info.name}'", "",
                                              "Zip archives (*.zip)")
        if name:
            install.install(self, info, Path(name), self._installed)

    def download(self) -> None:
        info = self.selected()
        if info is not None:
            install.install(self, info, None, self._installed)

    def _installed(self, info: PackInfo) -> None:
        self.banner.show_message("success", f"Model pack '{info.name}' is installed and every file checked.")
        self.session.notify()
