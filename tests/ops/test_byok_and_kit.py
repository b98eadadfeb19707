"""Bring your own key and the recovery kit, through the real CLI and the Python API the app calls."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat

import pytest

from edge_core import ops
from edge_core.errors import InvalidKeyMaterial, PolicyViolation, RecoveryKitInvalid, WrongPassphrase, WrongRootKey
from edge_core.keys import material
from edge_core.keys.keystore import KeyStore
from edge_core.vault.layout import Layout
from tests.conftest import (
    KIT_ENV,
    KIT_PASSPHRASE,
    all_verify,
    cli_fails,
    cli_json,
    enrol,
    keychain_items,
    run_cli,
    tree_snapshot,
)


def test_imported_hex_key_becomes_the_root_and_the_old_one_is_gone(people, isolated):
    enrol(people)
    old_hex = (isolated / "keys" / "root_key.hex").read_text().strip()
    key = os.urandom(32)
    result = cli_json("key", "import", "--hex", key.hex())
    assert result["root_fingerprint"] == material.fingerprint(key) and result["previous_root_destroyed"]
    assert (isolated / "keys" / "root_key.hex").read_text().strip() == key.hex()
    ks = KeyStore.load(Layout(isolated).keystore)
    assert list(ks.wraps) == [material.key_id(key)]  # no wrap under the previous root survives
    all_verify(people)
    # The previous root, brought back by hand, opens nothing.
    (isolated / "keys" / "root_key.hex").write_text(old_hex + "\n")
    cli_fails(3, "not the one this data was sealed with", "list")


@pytest.mark.parametrize("form", ["base64", "file-raw", "file-hex", "stdin"])
def test_every_input_form_imports_the_same_key(form, people, isolated, tmp_path):
    enrol(people)
    key = os.urandom(32)
    extra: dict = {}
    if form == "base64":
        args = ["--base64", base64.b64encode(key).decode()]
    elif form == "stdin":
        args, extra = ["--hex", "-"], {"input": key.hex() + "\n"}
    else:
        path = tmp_path / "key.bin"
        path.write_bytes(key if form == "file-raw" else (key.hex() + "\n").encode())
        args = ["--file", str(path)]
    assert cli_json("key", "import", *args, **extra)["root_fingerprint"] == material.fingerprint(key)
    all_verify(people)


@pytest.mark.parametrize("args, code, message", [
    (["--hex", "ab" * 16], 2, "the key is 128 bits; the policy requires at least 256 bits"),
    (["--hex", "ab" * 33], 2, "exactly 32 bytes (256 bits); this one is 33 bytes"),
    (["--hex", "zz" * 32], 2, "--hex is not a hexadecimal key"),
    (["--base64", "not base64!"], 2, "--base64 is not valid base64"),
    (["--base64", base64.b64encode(b"k" * 24).decode()], 2, "the key is 192 bits"),
    (["--hex", "00" * 32], 2, "one byte repeated"),
    ([], 2, "one of the arguments --hex --base64 --file is required"),
])
def test_bad_keys_get_one_line_and_change_nothing(args, code, message, people, isolated):
    enrol(people)
    before = tree_snapshot(isolated)
    stderr = cli_fails(code, message, "key", "import", *args)
    for arg in args:
        if len(arg) > 8:
            assert arg not in stderr  # the offered key is never echoed
    assert tree_snapshot(isolated) == before


def test_import_into_the_real_keychain_replaces_the_entry(secret_service, people, isolated):
    enrol(people)
    account = Layout(isolated).keychain_account
    key = os.urandom(32)
    cli_json("key", "import", "--hex", key.hex())
    assert keychain_items() == {account: key.hex()}
    generated = cli_json("key", "generate")
    assert keychain_items()[account] != key.hex()
    assert generated["previous_root_fingerprint"] == material.fingerprint(key)
    all_verify(people)


def test_api_import_and_generate(people, isolated):
    enrol(people)
    with ops.open_vault() as vault:
        with pytest.raises(PolicyViolation, match="at least 256"):
            ops.import_root_key(vault, b"x" * 16)
        with pytest.raises(InvalidKeyMaterial):
            ops.import_root_key(vault, "not bytes")  # type: ignore[arg-type]
        key = os.urandom(32)
        imported = ops.import_root_key(vault, key)
        assert imported.status == "imported" and vault.root.fingerprint == material.fingerprint(key)
        generated = ops.generate_root_key(vault)
        assert generated.status == "generated" and generated.previous_root_fingerprint == imported.root_fingerprint
        assert len(vault.list_identities()) == 2


# -------------------------------------------------------------------- recovery kit
def test_kit_restores_the_root_on_a_new_machine(people, isolated, tmp_path):
    enrol(people)
    kit = tmp_path / "kit.json"
    exported = cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    assert stat.S_IMODE(kit.stat().st_mode) == 0o600
    doc = json.loads(kit.read_text())
    assert doc["fingerprint"] == exported["root_fingerprint"] and doc["kdf"]["name"] == "argon2id"
    root_hex = (isolated / "keys" / "root_key.hex").read_text().strip()
    assert root_hex not in kit.read_text() and root_hex not in json.dumps(exported)
    status = cli_json("status")
    assert status["recovery_kit_exported"] is True and status["recovery_kit_exported_at"]

    # The new machine: the data directory copied, without the root.
    new_home = tmp_path / "new-machine"
    shutil.copytree(isolated, new_home)
    (new_home / "keys" / "root_key.hex").unlink()
    env = {"FACESEAL_HOME": str(new_home)}
    cli_fails(3, "no root key found", "list", extra_env=env)
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(KIT_PASSPHRASE + "\n")
    restored = cli_json("key", "restore", "--from", str(kit), "--passphrase-file", str(passphrase_file), extra_env=env)
    assert restored["root_fingerprint"] == exported["root_fingerprint"]
    listed = json.loads(run_cli("list", "--json", extra_env=env).stdout)
    assert sorted(i["name"] for i in listed) == ["alice", "bob"]
    kinds = [e["kind"] for e in json.loads(run_cli("audit", "list", "--json", extra_env=env).stdout)]
    assert kinds[-1] == "root_restored"


def test_a_kit_restored_into_the_keychain_leaves_no_key_file_behind(secret_service, isolated, tmp_path):
    """The walkthrough's find: a vault made without a keychain keeps its root in keys/root_key.hex; restoring its kit
    once a keychain is there put the root in the keychain and left the file, so a copy of the folder still opened."""
    no_keychain = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    cli_json("init", extra_env=no_keychain, check_clean=False)
    root_file = isolated / "keys" / "root_key.hex"
    root_hex = root_file.read_text().strip()
    kit = tmp_path / "kit.json"
    cli_json("key", "export", "--out", str(kit), extra_env={**KIT_ENV, **no_keychain})
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(KIT_PASSPHRASE + "\n")
    cli_json("key", "restore", "--from", str(kit), "--passphrase-file", str(passphrase_file))
    assert keychain_items() == {Layout(isolated).keychain_account: root_hex}
    assert not root_file.exists(), "the root's plaintext copy stayed beside the data"
    root = cli_json("status")["root_key"]
    assert (root["store"], root["fingerprint"]) == ("keychain", material.fingerprint(bytes.fromhex(root_hex)))


def test_a_root_kept_in_the_key_file_moves_into_the_keychain_when_one_runs(secret_service, isolated):
    """`faceseal status` tells a person whose root fell back to the key file to start a keychain and run
    `key move-to-keychain`: it must do that (the walkthrough found it refused: "the root is not in an HSM")."""
    no_keychain = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    cli_json("init", extra_env=no_keychain, check_clean=False)
    refused = run_cli("key", "move-to-keychain", extra_env=no_keychain)
    assert refused.returncode == 3 and "there is no OS keychain running" in refused.stderr
    root_file = isolated / "keys" / "root_key.hex"
    assert root_file.exists()
    moved = cli_json("key", "move-to-keychain")
    assert (moved["to"], moved["root_store"]) == ("keychain", "keychain") and "warning" not in moved
    assert not root_file.exists() and list(keychain_items()) == [Layout(isolated).keychain_account]
    assert cli_json("status")["root_key"]["fingerprint"] == moved["root_fingerprint"]
    again = run_cli("key", "move-to-keychain")
    assert again.returncode == 2 and "already lives in the keychain" in again.stderr


def test_wrong_passphrase_edited_kit_and_foreign_kit_are_clear_errors(people, isolated, tmp_path):
    enrol(people)
    kit = tmp_path / "kit.json"
    cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    (isolated / "keys" / "root_key.hex").unlink()
    before = tree_snapshot(isolated)
    stderr = cli_fails(3, "the passphrase does not open the recovery kit", "key", "restore", "--from", str(kit),
                       extra_env={"FACESEAL_KIT_PASSPHRASE": "wrong passphrase here"})
    assert "wrong passphrase here" not in stderr
    doc = json.loads(kit.read_text())
    for field, value in [("fingerprint", "0000:0000:0000:0000:0000"), ("wrapped_root", doc["wrapped_root"][::-1]),
                         ("kdf", {**doc["kdf"], "iterations": 4})]:
        edited = tmp_path / f"edited-{field}.json"
        edited.write_text(json.dumps({**doc, field: value}))
        cli_fails(2, "was edited or damaged", "key", "restore", "--from", str(edited), extra_env=KIT_ENV)
    # An edit that also fixes the checksum still fails: the GCM tag covers every field.
    forged = {**doc, "fingerprint": "0000:0000:0000:0000:0000"}
    from edge_core.ops.keyops.recovery_kit import _checksum

    forged["checksum"] = _checksum(forged)
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    cli_fails(3, "does not open", "key", "restore", "--from", str(tmp_path / "forged.json"), extra_env=KIT_ENV)
    (tmp_path / "garbage.json").write_bytes(b"\x00garbage")
    cli_fails(2, "not a FaceSeal recovery kit", "key", "restore", "--from", str(tmp_path / "garbage.json"),
              extra_env=KIT_ENV)
    cli_fails(2, "does not exist", "key", "restore", "--from", str(tmp_path / "absent.json"), extra_env=KIT_ENV)
    assert tree_snapshot(isolated) == before  # nothing stored was touched

    with pytest.raises(WrongPassphrase):
        ops.restore_recovery_kit(isolated, kit, "wrong passphrase here")
    with pytest.raises(RecoveryKitInvalid):
        ops.restore_recovery_kit(isolated, tmp_path / "edited-fingerprint.json", KIT_PASSPHRASE)

    other = tmp_path / "other-home"
    cli_json("init", extra_env={"FACESEAL_HOME": str(other)})
    foreign = tmp_path / "foreign.json"
    cli_json("key", "export", "--out", str(foreign), extra_env={"FACESEAL_HOME": str(other), **KIT_ENV})
    with pytest.raises(WrongRootKey, match="sealed with another root"):
        ops.restore_recovery_kit(isolated, foreign, KIT_PASSPHRASE)
    assert tree_snapshot(isolated) == before
    assert ops.restore_recovery_kit(isolated, kit, KIT_PASSPHRASE).status == "restored"
    all_verify(people)


def test_export_refuses_short_passphrases_and_existing_files(people, isolated, tmp_path):
    enrol(people)
    cli_fails(2, "at least 10 characters", "key", "export", "--out", str(tmp_path / "k.json"),
              extra_env={"FACESEAL_KIT_PASSPHRASE": "short"})
    assert not (tmp_path / "k.json").exists()
    existing = tmp_path / "existing.json"
    existing.write_text("keep me")
    cli_fails(2, "already exists", "key", "export", "--out", str(existing), extra_env=KIT_ENV)
    assert existing.read_text() == "keep me"
    cli_fails(2, "no terminal to ask for the kit passphrase", "key", "export", "--out", str(tmp_path / "k.json"))
    assert list(tmp_path.glob(".k.json*")) == []  # no temporary file left behind


def test_a_kit_of_an_older_root_is_not_counted(people, isolated, tmp_path):
    enrol(people)
    cli_json("key", "export", "--out", str(tmp_path / "kit.json"), extra_env=KIT_ENV)
    cli_json("rotate-key")
    status = cli_json("status")
    assert status["recovery_kit_exported"] is False


def test_a_kit_is_never_written_inside_the_data_folder(secret_service, people, isolated, tmp_path):
    """With the root in the keychain, a copy of the data folder (a backup, a sync) holds no key: a kit written into
    it, named directly or through a link from outside, would hand the root to whoever holds the copy, behind the
    passphrase alone."""
    enrol(people)
    assert cli_json("status")["root_key"]["store"] == "keychain"
    link = tmp_path / "looks-elsewhere"
    link.symlink_to(isolated / "cache")
    for inside in (isolated / "kit.json", isolated / "cache" / "kit.json", link / "kit.json"):
        cli_fails(2, "inside the data folder", "key", "export", "--out", str(inside), extra_env=KIT_ENV)
        assert not inside.exists()
    assert not cli_json("status")["recovery_kit_exported"]
    assert cli_json("key", "export", "--out", str(tmp_path / "kit.json"), extra_env=KIT_ENV)["status"] == "exported"
