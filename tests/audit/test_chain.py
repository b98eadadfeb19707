"""The audit chain: every key operation and failed unlock is recorded, and any tampering is named."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edge_core import ops
from tests.conftest import run_cli


@pytest.fixture
def vault_with_history(isolated):
    vault = ops.open_vault()
    vault.enroll("alice", np.ones((2, 16), np.float32), "external")
    ops.rotate(vault)
    vault.enroll("bob", np.arange(1, 17, dtype=np.float32), "external")
    ops.rotate(vault, deep=True)
    yield vault
    vault.close()


def kinds(vault):
    return [e.kind for e in vault.audit_events()]


def test_key_operations_are_recorded_and_the_chain_verifies(vault_with_history):
    assert kinds(vault_with_history) == ["vault_created", "identity_enrolled", "key_rotated", "identity_enrolled", "key_rotated"]
    assert vault_with_history.audit_verify() == []
    result = run_cli("audit", "verify", "--json")
    assert result.returncode == 0 and json.loads(result.stdout) == {"status": "intact", "events": 5}


def test_events_name_no_person(vault_with_history):
    text = json.dumps([e.detail for e in vault_with_history.audit_events()])
    assert "alice" not in text and "bob" not in text


def test_an_edited_event_is_named(vault_with_history):
    vault_with_history.conn.execute("UPDATE audit_events SET detail = '{\"deep\":false}' WHERE seq = 3")
    assert vault_with_history.audit_verify() == ["event 3 (key_rotated) was edited, or inserted"]
    result = run_cli("audit", "verify")
    assert result.returncode == 4 and "event 3 (key_rotated) was edited" in result.stdout


def test_a_removed_event_is_named(vault_with_history):
    vault_with_history.conn.execute("DELETE FROM audit_events WHERE seq = 2")
    problems = vault_with_history.audit_verify()
    assert "events 2..2 were removed" in problems
    assert any("event 3" in p and "does not follow" in p for p in problems)


def test_a_removed_and_renumbered_event_is_named(vault_with_history):
    conn = vault_with_history.conn
    conn.execute("DELETE FROM audit_events WHERE seq = 2")
    conn.execute("UPDATE audit_events SET seq = seq - 1 WHERE seq > 2")
    conn.execute("UPDATE meta SET value = '4:' || substr(value, instr(value, ':') + 1) WHERE key = 'audit_head'")
    problems = vault_with_history.audit_verify()
    assert "event 2 (key_rotated) was event 3: events were removed before it" in problems


def test_an_inserted_event_is_named(vault_with_history):
    conn = vault_with_history.conn
    conn.execute("UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3")
    conn.execute("UPDATE audit_events SET seq = seq - 99 WHERE seq >= 103")
    prev = conn.execute("SELECT hash FROM audit_events WHERE seq = 2").fetchone()[0]
    conn.execute("INSERT INTO audit_events VALUES (3, '2026-01-01T00:00:00+00:00', 'forged', '{}', ?, ?)", (prev, b"\0" * 32))
    problems = vault_with_history.audit_verify()
    assert problems[0] == "event 3 (forged) was edited, or inserted"
    assert "event 4 (key_rotated) was event 3: events were inserted before it" in problems


def test_events_cut_from_the_end_are_found(vault_with_history):
    vault_with_history.conn.execute("DELETE FROM audit_events WHERE seq >= 4")
    problems = vault_with_history.audit_verify()
    assert any("ends at event 3 but its head says 5" in p for p in problems)


def test_failed_unlocks_are_recorded_at_the_next_unlock(monkeypatch, isolated):
    """A process with a wrong root holds nothing an outsider could not forge: its reports are counted, never chained
    as what they claim (issue 25); tests/security/test_unauthenticated_folder.py has the forgery itself."""
    monkeypatch.setenv("FACESEAL_ROOT_KEY", "33" * 32)
    ops.open_vault().close()
    for _ in range(2):
        assert run_cli("status", extra_env={"FACESEAL_ROOT_KEY": "44" * 32}).returncode == 3
    inbox = (isolated / "audit-inbox").read_bytes()
    assert b"wrong_root_key" not in inbox  # sealed: only the vault can read it
    with ops.open_vault() as vault:
        assert not [e for e in vault.audit_events() if e.kind == "unlock_failed"]
        refused = [e for e in vault.audit_events() if e.kind == "audit_inbox_refused"]
        assert [(e.detail["entries"], e.detail["claimed_reasons"]) for e in refused] == [(2, {"wrong_root_key": 2})]
        assert vault.audit_verify() == []
    assert not (isolated / "audit-inbox").exists()
    with ops.open_vault() as vault:  # recorded once, not again at every unlock
        assert sum(e.kind == "audit_inbox_refused" for e in vault.audit_events()) == 1


def test_an_event_from_a_process_holding_the_root_is_chained_as_it_is(people, isolated):
    """The kill switch on a full disk, or a lock while the database would not open: the writer holds the root."""
    from edge_core.audit import inbox
    from edge_core.keys import roots
    from edge_core.keys.keystore import KeyStore
    from edge_core.vault.layout import Layout

    ops.open_vault().close()
    layout = Layout(isolated)
    ks = KeyStore.load(layout.keystore)
    _store, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    assert inbox.record(isolated, ks.audit_inbox_public_key, "vault_locked", kind="vault_locked",
                        database_key=ks.unlock(root).database)
    with ops.open_vault() as vault:
        assert [e.kind for e in vault.audit_events()][-1] == "vault_locked"
        assert vault.audit_verify() == []
