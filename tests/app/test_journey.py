"""A first-time user's whole journey through the window, over a real keychain, real models and real photos:
first start, back up the key, enrol two people, verify and identify (a group photo names every face), delete one,
export a new recovery copy (the deletion rotated the root), change a policy setting, lock from the window and see
the command line refuse, unlock from the command line and see the window follow."""

from __future__ import annotations

from app.pages.security import EXPORT_AGAIN, RECOVERY_GONE
from edge_core import ops
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, click, confirm, decide_photo, enrol_photos
from tests.app.media import FACES
from tests.app.test_key_sovereignty import export_recovery_copy
from tests.conftest import cli_json, keychain_items, run_cli

GROUP = FACES / "multi_face" / "two_people.jpg"
"""Barack Obama on the left, Joe Biden on the right (../shared/faces/multi_face.csv)."""
POLL_WAIT = 30_000
"""The window looks for a lock lifted elsewhere every second; allow for two busy cores (`make test` runs a worker
on each)."""


def test_first_start_to_lock_and_unlock_across_window_and_command_line(qtbot, monkeypatch, secret_service,
                                                                       models_env, isolated, photos, tmp_path):
    # First start: a new vault, its root key made in the real keychain, nothing backed up yet.
    window = open_window(qtbot)
    assert window.session.is_open, window.session.problem
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("identities") == "0", timeout=LONG)
    assert "keychain" in home.value("root_store").lower()
    assert list(keychain_items()) != [], "the root key is in the keychain"
    assert window.session.call(ops.kit_covers_root) is False

    # Back up the key: Home's first-start card leads to the recovery copy.
    qtbot.waitUntil(home.backup.isVisible, timeout=LONG)
    click(qtbot, home.backup_button)
    assert window.stack.currentWidget() is window.pages["Security"]
    export_recovery_copy(qtbot, monkeypatch, window, tmp_path / "first.faceseal-kit")
    assert window.session.call(ops.kit_covers_root) is True
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: not home.backup.isVisible(), timeout=LONG)

    # Enrol two people from photos.
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["barack_obama"][:3])
    enrol_photos(qtbot, monkeypatch, window, "Chen Wei", photos["joe_biden"][:1])  # the other has a second face
    assert [i.name for i in window.session.call(ops.list_identities)] == ["Bruno Costa", "Chen Wei"]

    # Verify one, then identify a group photo: every face is named.
    verified = decide_photo(qtbot, monkeypatch, window, photos["barack_obama"][3], "Bruno Costa")
    assert verified.decision.text() == "Match: this is Bruno Costa"
    group = decide_photo(qtbot, monkeypatch, window, GROUP, None)
    assert group.decision.text() == "Identified 2 of 2 faces: Bruno Costa, Chen Wei", group.details.text()
    assert len(group.faces.text().splitlines()) == 2

    # Delete one: the root is rotated to shred the person's keys, so the first recovery copy no longer opens it.
    identities = window.show_page("Identities")
    qtbot.waitUntil(lambda: identities.names() == ["Bruno Costa", "Chen Wei"], timeout=LONG)
    identities.table.selectRow(1)
    click(qtbot, identities.delete_button)
    assert "Chen Wei" in confirm(qtbot, identities)
    qtbot.waitUntil(lambda: identities.names() == ["Bruno Costa"], timeout=LONG)
    assert window.session.call(ops.kit_covers_root) is False
    qtbot.waitUntil(lambda: RECOVERY_GONE in identities.banner.text.text(), timeout=LONG)

    # Export a new recovery copy of the new root, from the deletion's own way out.
    assert identities.banner.action.text() == EXPORT_AGAIN
    click(qtbot, identities.banner.action)
    assert window.stack.currentWidget() is window.pages["Security"]
    export_recovery_copy(qtbot, monkeypatch, window, tmp_path / "after-delete.faceseal-kit")
    assert window.session.call(ops.kit_covers_root) is True

    # Change a policy setting in Admin › Policy: validated and audited by ops, obeyed by the command line.
    policy = admin_section(window, "Policy")
    qtbot.waitUntil(lambda: policy.description is not None and policy.save_button.isEnabled(), timeout=LONG)
    policy.editors["lockout_attempts"].setText("3")
    click(qtbot, policy.save_button)
    qtbot.waitUntil(lambda: "lockout_attempts 5 → 3" in policy.banner.text.text(), timeout=LONG)
    assert cli_json("policy", "show")["lockout_attempts"] == 3

    # Lock from the window: the command line is refused.
    security = window.show_page("Security")
    click(qtbot, security.lock_button)
    qtbot.waitUntil(lambda: window.session.state.value == "locked", timeout=LONG)
    refused = run_cli("status")
    assert refused.returncode == 3 and "locked" in refused.stderr, refused.stderr
    assert run_cli("verify", "Bruno Costa", "--image", str(photos["barack_obama"][3])).returncode == 3

    # Unlock from the command line: the window follows on its own.
    assert run_cli("unlock").returncode == 0
    qtbot.waitUntil(lambda: window.session.is_open, timeout=POLL_WAIT)
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    qtbot.waitUntil(lambda: home.value("identities") == "1", timeout=LONG)
    kinds = [e.kind for e in window.session.call(ops.audit_list)]
    for kind in ("vault_created", "recovery_kit_exported", "identity_enrolled", "identity_shredded",
                 "policy_changed", "vault_locked", "vault_unlocked"):
        assert kind in kinds, (kind, kinds)
    status = cli_json("status")
    assert (status["identities"], status["recovery_kit_exported"], status["locked"]) == (1, True, False)
    window.close()
