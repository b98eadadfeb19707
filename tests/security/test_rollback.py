"""Issue 25, attack 5: the whole data folder put back from an older copy, with the real ``faceseal`` command.

Before the anchor, the older folder was self-consistent: its policy, its lockout
counters and its audit log (signed head and all) passed every check, because
every check lived in the folder. The anchor outside it (a file in the user's
state folder here, an entry of its own in the keychain beside a keychain root)
remembers the newest audit head this machine saw.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_core.vault.layout import Layout
from tests.conftest import KIT_ENV, all_verify, cli_json, enrol, keychain_items, run_cli, tree_snapshot
from tests.rules.test_presence_everywhere import PASSPHRASE, WRONG
from tests.security.test_resources_and_leaks import small_disk  # noqa: F401 (a full 8 MiB tmpfs)

OLDER = "older than the newest state this machine saw"


def refused(result, text: str) -> str:
    """Exit 4, one line, no traceback, naming ``text`` and the way out."""
    assert result.returncode == 4, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert text in result.stderr and "faceseal audit accept-rollback" in result.stderr, result.stderr
    return result.stderr


def put_back(copy: Path, home: Path) -> None:
    shutil.rmtree(home)
    shutil.copytree(copy, home, symlinks=True)


def anchor_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / "faceseal" / "anchors").glob("*.json"))


def test_an_older_copy_of_the_whole_folder_is_refused_until_accepted(people, isolated, tmp_path):
    enrol(people)
    cli_json("policy", "set", "lockout_attempts=5")
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "threshold_min=0.35", "lockout_attempts=2")  # the owner tightens the policy
    put_back(copy, isolated)  # the older folder, every file of it, put back
    probe = tmp_path / "alice.npy"
    np.save(probe, people["alice"][0])

    before = tree_snapshot(isolated)
    for command in (["verify", "alice", "--embedding", str(probe)], ["policy", "set", "lockout_attempts=9"],
                    ["enroll", "--consent", "carol", "--embedding", str(probe)], ["delete-identity", "bob", "--yes"]):
        refused(run_cli(*command), OLDER)
    assert tree_snapshot(isolated) == before  # nothing written into the older copy
    # What only reads still shows what is there, and says why it is not the newest.
    assert OLDER in cli_json("status")["rolled_back"]
    check = run_cli("audit", "verify", "--json")
    assert check.returncode == 4 and any(OLDER in p for p in json.loads(check.stdout)["problems"])

    accepted = cli_json("audit", "accept-rollback", "--yes")
    assert accepted["status"] == "accepted" and accepted["anchored_event"] > accepted["folder_event"]
    assert cli_json("policy", "show")["lockout_attempts"] == 5  # the older state, now on purpose
    assert "rolled_back" not in cli_json("status")
    event = [e for e in cli_json("audit", "list") if e["kind"] == "rollback_accepted"]
    assert len(event) == 1 and event[0]["folder_event"] == accepted["folder_event"]
    assert run_cli("audit", "verify").returncode == 0
    all_verify(people)


def test_accepting_needs_confirmation(people, isolated, tmp_path):
    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)
    result = run_cli("audit", "accept-rollback", input="")
    assert result.returncode == 2 and "--yes" in result.stderr
    refused(run_cli("policy", "set", "lockout_attempts=3"), OLDER)  # nothing was accepted


def test_a_removed_or_forged_anchor_is_refused_not_believed(people, isolated, tmp_path):
    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")  # a write after the anchor exists: the vault is now anchored
    [anchor] = anchor_files(tmp_path)
    assert anchor.stat().st_mode & 0o777 == 0o600 and anchor.parent.stat().st_mode & 0o777 == 0o700
    assert not str(anchor).startswith(str(isolated))  # never in the data folder

    record = json.loads(anchor.read_text())
    record["seq"] = 1  # an attacker moving it back, to make an older copy pass
    anchor.write_text(json.dumps(record))
    refused(run_cli("policy", "set", "lockout_attempts=3"), "changed outside FaceSeal")
    anchor.write_bytes(b"\xff not json")
    refused(run_cli("policy", "set", "lockout_attempts=3"), "changed outside FaceSeal")

    anchor.unlink()  # removing it is no way around the rule either
    refused(run_cli("policy", "set", "lockout_attempts=3"), "anchor is missing")
    cli_json("audit", "accept-rollback", "--yes")
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3


def test_a_copy_used_elsewhere_is_refused_as_a_fork(people, isolated, tmp_path):
    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=4")
    newer = tmp_path / "newer"
    shutil.copytree(isolated, newer, symlinks=True)
    put_back(copy, isolated)
    cli_json("audit", "accept-rollback", "--yes")  # the owner goes back on purpose; the log goes on from there
    put_back(newer, isolated)  # as long as the accepted one, but another history
    refused(run_cli("policy", "set", "lockout_attempts=3"), "not the copy this machine last used")


def test_a_folder_ahead_of_its_anchor_opens_and_moves_it(people, isolated, tmp_path):
    """A crash between a write's commit and the anchor's move leaves the folder ahead: that is no rollback."""
    enrol(people)
    [anchor] = anchor_files(tmp_path)
    lagging = anchor.read_bytes()
    cli_json("policy", "set", "lockout_attempts=4")
    anchor.write_bytes(lagging)
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3
    assert json.loads(anchor.read_text())["seq"] > json.loads(lagging)["seq"]


def test_rotation_and_a_kit_restored_on_a_new_machine_keep_working(people, isolated, tmp_path, monkeypatch):
    enrol(people)
    cli_json("rotate-key", "--deep")
    cli_json("rotate-key")
    all_verify(people)
    kit = tmp_path / "kit.json"
    cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    # A new machine: the folder copied over, the root only in the kit, no anchor there yet.
    (isolated / "keys" / "root_key.hex").unlink()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "new-machine-state"))
    cli_json("key", "restore", "--from", str(kit), extra_env=KIT_ENV)
    all_verify(people)
    assert list((tmp_path / "new-machine-state" / "faceseal" / "anchors").glob("*.json"))


def test_beside_a_keychain_root_the_anchor_is_a_keychain_entry(secret_service, people, isolated, tmp_path):
    enrol(people)
    cli_json("policy", "set", "lockout_attempts=5")
    account = Layout(isolated).keychain_account
    assert list(keychain_items()) == [account]  # the root's entry; the anchor has a service of its own
    assert anchor_files(tmp_path) == []  # nothing in the state folder
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)
    refused(run_cli("policy", "set", "lockout_attempts=3"), OLDER)
    cli_json("audit", "accept-rollback", "--yes")
    assert cli_json("policy", "show")["lockout_attempts"] == 5


def test_the_admin_api_refuses_an_older_folder_and_its_status_says_why(people, isolated, tmp_path):
    import httpx

    from tests.conftest import serve_api

    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    with serve_api(isolated) as (base, token, _process):
        headers = {"Authorization": f"Bearer {token}"}
        put_back(copy, isolated)
        probe = {"name": "alice", "embedding": [float(x) for x in people["alice"][0]]}
        refused_call = httpx.post(f"{base}/api/v1/verify", json=probe, headers=headers, timeout=120)
        assert refused_call.status_code == 409 and OLDER in refused_call.json()["error"], refused_call.text
        policy = httpx.post(f"{base}/api/v1/policy", json={"changes": {"lockout_attempts": 9}}, headers=headers,
                            timeout=120)
        assert policy.status_code == 409, policy.text
        shown = httpx.get(f"{base}/api/v1/status", headers=headers, timeout=120)
        assert shown.status_code == 200 and OLDER in shown.json()["rolled_back"], shown.text



def test_an_anchor_folder_in_the_way_is_one_line_and_a_broken_anchor_is_replaced_on_purpose(people, isolated,
                                                                                            tmp_path):
    """The anchor's folder a file (exit 70 "internal error" before); a FIFO or a link where the anchor was
    (accept-rollback, the documented way out, refused before)."""
    import os

    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")
    [anchor] = anchor_files(tmp_path)
    folder = anchor.parent
    shutil.rmtree(folder)
    folder.write_text("in the way")
    for command in (["status"], ["policy", "set", "lockout_attempts=3"], ["audit", "accept-rollback", "--yes"]):
        result = run_cli(*command)
        assert result.returncode == 4 and "rollback anchor" in result.stderr and str(folder) in result.stderr, \
            result.stderr
    folder.unlink()
    folder.mkdir(mode=0o700)

    os.mkfifo(anchor, 0o600)
    assert run_cli("policy", "set", "lockout_attempts=3").returncode != 0  # never read through, never believed
    assert cli_json("audit", "accept-rollback", "--yes")["status"] == "accepted"
    assert anchor.is_file() and not anchor.is_symlink()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    anchor.unlink()
    anchor.symlink_to(elsewhere)
    assert run_cli("policy", "set", "lockout_attempts=3").returncode != 0
    assert cli_json("audit", "accept-rollback", "--yes")["status"] == "accepted"
    assert elsewhere.read_text() == "{}" and not anchor.is_symlink()  # the link replaced, never written through
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3


def test_reading_commands_work_when_the_anchor_cannot_move_on_a_full_disk(people, small_disk, monkeypatch):
    """Reading commands answer on a full disk (issue 26); the anchor's state folder is on that disk too, and the
    folder is ahead of its anchor (a write whose anchor move failed): moving it must not refuse a read."""
    from tests.security.test_resources_and_leaks import DISK_FULL_EXIT, fill

    monkeypatch.setenv("XDG_STATE_HOME", str(small_disk / "state"))
    enrol(people)
    [anchor] = (small_disk / "state" / "faceseal" / "anchors").glob("*.json")
    lagging = anchor.read_bytes()
    cli_json("policy", "set", "lockout_attempts=4")
    anchor.write_bytes(lagging)
    fill(small_disk)
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"]
    assert cli_json("status")["identities"] == 2 and "rolled_back" not in cli_json("status")
    result = run_cli("policy", "set", "lockout_attempts=3")
    assert result.returncode == DISK_FULL_EXIT and "full" in result.stderr, result.stderr


def test_the_anchor_moves_under_the_vault_lock_so_two_writers_never_move_it_back(people, isolated, monkeypatch):
    """Two processes writing at once (the window and the CLI): each read the anchor, then wrote its own head, so
    the slower one could move it back below the other's commit (an older copy of that moment then passed).
    Now the move is read-compare-write under the vault's key lock: another process cannot take it meanwhile."""
    import subprocess
    import sys

    from edge_core import ops
    from edge_core.vault.anchor import Anchor

    enrol(people)
    lock = isolated / "keys" / ".lock"
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\n"
             "except BlockingIOError:\n    print('held')")
    seen = []
    write = Anchor.write

    def watched(self, head):
        seen.append(subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True,
                                   check=True).stdout.strip())
        write(self, head)

    monkeypatch.setattr(Anchor, "write", watched)
    with ops.open_vault() as vault:
        ops.policy_set(vault, {"lockout_attempts": 4})
    assert seen and set(seen) == {"held"}, seen


