"""``make run``'s first step, ``make models``: the default pack the window and the CLI use, its licence
notice asked at the terminal and never accepted for the person; otherwise the `open` pack, which is then the pack
in use, said in one line."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge_core.biometrics import default_pack_name, pack_info
from tests.conftest import shared_or_skip

REPO = Path(__file__).resolve().parents[1]


def _make_models(models: Path, terminal_answer: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACESEAL_MODELS": str(models), "MODELS": str(shared_or_skip("models"))}
    if terminal_answer is None:  # no terminal: stdin is not a tty
        return subprocess.run(["make", "-s", "models"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600)
    if shutil.which("script") is None:
        pytest.skip("util-linux's script is needed to give make a terminal")
    return subprocess.run(["script", "-qec", "make -s models", "/dev/null"], cwd=REPO, env=env,
                          input=terminal_answer + "\n", capture_output=True, text=True, timeout=600)


def _installed(models: Path) -> set[str]:
    listed = subprocess.run([sys.executable, "-m", "edge_core.cli.main", "models", "list", "--json"], cwd=REPO,
                            env={**os.environ, "FACESEAL_MODELS": str(models)}, capture_output=True, text=True)
    return {p["name"] for p in json.loads(listed.stdout) if p["installed"]}


def test_accepted_at_the_terminal_the_default_pack_is_installed(tmp_path: Path) -> None:
    assert pack_info(default_pack_name()).licence_notice, "the default pack asks for consent: this test needs that"
    run = _make_models(tmp_path / "models", "yes")
    assert run.returncode == 0, run.stdout[-1500:]
    assert "Type 'yes' to go on" in run.stdout, "the question is shown at the terminal"
    assert _installed(tmp_path / "models") == {default_pack_name()}


def test_declined_or_without_a_terminal_the_open_pack_is_installed_and_said(tmp_path: Path) -> None:
    declined = _make_models(tmp_path / "declined", "no")
    assert declined.returncode == 0 and _installed(tmp_path / "declined") == {"open"}
    assert f"installed the 'open' pack instead of {default_pack_name()}" in declined.stdout
    assert "make models: 'open' is now in use" in declined.stdout, "and it is the pack in use (issue 26, item 7)"

    quiet = _make_models(tmp_path / "quiet", None)
    assert quiet.returncode == 0 and _installed(tmp_path / "quiet") == {"open"}
    notice = pack_info(default_pack_name()).licence_notice
    assert notice in quiet.stdout and "no terminal to ask at" in quiet.stdout, "the notice is shown, not accepted"
    assert "error" not in quiet.stdout + quiet.stderr, "a licence notice is not an error"
    assert "make models: 'open' is now in use" in quiet.stdout
    again = _make_models(tmp_path / "quiet", None)
    assert again.returncode == 0 and "installed the 'open' pack" not in again.stdout, "nothing is reinstalled"


def test_without_a_terminal_the_advice_to_accept_the_licence_is_a_command_that_works(tmp_path: Path) -> None:
    """No pack downloads (the face-mesh files have no address): the advice names the folder ``make models``
    installed from, so the command it gives, run as given (with the consent flag a script adds), installs the
    default pack. It named no folder, and failed with 'cannot be downloaded'."""
    models, source = tmp_path / "models", shared_or_skip("models")
    env = {**os.environ, "FACESEAL_MODELS": str(models)}
    run = subprocess.run(["bash", "scripts/install-models.sh", str(Path(sys.executable).parent), str(source)],
                         cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    [advice] = [line for line in run.stdout.splitlines() if "to accept it, run" in line]
    command = shlex.split(advice.split("run '", 1)[1].rsplit("' at a terminal", 1)[0])
    assert command[-2:] == ["--from", str(source)], advice
    accepted = subprocess.run([*command, "--accept-licence"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=600)
    assert accepted.returncode == 0, accepted.stderr
    assert default_pack_name() in _installed(models)

