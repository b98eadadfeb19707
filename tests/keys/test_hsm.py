"""Hold your own key: what only a root inside a real SoftHSM2 token does (its PIN, its module), and every way it can be
missing. Moving it in and out, rotating, shredding, lock and the kill switch are the root-store suite's
(tests/keys/test_root_stores.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from edge_core.vault.layout import Layout
from tests.conftest import REPO, all_verify, cli_fails, cli_json, enrol, keychain_items, tree_snapshot


def move_in(hsm, *extra: str, **kw) -> dict:
    return cli_json("key", "move-to-hsm", "--module", hsm.module, "--token", hsm.token, *extra, **kw)


def test_pin_given_to_the_api_is_kept_in_the_keychain(softhsm, secret_service, people, isolated, monkeypatch):
    """The app asks for the PIN and calls the API; later opens find the PIN in the keychain."""
    enrol(people)
    monkeypatch.delenv("FACESEAL_HSM_PIN")
    script = ("import sys; from edge_core import ops\n"
              "with ops.open_vault() as v: ops.move_root_to_hsm(v, sys.argv[1], sys.argv[2], None, sys.argv[3])")
    result = subprocess.run([sys.executable, "-c", script, softhsm.module, softhsm.token, softhsm.pin],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    account = Layout(isolated).keychain_account
    assert keychain_items() == {f"hsm-pin:{account}": softhsm.pin}  # the PIN, and no root, in the keychain
    assert cli_json("status")["root_key"]["store"] == "pkcs11"  # no variable: the kept PIN is used
    all_verify(people)
    cli_json("key", "move-to-keychain")
    assert list(keychain_items()) == [account]  # the PIN is forgotten once the root left the token


def test_file_root_moves_in_and_is_shredded_from_disk(softhsm, people, isolated):
    """From and back to the key file, with no keychain running (the root-store suite, tests/keys/test_root_stores.py,
    moves it from and back to the keychain); `key generate` makes the new root inside the token."""
    enrol(people)
    key_file = isolated / "keys" / "root_key.hex"
    assert key_file.exists()
    move_in(softhsm)
    assert not key_file.exists()
    generated = cli_json("key", "generate")  # a new root made inside the token, old object destroyed
    assert generated["root_store"] == "pkcs11"
    assert len(softhsm.objects()) == 1
    all_verify(people)
    back = cli_json("key", "move-to-keychain")
    assert back["root_store"] == "file" and key_file.exists()
    all_verify(people)


def test_wrong_pin_is_refused_before_anything_changes(softhsm, people, isolated):
    enrol(people)
    before = tree_snapshot(isolated)
    cli_fails(3, "refused the PIN", "key", "move-to-hsm", "--module", softhsm.module, "--token", softhsm.token,
              extra_env={"FACESEAL_HSM_PIN": "000000"})
    assert tree_snapshot(isolated) == before and softhsm.objects() == []
    cli_fails(3, "is not present", "key", "move-to-hsm", "--module", softhsm.module, "--token", "no-such-token")
    cli_fails(3, "is not there", "key", "move-to-hsm", "--module", "/nonexistent/libpkcs11.so", "--token", "x")
    not_a_module = isolated.parent / "not-a-module.so"
    not_a_module.write_bytes(b"\x7fELF garbage")
    cli_fails(3, "could not be loaded as a PKCS#11 module", "key", "move-to-hsm", "--module", str(not_a_module),
              "--token", "x")
    assert tree_snapshot(isolated) == before
    all_verify(people)


def test_without_the_token_nothing_opens_and_the_error_says_why(softhsm, people, isolated, tmp_path):
    enrol(people)
    module_copy = tmp_path / "libsofthsm2-copy.so"
    shutil.copy(softhsm.module, module_copy)
    cli_json("key", "move-to-hsm", "--module", str(module_copy), "--token", softhsm.token)
    all_verify(people)

    cli_fails(3, "refused the PIN", "list", extra_env={"FACESEAL_HSM_PIN": "999999"})
    module_copy.rename(tmp_path / "elsewhere.so")
    cli_fails(3, f"the PKCS#11 module {module_copy} is not there", "list")
    (tmp_path / "elsewhere.so").rename(module_copy)
    tokens = softhsm.conf.parent / "tokens"
    tokens.rename(tokens.with_name("unplugged"))
    tokens.mkdir()
    cli_fails(3, "token 'faceseal-test' is not present", "list")
    tokens.rmdir()
    tokens.with_name("unplugged").rename(tokens)
    all_verify(people)

    softhsm.delete_all()
    before = tree_snapshot(isolated)
    stderr = cli_fails(3, "is no longer in token 'faceseal-test': it was deleted", "list")
    assert "Traceback" not in stderr
    after = tree_snapshot(isolated)
    after.pop("audit-inbox", None)
    before.pop("audit-inbox", None)
    assert after == before  # nothing was re-initialised over the data


def test_kit_cannot_hold_an_hsm_root_and_import_needs_the_keychain(softhsm, people, isolated, tmp_path):
    enrol(people)
    move_in(softhsm)
    cli_fails(3, "never leaves it", "key", "export", "--out", str(tmp_path / "kit.json"))
    assert not (tmp_path / "kit.json").exists()
    cli_fails(3, "move-to-keychain", "key", "import", "--hex", "5a" * 31 + "a5")
    cli_fails(2, "already lives in hardware", "key", "move-to-hsm", "--module", softhsm.module, "--token", softhsm.token)


def test_the_move_says_where_the_pin_is_kept_and_keeps_it_where_asked(softhsm, secret_service, isolated,
                                                                      monkeypatch):
    """Issue 26, item 11: with FACESEAL_HSM_PIN set the PIN was kept nowhere, and nothing said so at the move."""
    account = Layout(isolated).keychain_account
    moved = move_in(softhsm, "--keep-pin", "keychain")
    assert moved["pin_kept"] == "keychain" and "warning" not in moved
    assert keychain_items()[f"hsm-pin:{account}"] == softhsm.pin
    monkeypatch.delenv("FACESEAL_HSM_PIN")
    assert cli_json("status")["root_key"]["store"] == "pkcs11", "a later command finds the PIN without the variable"
    back = cli_json("key", "move-to-keychain")
    assert back["root_store"] == "keychain"

    monkeypatch.setenv("FACESEAL_HSM_PIN", softhsm.pin)
    unasked = move_in(softhsm)  # no terminal to ask at: the variable holds the PIN, and the answer says so
    assert unasked["pin_kept"] == "variable"
    assert "FACESEAL_HSM_PIN must hold it for every later command" in unasked["warning"]
    assert f"hsm-pin:{account}" not in keychain_items()
    monkeypatch.delenv("FACESEAL_HSM_PIN")
    cli_fails(3, "no PIN for token", "status")


def test_without_a_keychain_or_a_terminal_the_pin_hints_name_the_option_that_works(softhsm, people, isolated,
                                                                                      monkeypatch):
    """Without a keychain, README's '--keep-pin keychain' is refused, and without a terminal the PIN cannot be
    asked: each says so in one line naming '--keep-pin variable', which then works. The hints said 'keep it there
    instead' and 'give it in a file' (there is no file for a PIN), naming no option."""
    enrol(people)
    before = tree_snapshot(isolated)
    no_keychain = cli_fails(3, "there is no OS keychain to keep the HSM PIN in", "key", "move-to-hsm", "--module",
                            softhsm.module, "--token", softhsm.token, "--keep-pin", "keychain")
    assert "--keep-pin variable keeps it only in FACESEAL_HSM_PIN" in no_keychain
    assert tree_snapshot(isolated) == before and softhsm.objects() == [], "nothing was changed"
    monkeypatch.delenv("FACESEAL_HSM_PIN")
    no_terminal = cli_fails(2, "no terminal to ask for the PIN of token", "key", "move-to-hsm", "--module",
                            softhsm.module, "--token", softhsm.token)
    assert "set FACESEAL_HSM_PIN to it (--keep-pin variable" in no_terminal and "in a file" not in no_terminal
    moved = move_in(softhsm, "--keep-pin", "variable", extra_env={"FACESEAL_HSM_PIN": softhsm.pin})
    assert moved["pin_kept"] == "variable"
