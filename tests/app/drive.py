"""Driving the window like a person: typing, clicking, answering the file dialogs and confirmations."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton

LONG = 60_000
"""Generous wait (ms) for anything that runs models or key operations on 2 busy cores."""


def click(qtbot, button: QPushButton) -> None:
    assert button.isEnabled(), f"'{button.text()}' is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def answer_open_dialog(monkeypatch: pytest.MonkeyPatch, *files: Path) -> None:
    """The next file dialogs return ``files``, as if the person picked them."""
    names = [str(f) for f in files]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: (names, "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (names[0], "")))


def answer_save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), "")))


def answer_folder_dialog(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))


def confirm(qtbot, page, accept: bool = True) -> str:
    """Answer the page's confirmation dialog; returns what it said."""
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=LONG)
    dialog = page.dialog
    said = dialog.message
    click(qtbot, dialog.confirm_button if accept else dialog.cancel_button)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    return said


def enrol_photos(qtbot, monkeypatch: pytest.MonkeyPatch, window, name: str, photos: list[Path]):
    """Enrol ``name`` from photos through the Enrol wizard; returns the page (on its last step, or failed)."""
    page = window.show_page("Enrol")
    if page.steps.currentIndex() == 2:
        click(qtbot, _button(page, "Enrol someone else"))
    page.name.clear()
    qtbot.keyClicks(page.name, name)
    page.source.buttons["photos"].click()
    answer_open_dialog(monkeypatch, *photos)
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=LONG)
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    return page


def start_enrolment(qtbot, page, consents: bool = True) -> None:
    """Click Start on the Enrol page; when the consent text is shown (someone new, or someone whose consent was
    never recorded), the person accepts it (``consents``) or not. Returns once that is answered, or not asked."""
    click(qtbot, page.start_button)
    planning = page.task
    qtbot.waitUntil(lambda: page.task is not planning, timeout=LONG)
    dialog = page.dialog
    if dialog is not None and dialog.isVisible() and dialog.windowTitle() == "Consent":
        click(qtbot, dialog.confirm_button if consents else dialog.cancel_button)


def _button(page, text: str) -> QPushButton:
    return next(b for b in page.findChildren(QPushButton) if b.text() == text)


def decide_photo(qtbot, monkeypatch: pytest.MonkeyPatch, window, photo: Path, name: str | None):
    """Verify ``name`` (or identify, when None) against a photo; returns the page with its decision shown."""
    page = window.show_page("Verify")
    if name is None:
        page.identify_mode.click()
    else:
        page.verify_mode.click()
        qtbot.waitUntil(lambda: page.person.findText(name) >= 0, timeout=LONG)
        page.person.setCurrentText(name)
    page.source.buttons["photo"].click()
    answer_open_dialog(monkeypatch, photo)
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.go_button.isEnabled, timeout=LONG)
    click(qtbot, page.go_button)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    return page


def use_stand_in(qtbot, monkeypatch: pytest.MonkeyPatch, window, video: Path) -> None:
    """Settings: ``video`` stands in for the camera from now on."""
    settings = window.show_page("Settings")
    answer_open_dialog(monkeypatch, video)
    click(qtbot, settings.stand_in_button)
    assert settings.stand_in.text().startswith(str(video))


def verify_from_camera(qtbot, window, name: str):
    """Start verifying ``name`` from the camera; returns the page with its task running."""
    page = window.show_page("Verify")
    page.verify_mode.click()
    qtbot.waitUntil(lambda: page.person.findText(name) >= 0, timeout=LONG)
    page.person.setCurrentText(name)
    page.source.buttons["camera"].click()
    click(qtbot, page.go_button)
    return page


def delete_person(qtbot, window, name: str):
    """Identities: select ``name``, Delete…, confirm; returns the page once the deletion is said."""
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: name in page.names(), timeout=LONG)
    page.table.selectRow(page.names().index(name))
    click(qtbot, page.delete_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: f"{name} was deleted" in page.banner.text.text(), timeout=LONG)
    return page
