"""Banners say what is true now (issue 26, item 13): a recovery-copy warning goes once a copy was exported from
the command line, a deletion's or an evidence check's news goes when the page is shown again, and a lock set
through the admin API shows at once on the page in view, whatever it is."""

from __future__ import annotations

import httpx

from edge_core import ops
from tests.app.admin_drive import start_api
from tests.app.drive import (
    LONG,
    answer_open_dialog,
    answer_save_dialog,
    click,
    confirm,
    delete_person,
    enrol_photos,
)
from tests.app.test_audit import tampered_copy
from tests.conftest import run_cli

GONE = "no recovery copy opens this vault"


def test_the_recovery_warning_goes_once_the_command_line_exported_a_copy(qtbot, window, tmp_path):
    security = window.show_page("Security")
    qtbot.waitUntil(lambda: security.rotate_button.isEnabled(), timeout=LONG)
    click(qtbot, security.rotate_button)
    confirm(qtbot, security)
    qtbot.waitUntil(lambda: GONE in security.banner.text.text(), timeout=LONG)
    kit = tmp_path / "kit.json"
    exported = run_cli("key", "export", "--out", str(kit), extra_env={"FACESEAL_KIT_PASSPHRASE": "correct horse battery "
                                                                                       "staple orbit 1917"})
    assert exported.returncode == 0, exported.stderr
    qtbot.waitUntil(lambda: GONE not in security.banner.text.text(), timeout=LONG)  # no page change needed
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.backup.isHidden(), timeout=LONG)


def test_a_deletion_and_an_evidence_check_are_news_of_one_visit(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    delete_person(qtbot, window, "Alice Martin")
    window.show_page("Home")
    page = window.show_page("Identities")
    assert page.banner.isHidden(), f"still says: {page.banner.text.text()}"

    audit = window.show_page("Audit")
    evidence = tmp_path / "evidence.zip"
    answer_save_dialog(monkeypatch, evidence)
    click(qtbot, audit.export_button)
    qtbot.waitUntil(lambda: "exported" in audit.banner.text.text(), timeout=LONG)
    answer_open_dialog(monkeypatch, tampered_copy(evidence, tmp_path / "tampered.zip"))
    click(qtbot, audit.check_button)
    qtbot.waitUntil(lambda: "NOT intact" in audit.banner.text.text(), timeout=LONG)
    window.show_page("Home")
    audit = window.show_page("Audit")
    assert audit.banner.isHidden(), f"still says: {audit.banner.text.text()}"


def test_a_lock_through_the_admin_api_shows_on_the_page_in_view(qtbot, window, isolated):
    _section, port, token = start_api(qtbot, window, isolated)
    answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/lock", headers={"Authorization": f"Bearer {token}"},
                        timeout=30)
    assert answer.status_code == 200 and ops.is_locked()
    admin = window.pages["Admin"]
    assert window.stack.currentWidget() is admin
    qtbot.waitUntil(lambda: "The vault is locked" in admin.lock_banner.text.text(), timeout=LONG)
    assert admin.lock_banner.action.text() == "Unlock"
