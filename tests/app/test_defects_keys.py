"""Defect 4: what a key operation does to the recovery copy is said before and after, with the way out.

Deleting a person rotates the root key (crypto-shredding), and so do "Rotate
now", "Generate" and importing a key: a recovery copy exported before stops
opening the vault. Each asks first and says so, and afterwards says what became
of the recovery copy with an "Export a new copy" button. A first start shows a
"Back up your key" card on Home; Recovery copy comes first on Security; the
passphrase rule and its strength meter show while typing, before the save
dialog, and a refusal leaves the fields as typed.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QGroupBox

from app.pages.security import EXPORT_AGAIN, RECOVERY_GONE, RECOVERY_STOPS
from tests.app.drive import LONG, answer_save_dialog, click, confirm, enrol_photos
from tests.app.test_key_sovereignty import PASSPHRASE, export_recovery_copy, security_page
from tests.app.test_security import home_value


def _export_again_offered(qtbot, window, page) -> None:
    """The banner says the recovery copy no longer opens the vault, and its button leads to a new one."""
    qtbot.waitUntil(lambda: RECOVERY_GONE in page.banner.text.text(), timeout=LONG)
    assert page.banner.property("kind") == "warning"
    assert page.banner.action.text() == EXPORT_AGAIN
    click(qtbot, page.banner.action)
    security = window.pages["Security"]
    assert window.stack.currentWidget() is security
    assert security.passphrase.hasFocus() or window.focusWidget() is security.passphrase


def test_first_start_shows_back_up_your_key_until_a_recovery_copy_is_exported(qtbot, monkeypatch, window, tmp_path):
    home = window.show_page("Home")
    qtbot.waitUntil(home.backup.isVisible, timeout=LONG)
    click(qtbot, home.backup_button)
    security = window.pages["Security"]
    assert window.stack.currentWidget() is security
    export_recovery_copy(qtbot, monkeypatch, window, tmp_path / "kit.json")
    assert home_value(qtbot, window, "recovery").startswith("exported for this root key")
    assert not window.pages["Home"].backup.isVisible()


def test_recovery_copy_comes_first_on_security(qtbot, window):
    page = security_page(qtbot, window)
    boxes = [box.title() for box in page.scroll.widget().findChildren(QGroupBox)]
    assert boxes[0] == "Recovery copy", boxes


def test_the_passphrase_rule_and_meter_show_while_typing_and_a_refusal_keeps_the_fields(
        qtbot, monkeypatch, window, tmp_path):
    page = security_page(qtbot, window)
    assert "at least 10 characters and a strength of 3 of 4" in page.meter.rule.text()
    assert page.meter.rule.isVisible() and page.meter.bar.isVisible()
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: asked.append("save") or ("", "")))

    qtbot.keyClicks(page.passphrase, "password123")
    assert page.meter.bar.value() == 0
    assert page.meter.verdict.text().startswith("This recovery kit passphrase is too easy to guess (strength 0 of 4")
    assert "password123" not in page.meter.verdict.text()
    qtbot.keyClicks(page.passphrase_again, "password123")
    click(qtbot, page.export_button)
    assert asked == [], "a weak passphrase is refused before the save dialog"
    assert (page.passphrase.text(), page.passphrase_again.text()) == ("password123", "password123")

    page.passphrase.clear()
    page.passphrase_again.clear()
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    assert page.meter.bar.value() == 4
    assert page.meter.verdict.text() == "Strong enough. Type the same passphrase again below it."
    qtbot.keyClicks(page.passphrase_again, PASSPHRASE)
    taken = tmp_path / "taken.json"
    taken.write_text("someone else's file")
    answer_save_dialog(monkeypatch, taken)
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: page.banner.property("kind") == "error", timeout=LONG)
    assert taken.read_text() == "someone else's file"
    assert (page.passphrase.text(), page.passphrase_again.text()) == (PASSPHRASE, PASSPHRASE), \
        "refused by ops after the dialog: the fields stay as typed"


def test_deleting_a_person_says_the_recovery_copy_stops_working_and_offers_a_new_one(
        qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    export_recovery_copy(qtbot, monkeypatch, window, tmp_path / "kit.json")
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: page.names() == ["Alice Martin"], timeout=LONG)
    page.table.selectRow(0)
    click(qtbot, page.delete_button)
    said = confirm(qtbot, page)
    assert RECOVERY_STOPS in said and "the root key is replaced too" in said
    qtbot.waitUntil(lambda: page.banner.text.text().startswith("Alice Martin was deleted"), timeout=LONG)
    _export_again_offered(qtbot, window, page)
    assert home_value(qtbot, window, "recovery").startswith("none for this root key")
    assert window.pages["Home"].backup.isVisible()


def test_rotate_now_asks_first_and_then_offers_a_new_copy(qtbot, window):
    page = security_page(qtbot, window)
    click(qtbot, page.rotate_button)
    assert RECOVERY_STOPS in confirm(qtbot, page)
    qtbot.waitUntil(lambda: "The root key was rotated" in page.banner.text.text(), timeout=LONG)
    _export_again_offered(qtbot, window, page)


def test_rotate_now_can_be_cancelled(qtbot, window):
    before = home_value(qtbot, window, "fingerprint")
    page = security_page(qtbot, window)
    click(qtbot, page.rotate_button)
    confirm(qtbot, page, accept=False)
    assert home_value(qtbot, window, "fingerprint") == before


def test_generate_asks_first_and_then_offers_a_new_copy(qtbot, window):
    page = security_page(qtbot, window)
    click(qtbot, page.generate_button)
    assert RECOVERY_STOPS in confirm(qtbot, page)
    qtbot.waitUntil(lambda: "A new root key is in place" in page.banner.text.text(), timeout=LONG)
    _export_again_offered(qtbot, window, page)
