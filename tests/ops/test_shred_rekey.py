"""A deletion moves the database to a new database key (third outside round, finding (a)).

Before it, a copy of ``faceseal.db`` from before a deletion (a backup, a sync)
still opened with today's key store and root, and showed the deleted person's
name, enrolment dates and audit events. With the real ``faceseal`` command, real
SQLCipher and a real keychain: after a deletion that copy opens with nothing left
on the machine, put back it is refused in one line, and a deletion killed at any
of its checkpoints leaves the person fully there or fully gone and the database
under exactly one key, the key store's.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import sqlcipher3

from edge_core import ops
from edge_core.keys import roots
from edge_core.keys.keystore import KeyStore
from edge_core.ops.keyops.rekey import DUE_META
from edge_core.support.database import get_meta
from edge_core.vault.layout import Layout
from tests.conftest import all_verify, enrol, run_cli
from tests.security.test_rollback import OLDER, put_back, refused


def database_key(home: Path) -> bytes:
    """The database key the live key store holds, unwrapped with the live root (everything left on the machine)."""
    layout = Layout(home)
    store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    try:
        return bytes(KeyStore.load(layout.keystore).unlock(root).database)
    finally:
        store.close()


def column_in(db: Path, key: bytes, table: str, column: str) -> list[str]:
    """``column`` of ``table`` in ``db``, read straight through sqlcipher3 with ``key`` (raises if it does not open)."""
    conn = sqlcipher3.connect(str(db))
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.set_key(bytearray(b"x'" + key.hex().encode() + b"'"))
        return [row[0] for row in conn.execute(f"SELECT {column} FROM {table}")]
    finally:
        conn.close()


def names_in(db: Path, key: bytes) -> list[str]:
    """The identities' names in ``db`` (raises if ``key`` does not open it)."""
    return column_in(db, key, "identities", "name")


