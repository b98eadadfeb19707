"""The command line as a person uses it: results, decisions, and one clear line for every bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from edge_core import ops
from tests.conftest import cli_json, run_cli, tree_snapshot


@pytest.fixture
def people(tmp_path):
    """Embedding files for two people: alice (3 samples), bob (2), plus probes."""
    rng = np.random.default_rng(7)
    alice, bob = rng.normal(size=(1, 64)), rng.normal(size=(1, 64))
    files = {
        "alice": alice + 0.05 * rng.normal(size=(3, 64)),
        "bob": bob + 0.05 * rng.normal(size=(2, 64)),
        "alice_probe": (alice + 0.05 * rng.normal(size=(1, 64)))[0],
        "stranger": rng.normal(size=64),
    }
    out = {}
    for name, array in files.items():
        out[name] = tmp_path / f"{name}.npy"
        np.save(out[name], array.astype(np.float32))
    return out


def enrol(people):
    for name in ("alice", "bob"):
        result = run_cli("enroll", "--consent", name, "--embedding", str(people[name]), "--json")
        assert result.returncode == 0, result.stderr


def test_enrol_verify_identify_list(people):
    enrol(people)
    verify = run_cli("verify", "alice", "--embedding", str(people["alice_probe"]), "--json")
    assert verify.returncode == 0
    decision = json.loads(verify.stdout)
    assert decision["match"] is True and decision["score"] > 0.9 and decision["threshold"] == 0.45
    wrong = run_cli("verify", "bob", "--embedding", str(people["alice_probe"]), "--json")
    assert wrong.returncode == 10 and json.loads(wrong.stdout)["match"] is False
    who = json.loads(run_cli("identify", "--embedding", str(people["alice_probe"]), "--json").stdout)
    assert who["name"] == "alice" and who["match"] is True
    nobody = run_cli("identify", "--embedding", str(people["stranger"]), "--json")
    assert nobody.returncode == 10 and json.loads(nobody.stdout)["match"] is False
    listed = json.loads(run_cli("list", "--json").stdout)
    assert [(i["name"], i["samples"]) for i in listed] == [("alice", 3), ("bob", 2)]
    human = run_cli("verify", "alice", "--embedding", str(people["alice_probe"]))
    assert "match: True" in human.stdout and "score:" in human.stdout


def test_status_reports_keys_counts_and_path(people, isolated):
    enrol(people)
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["data_dir"] == str(isolated)
    assert status["root_key"]["store"] == "file" and status["root_key"]["age_days"] == 0.0
    assert status["vault_key"]["version"] == 1
    assert (status["identities"], status["templates"]) == (2, 5)


def test_enrolling_the_same_name_twice_is_refused_unless_adding(people):
    enrol(people)
    again = run_cli("enroll", "--consent", "alice", "--embedding", str(people["alice"]))
    assert again.returncode == 1 and "already enrolled" in again.stderr
    added = run_cli("enroll", "--consent", "alice", "--add", "--embedding", str(people["alice_probe"]), "--json")
    assert json.loads(added.stdout)["samples"] == 1
    assert json.loads(run_cli("list", "--json").stdout)[0]["samples"] == 4


def test_templates_from_another_pack_are_not_compared(people):
    enrol(people)
    result = run_cli("verify", "alice", "--pack", "open", "--embedding", str(people["alice_probe"]))
    assert result.returncode == 2 and "not comparable" in result.stderr


@pytest.mark.parametrize(
    "content, message",
    [
        (np.arange(64), "floating-point"),
        (np.zeros((2, 3, 4), np.float32), "(k, d) array"),
        (np.zeros(64, np.float32), "all-zero"),
        (np.full(64, np.nan, np.float32), "NaN"),
        (np.array(["a", "b"]), "floating-point"),
        (b"not numpy at all", "not a NumPy .npy file"),
        (np.ones((2, 64), np.float32), "take one"),
    ],
)
def test_bad_embedding_files_get_one_line_and_change_nothing(people, tmp_path, isolated, content, message):
    enrol(people)
    before = tree_snapshot(isolated)
    path = tmp_path / "bad.npy"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content)
    result = run_cli("verify", "alice", "--embedding", str(path))
    assert result.returncode == 2 and message in result.stderr
    if message != "take one":
        enrolled = run_cli("enroll", "--consent", "carol", "--embedding", str(path))
        assert enrolled.returncode == 2 and message in enrolled.stderr
    after = tree_snapshot(isolated)
    assert after["faceseal.db"] == before["faceseal.db"]
    assert json.loads(run_cli("list", "--json").stdout)[-1]["name"] == "bob"


def test_unknown_identity_and_usage_errors_are_one_line(people):
    enrol(people)
    for args, code, text in [
        (("verify", "nobody", "--embedding", str(people["alice_probe"])), 1, "no identity named 'nobody'"),
        (("delete-identity", "nobody", "--yes"), 1, "no identity named 'nobody'"),
        (("enroll", "--consent", "x"), 2, "--embedding"),
        (("frobnicate",), 2, "invalid choice"),
        (("enroll", "--consent", " padded ", "--embedding", str(people["alice"])), 2, "printable characters"),
        (("verify", "alice", "--embedding", "/no/such/file.npy"), 2, "does not exist"),
    ]:
        result = run_cli(*args, "--json")
        assert result.returncode == code, (args, result.stderr)
        assert text in result.stderr
        assert json.loads(result.stdout)["error"]


def test_destructive_commands_need_confirmation(people):
    enrol(people)
    refused = run_cli("delete-identity", "alice")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert run_cli("reset").returncode == 2
    assert len(json.loads(run_cli("list", "--json").stdout)) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip-page", "empty"])
def test_damaged_database_is_reported_and_left_byte_for_byte(people, isolated, damage):
    enrol(people)
    db = isolated / "faceseal.db"
    data = bytearray(db.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2 + 100]
    elif damage == "garbage":
        data = bytearray(os.urandom(len(data)))
    elif damage == "flip-page":
        data[5000] ^= 0xFF
    else:
        data = bytearray()
    db.write_bytes(bytes(data))
    before = tree_snapshot(isolated)
    for command in (("status",), ("list",), ("enroll", "--consent", "carol", "--embedding", str(people["alice"]))):
        result = run_cli(*command)
        assert result.returncode == 4, (damage, command, result.stderr)
        assert "left it as it is" in result.stderr or "failed authentication" in result.stderr
    after = tree_snapshot(isolated)
    after.pop("audit-inbox", None)  # the failed unlock, sealed for the audit log
    assert after == before


def test_missing_key_store_is_never_reinitialised(people, isolated):
    enrol(people)
    (isolated / "keys" / "keystore.json").unlink()
    before = tree_snapshot(isolated)
    result = run_cli("status")
    assert result.returncode == 4 and "key store" in result.stderr
    assert tree_snapshot(isolated) == before


@pytest.mark.parametrize("content", [b"{", b"{}", b'{"format": 1}', b"\x00" * 50])
def test_damaged_key_store_is_refused(people, isolated, content):
    enrol(people)
    (isolated / "keys" / "keystore.json").write_bytes(content)
    before = tree_snapshot(isolated)
    result = run_cli("list")
    assert result.returncode == 4 and "damaged" in result.stderr
    assert tree_snapshot(isolated) == before


def test_a_tampered_template_is_skipped_reported_and_others_still_open(people, isolated):
    enrol(people)
    with ops.open_vault() as vault:
        tid, blob = vault.conn.execute(
            "SELECT t.id, t.blob FROM templates t JOIN identities i ON i.id = t.identity_id WHERE i.name='alice' LIMIT 1"
        ).fetchone()
        blob = bytearray(blob)
        blob[-1] ^= 1
        vault.conn.execute("UPDATE templates SET blob = ? WHERE id = ?", (bytes(blob), tid))
    answer = cli_json("verify", "alice", "--embedding", str(people["alice_probe"]))
    assert answer["match"] is True and answer["skipped"] == 1  # her other templates still decide, and it says so
    damaged = [e for e in cli_json("audit", "list") if e["kind"] == "template_unreadable"]
    assert [e["template"] for e in damaged] == [tid] and "alice" not in str(damaged[0].get("reason"))


NO_SCREEN = ("faceseal: note: no screen to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set), so here "
             "is 'faceseal status' instead; 'faceseal --help' lists the commands")


def test_no_arguments_without_a_screen_prints_status_and_says_why(people):
    """The status comes instead of the window, and one line on stderr says why (it came alone: nothing said that
    the window had been wanted and could not open)."""
    no_screen = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    fresh = run_cli(extra_env=no_screen, check_clean=False)  # status only reads: no vault is made
    assert fresh.returncode == 2 and fresh.stderr.splitlines()[0] == NO_SCREEN
    assert "there is no FaceSeal vault" in fresh.stderr and "Traceback" not in fresh.stderr
    assert run_cli("enroll", "--consent", "alice", "--embedding", str(people["alice"])).returncode == 0
    result = run_cli(extra_env=no_screen)
    assert result.returncode == 0 and "root_key:" in result.stdout
    assert result.stderr.strip() == NO_SCREEN
    assert run_cli("status", extra_env=no_screen).stderr == "", "a command asked for by name needs no such line"


def _at_a_terminal(command: str, answer: str) -> str:
    """``faceseal COMMAND`` run on a real pseudo-terminal (util-linux's ``script``), ``answer`` typed at it."""
    import shutil
    import subprocess
    import sys

    if shutil.which("script") is None:
        pytest.skip("util-linux's script is needed to give faceseal a terminal")
    return subprocess.run(["script", "-qec", f"{sys.executable} -m app.launcher {command}", "/dev/null"],
                          input=answer + "\n", capture_output=True, text=True, timeout=300).stdout


def test_a_confirmation_is_asked_where_the_person_sees_it(people):
    """The question must reach the terminal: the command line silences file descriptor 2 while a command runs,
    where Python writes an ``input()`` prompt, so a person once faced a silent wait."""
    enrol(people)
    refused = _at_a_terminal("delete-identity alice", "no")
    assert "Type 'yes' to go on" in refused and "cancelled; nothing was changed" in refused
    assert {i["name"] for i in cli_json("list")} == {"alice", "bob"}

    _at_a_terminal("delete-identity alice", "yes")
    assert {i["name"] for i in cli_json("list")} == {"bob"}


def test_help_works_for_the_program_and_every_command():
    """``faceseal --help`` once failed with an internal error: a command's summary said "0.1 %", which argparse
    read as a format directive."""
    import argparse

    from app.launcher import EXTRA
    from edge_core.cli.main import build_parser

    top = run_cli("--help")
    assert top.returncode == 0 and "calibrate" in top.stdout and "1 %, 0.1 % or 0.01 %" in " ".join(top.stdout.split())
    assert "1 %, 0.1 % or 0.01 % false accepts" in " ".join(run_cli("calibrate", "--help").stdout.split())

    def every(parser: argparse.ArgumentParser):
        yield parser
        for action in parser._actions:  # argparse has no public walk of its sub-commands
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from every(sub)

    parsers = list(every(build_parser(EXTRA)))
    assert len(parsers) > 30
    for parser in parsers:
        assert parser.format_help()


def test_end_of_input_at_a_prompt_cancels_in_one_line(people, tmp_path):
    """Ctrl-D at a passphrase prompt was "unexpected internal error (EOFError)"."""
    enrol(people)
    kit = tmp_path / "kit.json"
    said = _at_a_terminal(f"key export --out {kit}", "a passphrase typed once")  # then the input ends
    assert "cancelled at the prompt; nothing was changed" in said and "internal error" not in said
    assert not kit.exists()
    _at_a_terminal("delete-identity alice", "")  # Enter alone is no
    assert {i["name"] for i in cli_json("list")} == {"alice", "bob"}


def test_reading_commands_on_a_folder_without_a_vault_say_so_and_create_nothing(isolated, tmp_path):
    """Issue 26, item 16: 'status' on a new folder made a vault and a root key; so did a failed calibrate."""
    assert not isolated.exists()
    for command in (["status"], ["list"], ["audit", "verify"], ["audit", "list"], ["policy", "show"],
                    ["policy", "describe"], ["telemetry", "status"]):
        result = run_cli(*command, "--json")
        assert result.returncode == 2, (command, result.stderr)
        assert "there is no FaceSeal vault in" in result.stderr and "nothing was created" in result.stderr
        assert json.loads(result.stdout)["kind"] == "NoVault"
        assert not isolated.exists(), command
    photos = tmp_path / "photos"
    photos.mkdir()
    failed = run_cli("calibrate", str(photos), "--pack", "external")
    assert failed.returncode != 0 and not isolated.exists(), failed.stderr
    failed = run_cli("calibrate", str(tmp_path / "absent"))
    assert failed.returncode != 0 and not isolated.exists(), failed.stderr


def test_a_root_kept_in_a_file_is_said_on_stderr_when_it_goes_there_and_in_every_status(people, isolated):
    """Issue 26, item 16: without a Secret Service the root went silently to keys/root_key.hex."""
    made = run_cli("enroll", "--consent", "alice", "--embedding", str(people["alice"]))
    assert made.returncode == 0
    path = isolated / "keys" / "root_key.hex"
    assert path.exists() and str(path) in made.stderr and "move-to-keychain" in made.stderr, made.stderr
    assert "Secret Service" in made.stderr
    again = run_cli("enroll", "--consent", "bob", "--embedding", str(people["bob"]))
    assert again.returncode == 0 and again.stderr == ""  # said when the root went there, not on every command
    for _ in range(2):
        warning = cli_json("status")["root_key"]["warning"]
        assert str(path) in warning and "move-to-keychain" in warning and "Secret Service" in warning
    assert "move-to-keychain" in run_cli("status").stdout


def _video(path, frames: int, image) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (image.shape[1], image.shape[0]))
    for _ in range(frames):
        writer.write(image)
    writer.release()


