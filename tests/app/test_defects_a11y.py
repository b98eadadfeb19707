"""Defect 6: a focus ring you can see, nothing clipped at 1024x700, visible radios and check boxes in dark mode,
``faceseal --theme dark``, real labels on passphrase fields (the video progress is in test_camera and the soak).

Pixels are measured on real renderings (``QWidget.grab``): a ring or an indicator counts only where it reaches
3:1 against what surrounds it (WCAG 2.2, non-text contrast).
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QFontMetrics, QImage
from PySide6.QtWidgets import QAbstractButton, QApplication, QCheckBox, QLabel, QLineEdit, QRadioButton, QWidget

from app import theme
from app.launcher import main as faceseal
from tests.app.drive import LONG, answer_open_dialog, click
from tests.app.media import FACES

GROUP = FACES / "multi_face" / "two_people.jpg"


def luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def standing_out(image: QImage, against: list[QColor], x_to: int | None = None) -> int:
    """Pixels with 3:1 or more against every colour of ``against`` (left of ``x_to``)."""
    count = 0
    for y in range(image.height()):
        for x in range(image.width() if x_to is None else min(x_to, image.width())):
            pixel = image.pixelColor(x, y)
            count += all(contrast(pixel, colour) >= 3 for colour in against)
    return count


@pytest.fixture(params=["light", "dark"])
def look(request, window):
    app = QApplication.instance()
    theme.apply(app, request.param)
    yield theme.COLORS[request.param]
    theme.apply(app, "light")


def _settle(qtbot) -> None:
    qtbot.wait(50)


def test_a_blue_button_and_the_page_list_show_a_focus_ring(qtbot, window, look):
    accent, page_colour = QColor(look["accent"]), QColor(look["window"])
    home = window.show_page("Home")
    qtbot.waitUntil(home.backup_button.isVisible, timeout=LONG)
    button = home.backup_button
    window.nav.setFocus()
    _settle(qtbot)
    unfocused = standing_out(button.grab().toImage(), [accent, page_colour])
    button.setFocus()
    _settle(qtbot)
    focused = standing_out(button.grab().toImage(), [accent, page_colour])
    assert focused - unfocused >= 2 * (button.width() + button.height()), (focused, unfocused)

    nav_colour = QColor(look["nav"])
    button.setFocus()
    _settle(qtbot)
    unfocused = standing_out(window.nav.grab().toImage(), [accent, nav_colour])
    window.nav.setFocus()
    _settle(qtbot)
    focused = standing_out(window.nav.grab().toImage(), [accent, nav_colour])
    item = window.nav.visualItemRect(window.nav.currentItem())
    assert focused - unfocused >= item.width() + item.height(), (focused, unfocused)


def test_dark_radios_and_check_boxes_stand_out_from_the_page(qtbot, window):
    app = QApplication.instance()
    theme.apply(app, "dark")
    try:
        page = window.show_page("Enrol")
        _settle(qtbot)
        background = QColor(theme.COLORS["dark"]["window"])
        for control in (page.add_samples, page.source.buttons["video"]):  # camera or photos: whichever is chosen
            assert isinstance(control, (QCheckBox, QRadioButton)) and not control.isChecked()
            indicator = control.style().pixelMetric(control.style().PixelMetric.PM_IndicatorWidth, None, control)
            seen = standing_out(control.grab().toImage(), [background], x_to=indicator + 4)
            assert seen >= 2 * indicator, f"{control.text()}: {seen} pixels of its unticked indicator stand out"
    finally:
        theme.apply(app, "light")


def _clipped(page: QWidget) -> list[str]:
    """Every shown label or button whose text does not fit the room it was given."""
    clipped = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisible() or widget.objectName().startswith("qt_"):
            continue
        if isinstance(widget, QLabel) and widget.text() and not widget.pixmap():
            room = widget.contentsRect()
            if widget.wordWrap():
                if widget.heightForWidth(widget.width()) > widget.height():
                    clipped.append(f"label {widget.text()!r}: {widget.heightForWidth(widget.width())} px tall "
                                   f"in {widget.height()}")
            elif QFontMetrics(widget.font()).horizontalAdvance(widget.text()) > room.width():
                clipped.append(f"label {widget.text()!r}: "
                               f"{QFontMetrics(widget.font()).horizontalAdvance(widget.text())} px in {room.width()}")
        elif isinstance(widget, QAbstractButton) and widget.text():
            if widget.sizeHint().width() > widget.width():
                clipped.append(f"button {widget.text()!r}: {widget.sizeHint().width()} px in {widget.width()}")
    return clipped


def test_at_1024_wide_verify_clips_nothing(qtbot, monkeypatch, window, photos):
    window.resize(1024, 700)
    page = window.show_page("Verify")
    page.identify_mode.click()
    page.source.buttons["photo"].click()
    answer_open_dialog(monkeypatch, GROUP)
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.go_button.isEnabled, timeout=LONG)
    click(qtbot, page.go_button)  # nobody is enrolled: the longest headline and a line per face
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert page.decision.text().startswith("No match: none of the 2 faces")
    _settle(qtbot)
    assert window.width() == 1024
    assert _clipped(page) == []
    page.verify_mode.click()
    _settle(qtbot)
    assert _clipped(page) == []


def test_passphrase_fields_have_real_labels(window):
    page = window.show_page("Security")
    fields = [f for f in page.findChildren(QLineEdit) if f.echoMode() == QLineEdit.EchoMode.Password]
    assert len(fields) == 7  # the recovery copy's two and its restore, the admin passphrase's three, the typed key
    buddies = {label.buddy(): label.text() for label in page.findChildren(QLabel) if label.buddy() is not None}
    for field in fields:
        assert field.accessibleName() and buddies.get(field) == field.accessibleName(), field.placeholderText()


def test_faceseal_with_only_a_theme_opens_the_window_in_that_theme(qtbot, monkeypatch, models_env, isolated):
    from PySide6.QtCore import QTimer

    from app.window import MainWindow

    monkeypatch.setenv("DISPLAY", ":0")  # a screen is there (Qt itself draws offscreen in the tests)
    seen: list[str] = []

    def close_when_shown() -> None:
        shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if shown and shown[0].session.is_open:
            seen.append(QApplication.instance().palette().color(QApplication.instance().palette().ColorRole.Window)
                        .name())
            shown[0].close()
        else:
            QTimer.singleShot(50, close_when_shown)

    QTimer.singleShot(0, close_when_shown)
    try:
        assert faceseal(["--theme", "dark"]) == 0
    finally:
        theme.apply(QApplication.instance(), "light")
    assert seen == [theme.COLORS["dark"]["window"]]
    with pytest.raises(SystemExit) as refused:
        faceseal(["--theme", "purple"])
    assert refused.value.code == 2
