"""Policy: every setting with its meaning, value, default and allowed range; changes and the reset go through
``ops.policy_set`` / ``ops.policy_reset`` (validated as a whole and audited there)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import packed
from app.widgets.confirm import ConfirmDialog
from edge_core import ops
from edge_core.ops.results import PolicyChange
from edge_core.ops.settings import PolicyDescription, PolicySetting

HEADERS = ("Setting", "Value", "Default", "Allowed", "Meaning")


def _text(value: Any) -> str:
    """A setting's value as the policy file and ``faceseal policy set`` spell it."""
    return str(value).lower() if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


class PolicySection(Section):
    title = "Policy"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dialog: ConfirmDialog | None = None
        self.description: PolicyDescription | None = None
        self.editors: dict[str, QWidget] = {}
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setAccessibleName("Policy file state")
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(14)
        self.grid.setColumnStretch(4, 1)
        for column, header in enumerate(HEADERS):
            label = QLabel(header)
            label.setObjectName("stepLabel")
            self.grid.addWidget(label, 0, column)
        box = QGroupBox("Settings")
        box.setLayout(self.grid)
        self.save_button = QPushButton("Save changes")
        self.save_button.setProperty("role", "primary")
        self.save_button.setAccessibleName("Save the policy changes")
        self.save_button.clicked.connect(self.save)
        self.reset_button = QPushButton("Reset to defaults…")
        self.reset_button.setProperty("role", "danger")
        self.reset_button.setAccessibleName("Reset the policy to its defaults")
        self.reset_button.clicked.connect(self.ask_reset)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.state)
        layout.addWidget(box)
        layout.addLayout(packed(self.save_button, self.reset_button))
        layout.addStretch(1)

    def load(self) -> None:
        self.in_vault(ops.policy_describe, self._show)

    def _show(self, description: PolicyDescription) -> None:
        self.description = description
        where = {"default": "no file yet: the defaults apply",
                 "valid": "its MAC matches this vault",
                 "tampered": "REFUSED"}[description.state]
        text = f"{description.path}: {where}; version {description.version} recorded in the vault."
        if description.error:
            text += f" {description.error}"
        self.state.setText(text)
        tampered = description.state == "tampered"
        for row, setting in enumerate(description.settings, start=1):
            self._row(row, setting, tampered)
        self.save_button.setEnabled(not tampered)
        if tampered:
            self.banner.show_message("error", "The policy file was changed outside FaceSeal: nothing in it is "
                                              "obeyed. Reset it to the defaults to go on.",
                                     "Reset to defaults…", self.ask_reset)

    def _row(self, row: int, setting: PolicySetting, tampered: bool) -> None:
        editor = self.editors.get(setting.name)
        if editor is None:
            editor = self._editor(setting)
            self.editors[setting.name] = editor
            name = QLabel(setting.name)
            meaning = QLabel(setting.meaning)
            meaning.setWordWrap(True)
            self.grid.addWidget(name, row, 0)
            self.grid.addWidget(editor, row, 1)
            self.grid.addWidget(QLabel(_text(setting.default)), row, 2)
            self.grid.addWidget(QLabel(setting.allowed), row, 3)
            self.grid.addWidget(meaning, row, 4)
        editor.setEnabled(not tampered)
        value = setting.value
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(_text(value if value is not None else setting.default))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else _text(value))

    @staticmethod
    def _editor(setting: PolicySetting) -> QWidget:
        editor: QWidget
        if setting.kind == "bool":
            editor = QCheckBox()
        elif setting.choices:
            editor = QComboBox()
            editor.addItems([str(choice) for choice in setting.choices])
        else:
            editor = QLineEdit()
            editor.setMaximumWidth(110)
        editor.setAccessibleName(setting.name)
        editor.setToolTip(f"{setting.meaning} ({setting.allowed})")
        return editor

    def entered(self, name: str) -> str:
        """What the person has in the editor of ``name``, spelled as ``faceseal policy set`` takes it."""
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            return _text(editor.isChecked())
        if isinstance(editor, QComboBox):
            return editor.currentText()
        assert isinstance(editor, QLineEdit)
        return editor.text().strip()

    def save(self) -> None:
        """Every edited setting at once, parsed and validated by ops (the whole policy must stay valid)."""
        if self.description is None:
            return
        pairs = [f"{s.name}={self.entered(s.name)}" for s in self.description.settings
                 if self.entered(s.name) != _text(s.value)]
        if not pairs:
            self.banner.show_message("info", "Nothing was changed.")
            return
        self.banner.clear()
        self.in_vault(lambda vault: ops.policy_set(vault, ops.parse_policy_changes(pairs)), self._saved)

    def _saved(self, change: PolicyChange) -> None:
        changed = "; ".join(f"{name} {_text(old)} → {_text(new)}" for name, (old, new) in (change.changed or {}).items())
        self.banner.show_message("success", f"Policy saved and audited: {changed}." if changed else
                                 "Nothing was changed.")
        self.session.notify()

    def ask_reset(self) -> None:
        self.dialog = ConfirmDialog(self, "Reset the policy", "Every setting goes back to its default (the change is "
                                    "audited). Settings you chose, such as a stricter lockout, are lost.",
                                    "Reset to defaults")
        self.dialog.accepted.connect(self._reset)
        self.dialog.open()

    def _reset(self) -> None:
        self.banner.clear()
        self.in_vault(ops.policy_reset, lambda _change: (
            self.banner.show_message("success", "The policy is back to its defaults (audited)."),
            self.session.notify()))
