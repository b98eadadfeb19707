"""Admin › Root key location: the root moved from the keychain into a real software TPM (swtpm) and back, from the
window; without a TPM the section says why it offers none."""

from __future__ import annotations

from edge_core import ops
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, click, confirm
from tests.conftest import cli_json


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
