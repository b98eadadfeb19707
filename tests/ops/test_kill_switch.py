"""The kill switch, lock/unlock, and root switches killed at every step."""

from __future__ import annotations

import shutil
import signal

import pytest

from edge_core import ops
from edge_core.errors import RootKeyRevoked, VaultLocked
from edge_core.keys.keystore import KeyStore
from edge_core.vault.layout import Layout
from tests.conftest import KIT_ENV, all_verify, cli_fails, cli_json, enrol, keychain_items, run_cli
from tests.ops.test_crash_safety import (assert_no_dead_keys, back_to_pristine, check_whole, keep_pristine,
                                        populate, trace)


def test_revoke_needs_confirmation_and_warns_without_a_kit(people, isolated):
    enrol(people)
    cli_fails(2, "pass --yes", "key", "revoke")
    all_verify(people)
    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["warning"].startswith("no recovery kit of this root was ever exported")
    assert not (isolated / "keys" / "root_key.hex").exists()
    for command in (["list"], ["status"], ["key", "generate"], ["audit", "list"]):
        cli_fails(3, "root key revoked", *command)


def test_revoke_in_the_keychain_drops_keys_held_by_a_live_process(secret_service, people, isolated, tmp_path):
    enrol(people)
    cli_json("key", "export", "--out", str(tmp_path / "kit.json"), extra_env=KIT_ENV)
    live = ops.open_vault()  # another process, e.g. the app, holding keys in memory
    assert len(live.list_identities()) == 2
    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["destroyed_in"] == ["keychain"] and "warning" not in revoked
    assert keychain_items() == {}
    with pytest.raises(RootKeyRevoked, match="root key revoked"):
        live.list_identities()
    assert live.keys is None  # dropped, not just refused
    with pytest.raises(RootKeyRevoked):
        ops.open_vault()
    restored = cli_json("key", "restore", "--from", str(tmp_path / "kit.json"), extra_env=KIT_ENV)
    assert restored["was_revoked"] is True
    all_verify(people)
    kinds = [e["kind"] for e in cli_json("audit", "list") if e["kind"] != "verification"]
    assert kinds[-2:] == ["root_revoked", "root_restored"]


def test_lock_drops_keys_everywhere_until_unlock(people, isolated):
    enrol(people)
    live = ops.open_vault()
    cli_json("lock")
    with pytest.raises(VaultLocked, match="faceseal unlock"):
        live.list_identities()
    assert live.keys is None  # dropped, not just refused
    cli_fails(3, "the vault is locked", "list")
    with pytest.raises(VaultLocked):
        ops.open_vault()
    unlocked = cli_json("unlock")
    assert unlocked["status"] == "unlocked"
    live = ops.open_vault()
    assert len(live.list_identities()) == 2
    assert ops.lock(vault=live).status == "locked"  # the API the app calls: this process and every other drop their keys
    assert live.keys is None and not live.is_open
    assert ops.is_locked()
    cli_fails(3, "the vault is locked", "list")
    assert ops.unlock().status == "unlocked"
    with ops.open_vault() as live:
        assert len(live.list_identities()) == 2
    all_verify(people)
    kinds = [e["kind"] for e in cli_json("audit", "list")]
    assert kinds.count("vault_locked") == 2 and kinds.count("vault_unlocked") == 2  # lock and unlock are audited


SWITCHES = {
    "import": ["key", "import", "--hex", "5c" * 16 + "a3" * 16],
    "generate": ["key", "generate"],
    "revoke": ["key", "revoke", "--yes"],
}


def restore_pristine(pristine, isolated) -> None:
    shutil.rmtree(isolated)
    shutil.copytree(pristine, isolated)


