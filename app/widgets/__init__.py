"""Small widgets shared by the pages: the message banner, the preview, the confirmation dialog."""

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget


def packed(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side at their natural width, left-aligned (a form row of buttons)."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row


def button(text: str, slot: Callable[[], object], role: str | None = None, name: str | None = None) -> QPushButton:
    """A push button wired to ``slot``; ``role`` ("primary", "danger") picks its style, ``name`` its accessible
    name (by default the text without a trailing "…")."""
    made = QPushButton(text)
    made.setAccessibleName(name or text.rstrip("…"))
    if role:
        made.setProperty("role", role)
    made.clicked.connect(slot)
    return made
