"""Crypto-shredding: after delete-identity, a copy of the data taken before it plus everything
left on the machine (the keychain included) cannot recover that person's templates."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edge_core import ops
from edge_core.errors import DataDirUnreadable, TpmUnavailable, WrongRootKey
from edge_core.keys import material, roots
from edge_core.keys.keystore import KeyStore
from edge_core.keys.sealing import open_blob
from edge_core.support import database
from edge_core.vault.layout import Layout

ALICE = (np.random.default_rng(1).normal(size=32) + 0.05 * np.random.default_rng(11).normal(size=(3, 32))).astype(np.float32)
BOB = (np.random.default_rng(2).normal(size=32) + 0.05 * np.random.default_rng(12).normal(size=(2, 32))).astype(np.float32)


def _everything_on_the_machine(home):
    """Every key material still reachable: the live root (from its store) and the live key store."""
    layout = Layout(home)
    _, root = roots.find_root(layout.keys_dir, layout.keychain_account)
    return root, KeyStore.load(layout.keystore).unlock(root)


def _try_recover(snapshot, root, live_keys, name):
    """Every way to open ``name``'s templates in the snapshot with the keys we have; returns what opened."""
    opened = []
    snapshot_store = KeyStore.load(snapshot / "keys" / "keystore.json")
    candidate_vault_keys = dict(live_keys.vault)
    database_keys = [live_keys.database]
    try:
        old_keys = snapshot_store.unlock(root)
        candidate_vault_keys.update(old_keys.vault)
        database_keys.append(old_keys.database)
    except WrongRootKey:
        pass
    for database_key in database_keys:  # a deletion moves the database key: the copy may open with neither
        try:
            conn = database.connect(snapshot / "faceseal.db", database_key)
            break
        except DataDirUnreadable:
            continue
    else:
        return opened
    try:
        identity_id, version, wrapped = conn.execute(
            "SELECT id, key_version, wrapped_key FROM identities WHERE name = ?", (name,)).fetchone()
        aad = f"faceseal/identity/v2:{identity_id}:{version}:{name}".encode()  # the wrap is bound to the name
        for vault_key in candidate_vault_keys.values():
            key = material.aead_unwrap(vault_key, bytes(wrapped), aad)
            if key is None:
                continue
            for tid, blob in conn.execute("SELECT id, blob FROM templates WHERE identity_id = ?", (identity_id,)):
                opened.append(np.frombuffer(open_blob(key, tid, bytes(blob)), np.float32))
    finally:
        conn.close()
    return opened


@pytest.mark.parametrize("store", ["keychain", "file", "tpm"])
def test_a_copy_taken_before_deletion_cannot_recover_the_person(request, isolated, tmp_path, store):
    if store == "keychain":
        request.getfixturevalue("secret_service")
    with ops.open_vault() as vault:
        if store == "tpm":  # the root made inside a real software TPM; shredding evicts the old object from it
            request.getfixturevalue("swtpm")
            ops.move_root_to_tpm(vault)
        vault.enroll("alice", ALICE, "external")
        vault.enroll("bob", BOB, "external")
    snapshot = tmp_path / "copy-before"
    shutil.copytree(isolated, snapshot)
    root, live = _everything_on_the_machine(isolated)
    assert len(_try_recover(snapshot, root, live, "alice")) == 3  # the check can succeed: before deletion it does

    with ops.open_vault() as vault:
        result = ops.delete_identity(vault, "alice")
        assert result.templates_deleted == 3 and result.root_rotated is True
        assert vault.verify("bob", BOB[0], "external", 0.45).match
        assert vault.verify_all() == 2
    root, live = _everything_on_the_machine(isolated)
    if store in ("keychain", "tpm"):
        assert _try_recover(snapshot, root, live, "alice") == []
        if store == "tpm":  # the copy names the old root's TPM object, which the shred evicted
            with pytest.raises(TpmUnavailable, match="no longer holds the root key"):
                roots.find_root(snapshot / "keys", Layout(isolated).keychain_account)
    else:
        # The fallback file is inside the data directory: a copy of the directory carries
        # the old root with it. docs/KEYS.md says so; this test pins the statement down.
        old_root = roots.FileRootStore(snapshot / "keys").load()
        assert _try_recover(snapshot, old_root, KeyStore.load(snapshot / "keys" / "keystore.json").unlock(old_root), "alice")
        assert _try_recover(snapshot, root, live, "alice") == []
    with ops.open_vault() as vault:
        assert [i.name for i in vault.list_identities()] == ["bob"]


def test_with_a_root_from_the_environment_the_copy_stays_readable_as_documented(monkeypatch, isolated, tmp_path):
    monkeypatch.setenv("FACESEAL_ROOT_KEY", "55" * 32)
    with ops.open_vault() as vault:
        vault.enroll("alice", ALICE, "external")
        vault.enroll("bob", BOB, "external")
    snapshot = tmp_path / "copy-before"
    shutil.copytree(isolated, snapshot)
    with ops.open_vault() as vault:
        result = ops.delete_identity(vault, "alice")
    assert result.root_rotated is False and "FACESEAL_ROOT_KEY" in result.warning
    root, live = _everything_on_the_machine(isolated)
    assert len(_try_recover(snapshot, root, live, "alice")) == 3


def test_deleting_is_a_clear_error_for_an_unknown_name_and_changes_nothing(isolated):
    with ops.open_vault() as vault:
        vault.enroll("bob", BOB, "external")
    before = (isolated / "keys" / "keystore.json").read_bytes()
    with ops.open_vault() as vault:
        with pytest.raises(Exception, match="no identity named 'carol'"):
            ops.delete_identity(vault, "carol")
    assert (isolated / "keys" / "keystore.json").read_bytes() == before
