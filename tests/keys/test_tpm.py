"""The root inside a real software TPM (swtpm): what only a TPM root does, and every way it can fail. Moving it in
and out, rotating, shredding, lock and the kill switch are the root-store suite's (tests/keys/test_root_stores.py)."""

from __future__ import annotations

import json

from tests.conftest import all_verify, cli_fails, cli_json, enrol, run_cli, tree_snapshot


def tpm_name(swtpm, handle: str) -> str:
    """The object's TPM name as tpm2_readpublic reports it (hex)."""
    return next(line.split(":", 1)[1].strip() for line in swtpm.tool("tpm2_readpublic", "-c", handle).splitlines()
                if line.startswith("name:"))


def test_a_new_root_is_made_inside_the_tpm_and_no_key_goes_in_or_out(swtpm, people, isolated):
    """What only a root in hardware does (the rest is the root-store suite, tests/keys/test_root_stores.py): `key
    generate` makes the new root inside the TPM, status names its object, and no key is imported into it or exported
    out of it."""
    enrol(people)
    cli_json("key", "move-to-tpm")
    [first] = swtpm.persistent()
    assert cli_json("key", "generate")["root_store"] == "tpm"
    [second] = swtpm.persistent()
    assert second != first  # a new object, the old one evicted
    status = cli_json("status")["root_key"]
    assert status["store"] == "tpm" and second.lower() in status["where"]  # status names the object
    cli_fails(3, "where keys are generated inside it", "key", "import", "--hex", "5c" * 16 + "a3" * 16)
    cli_fails(3, "no kit can hold it", "key", "export", "--out", str(isolated.parent / "kit.json"),
              extra_env={"FACESEAL_KIT_PASSPHRASE": "correct horse battery staple"})
    assert not (isolated.parent / "kit.json").exists()
    all_verify(people)


def test_wrong_or_missing_pin_is_one_line_and_the_right_one_opens(swtpm, people, isolated, monkeypatch):
    enrol(people)
    cli_json("key", "move-to-tpm", extra_env={"FACESEAL_TPM_PIN": "4711"})
    before = tree_snapshot(isolated)
    for pin in ({"FACESEAL_TPM_PIN": "1234"}, None):
        said = cli_fails(3, "the TPM refused the PIN (FACESEAL_TPM_PIN)", "list", extra_env=pin)
        assert "4711" not in said and "1234" not in said
    assert tree_snapshot(isolated) == before
    monkeypatch.setenv("FACESEAL_TPM_PIN", "4711")
    all_verify(people)


def test_an_owner_password_on_the_tpm_is_named_not_blamed_on_the_pin(swtpm, people, isolated):
    """The owner hierarchy (which makes the counter and the root and evicts them) has a password another program
    set: the refusal names that password, never FaceSeal's PIN, and the vault stays where it was."""
    enrol(people)
    swtpm.tool("tpm2_changeauth", "-c", "owner", "ownersecret")
    before = tree_snapshot(isolated)
    said = cli_fails(3, "the TPM's owner hierarchy has a password", "key", "move-to-tpm",
                     extra_env={"FACESEAL_TPM_PIN": "4711"})
    assert "PIN" not in said and "ownersecret" not in said
    assert tree_snapshot(isolated) == before
    assert swtpm.persistent() == []
    all_verify(people)


def test_a_tpm_that_goes_away_is_one_line_and_nothing_is_lost(swtpm, people, isolated):
    enrol(people)
    cli_json("key", "move-to-tpm")
    before = tree_snapshot(isolated)
    swtpm.stop()
    cli_fails(3, f"no TPM answers at {swtpm.tcti}", "list")
    cli_fails(3, "no TPM answers", "rotate-key")
    assert tree_snapshot(isolated) == before
    swtpm.start()  # the chip is back with what it held
    all_verify(people)


def test_move_without_a_tpm_changes_nothing(people, isolated, monkeypatch, swtpm):
    enrol(people)
    before = tree_snapshot(isolated)
    swtpm.stop()
    cli_fails(3, "nothing was changed", "key", "move-to-tpm")
    assert tree_snapshot(isolated) == before
    assert cli_json("status")["root_key"]["store"] == "file"


def test_a_cleared_tpm_says_so_and_points_to_the_recovery_kit(swtpm, people, isolated):
    enrol(people)
    cli_json("key", "move-to-tpm")
    swtpm.tool("tpm2_clear")
    cli_fails(3, "the TPM no longer holds the root key", "list")


