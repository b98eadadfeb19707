"""Where the root key lives: keychain first, then FACESEAL_ROOT_KEY, then the 0600 file; and the root-store suite,
the same promises kept by every home a root can have (keychain, key file, PKCS#11 token, TPM)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from edge_core import ops
from edge_core.errors import InsecureKeyFile, InvalidKeyMaterial, WrongRootKey
from edge_core.keys.keystore import KeyStore
from edge_core.keys.material import key_id
from edge_core.vault.layout import Layout
from tests.conftest import all_verify, cli_fails, cli_json, enrol, keychain_items, run_cli

GOOD_HEX = "11" * 32


def test_root_lands_in_the_real_keychain_and_is_read_back_from_there(secret_service, isolated):
    with ops.open_vault() as vault:
        status = ops.status(vault)
        fingerprint = vault.root.fingerprint
    assert status.root_key.store == "keychain"
    account = Layout(isolated).keychain_account
    stored = keychain_items()  # straight from the Secret Service, not through FaceSeal
    assert list(stored) == [account] and len(bytes.fromhex(stored[account])) == 32
    assert not (isolated / "keys" / "root_key.hex").exists()
    # Read back from there: a fresh process finds it and opens the data.
    result = run_cli("status", "--json")
    assert result.returncode == 0, result.stderr
    assert f'"fingerprint": "{fingerprint}"' in result.stdout


def test_root_key_removed_from_keychain_means_nothing_opens(secret_service, isolated):
    ops.open_vault().close()
    keychain_items(delete=True)
    result = run_cli("status")
    assert result.returncode == 3
    assert "no root key found" in result.stderr
    assert (isolated / "faceseal.db").exists()  # never re-initialised over unreadable data


def test_standard_data_directory_uses_the_documented_account(secret_service, monkeypatch, tmp_path):
    monkeypatch.delenv("FACESEAL_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    with ops.open_vault() as vault:
        assert vault.layout.home == tmp_path / "xdg" / "faceseal"
    assert list(keychain_items()) == ["root-key"]


def test_without_keychain_the_fallback_file_is_private(isolated):
    with ops.open_vault() as vault:
        assert ops.status(vault).root_key.store == "file"
    key_file = isolated / "keys" / "root_key.hex"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(isolated.stat().st_mode) == 0o700
    for path in isolated.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_readable_key_file_is_refused_with_the_fix(isolated):
    ops.open_vault().close()
    key_file = isolated / "keys" / "root_key.hex"
    os.chmod(key_file, 0o644)
    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        ops.open_vault()
    result = run_cli("status")
    assert result.returncode == 3 and "accessible by other users" in result.stderr


def test_environment_root_is_used_and_never_written(monkeypatch, isolated):
    monkeypatch.setenv("FACESEAL_ROOT_KEY", GOOD_HEX)
    with ops.open_vault() as vault:
        assert ops.status(vault).root_key.store == "environment"
    assert not (isolated / "keys" / "root_key.hex").exists()
    result = run_cli("rotate-key")
    assert result.returncode == 3 and "FACESEAL_ROOT_KEY" in result.stderr


@pytest.mark.parametrize("value", ["", "zz" * 32, "11" * 31, "11" * 33, "g" * 64, GOOD_HEX + " x"])
def test_malformed_environment_root_is_refused_without_echoing_it(monkeypatch, value):
    monkeypatch.setenv("FACESEAL_ROOT_KEY", value)
    with pytest.raises(InvalidKeyMaterial) as caught:
        ops.open_vault()
    assert "FACESEAL_ROOT_KEY" in str(caught.value) and "64 hex" in str(caught.value)
    if value.strip():
        assert value.strip() not in str(caught.value)
    result = run_cli("init", extra_env={"FACESEAL_ROOT_KEY": value})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and (not value.strip() or value.strip() not in result.stderr)


def test_keychain_wins_over_the_environment(secret_service, monkeypatch):
    ops.open_vault().close()
    monkeypatch.setenv("FACESEAL_ROOT_KEY", GOOD_HEX)
    with ops.open_vault() as vault:
        assert vault.root_store.name == "keychain"


def test_a_different_root_key_is_refused_and_the_data_left_alone(monkeypatch, isolated):
    monkeypatch.setenv("FACESEAL_ROOT_KEY", GOOD_HEX)
    ops.open_vault().close()
    before = {p: p.read_bytes() for p in isolated.rglob("*") if p.is_file() and p.name != "audit-inbox"}
    monkeypatch.setenv("FACESEAL_ROOT_KEY", "22" * 32)
    with pytest.raises(WrongRootKey, match="not the one this data was sealed with"):
        ops.open_vault()
    result = run_cli("list")
    assert result.returncode == 3 and "not the one this data was sealed with" in result.stderr
    assert {p: p.read_bytes() for p in before} == before


# ------------------------------------------------------------------ the root-store suite
@dataclass
class Home:
    """A home of the root as a person sees it: the commands that move the root in and out, and what it holds, read
    with its own tools (Secret Service, the file, the token, tpm2-tools), never through FaceSeal."""

    name: str
    held: Callable[[], list[str]]
    """The key ids of the roots it holds now."""
    move_in: list[str] | None = None
    """The command that moves the root in from the keychain; ``None``: the root is made here when the vault is."""
    move_out: list[str] | None = None


def keychain_home(account: str) -> Home:
    """The keychain; the root moves in from the key file it fell back to while no keychain ran."""
    return Home("keychain", lambda: [key_id(bytes.fromhex(value)) for name, value in keychain_items().items()
                                     if name == account], ["key", "move-to-keychain"])


def file_home(home) -> Home:
    path = home / "keys" / "root_key.hex"
    return Home("file", lambda: [key_id(bytes.fromhex(path.read_text().strip()))] if path.exists() else [])


def pkcs11_home(hsm) -> Home:
    def held() -> list[str]:
        objects = hsm.objects()
        for found in objects:  # the root never leaves the token: it may be used, never read out
            assert (found["label"], found["extractable"], found["sensitive"], found["token"]) == (
                "faceseal-suite-root", False, True, True), found
        return [found["id"] for found in objects]  # a token root's key id is its object's CKA_ID

    return Home("pkcs11", held, ["key", "move-to-hsm", "--module", hsm.module, "--token", hsm.token, "--key-label",
                                 "faceseal-suite-root"], ["key", "move-to-keychain"])


def tpm_home(tpm) -> Home:
    from tests.keys.test_tpm import tpm_name

    # a TPM root's key id is the start of its object's TPM name (after the 2-byte hash algorithm)
    return Home("tpm", lambda: [tpm_name(tpm, handle)[4:36] for handle in tpm.persistent()], ["key", "move-to-tpm"],
                ["key", "move-to-keychain"])


def wraps(home) -> list[str]:
    """The key ids of the roots the key store holds wraps for: after every operation, only the active root's."""
    return list(KeyStore.load(Layout(home).keystore).wraps)


