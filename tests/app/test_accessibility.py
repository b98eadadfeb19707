"""Keyboard and screen readers: every control has a name, Tab reaches the page, Ctrl+N jumps to page N."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QTableView,
    QWidget,
)

from app import theme

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QTableView)


def test_every_control_on_every_page_has_an_accessible_name(window):
    """Every control a person can reach (Qt's own inner parts aside) says what it is."""
    unnamed = []
    for title, page in window.pages.items():
        window.show_page(title)
        for control in page.findChildren(QWidget):
            reachable = control.isVisibleTo(page) and not control.objectName().startswith("qt_")
            if isinstance(control, CONTROLS) and reachable and not control.accessibleName():
                unnamed.append(f"{title}: {type(control).__name__} {getattr(control, 'text', str)()!r}")
    assert unnamed == []


def test_ctrl_number_opens_the_page_and_tab_leaves_the_page_list(qtbot, window):
    window.activateWindow()
    for number, title in enumerate(window.pages, start=1):
        qtbot.keyClick(window, Qt.Key.Key_0 + number, Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is window.pages[title]
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    window.nav.setFocus()
    qtbot.keyClick(window.nav, Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is not None and window.pages["Enrol"].isAncestorOf(focused)


@pytest.mark.parametrize("look, window_colour", [("light", "#f4f6f8"), ("dark", "#1b1f24")])
def test_both_looks_apply(qtbot, window, look, window_colour):
    app = QApplication.instance()
    theme.apply(app, look)
    assert app.palette().color(app.palette().ColorRole.Window) == QColor(window_colour)
    assert "{{" not in app.styleSheet()
    theme.apply(app, "light")