def test_what_only_reads_still_shows_an_older_folder_with_entries_in_its_audit_inbox(people, isolated, tmp_path):
    """Opening drains the audit inbox into the log, a write: on an older folder opened to read, it raised the
    refusal, so status and audit verify said nothing of what is there (anyone who can write the folder can
    append an inbox entry)."""
    from tests.security.test_unauthenticated_folder import forge_inbox_entry

    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)
    forge_inbox_entry(isolated, "unlock_failed", "wrong root")
    assert OLDER in cli_json("status")["rolled_back"]
    assert (isolated / "audit-inbox").exists()  # nothing drained into the older copy
    cli_json("audit", "accept-rollback", "--yes")
    assert not (isolated / "audit-inbox").exists()  # drained (and refused, unauthenticated) once accepted
    assert "audit_inbox_refused" in [e["kind"] for e in cli_json("audit", "list")]


@pytest.mark.parametrize("met_by", ["status", "accept-rollback, with a wrong passphrase"])
def test_an_older_database_opened_to_read_destroys_no_key(met_by, people, isolated, tmp_path):
    """A crash between a crypto-shred's commit and the old vault key's retirement leaves the key store with both
    versions; the next open finishes the retirement from what the database still needs. Opened to read with an
    older database put back, that finishing ran on the older copy's needs and destroyed the version the newest
    database needs (every other person's key is wrapped under it). An older folder must change nothing. Nor may
    ``accept-rollback`` finish anything on it before the older copy is accepted: refused for a wrong passphrase
    ("nothing was changed"), it had already retired the newest database's version and kept the deleted person's."""
    enrol(people)
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})
    older = tmp_path / "older-db"
    older.mkdir()
    for part in Layout(isolated).db_files(Layout(isolated).db):
        if part.exists():
            shutil.copy2(part, older / part.name)
    trace = tmp_path / "checkpoints"
    crashed = run_cli("delete-identity", "bob", "--yes", check_clean=False,
                      extra_env={"FACESEAL_CRASH_AT": "3", "FACESEAL_CRASH_TRACE": str(trace),
                                 "FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE})
    assert crashed.returncode != 0 and trace.read_text().split()[-1] == "shred.committed"
    newest = tmp_path / "newest-db"
    shutil.copytree(isolated, newest, symlinks=True)
    for part in Layout(isolated).db_files(Layout(isolated).db):
        part.unlink(missing_ok=True)
    for part in older.iterdir():
        shutil.copy2(part, isolated / part.name)
    keystore = (isolated / "keys" / "keystore.json").read_bytes()

    if met_by == "status":
        assert OLDER in cli_json("status")["rolled_back"]
    else:
        wrong = run_cli("audit", "accept-rollback", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": WRONG})
        assert wrong.returncode == 1 and "not the admin passphrase" in wrong.stderr, wrong.stderr
    assert (isolated / "keys" / "keystore.json").read_bytes() == keystore  # nothing destroyed, nothing rewritten
    put_back(newest, isolated)
    all_verify({"alice": people["alice"]})  # the newest copy still opens: its key version is there


def test_a_kit_restore_where_the_anchor_cannot_be_kept_says_why_and_runs_again(people, isolated, tmp_path,
                                                                               monkeypatch):
    """A broken anchor folder on the new machine made the restore end in "internal error" (exit 70)."""
    enrol(people)
    kit = tmp_path / "kit.json"
    cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    (isolated / "keys" / "root_key.hex").unlink()
    state = tmp_path / "new-machine-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    (state / "faceseal").mkdir(parents=True, mode=0o700)
    (state / "faceseal" / "anchors").write_text("in the way")
    restored = run_cli("key", "restore", "--from", str(kit), extra_env=KIT_ENV)
    assert restored.returncode == 4 and "rollback anchor" in restored.stderr, restored.stderr
    (state / "faceseal" / "anchors").unlink()
    assert cli_json("key", "restore", "--from", str(kit), extra_env=KIT_ENV)["status"] == "restored"
    all_verify(people)


def test_the_kill_switch_works_on_an_older_folder(people, isolated, tmp_path):
    """Someone who can write the data folder put an older copy back: the owner's kill switch was refused ("run
    accept-rollback") although destroying the root brings nothing back. It destroys the root; the event waits in
    the sealed audit inbox."""
    enrol(people)
    kit = tmp_path / "kit.json"
    cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    cli_json("policy", "set", "lockout_attempts=2")
    put_back(copy, isolated)

    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["status"] == "revoked" and "not the newest copy" in revoked["warning"]
    assert "disk" not in revoked["warning"]
    assert not (isolated / "keys" / "root_key.hex").exists()
    assert "revoked" in run_cli("status").stderr
    restored = run_cli("key", "restore", "--from", str(kit), extra_env=KIT_ENV)  # the root is back; still older
    refused(restored, OLDER)
    cli_json("audit", "accept-rollback", "--yes")
    [event] = [e for e in cli_json("audit", "list") if e["kind"] == "root_revoked"]
    assert event["reason"] == "rolled_back"
    all_verify(people)


def test_a_folder_moved_to_another_machine_is_told_apart_in_the_refusal(people, isolated, tmp_path, monkeypatch):
    """The whole folder (root file included) copied to a new machine, or XDG_STATE_HOME changed: the anchor is
    not there, so the folder is refused; the line said only "if you restored an older backup", which a person
    who moved the folder could not match to what they did."""
    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "another-machine"))
    said = refused(run_cli("policy", "set", "lockout_attempts=3"), "anchor is missing")
    assert "another machine" in said and str(tmp_path / "another-machine") in said
    cli_json("audit", "accept-rollback", "--yes")
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3


def test_an_anchor_folder_others_can_write_is_refused(people, isolated, tmp_path):
    """Another user who can write the anchors' folder could remove or replace this vault's anchor."""
    enrol(people)
    cli_json("policy", "set", "lockout_attempts=4")
    [anchor] = anchor_files(tmp_path)
    for folder in (anchor.parent, anchor.parent.parent):
        folder.chmod(0o777)
        said = run_cli("policy", "set", "lockout_attempts=3")
        assert said.returncode == 4 and f"chmod 700 {folder}" in said.stderr, said.stderr
        folder.chmod(0o700)
    assert cli_json("policy", "set", "lockout_attempts=3")["policy"]["lockout_attempts"] == 3


def test_with_a_tpm_root_an_older_folder_and_anchor_put_back_together_are_refused(swtpm, people, isolated, tmp_path):
    """Issue 29: whoever can write the state folder too puts back an older anchor with the older folder; the TPM's
    counter, which only counts up, still tells."""
    enrol(people)
    cli_json("key", "move-to-tpm")
    cli_json("policy", "set", "lockout_attempts=5")
    shutil.copytree(isolated, tmp_path / "copy", symlinks=True)
    shutil.copytree(tmp_path / "state", tmp_path / "state-copy", symlinks=True)
    cli_json("policy", "set", "threshold_min=0.35", "lockout_attempts=2")  # the owner tightens the policy
    put_back(tmp_path / "copy", isolated)
    put_back(tmp_path / "state-copy", tmp_path / "state")  # the anchor as it was then: self-consistent, tag and all
    before = tree_snapshot(isolated)
    refused(run_cli("policy", "set", "lockout_attempts=9"), "older than the TPM's NV counter")
    refused(run_cli("status"), "older than the TPM's NV counter")
    assert tree_snapshot(isolated) == before
    accepted = cli_json("audit", "accept-rollback", "--yes")  # on purpose, audited: the way out stays
    assert accepted["status"] == "accepted"
    assert cli_json("policy", "show")["lockout_attempts"] == 5
    all_verify(people)


def test_an_older_copy_from_before_the_admin_passphrase_is_accepted_only_with_the_newest_one(people, isolated,
                                                                                            tmp_path):
    """The copy has no passphrase of its own: accepting it without one would bring back a vault that loosens
    without asking. The anchor carries the newest one (sealed: the state folder alone gives no hash to guess at)."""
    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)  # from before the passphrase
    cli_json("admin-passphrase", "set", extra_env={"FACESEAL_NEW_ADMIN_PASSPHRASE": PASSPHRASE})
    [record] = [json.loads(f.read_text()) for f in anchor_files(tmp_path)]
    assert "guard" in record and not {"scrypt", "salt", "kdf"} & set(json.dumps(record).replace('"', " ").split())
    put_back(copy, isolated)
    result = run_cli("audit", "accept-rollback", "--yes")  # no terminal, no passphrase given
    assert result.returncode == 2 and "admin passphrase" in result.stderr, result.stderr
    wrong = run_cli("audit", "accept-rollback", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": WRONG})
    assert wrong.returncode == 1 and "not the admin passphrase" in wrong.stderr
    # Neither accepted it (the wrong guess, counted and audited in the copy, made it a copy that forked off).
    refused(run_cli("policy", "set", "lockout_attempts=3"), "FaceSeal changed nothing")
    accepted = cli_json("audit", "accept-rollback", "--yes", extra_env={"FACESEAL_ADMIN_PASSPHRASE": PASSPHRASE})
    assert accepted["status"] == "accepted"
    assert cli_json("status")["admin_passphrase"] is True  # the accepted copy keeps asking, with the newest one
    result = run_cli("delete-identity", "bob", "--yes")
    assert result.returncode == 2 and "to delete a person" in result.stderr
    all_verify(people)