@pytest.mark.parametrize("where", ["keychain", "file", "pkcs11", "tpm"])
def test_every_home_of_the_root_keeps_the_same_promises(where, request, people, isolated):
    """Issue 29's "the root-store test suite runs against it": the same journey for every home of the root, each with
    its real backend (a Secret Service, the 0600 file, a SoftHSM2 token, a software TPM). The root moves in (into
    the keychain from the file, the software roots' one move; into a token or the TPM from the keychain) and the
    home it left holds nothing; shallow and deep rotations keep every template matching and leave only the new root;
    shredding one person leaves the other; lock refuses everything until unlock; a token or TPM root moves back out
    and in again; the kill switch leaves nothing in the home and nothing that opens."""
    account = Layout(isolated).keychain_account
    if where in ("pkcs11", "tpm"):
        request.getfixturevalue("secret_service")  # they move in from the keychain and back out to it
    enrol(people)  # the root is made in the keychain if one runs, else in the file
    if where == "keychain":
        request.getfixturevalue("secret_service")  # a keychain runs only from now on: the root moves in from the file
    origin = file_home(isolated) if where == "keychain" else keychain_home(account)
    home = {"keychain": lambda: keychain_home(account), "file": lambda: file_home(isolated),
            "pkcs11": lambda: pkcs11_home(request.getfixturevalue("softhsm")),
            "tpm": lambda: tpm_home(request.getfixturevalue("swtpm"))}[where]()
    if home.move_in:
        moved = cli_json(*home.move_in)
        assert moved["root_store"] == where and moved["previous_root_destroyed"]
        assert origin.held() == [], f"the {origin.name} still holds the root it moved from"
    roots = [home.held()]
    assert len(roots[0]) == 1 and roots[0] == wraps(isolated)

    for rotation in (["rotate-key"], ["rotate-key", "--deep"]):
        assert cli_json(*rotation)["root_rotated"]
        roots.append(home.held())
        assert roots[-1] == wraps(isolated) and roots[-1] != roots[-2], rotation  # a new root; the old one destroyed
    all_verify(people)

    assert cli_json("delete-identity", "alice", "--yes")["root_rotated"]
    assert home.held() == wraps(isolated) != roots[-1]

    cli_json("lock")
    cli_fails(3, "the vault is locked", "list")
    cli_json("unlock")
    assert [person["name"] for person in cli_json("list")] == ["bob"]
    left = {"bob": people["bob"]}
    all_verify(left)

    if home.move_out:
        cli_json(*home.move_out)
        assert home.held() == [] and origin.held() == wraps(isolated)
        all_verify(left)
        cli_json(*home.move_in)

    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["destroyed_in"] == [where] and "no recovery kit" in revoked["warning"]
    assert home.held() == []
    cli_fails(3, "root key revoked", "list")