def test_a_long_read_shows_its_frames_at_a_terminal_and_words_fit_a_file(models_env, tmp_path):
    """Issue 26, item 12: ``enroll --video`` printed nothing for minutes, then told a file to "look at the camera";
    ``identify --video`` on a group video said "only the person enrolling should be in view"."""
    import numpy as np

    from tests.conftest import shared_or_skip

    blank = tmp_path / "blank.avi"
    _video(blank, 12, np.full((240, 320, 3), 90, np.uint8))
    shown = _at_a_terminal(f"enroll nobody --consent --video {blank} --samples 2", "")
    assert "reading frame 1 of 12: no face found" in shown, shown
    assert "look at the camera" not in shown and "0 good frames, fewer than the 2 needed" in shown
    piped = run_cli("enroll", "--consent", "nobody", "--video", str(blank), "--samples", "2")
    assert piped.returncode != 0 and "reading frame" not in piped.stderr and piped.stderr.count("\n") == 1
    assert "most frequent problem: no face found" in piped.stderr and "look at the camera" not in piped.stderr

    import cv2

    group = tmp_path / "group.avi"
    _video(group, 6, cv2.imread(str(shared_or_skip("faces") / "multi_face" / "two_people.jpg")))
    run_cli("init")
    many = run_cli("identify", "--video", str(group))
    assert "more than one face (the largest one can be chosen: --largest)" in many.stderr, many.stderr
    assert "only the person enrolling" not in many.stderr