def test_moving_out_and_in_again_keeps_the_vault_opening(swtpm, people, isolated):
    """The TPM's rollback counter leaves with the root: a later move back in starts a new one, never refused."""
    enrol(people)
    for _ in range(2):
        cli_json("key", "move-to-tpm")
        cli_json("policy", "set", "lockout_attempts=4")
        all_verify(people)
        assert swtpm.tool("tpm2_getcap", "handles-nv-index").strip()  # the vault's rollback counter
        cli_json("key", "move-to-keychain")
        assert swtpm.persistent() == [] and swtpm.tool("tpm2_getcap", "handles-nv-index").strip() == ""
    all_verify(people)
    assert run_cli("audit", "verify").returncode == 0


def test_a_pointer_planted_in_another_folder_never_destroys_this_vaults_root(swtpm, people, isolated, tmp_path,
                                                                            monkeypatch):
    """Issue 25's attack on the TPM: a folder whose keys/tpm.json names another vault's object, then the kill switch
    run on that folder: only objects bearing the folder's own vault tag are ever evicted."""
    enrol(people)
    cli_json("key", "move-to-tpm")
    [mine] = swtpm.persistent()
    other = tmp_path / "other-home"
    run_cli("init", extra_env={"FACESEAL_HOME": str(other)})
    (other / "keys" / "tpm.json").write_bytes((isolated / "keys" / "tpm.json").read_bytes())
    (other / "keys" / "tpm.json").chmod(0o600)
    for command in (["key", "revoke", "--yes"], ["rotate-key"]):
        run_cli(*command, extra_env={"FACESEAL_HOME": str(other)}, check_clean=True)
    assert swtpm.persistent() == [mine]
    all_verify(people)


def fill_persistent_memory(swtpm) -> int:
    """Make one primary key persistent under every handle the TPM takes until it says TPM_RC_NV_SPACE, as other
    programs' keys would; returns how many it took."""
    from tpm2_pytss import ESAPI, ESYS_TR, TPM2_RC, TPM2B_PUBLIC, TPM2B_SENSITIVE_CREATE, TPMA_OBJECT, TCTILdr, TSS2_Exception

    esys = ESAPI(TCTILdr.parse(swtpm.tcti))
    try:
        primary, *_ = esys.create_primary(TPM2B_SENSITIVE_CREATE(), TPM2B_PUBLIC.parse(
            "ecc256:aes128cfb", objectAttributes=TPMA_OBJECT.DEFAULT_TPM2_TOOLS_CREATEPRIMARY_ATTRS))
        for n in range(1000):
            try:
                esys.evict_control(ESYS_TR.OWNER, primary, 0x81000100 + n)
            except TSS2_Exception as exc:
                assert exc.error == TPM2_RC.NV_SPACE, exc
                return n
        raise AssertionError("the TPM never filled up")
    finally:
        esys.close()


def test_a_tpm_with_no_room_left_is_one_line_and_changes_nothing(swtpm, people, isolated):
    """Every persistent slot of the TPM taken (by other programs' keys): the move is refused, nothing changed."""
    enrol(people)
    assert fill_persistent_memory(swtpm) > 0
    before = tree_snapshot(isolated)
    cli_fails(3, "the TPM has no room left for another persistent key", "key", "move-to-tpm")
    assert tree_snapshot(isolated) == before
    assert swtpm.tool("tpm2_getcap", "handles-nv-index").strip() == "", "the counter made for the move is undone"
    assert cli_json("status")["root_key"]["store"] == "file"
    all_verify(people)


