"""Where the root key lives: keychain first, then FACESEAL_ROOT_KEY, then the 0600 file."""

from __future__ import annotations

import os
import stat

import pytest

from edge_core import ops
from edge_core.errors import InsecureKeyFile, InvalidKeyMaterial, WrongRootKey
from edge_core.vault.layout import Layout
from tests.conftest import keychain_items, run_cli

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
