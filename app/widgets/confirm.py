"""Asking before something that cannot be undone, in words that say what will be lost."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget


class ConfirmDialog(QDialog):
    """A modal question with Cancel as the default: pressing Enter never destroys anything."""

    def __init__(self, parent: QWidget, title: str, message: str, confirm: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setModal(True)
        text = QLabel(message)
        text.setWordWrap(True)
        text.setObjectName("confirmText")
        buttons = QDialogButtonBox()
        self.cancel_button: QPushButton = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setAccessibleName("Cancel")
        self.confirm_button = QPushButton(confirm)
        self.confirm_button.setProperty("role", "danger")
        self.confirm_button.setAccessibleName(confirm)
        self.confirm_button.setAutoDefault(False)
        buttons.addButton(self.confirm_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
        self._layout = layout
        self.message = message
        self.setMinimumWidth(420)

    def add_option(self, text: str) -> QCheckBox:
        """A choice that goes with the action (unticked), above the buttons."""
        box = QCheckBox(text)
        box.setAccessibleName(text.rstrip("…"))
        self._layout.insertWidget(self._layout.count() - 1, box)
        return box