def fill_nv_indices(swtpm) -> int:
    """Define NV indices, as other programs' would, until the TPM says TPM_RC_NV_SPACE even for a counter (big
    ordinary ones first, then counters in what is left); returns how many it took. The TPM keeps some room for
    persistent objects that indices may not use, so a key can still be made: only the counter finds no room."""
    from tpm2_pytss import (ESAPI, ESYS_TR, TPM2_ALG, TPM2_NT, TPM2_RC, TPM2B_AUTH, TPM2B_NV_PUBLIC, TPMA_NV,
                            TPMS_NV_PUBLIC, TCTILdr, TSS2_Exception)

    esys = ESAPI(TCTILdr.parse(swtpm.tcti))
    defined = 0
    try:
        for kind, size in ((TPM2_NT.ORDINARY, 2048), (TPM2_NT.ORDINARY, 256), (TPM2_NT.COUNTER, 8)):
            attributes = TPMA_NV.OWNERWRITE | TPMA_NV.OWNERREAD | TPMA_NV.NO_DA | (kind << TPMA_NV.TPM2_NT_SHIFT)
            while True:
                public = TPM2B_NV_PUBLIC(nvPublic=TPMS_NV_PUBLIC(
                    nvIndex=0x01500000 + defined, nameAlg=TPM2_ALG.SHA256, attributes=attributes, dataSize=size))
                try:
                    esys.nv_define_space(TPM2B_AUTH(), public, ESYS_TR.OWNER)
                except TSS2_Exception as exc:
                    assert exc.error == TPM2_RC.NV_SPACE, exc
                    break
                defined += 1
        return defined
    finally:
        esys.close()


def test_no_nv_space_for_the_rollback_counter_refuses_the_move_in_one_line_and_changes_nothing(swtpm, people,
                                                                                              isolated):
    """Issue 29: the TPM's NV memory full of other programs' indices. Moving the root in makes this vault's rollback
    counter there: the move is refused in one line naming what ran out, before anything changed, and the vault opens
    as before (it used to move the root all the same and leave the vault without its counter, silently)."""
    enrol(people)
    assert fill_nv_indices(swtpm) > 0
    indices = swtpm.tool("tpm2_getcap", "handles-nv-index")
    before = tree_snapshot(isolated)
    said = cli_fails(3, "the TPM has no NV space left for this vault's rollback counter", "key", "move-to-tpm")
    assert "nothing was changed" in said
    assert tree_snapshot(isolated) == before
    assert swtpm.persistent() == [] and swtpm.tool("tpm2_getcap", "handles-nv-index") == indices
    assert cli_json("status")["root_key"]["store"] == "file"
    all_verify(people)


def test_a_root_bound_to_the_boot_state_opens_only_while_pcr7_is_as_it_was(swtpm, people, isolated):
    """Off by default; bound, a changed Secure Boot state (PCR 7 extended) is one line and nothing is lost: booting
    as before (a restarted TPM starts with PCR 7 reset) opens everything again."""
    enrol(people)
    moved = cli_json("key", "move-to-tpm", "--bind-boot-state")
    assert "bound to this boot state (PCR 7)" in moved["warning"]
    assert cli_json("rotate-key")["root_rotated"]  # a rotation keeps the binding
    [handle] = swtpm.persistent()
    assert "userwithauth" not in swtpm.tool("tpm2_readpublic", "-c", handle).lower()
    all_verify(people)
    before = tree_snapshot(isolated)
    swtpm.tool("tpm2_pcrextend", "7:sha256=" + "ab" * 32)  # what a Secure Boot change measures
    for command in (["list"], ["rotate-key"], ["key", "move-to-keychain"]):
        cli_fails(3, "the boot state (PCR 7", *command)
    assert tree_snapshot(isolated) == before
    swtpm.stop()
    swtpm.start()  # booted as before
    all_verify(people)
    assert cli_json("key", "revoke", "--yes")["destroyed_in"] == ["tpm"]
    assert swtpm.persistent() == []


def test_the_kill_switch_evicts_a_root_bound_to_a_boot_state_unlike_this_one(swtpm, people, isolated):
    """The TPM will not use a root bound to PCR 7 once PCR 7 changed, but evicting it needs the owner's authority,
    not the root's policy: the kill switch destroys it all the same, says why nothing could be recorded, and a boot
    as before brings nothing back."""
    enrol(people)
    cli_json("key", "move-to-tpm", "--bind-boot-state")
    swtpm.tool("tpm2_pcrextend", "7:sha256=" + "ab" * 32)  # a Secure Boot change, or a tampered boot
    cli_fails(3, "the boot state (PCR 7", "list")
    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["destroyed_in"] == ["tpm"]
    assert "evicted it all the same" in revoked["warning"] and "no recovery kit" in revoked["warning"]
    assert swtpm.persistent() == []
    assert not (isolated / "keys" / "tpm.json").exists()
    cli_fails(3, "root key revoked", "list")
    swtpm.stop()
    swtpm.start()  # booted as before: the root is gone for good
    cli_fails(3, "root key revoked", "list")
    assert swtpm.persistent() == []


KIT_PASSPHRASE = {"FACESEAL_KIT_PASSPHRASE": "quartz lantern orchard velvet"}


