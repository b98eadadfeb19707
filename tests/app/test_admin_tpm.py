"""Admin › Root key location: the root moved from the keychain into a real software TPM (swtpm) and back, from the
window; without a TPM the section says why it offers none."""

from __future__ import annotations

from app.pages.admin.rootkey import BOOT_STATE
from edge_core import ops
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, answer_save_dialog, click, confirm
from tests.conftest import cli_fails, cli_json, enrol

PASSPHRASE = "quartz lantern orchard velvet"


def test_the_root_moves_into_the_tpm_and_back_from_the_window(qtbot, secret_service, swtpm, models_env, isolated):
    window = open_window(qtbot)
    assert window.session.is_open, window.session.problem
    section = admin_section(window, "Root key location")
    qtbot.waitUntil(lambda: "keychain" in section.where.text().lower(), timeout=LONG)
    assert section.move_tpm.isEnabled() and not section.move_out.isEnabled()
    assert "never be copied off this machine" in section.tpm_note.text()

    click(qtbot, section.move_tpm)
    assert "no recovery copy can hold it" in confirm(qtbot, section)
    qtbot.waitUntil(lambda: "TPM" in section.where.text(), timeout=LONG)
    assert section.banner.text.text().startswith("The root key now lives in: this machine's TPM 2.0")
    assert len(swtpm.persistent()) == 1
    assert section.move_out.isEnabled() and not section.move_tpm.isEnabled() and not section.move_in.isEnabled()
    assert cli_json("status")["root_key"]["store"] == "tpm"

    click(qtbot, section.move_out)
    confirm(qtbot, section)
    qtbot.waitUntil(lambda: "keychain" in section.where.text().lower(), timeout=LONG)
    assert swtpm.persistent() == [], "the TPM's key object is destroyed"
    assert window.session.call(ops.status).root_key.store == "keychain"
    window.close()


def test_without_a_tpm_the_section_says_why_and_offers_none(qtbot, models_env, isolated, swtpm):
    swtpm.stop()
    window = open_window(qtbot)
    section = admin_section(window, "Root key location")
    qtbot.waitUntil(lambda: section.where.text() != "", timeout=LONG)
    assert not section.move_tpm.isEnabled() and "Not offered here: No TPM answers at" in section.tpm_note.text()
    window.close()


def test_the_window_binds_the_root_to_the_boot_state_only_when_ticked(qtbot, secret_service, swtpm, models_env,
                                                                     isolated):
    """Issue 29: the binding is offered in the window, off by default, explained in one sentence; bound, a changed
    Secure Boot state is one line at the next open, and booting as before opens it again."""
    window = open_window(qtbot)
    section = admin_section(window, "Root key location")
    qtbot.waitUntil(lambda: section.move_tpm.isEnabled(), timeout=LONG)
    assert not section.bind_boot.isChecked() and "Off unless you tick it" in BOOT_STATE
    section.bind_boot.setChecked(True)
    click(qtbot, section.move_tpm)
    assert "bound to this boot state" in confirm(qtbot, section)
    qtbot.waitUntil(lambda: "TPM" in section.where.text(), timeout=LONG)
    window.close()
    swtpm.tool("tpm2_pcrextend", "7:sha256=" + "ab" * 32)  # what a Secure Boot change measures
    cli_fails(3, "the boot state (PCR 7", "status")


def test_diagnostics_says_whether_a_tpm_answers(qtbot, models_env, isolated, swtpm):
    window = open_window(qtbot)
    diagnostics = admin_section(window, "Diagnostics")
    qtbot.waitUntil(lambda: diagnostics.tpm.text() != "", timeout=LONG)
    assert diagnostics.tpm.text().startswith("TPM 2.0: answers this user")
    swtpm.stop()
    diagnostics.load()
    assert "not usable for the root here" in diagnostics.tpm.text()
    window.close()


def test_the_window_writes_the_escrow_copy_first_and_says_the_tpm_copy_cannot_be_exported(
        qtbot, swtpm, models_env, isolated, tmp_path, monkeypatch):
    """Issue 29: the escrow import from the window: the recovery copy is written before the import, the person is
    told plainly that the TPM's copy can never be exported, and that copy opens the data after the TPM is cleared."""
    kit = tmp_path / "escrow-copy.json"
    window = open_window(qtbot)
    section = admin_section(window, "Root key location")
    qtbot.waitUntil(lambda: section.escrow.isEnabled(), timeout=LONG)
    assert not section.escrow.isChecked() and not section.escrow_passphrase.isVisibleTo(section)
    section.escrow.setChecked(True)
    assert section.escrow_passphrase.isVisibleTo(section)
    section.escrow_passphrase.setText("faceseal recovery kit")
    section.escrow_again.setText("faceseal recovery kit")
    click(qtbot, section.move_tpm)
    assert "too easy to guess" in section.banner.text.text() and not kit.exists()
    for field in (section.escrow_passphrase, section.escrow_again):
        field.setText(PASSPHRASE)
    answer_save_dialog(monkeypatch, kit)
    click(qtbot, section.move_tpm)
    assert "can never be exported" in confirm(qtbot, section)
    qtbot.waitUntil(lambda: "TPM" in section.where.text(), timeout=LONG)
    assert "The TPM's copy can never be exported" in section.banner.text.text()
    assert kit.exists() and len(swtpm.persistent()) == 1
    assert section.escrow_passphrase.text() == ""
    window.close()
    swtpm.tool("tpm2_clear")
    cli_json("key", "restore", "--from", str(kit), extra_env={"FACESEAL_KIT_PASSPHRASE": PASSPHRASE})
    assert cli_json("status")["root_key"]["store"] == "file"


def test_the_kill_switch_from_the_window_destroys_a_bound_root_after_the_boot_state_changed_under_it(
        qtbot, swtpm, people, models_env, isolated):
    """Issue 29: the window holds the vault open when PCR 7 changes (a Secure Boot change, or a tampered boot) under
    a root bound to it; the kill switch from the window must do what `faceseal key revoke` does then
    (tests/keys/test_tpm.py): evict the root all the same, say in the window why nothing could be recorded, and
    leave nothing that opens, even after booting as before."""
    from tests.app.test_key_sovereignty import security_page

    enrol(people)
    cli_json("key", "move-to-tpm", "--bind-boot-state")
    window = open_window(qtbot)
    assert window.session.is_open, window.session.problem
    page = security_page(qtbot, window)
    swtpm.tool("tpm2_pcrextend", "7:sha256=" + "ab" * 32)  # the boot state changes while the window is open
    click(qtbot, page.revoke_button)
    assert "cannot be undone" in confirm(qtbot, page)
    qtbot.waitUntil(lambda: "The root key was revoked" in page.banner.text.text(), timeout=LONG)
    said = page.banner.text.text()
    assert "the boot state (PCR 7) is not the one the root was bound to" in said and "evicted it all the same" in said
    assert swtpm.persistent() == []
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Cannot be opened", timeout=LONG)
    assert "revoked" in home.lock_banner.text.text()
    window.close()
    cli_fails(3, "root key revoked", "list")
    swtpm.stop()
    swtpm.start()  # booted as before: the root is gone for good
    cli_fails(3, "root key revoked", "list")
