"""The model pack in use (issue 26, item 7): ``make models`` may leave only the ``open`` pack; FaceSeal then uses it
and says so, and ``faceseal models use PACK`` chooses the pack for the command line and the window alike."""

from __future__ import annotations

import json

from edge_core import ops
from tests.conftest import SHARED, cli_json, run_cli

FACES = SHARED / "faces" / "face_recognition"
OBAMA = [str(FACES / name) for name in ("obama.jpg", "obama1.jpg", "obama2.jpg")]
OBAMA_PROBE = str(FACES / "obama3.jpg")
STAND_IN = "using model pack 'open': the default pack 'yunet512' is not installed " \
           "(choose one with 'faceseal models use PACK')"


def test_with_only_the_open_pack_enrol_and_verify_use_it_and_say_so_once(open_only_env, installed_models):
    run_cli("init")  # its root-file note aside, each command below says one thing on stderr
    before = run_cli("threshold", "--json")
    assert before.returncode == 0 and before.stderr.strip() == f"faceseal: note: {STAND_IN}"
    enrolled = run_cli("enroll", "--consent", "obama", "--image", *OBAMA, "--json")
    assert enrolled.returncode == 0, enrolled.stderr
    assert enrolled.stderr.strip() == f"faceseal: note: {STAND_IN}"
    assert cli_json("list")[0]["pack"] == "open"
    # the pack that enrolled someone is now the choice: installing the default later switches nothing under them
    [pinned] = [e for e in cli_json("audit", "list") if e["kind"] == "pack_chosen"]
    assert (pinned["pack"], pinned["why"]) == ("open", "first enrolment without the default pack")
    with_default = {"FACESEAL_MODELS": str(installed_models)}
    verified = run_cli("verify", "obama", "--image", OBAMA_PROBE, extra_env=with_default)
    assert verified.returncode == 0, verified.stderr
    assert "match: True" in verified.stdout and "pack: open" in verified.stdout
    assert "using model pack" not in verified.stderr


def test_models_use_chooses_the_pack_of_every_command_and_says_who_must_enrol_again(models_env):
    assert cli_json("models", "use", "open") == {"status": "chosen", "pack": "open", "previous": "yunet512",
                                                 "stranded": {}}
    listed = cli_json("models", "list")
    assert [p["name"] for p in listed if p["in_use"]] == [p["name"] for p in listed if p["chosen"]] == ["open"]
    assert next(p for p in listed if p["default"])["name"] == "yunet512"
    chosen = [e for e in cli_json("audit", "list") if e["kind"] == "pack_chosen"]
    assert [(e["pack"], e["previous"]) for e in chosen] == [("open", None)]

    enrolled = run_cli("enroll", "--consent", "obama", "--image", OBAMA[0], "--json")
    assert enrolled.returncode == 0 and "using model pack" not in enrolled.stderr, enrolled.stderr
    assert cli_json("list")[0]["pack"] == "open"
    assert cli_json("models", "use", "open")["status"] == "unchanged"
    assert len([e for e in cli_json("audit", "list") if e["kind"] == "pack_chosen"]) == 1, "no change, no event"

    switched = run_cli("models", "use", "yunet512")
    assert switched.returncode == 0, switched.stderr
    assert switched.stdout.splitlines() == [
        "model pack 'yunet512' is now in use",
        "1 person is enrolled with open; they must be enrolled again to be recognised with yunet512"]
    refused = run_cli("verify", "obama", "--image", OBAMA_PROBE)  # never compared across packs
    assert refused.returncode == 2 and "made by model pack 'open'" in refused.stderr, refused.stderr


def test_models_use_refuses_a_pack_that_is_unknown_or_not_installed_and_changes_nothing(open_only_env, isolated):
    absent = run_cli("models", "use", "scrfd")
    assert absent.returncode == 5 and absent.stdout == ""
    assert absent.stderr.strip() == ("faceseal: error: model pack 'scrfd' is not installed, so it cannot be used; "
                                     "install it first with 'faceseal models install scrfd'")
    assert not ops.vault_exists(isolated), "a refusal makes no vault"
    unknown = run_cli("models", "use", "nope", "--json")
    assert unknown.returncode == 5 and "there is no model pack named 'nope'" in unknown.stderr
    cli_json("models", "use", "open", check_clean=False)  # the new vault's root-file note
    assert run_cli("models", "use", "scrfd").returncode == 5
    assert [p["name"] for p in cli_json("models", "list") if p["chosen"]] == ["open"]

    cli_json("lock")  # a locked vault hides the choice, but not the list (make models reads it)
    locked = run_cli("models", "list", "--json")
    assert locked.returncode == 0 and "the vault's chosen pack cannot be read (the vault is locked" in locked.stderr
    assert [p["name"] for p in json.loads(locked.stdout) if p["in_use"]] == ["open"]


def test_a_chosen_pack_no_longer_installed_gives_way_to_an_installed_one_with_the_notice(models_env, open_pack_only):
    cli_json("models", "use", "scrfd", check_clean=False)
    gone = {"FACESEAL_MODELS": str(open_pack_only)}  # as if scrfd and the default were uninstalled
    shown = run_cli("threshold", "--json", extra_env=gone)
    assert shown.returncode == 0 and '"pack": "open"' in shown.stdout
    assert shown.stderr.strip() == ("faceseal: note: using model pack 'open': the chosen pack 'scrfd' is not "
                                    "installed (choose one with 'faceseal models use PACK')")
    listed = cli_json("models", "list", extra_env=gone)
    assert [p["name"] for p in listed if p["in_use"]] == ["open"]
    assert [p["name"] for p in listed if p["chosen"]] == ["scrfd"]


def _version_pack(**kw) -> str:
    """The ``model pack:`` line of ``faceseal --version``."""
    shown = run_cli("--version", **kw)
    assert shown.returncode == 0, shown.stderr
    return next(line for line in shown.stdout.splitlines() if line.startswith("model pack: "))


def test_version_names_the_pack_in_use_and_when_it_stands_in(models_env, open_pack_only, isolated):
    """A bug report's --version named the default pack, though the vault had chosen another: the scores it
    reports come from the pack in use. The choice is read as 'models list' reads it; a locked vault is said."""
    assert _version_pack().startswith("model pack: yunet512 "), "no vault: the default pack"
    cli_json("models", "use", "scrfd", check_clean=False)  # the new vault's root-file note
    line = _version_pack()
    assert line.startswith("model pack: scrfd ") and line.endswith(f"(installed in {models_env / 'scrfd'})"), line
    gone = {"FACESEAL_MODELS": str(open_pack_only)}  # as if scrfd and the default were uninstalled
    assert _version_pack(extra_env=gone).endswith(
        "; standing in: the chosen pack 'scrfd' is not installed)")
    cli_json("lock")
    locked = _version_pack()
    assert locked.startswith("model pack: yunet512 ") and "the vault's chosen pack cannot be read (the vault is " \
        "locked" in locked, locked
    cli_json("unlock")
    database = isolated / "faceseal.db"
    damaged = bytearray(database.read_bytes())
    damaged[5000:5100] = b"x" * 100
    database.write_bytes(damaged)
    assert "the vault's chosen pack cannot be read (the database is damaged" in _version_pack(), \
        "a bug report about a damaged vault still gets the versions"