def test_empty_lists_say_so_in_one_line_and_stay_empty_as_json():
    """'list' and 'signin history' printed nothing at all on a new vault, which reads as a failure."""
    cli_json("init", check_clean=False)  # the new vault's root-file note
    for words, said in ((["list"], "nobody is enrolled yet ('faceseal enroll NAME' enrols someone)"),
                        (["signin", "history"], "no sign-in attempts yet")):
        shown = run_cli(*words)
        assert (shown.returncode, shown.stdout, shown.stderr) == (0, said + "\n", ""), shown
        assert cli_json(*words) == []


def test_init_again_succeeds_and_says_the_vault_was_already_there(people, isolated):
    """A setup script runs 'faceseal init' every time: the second run must not fail, nor read as a creation (it
    printed the status alone). Nothing is written by it."""
    first = run_cli("init", "--json", check_clean=False)
    assert first.returncode == 0 and "already exists" not in first.stderr
    enrol(people)
    before = tree_snapshot(isolated / "keys")
    again = run_cli("init")
    assert again.returncode == 0 and "identities: 2" in again.stdout
    assert again.stderr == (f"faceseal: note: a vault already exists in {isolated}; nothing was created (its status "
                            "follows)\n")
    assert cli_json("init", check_clean=False)["identities"] == 2, "--json stays the status"
    assert tree_snapshot(isolated / "keys") == before