@pytest.mark.slow
@pytest.mark.parametrize("operation", SWITCHES)
def test_switch_killed_at_every_checkpoint_leaves_one_root(operation, isolated, tmp_path):
    gallery = populate(count=2, samples=2)
    keep_pristine(isolated, tmp_path)
    steps = trace(SWITCHES[operation], tmp_path)
    assert len(steps) >= 2, steps
    for n in range(1, len(steps) + 1):
        back_to_pristine(isolated, tmp_path)
        killed = run_cli(*SWITCHES[operation], extra_env={"FACESEAL_CRASH_AT": str(n)}, check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (n, steps[n - 1], killed.stderr)
        if operation == "revoke":  # recorded before the first checkpoint: the next open finishes it
            with pytest.raises(RootKeyRevoked):
                ops.open_vault()
            assert not (isolated / "keys" / "root_key.hex").exists(), steps[n - 1]
            continue
        check_whole(gallery)
        assert_no_dead_keys(isolated)


HSM_SWITCHES = {
    "move-in": (None, ["key", "move-to-hsm", "--token", "faceseal-test", "--module"]),
    "generate-in-token": ("in", ["key", "generate"]),
    "move-out": ("in", ["key", "move-to-keychain"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("operation", HSM_SWITCHES)
def test_hsm_switch_killed_at_every_checkpoint_leaves_exactly_one_root(operation, softhsm, people, isolated, tmp_path):
    start, args = HSM_SWITCHES[operation]
    args = args + [softhsm.module] if args[-1] == "--module" else args
    enrol(people)
    if start == "in":
        cli_json("key", "move-to-hsm", "--module", softhsm.module, "--token", softhsm.token)
    token_dir = softhsm.conf.parent / "tokens"
    keep_pristine(isolated, tmp_path)
    shutil.copytree(token_dir, tmp_path / "pristine-tokens")
    steps = trace(args, tmp_path)
    assert {"root.activated", "root.wrapped-under-new"} <= set(steps), steps
    for n in range(1, len(steps) + 1):
        back_to_pristine(isolated, tmp_path)
        restore_pristine(tmp_path / "pristine-tokens", token_dir)
        killed = run_cli(*args, extra_env={"FACESEAL_CRASH_AT": str(n)}, check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (n, steps[n - 1], killed.stderr)
        all_verify(people)  # opens (finishing the switch or discarding it) and every template decrypts
        ks = KeyStore.load(Layout(isolated).keystore)
        assert len(ks.wraps) == 1, steps[n - 1]
        in_token = cli_json("status")["root_key"]["store"] == "pkcs11"
        file_root = (isolated / "keys" / "root_key.hex").exists()
        objects = {o["id"]: o["label"] for o in softhsm.objects()}
        assert in_token != file_root, steps[n - 1]  # exactly one home holds the root
        if in_token:
            assert set(ks.wraps) <= set(objects), steps[n - 1]
        # Anything else in the token is a pending object from before the commit: it wraps nothing kept,
        # and the next generate in this token destroys it.
        assert all(label.endswith(".pending") for kid, label in objects.items() if kid not in ks.wraps), steps[n - 1]
        finished = (operation == "move-in" and in_token) or (operation == "move-out" and not in_token)
        if not finished:  # rolled back: the operation still works from here
            assert cli_json(*args)["status"] in ("moved", "generated"), steps[n - 1]
        assert len(softhsm.objects()) == (0 if operation == "move-out" else 1), steps[n - 1]


TPM_SWITCHES = {
    "move-in": (None, ["key", "move-to-tpm"]),
    "rotate-in-tpm": ("in", ["rotate-key"]),
    "move-out": ("in", ["key", "move-to-keychain"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("operation", TPM_SWITCHES)
def test_tpm_switch_killed_at_every_checkpoint_leaves_exactly_one_root(operation, swtpm, people, isolated, tmp_path):
    from tests.keys.test_tpm import tpm_name

    start, args = TPM_SWITCHES[operation]
    enrol(people)
    if start == "in":
        cli_json("key", "move-to-tpm")
    keep_pristine(isolated, tmp_path)
    swtpm.stop()
    shutil.copytree(swtpm.state, tmp_path / "pristine-tpm")
    swtpm.start()
    steps = trace(args, tmp_path)
    assert {"root.activated", "root.wrapped-under-new", "tpm.pointer-written"} & set(steps), steps
    for n in range(1, len(steps) + 1):
        back_to_pristine(isolated, tmp_path)
        swtpm.stop()  # the TPM as it was before the operation too: the data folder alone would be an older copy
        restore_pristine(tmp_path / "pristine-tpm", swtpm.state)
        swtpm.start()
        killed = run_cli(*args, extra_env={"FACESEAL_CRASH_AT": str(n)}, check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (n, steps[n - 1], killed.stderr)
        all_verify(people)  # opens (finishing the switch or discarding it) and every template decrypts
        ks = KeyStore.load(Layout(isolated).keystore)
        assert len(ks.wraps) == 1, steps[n - 1]
        in_tpm = cli_json("status")["root_key"]["store"] == "tpm"
        file_root = (isolated / "keys" / "root_key.hex").exists()
        assert in_tpm != file_root, steps[n - 1]  # exactly one home holds the root
        if in_tpm:
            assert set(ks.wraps) <= {tpm_name(swtpm, h)[4:36] for h in swtpm.persistent()}, steps[n - 1]
        finished = {"move-in": in_tpm, "move-out": not in_tpm, "rotate-in-tpm": False}[operation]
        if not finished:  # rolled back, or a rotation: the operation still works from here
            cli_json(*args)
        # An object an interrupted switch left in the TPM wraps nothing kept; the next switch evicts it.
        assert len(swtpm.persistent()) == (0 if operation == "move-out" else 1), steps[n - 1]
