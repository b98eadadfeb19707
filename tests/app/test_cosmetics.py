"""The small things a new user met in the window (issue 26, item 19), each as they saw it."""

from __future__ import annotations

import re

import cv2
import numpy as np
from PySide6.QtWidgets import QApplication

from app.pages.enrol import DEFAULT_SAMPLES
from edge_core import ops
from tests.app.drive import LONG, _button, click, confirm, decide_photo, enrol_photos
from tests.app.test_calibrate_dialog import _people_folder


def _headers_whole(table) -> list[str]:
    header = table.horizontalHeader()
    cut = []
    for column in range(table.columnCount()):
        label = table.horizontalHeaderItem(column).text()
        if header.fontMetrics().horizontalAdvance(label) > header.sectionSize(column):
            cut.append(label)
    return cut


def test_the_calibration_table_shows_whole_headers_and_every_row(qtbot, window, tmp_path):
    settings = window.show_page("Settings")
    qtbot.waitUntil(settings.threshold.isEnabled, timeout=LONG)
    window.resize(1400, 900)
    click(qtbot, settings.calibrate_button)
    dialog = settings.calibration
    qtbot.waitUntil(dialog.isVisible)
    assert _headers_whole(dialog.table) == [], "before any figures"
    dialog.start(_people_folder(tmp_path))
    qtbot.waitUntil(lambda: dialog.use.isEnabled(), timeout=LONG)
    dialog.resize(dialog.width(), 600)  # a small screen, as the finding's 900-pixel one
    QApplication.processEvents()
    table = dialog.table
    assert _headers_whole(table) == [], "with the figures"
    rows = sum(table.rowHeight(row) for row in range(table.rowCount()))
    assert table.viewport().height() >= rows, f"{table.viewport().height()} px shows fewer than the {rows} px of rows"


def test_a_lockout_says_when_it_ends_in_local_time(qtbot, monkeypatch, window, photos):
    window.session.call(lambda v: ops.policy_set(v, {"lockout_attempts": 1}))
    enrol_photos(qtbot, monkeypatch, window, "Barack Obama", photos["barack_obama"][:2])
    page = decide_photo(qtbot, monkeypatch, window, photos["brad_pitt"][0], "Barack Obama")
    assert page.decision.text().startswith("No match"), page.decision.text()
    page = decide_photo(qtbot, monkeypatch, window, photos["barack_obama"][2], "Barack Obama")
    said = page.details.text()
    assert "try again after" in said and "local time" in said, said
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", said), f"a raw ISO time: {said}"


def test_a_photo_without_a_face_is_called_a_photo_not_a_frame(qtbot, monkeypatch, window, tmp_path):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 200, np.uint8))
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", [blank])
    said = page.banner.text.text()
    assert "no face in this photo" in said and "frame" not in said, said


def test_the_deep_rotation_confirmation_says_one_thing(qtbot, window):
    security = window.show_page("Security")
    qtbot.waitUntil(security.rotate_button.isEnabled, timeout=LONG)
    security.deep.setChecked(True)
    click(qtbot, security.rotate_button)
    said = confirm(qtbot, security, accept=False)
    assert "reseals every template" in said and "not touched" not in said, said
    security.deep.setChecked(False)
    click(qtbot, security.rotate_button)
    said = confirm(qtbot, security, accept=False)
    assert "templates are not touched" in said and "reseal" not in said.replace("unless you also reseal", ""), said


def test_a_revoked_vault_offers_restore_not_unlock(qtbot, window):
    security = window.show_page("Security")
    qtbot.waitUntil(security.revoke_button.isEnabled, timeout=LONG)
    click(qtbot, security.revoke_button)
    confirm(qtbot, security)
    qtbot.waitUntil(lambda: "The root key was revoked" in security.banner.text.text(), timeout=LONG)
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Cannot be opened", timeout=LONG)
    assert home.lock_button.isHidden(), f"'{home.lock_button.text()}' is offered on a revoked vault"
    assert home.lock_banner.action.text() == "Restore from a recovery copy"


def test_a_name_too_long_is_refused_as_it_is_typed(qtbot, window):
    page = window.show_page("Enrol")
    page.source.buttons["camera"].click()
    page.name.setText("A" * 299)
    assert not page.start_button.isEnabled(), "refused only on Start"
    assert page.name_hint.isVisible() and "1 to 128 printable characters" in page.name_hint.text()
    page.name.setText("A" * 128)
    assert page.name_hint.isHidden()


def test_without_a_camera_enrol_and_verify_start_on_photos(qtbot, window):
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: "no camera answers" in home.value("camera").lower(), timeout=LONG)
    enrol = window.show_page("Enrol")
    qtbot.waitUntil(lambda: enrol.source.kind == "photos", timeout=LONG)
    assert "no camera answers" in enrol.source.chosen.text()
    verify = window.show_page("Verify")
    qtbot.waitUntil(lambda: verify.source.kind == "photo", timeout=LONG)
    verify.source.buttons["camera"].click()  # a person's own choice stays, camera or not
    window.show_page("Home")
    verify = window.show_page("Verify")
    assert verify.source.kind == "camera"


def test_the_next_person_starts_with_the_defaults(qtbot, monkeypatch, window, photos):
    page = window.show_page("Enrol")
    page.largest.setChecked(True)
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:3])
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    click(qtbot, _button(page, "Enrol someone else"))
    assert not page.largest.isChecked(), "'Use the largest face' carried over to the next person"
    assert page.samples.value() == DEFAULT_SAMPLES, f"{page.samples.value()} samples carried over"


def test_a_flag_in_a_name_is_explained_where_no_emoji_font_draws_it(qtbot, window):
    from app.glyphs import emoji_font

    page = window.show_page("Enrol")
    page.name.setText("Chloé 🇫🇷 Dubois")
    if emoji_font() is None:  # this machine draws the flag as an empty box: the window says why and what to do
        assert page.name_note.isVisible(), "an empty box and not a word"
        assert "fonts-noto-color-emoji" in page.name_note.text() and "stored and matched" in page.name_note.text()
    else:
        assert page.name_note.isHidden(), f"{emoji_font()} draws it"
    page.name.setText("Chloé Dubois")
    assert page.name_note.isHidden()
