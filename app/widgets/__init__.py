"""Small widgets shared by the pages: the message banner, the preview, the confirmation dialog."""

from PySide6.QtWidgets import QHBoxLayout, QWidget


def packed(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side at their natural width, left-aligned (a form row of buttons)."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    row.addStretch(1)
    return row