def test_an_escrowed_root_is_imported_after_its_kit_and_the_kit_opens_the_data_once_the_tpm_is_cleared(
        swtpm, people, isolated, tmp_path):
    enrol(people)
    inside = isolated / "escrow-kit.json"  # a copy of the data folder would then carry the root it escrows
    cli_fails(2, "inside the data folder", "key", "move-to-tpm", "--escrow-kit", str(inside), extra_env=KIT_PASSPHRASE)
    assert not inside.exists() and swtpm.persistent() == [] and cli_json("status")["root_key"]["store"] != "tpm"
    kit = tmp_path / "escrow-kit.json"
    moved = cli_json("key", "move-to-tpm", "--escrow-kit", str(kit), extra_env=KIT_PASSPHRASE)
    assert moved["root_store"] == "tpm" and moved["recovery_kit_exported"]
    assert "The TPM's copy can never be exported" in moved["warning"] and str(kit) in moved["warning"]
    assert kit.stat().st_mode & 0o777 == 0o600
    written = json.loads(kit.read_bytes())
    status = cli_json("status")
    assert status["root_key"]["store"] == "tpm" and status["root_key"]["fingerprint"] == written["fingerprint"]
    [handle] = swtpm.persistent()
    attributes = swtpm.tool("tpm2_readpublic", "-c", handle).lower()
    assert "fixedtpm" in attributes and "fixedparent" in attributes and "sensitivedataorigin" not in attributes
    all_verify(people)
    cli_fails(3, "no kit can hold it", "key", "export", "--out", str(tmp_path / "again.json"),
              extra_env=KIT_PASSPHRASE)
    kinds = [e["kind"] for e in cli_json("audit", "list") if e["kind"] in ("root_moved", "recovery_kit_exported")]
    assert kinds == ["root_moved", "recovery_kit_exported"]

    swtpm.tool("tpm2_clear")  # a new motherboard, or a cleared TPM
    cli_fails(3, "the TPM no longer holds the root key", "list")
    restored = cli_json("key", "restore", "--from", str(kit), extra_env=KIT_PASSPHRASE)
    assert restored["root_fingerprint"] == written["fingerprint"]
    assert not (isolated / "keys" / "tpm.json").exists()
    assert cli_json("status")["root_key"]["store"] == "file"
    all_verify(people)


def test_the_kit_of_an_imported_root_restores_while_the_tpm_still_holds_it_and_evicts_that_copy(
        swtpm, people, isolated, tmp_path):
    enrol(people)
    kit = tmp_path / "escrow-kit.json"
    cli_json("key", "move-to-tpm", "--escrow-kit", str(kit), "--bind-boot-state", extra_env=KIT_PASSPHRASE)
    assert len(swtpm.persistent()) == 1
    cli_json("key", "restore", "--from", str(kit), extra_env=KIT_PASSPHRASE)
    assert swtpm.persistent() == []  # one root, in one place
    all_verify(people)


def test_an_escrow_import_refused_before_it_starts_writes_no_kit_and_changes_nothing(swtpm, people, isolated,
                                                                                     tmp_path):
    enrol(people)
    kit = tmp_path / "escrow-kit.json"
    before = tree_snapshot(isolated)
    cli_fails(2, "too easy to guess", "key", "move-to-tpm", "--escrow-kit", str(kit),
              extra_env={"FACESEAL_KIT_PASSPHRASE": "faceseal recovery kit"})
    swtpm.stop()
    cli_fails(3, "nothing was changed", "key", "move-to-tpm", "--escrow-kit", str(kit), extra_env=KIT_PASSPHRASE)
    assert not kit.exists() and tree_snapshot(isolated) == before
    swtpm.start()
    kit.write_text("mine")
    cli_fails(2, "exists", "key", "move-to-tpm", "--escrow-kit", str(kit), extra_env=KIT_PASSPHRASE)
    assert kit.read_text() == "mine" and tree_snapshot(isolated) == before and swtpm.persistent() == []
    assert swtpm.tool("tpm2_getcap", "handles-nv-index").strip() == "", "the counter made for the import is undone"
    all_verify(people)


def test_version_names_the_tpm2_pytss_in_use(isolated):
    from importlib.metadata import version

    said = run_cli("--version")
    assert said.returncode == 0 and f"tpm2-pytss: {version('tpm2-pytss')}" in said.stdout.splitlines()