def put_database_back(copy: Path, home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (home / f"faceseal.db{suffix}").unlink(missing_ok=True)
    shutil.copy2(copy, home / "faceseal.db")


@pytest.mark.parametrize("store", ["keychain", "file"])
def test_a_copy_of_the_database_from_before_a_deletion_opens_with_nothing_left(request, store, people, isolated,
                                                                               tmp_path):
    if store == "keychain":
        request.getfixturevalue("secret_service")
    enrol(people)
    with ops.open_vault():
        pass  # the WAL checkpointed into the file on close: the copy below is the whole database
    copy = tmp_path / "faceseal.db.before"
    shutil.copy2(isolated / "faceseal.db", copy)
    assert "alice" in names_in(copy, database_key(isolated))  # before the deletion the copy opens: the check works

    assert run_cli("delete-identity", "alice", "--yes").returncode == 0
    with pytest.raises(sqlcipher3.DatabaseError, match="file is not a database"):
        names_in(copy, database_key(isolated))
    assert names_in(isolated / "faceseal.db", database_key(isolated)) == ["bob"]

    current = tmp_path / "faceseal.db.now"
    shutil.copy2(isolated / "faceseal.db", current)
    put_database_back(copy, isolated)  # the backup's database beside today's keys
    for command in (["list"], ["status"]):
        result = run_cli(*command)
        assert result.returncode != 0 and "cannot be read" in result.stderr, result.stderr
        assert "alice" not in result.stdout + result.stderr

    put_database_back(current, isolated)
    result = run_cli("list")
    assert result.returncode == 0 and "bob" in result.stdout and "alice" not in result.stdout, result.stdout
    all_verify({"bob": people["bob"]})
    with ops.open_vault() as vault:
        assert vault.audit_verify() == []
        assert get_meta(vault.conn, DUE_META) is None
        shred = [e for e in vault.audit_events() if e.detail.get("reason") == "shred"]
        assert shred[0].detail["keys_destroyed"]["database_key"]  # named on the deletion's certificate too


def folder_put_back_after_deleting_alice(people, isolated: Path, tmp_path: Path) -> None:
    """A copy of the whole data folder taken before alice is deleted, put back after."""
    enrol(people)
    copy = tmp_path / "copy"
    shutil.copytree(isolated, copy, symlinks=True)
    assert run_cli("delete-identity", "alice", "--yes").returncode == 0
    put_back(copy, isolated)


def test_with_the_root_in_the_folder_a_copy_of_the_whole_folder_is_still_refused_as_older(people, isolated,
                                                                                          tmp_path):
    """The file root travels with a copy of the folder, so that copy opens: the old anchor still refuses it."""
    folder_put_back_after_deleting_alice(people, isolated, tmp_path)
    assert "alice" not in refused(run_cli("delete-identity", "bob", "--yes"), OLDER)


def test_with_a_keychain_root_a_copy_of_the_whole_folder_opens_with_nothing(secret_service, people, isolated,
                                                                            tmp_path):
    folder_put_back_after_deleting_alice(people, isolated, tmp_path)
    result = run_cli("list")
    assert result.returncode != 0 and "alice" not in result.stdout + result.stderr, result.stdout


def _trace(tmp_path: Path) -> list[str]:
    trace_file = tmp_path / "trace.txt"
    result = run_cli("delete-identity", "alice", "--yes", extra_env={"FACESEAL_CRASH_TRACE": str(trace_file)})
    assert result.returncode == 0, result.stderr
    return trace_file.read_text().split()


@pytest.mark.slow
@pytest.mark.parametrize("store", ["keychain", "file", "tpm"])
def test_a_deletion_killed_at_every_checkpoint_ends_with_one_database_key(request, store, people, isolated,
                                                                          tmp_path):
    if store == "keychain":
        request.getfixturevalue("secret_service")
    enrol(people)
    if store == "tpm":  # the root inside a real software TPM, the rollback anchor backed by its NV counter
        request.getfixturevalue("swtpm")
        with ops.open_vault() as vault:
            ops.move_root_to_tpm(vault)
    copy = tmp_path / "faceseal.db.before"
    points = _trace(tmp_path)
    assert {"shred.committed", "rekey.staged-db", "rekey.anchored", "rekey.staged-keystore",
            "rekey.swapped"} <= set(points), points
    for crash_at, label in enumerate(points, start=1):
        enrol({"alice": people["alice"]})  # each kill starts from alice and bob enrolled, on the same machine
        with ops.open_vault():
            pass  # the WAL checkpointed into the file on close: the copy below is the whole database
        before_key = database_key(isolated)
        shutil.copy2(isolated / "faceseal.db", copy)
        killed = run_cli("delete-identity", "alice", "--yes", extra_env={"FACESEAL_CRASH_AT": str(crash_at)},
                         check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (label, killed.stderr)
        with ops.open_vault() as vault:  # the open finishes (or throws away) what the kill left
            names = {i.name for i in vault.list_identities()}
            assert vault.verify_all() == sum(len(people[n]) for n in names)
            assert vault.audit_verify() == []
        assert names in ({"alice", "bob"}, {"bob"}), label
        if names == {"alice", "bob"}:  # killed before the shred committed: running it again finishes the job
            assert run_cli("delete-identity", "alice", "--yes").returncode == 0, label
        with ops.open_vault() as vault:
            assert [i.name for i in vault.list_identities()] == ["bob"] and vault.audit_verify() == []
            assert get_meta(vault.conn, DUE_META) is None, label
        assert not (isolated / "faceseal.db.reset").exists() and not (isolated / "keys" / "keystore.json.reset").exists()
        now_key = database_key(isolated)
        assert now_key != before_key, label
        assert names_in(isolated / "faceseal.db", now_key) == ["bob"]  # the one key: the key store's opens it...
        for db, key in ((isolated / "faceseal.db", before_key), (copy, now_key)):  # ...and the other does not
            with pytest.raises(sqlcipher3.DatabaseError, match="file is not a database"):
                names_in(db, key)


def test_a_writer_that_waited_out_the_key_move_is_refused_not_lost(people, isolated, monkeypatch):
    """Another handle's write that queued up behind the move's write lock would land in the old, unlinked file and be
    lost while reporting success: it is refused instead (DatabaseReplaced), and says to open the vault again."""
    import threading

    from edge_core.errors import DatabaseReplaced
    from edge_core.ops.keyops import rekey

    enrol(people)
    other = ops.open_vault()  # another window or command, open before the deletion
    outcome: dict[str, object] = {}

    def enrol_carol() -> None:
        try:
            other.enroll("carol", people["alice"] * -1, "external")
            outcome["result"] = "written"
        except DatabaseReplaced as refusal:
            outcome["result"] = refusal

    writer = threading.Thread(target=enrol_carol)
    real_checkpoint = rekey.checkpoint

    def start_the_writer_while_the_old_file_is_locked(label: str) -> None:
        if label == "rekey.staged-db":
            writer.start()
            writer.join(1.0)  # it queues on the write lock the move holds (its busy timeout is two minutes)
            assert writer.is_alive()
        real_checkpoint(label)

    monkeypatch.setattr(rekey, "checkpoint", start_the_writer_while_the_old_file_is_locked)
    with ops.open_vault() as vault:
        ops.delete_identity(vault, "alice")
    writer.join()
    other.close()
    assert isinstance(outcome["result"], DatabaseReplaced), outcome
    with ops.open_vault() as vault:
        assert [i.name for i in vault.list_identities()] == ["bob"] and vault.audit_verify() == []


@pytest.mark.parametrize("planted", ["faceseal.db.reset", "faceseal.db"])
def test_a_folder_planted_where_a_database_belongs_is_one_line_and_changes_nothing(people, isolated, planted):
    """Someone who writes into the data folder puts a folder where the staged (or the live) database belongs: every
    open says which file cannot be opened, in one line and a non-zero exit, never an internal error."""
    enrol(people)
    live = isolated / "faceseal.db"
    if planted == "faceseal.db":
        shutil.move(live, isolated / "aside.db")
    (isolated / planted).mkdir()
    result = run_cli("list")
    assert result.returncode == 4 and str(isolated / planted) in result.stderr and len(result.stderr.splitlines()) == 1, \
        (result.returncode, result.stderr)
    (isolated / planted).rmdir()
    if planted == "faceseal.db":
        shutil.move(isolated / "aside.db", live)
    all_verify(people)
