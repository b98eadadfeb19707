"""Bring your own key and recovery copies, through the Security page and edge_core.ops.keyops."""

from __future__ import annotations

import base64

from edge_core.keys.material import fingerprint, random_key
from tests.app.drive import LONG, answer_open_dialog, answer_save_dialog, click, confirm, enrol_photos
from tests.app.test_security import home_value

PASSPHRASE = "correct horse battery staple"


def security_page(qtbot, window):
    page = window.show_page("Security")
    qtbot.waitUntil(lambda: page.generate_button.isEnabled() and "fingerprint" in page.root_info.text(), timeout=LONG)
    return page


def export_recovery_copy(qtbot, monkeypatch, window, kit):
    """Type the passphrase twice and export a recovery copy to ``kit``; returns the Security page."""
    page = security_page(qtbot, window)
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    qtbot.keyClicks(page.passphrase_again, PASSPHRASE)
    answer_save_dialog(monkeypatch, kit)
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "The recovery copy was written to" in page.banner.text.text(), timeout=LONG)
    return page


def test_importing_a_typed_key_makes_it_the_root(qtbot, window):
    key = random_key()
    page = security_page(qtbot, window)
    page.key_format.setCurrentIndex(page.key_format.findData("base64"))
    qtbot.keyClicks(page.key_text, base64.b64encode(key).decode())
    click(qtbot, page.import_button)
    said = confirm(qtbot, page)
    assert "without your key the data can never be opened again" in said
    qtbot.waitUntil(lambda: "Your key is now the root key" in page.banner.text.text(), timeout=LONG)
    assert page.key_text.text() == "", "the typed key does not stay in the field"
    assert fingerprint(key) in page.banner.text.text()
    assert home_value(qtbot, window, "fingerprint") == fingerprint(key)


def test_importing_a_key_file(qtbot, monkeypatch, window, tmp_path):
    key = random_key()
    key_file = tmp_path / "my.key"
    key_file.write_text(key.hex() + "\n")
    page = security_page(qtbot, window)
    answer_open_dialog(monkeypatch, key_file)
    click(qtbot, page.import_file_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: fingerprint(key) in page.banner.text.text(), timeout=LONG)


def test_generating_a_new_root_replaces_the_old_one(qtbot, window):
    before = home_value(qtbot, window, "fingerprint")
    page = security_page(qtbot, window)
    click(qtbot, page.generate_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: "A new root key is in place" in page.banner.text.text(), timeout=LONG)
    assert f"the previous root {before} was destroyed" in page.banner.text.text()
    assert home_value(qtbot, window, "fingerprint") != before


def test_export_needs_the_passphrase_twice(qtbot, window):
    page = security_page(qtbot, window)
    qtbot.keyClicks(page.passphrase, PASSPHRASE)
    qtbot.keyClicks(page.passphrase_again, PASSPHRASE + "!")
    click(qtbot, page.export_button)
    assert page.banner.text.text() == "Type the same passphrase twice before exporting a recovery copy."


def test_revoke_then_restore_from_the_exported_recovery_copy(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    kit = tmp_path / "recovery.kit"
    page = export_recovery_copy(qtbot, monkeypatch, window, kit)
    assert kit.exists() and page.passphrase.text() == ""
    assert PASSPHRASE not in kit.read_text()
    assert home_value(qtbot, window, "recovery").startswith("exported for this root key")

    page = security_page(qtbot, window)
    click(qtbot, page.revoke_button)
    said = confirm(qtbot, page)
    assert "cannot be undone" in said and "never exported" not in said
    qtbot.waitUntil(lambda: "The root key was revoked" in page.banner.text.text(), timeout=LONG)
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Cannot be opened", timeout=LONG)
    assert "revoked" in home.lock_banner.text.text()
    click(qtbot, home.lock_banner.action)
    assert window.stack.currentWidget() is page

    qtbot.keyClicks(page.restore_passphrase, PASSPHRASE)
    answer_open_dialog(monkeypatch, kit)
    click(qtbot, page.restore_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)
    assert "The root key was restored" in page.banner.text.text()
    identities = window.show_page("Identities")
    qtbot.waitUntil(lambda: identities.names() == ["Alice Martin"], timeout=LONG)


def test_restoring_with_a_wrong_passphrase_changes_nothing(qtbot, monkeypatch, window, tmp_path):
    kit = tmp_path / "recovery.kit"
    page = export_recovery_copy(qtbot, monkeypatch, window, kit)
    assert kit.exists()
    qtbot.keyClicks(page.restore_passphrase, "not the passphrase at all")
    answer_open_dialog(monkeypatch, kit)
    click(qtbot, page.restore_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: page.banner.property("kind") == "error", timeout=LONG)
    assert "not the passphrase at all" not in page.banner.text.text()
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)


def test_revoking_without_a_recovery_copy_warns_that_the_data_would_be_lost(qtbot, window):
    page = security_page(qtbot, window)
    click(qtbot, page.revoke_button)
    said = confirm(qtbot, page, accept=False)
    assert "No recovery copy of this root key was ever exported" in said
    assert window.session.is_open
