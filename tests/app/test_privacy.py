"""Issue 30, items 3 and 4 in the window: "Save a deletion certificate…" where a person is deleted (a file anyone
can check offline), and "What FaceSeal holds…" on the person's row (a file they can read, audited)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox

from edge_core import ops
from tests.app.drive import LONG, answer_save_dialog, click, confirm, enrol_photos
from tests.conftest import cli_json


def _tick(qtbot, page, starts: str) -> None:
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=LONG)
    box = next(b for b in page.dialog.findChildren(QCheckBox) if b.text().startswith(starts))
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)  # ticked from the keyboard, as a person tabbing through it would
    assert box.isChecked()


def _select(qtbot, window, name: str):
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: name in page.names(), timeout=LONG)
    page.table.selectRow(page.names().index(name))
    return page


def test_deleting_with_a_certificate_saves_one_that_checks_out_offline(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["brad_pitt"][:2])
    alice = window.session.call(lambda vault: vault.identity_id("Alice Martin"))
    page = _select(qtbot, window, "Alice Martin")

    click(qtbot, page.delete_button)
    _tick(qtbot, page, "Save a deletion certificate")
    answer_save_dialog(monkeypatch, "")  # the file dialog cancelled: nobody is deleted
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: "was not deleted" in page.banner.text.text(), timeout=LONG)
    assert page.names() == ["Alice Martin", "Bruno Costa"]

    target = tmp_path / "alice-erased.json"
    answer_save_dialog(monkeypatch, target)
    page.table.selectRow(0)
    click(qtbot, page.delete_button)
    _tick(qtbot, page, "Save a deletion certificate")
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: "Alice Martin was deleted" in page.banner.text.text(), timeout=LONG)
    assert f"The deletion certificate was saved to {target}" in page.banner.text.text()
    qtbot.waitUntil(lambda: page.names() == ["Bruno Costa"], timeout=LONG)
    assert "Alice" not in target.read_text(), "only the random id, as the name was not asked for"
    key = window.session.call(ops.status).device_key
    checked = cli_json("audit", "verify-certificate", str(target), "--device-key", key)
    assert checked["status"] == "valid" and checked["identity"] == alice

    named = tmp_path / "bruno-erased.json"
    answer_save_dialog(monkeypatch, named)
    page.table.selectRow(0)
    click(qtbot, page.delete_button)
    _tick(qtbot, page, "Save a deletion certificate")
    _tick(qtbot, page, "Put Bruno Costa's name")
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: "Bruno Costa was deleted" in page.banner.text.text(), timeout=LONG)
    assert cli_json("audit", "verify-certificate", str(named), "--device-key", key)["name"] == "Bruno Costa"


def test_what_faceseal_holds_is_saved_from_the_persons_row_and_audited(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: page.names() == ["Alice Martin"], timeout=LONG)
    assert not page.report_button.isEnabled(), "nobody is selected yet"
    page = _select(qtbot, window, "Alice Martin")
    assert page.report_button.isEnabled()

    target = tmp_path / "alice.md"
    answer_save_dialog(monkeypatch, target)
    click(qtbot, page.report_button)
    qtbot.waitUntil(lambda: f"was saved to {target}" in page.banner.text.text(), timeout=LONG)
    text = target.read_text()
    assert text.startswith("# What FaceSeal holds about Alice Martin") and "Face samples kept: 2" in text
    as_json = tmp_path / "alice.json"
    answer_save_dialog(monkeypatch, as_json)
    click(qtbot, page.report_button)
    qtbot.waitUntil(lambda: f"was saved to {as_json}" in page.banner.text.text(), timeout=LONG)
    report = json.loads(as_json.read_text())
    assert report["samples"] == 2 and report["events"][0]["kind"] == "identity_enrolled"
    blobs = window.session.call(lambda vault: [bytes(b) for (b,) in vault.conn.execute("SELECT blob FROM templates")])
    for blob in blobs:
        assert blob[-24:].hex() not in text and blob[-24:].hex() not in as_json.read_text()
    asked = [e for e in cli_json("audit", "list") if e["kind"] == "subject_report"]
    assert [e["asked_by"] for e in asked] == ["window", "window"]
