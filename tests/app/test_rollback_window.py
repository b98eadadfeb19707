"""Issue 25, attack 5, in the window: an older copy of the data folder is refused, with the way out asked first."""

from __future__ import annotations

import shutil

import pytest

from tests.app.conftest import open_window
from tests.app.drive import click
from tests.conftest import cli_json, enrol, run_cli
from tests.security.test_rollback import OLDER, put_back, refused


def test_the_window_offers_the_older_copy_only_after_asking(qtbot, people, isolated, tmp_path):
    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)

    window = open_window(qtbot)
    home = window.show_page("Home")
    assert home.value("lock") == "Cannot be opened"
    assert OLDER in home.lock_banner.text.text()
    assert home.lock_banner.action.text() == "Use this older copy…"
    click(qtbot, home.lock_banner.action)
    assert home.older_dialog.isVisible() and "audited" in home.older_dialog.message
    home.older_dialog.reject()  # cancelled: nothing accepted, still refused
    refused(run_cli("policy", "set", "lockout_attempts=3"), OLDER)

    click(qtbot, home.lock_banner.action)
    click(qtbot, home.older_dialog.confirm_button)
    qtbot.waitUntil(lambda: window.session.is_open, timeout=60_000)
    assert [e["kind"] for e in cli_json("audit", "list")].count("rollback_accepted") == 1
    assert cli_json("policy", "show")["lockout_attempts"] == 5
    window.close()


def test_a_window_left_open_across_an_accepted_older_copy_does_not_refuse_it_again(qtbot, people, isolated,
                                                                                    tmp_path):
    """The window holds the vault open; the owner puts an older backup back and accepts it in a terminal.

    Before: the window's next verification was recorded in the deleted database
    and moved the anchor to that file's newer head, so the folder just accepted
    was refused as older again (and the window's audit event was lost).
    """
    from edge_core import ops
    from edge_core.errors import DatabaseReplaced
    from tests.conftest import all_verify, probe

    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    all_verify(people)  # the log moves on past the copy
    window = open_window(qtbot)
    assert window.session.is_open

    put_back(copy, isolated)
    cli_json("audit", "accept-rollback", "--yes")
    alice = probe(people["alice"][0])
    with pytest.raises(DatabaseReplaced):  # it would have been recorded in the deleted file
        window.session.call(lambda vault: ops.verify(vault, "alice", alice))
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3  # not refused
    qtbot.waitUntil(lambda: window.session.is_open, timeout=60_000)  # the window opened the folder now in place
    assert window.session.call(lambda vault: ops.verify(vault, "alice", alice)).match
    assert cli_json("audit", "list")[-1]["kind"] == "verification"
    window.close()


@pytest.mark.parametrize("set_when", ["before the copy", "after the copy"])
def test_an_older_copy_with_an_admin_passphrase_is_accepted_only_with_it(qtbot, people, isolated, tmp_path,
                                                                         set_when):
    """Going back to an older state loosens (its policy and lockout counters come back): the admin passphrase is
    asked, at the terminal and in the window (issue 25, proof of presence): the copy's own, or, for a copy from
    before it was set, the newest one, which the rollback anchor carries."""
    enrol(people)
    copy = tmp_path / "copy"
    for step in ("passphrase", "copy") if set_when == "before the copy" else ("copy", "passphrase"):
        if step == "copy":
            shutil.copytree(isolated, copy, symlinks=True)
        else:
            cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": "owner at the desk"})
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)
    result = run_cli("audit", "accept-rollback", "--yes")
    assert result.returncode == 2 and "admin passphrase" in result.stderr

    window = open_window(qtbot)
    home = window.show_page("Home")
    click(qtbot, home.lock_banner.action)
    click(qtbot, home.older_dialog.confirm_button)
    qtbot.waitUntil(lambda: getattr(home, "proof_dialog", None) is not None and home.proof_dialog.isVisible(),
                    timeout=60_000)
    assert "older copy" in home.proof_dialog.message
    qtbot.keyClicks(home.proof_dialog.field, "somebody else")
    click(qtbot, home.proof_dialog.ok_button)
    qtbot.waitUntil(lambda: "not the admin passphrase" in home.lock_banner.text.text(), timeout=60_000)
    assert home.lock_banner.action.text() == "Use this older copy…", "still the older copy, still offered"
    assert [e["kind"] for e in cli_json("audit", "list")].count("rollback_accepted") == 0
    click(qtbot, home.lock_banner.action)
    click(qtbot, home.older_dialog.confirm_button)
    qtbot.waitUntil(lambda: home.proof_dialog.isVisible(), timeout=60_000)
    qtbot.keyClicks(home.proof_dialog.field, "owner at the desk")
    click(qtbot, home.proof_dialog.ok_button)
    qtbot.waitUntil(lambda: window.session.is_open, timeout=60_000)
    assert [e["kind"] for e in cli_json("audit", "list")].count("rollback_accepted") == 1
    window.close()
