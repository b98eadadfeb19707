"""What a data folder alone may decide: never which library runs, never a wipe, never a chmod, never an open API.

Each test reproduces an outside report with the real ``faceseal`` command (or a
real ``faceseal serve`` over HTTP) and real files, then checks what a person
would notice: one clear line, a non-zero exit, and nothing stored changed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, all_verify, cli_json, enrol, free_port, run_cli, tree_snapshot

ROOT_HEX = secrets.token_hex(32)


def one_line_refusal(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ------------------------------------------------------------ 1. a planted keys/hsm.json
def build_library(tmp_path: Path, target: Path, marker: Path) -> Path:
    """A shared library whose constructor writes ``marker`` (with the HSM PIN it can see) when loaded."""
    source = tmp_path / "planted.c"
    source.write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n"
        "__attribute__((constructor)) static void planted(void) {\n"
        f'  FILE *f = fopen("{marker}", "w");\n'
        '  if (f) { const char *pin = getenv("FACESEAL_HSM_PIN"); fputs(pin ? pin : "-", f); fclose(f); }\n'
        "}\n"
    )
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(target), str(source)], check=True, timeout=120)
    return target


def plant_pointer(home: Path, module: str) -> None:
    pointer = home / "keys" / "hsm.json"
    pointer.write_text(json.dumps({"module": module, "token": "faceseal", "key_label": "faceseal-root",
                                   "kid": "00" * 16, "retired": False}))
    pointer.chmod(0o600)


@pytest.mark.parametrize("naming", ["inside-data-folder", "through-a-system-folder", "symlink-in-tmp"])
def test_planted_hsm_pointer_never_loads_its_library(naming, isolated, tmp_path):
    env = {"FACESEAL_ROOT_KEY": ROOT_HEX, "FACESEAL_HSM_PIN": "123456"}
    cli_json("init", extra_env=env)  # a vault whose root comes from the environment
    marker = tmp_path / "constructor-ran"
    library = build_library(tmp_path, isolated / "keys" / "libplanted.so", marker)
    if naming == "inside-data-folder":
        named = str(library)
    elif naming == "through-a-system-folder":  # resolves to the data folder, whatever the prefix says
        named = "/usr/lib/softhsm/../../.." + str(library)
    else:
        link = tmp_path / "libsofthsm2.so"
        link.symlink_to(library)
        named = str(link)
    plant_pointer(isolated, named)
    before = tree_snapshot(isolated)

    result = run_cli("status", extra_env=env, check_clean=False)

    assert not marker.exists(), "the planted library was loaded"
    line = one_line_refusal(result)
    assert "FACESEAL_PKCS11_MODULE" in line and "123456" not in line
    assert tree_snapshot(isolated) == before


def test_a_module_the_administrator_names_is_the_one_loaded(isolated, tmp_path):
    """The gate is the administrator's own setting: naming the library in FACESEAL_PKCS11_MODULE loads it."""
    env = {"FACESEAL_ROOT_KEY": ROOT_HEX, "FACESEAL_HSM_PIN": "123456"}
    cli_json("init", extra_env=env)
    marker = tmp_path / "constructor-ran"
    library = build_library(tmp_path, tmp_path / "libvendor.so", marker)
    plant_pointer(isolated, str(library))
    result = run_cli("status", extra_env=dict(env, FACESEAL_PKCS11_MODULE=str(library)), check_clean=False)
    assert marker.exists()  # it was trusted, so it ran; it is no PKCS#11 module, which is said in one line
    assert "could not be loaded as a PKCS#11 module" in one_line_refusal(result)


# ------------------------------------------------------------ 2. a stray keys/.initialising
def stray_marker_contents(home: Path) -> dict[str, bytes]:
    public = json.loads((home / "keys" / "keystore.json").read_text())["audit_inbox_public_key"]
    return {"empty": b"", "other-id": secrets.token_hex(16).encode(), "this-vault's-id": public.encode()}


@pytest.mark.parametrize("content", ["empty", "other-id", "this-vault's-id"])
def test_stray_initialising_marker_never_wipes_the_vault(content, people, isolated):
    enrol(people)
    marker = isolated / "keys" / ".initialising"
    marker.write_bytes(stray_marker_contents(isolated)[content])
    before = tree_snapshot(isolated)

    result = run_cli("status", check_clean=False)

    line = one_line_refusal(result)
    assert ".initialising" in line
    assert tree_snapshot(isolated) == before
    marker.unlink()
    assert cli_json("status")["identities"] == 2
    all_verify(people)


def test_creation_killed_at_every_step_starts_over_cleanly(isolated, tmp_path):
    trace_file = tmp_path / "trace.txt"
    assert run_cli("init", extra_env={"FACESEAL_CRASH_TRACE": str(trace_file)}).returncode == 0
    steps = [s for s in trace_file.read_text().split() if s.startswith("init.")]
    assert len(steps) >= 3, steps
    for number in range(1, len(steps) + 1):
        home = tmp_path / f"home-{number}"
        env = {"FACESEAL_HOME": str(home)}
        killed = run_cli("init", extra_env=dict(env, FACESEAL_CRASH_AT=str(number)), check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (number, killed.stderr)
        status = cli_json("status", extra_env=env)
        assert status["identities"] == 0 and status["audit_events"] == 1, (number, status)
        assert not (home / "keys" / ".initialising").exists()
        assert cli_json("audit", "verify", extra_env=env)["status"] == "intact"


# ------------------------------------------------------------ 3. FACESEAL_HOME on a folder of others
def owned_by_someone_else(folder: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    os.chown(folder, 65534, 65534)
    folder.chmod(0o700)


@pytest.mark.parametrize("kind", ["shared-1777", "group-writable", "other-user"])
def test_data_folder_others_can_write_is_refused_and_left_alone(kind, tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "someone-elses-file").write_text("keep me")
    if kind == "shared-1777":
        folder.chmod(0o1777)
    elif kind == "group-writable":
        folder.chmod(0o770)
    else:
        owned_by_someone_else(folder)
    before_mode = folder.stat().st_mode
    before_owner = folder.stat().st_uid
    before = tree_snapshot(folder)
    monkeypatch.setenv("FACESEAL_HOME", str(folder))

    for command in (("status",), ("list",)):
        line = one_line_refusal(run_cli(*command, check_clean=False))
        assert str(folder) in line
    assert folder.stat().st_mode == before_mode and folder.stat().st_uid == before_owner
    assert tree_snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["someone-elses-file"]


def test_folders_faceseal_makes_are_private_and_an_own_folder_keeps_its_mode(tmp_path, monkeypatch):
    new = tmp_path / "new" / "deeper"
    monkeypatch.setenv("FACESEAL_HOME", str(new))
    cli_json("init")
    assert stat.S_IMODE(new.stat().st_mode) == 0o700 and stat.S_IMODE((new / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700

    own = tmp_path / "own"
    own.mkdir()
    own.chmod(0o755)
    monkeypatch.setenv("FACESEAL_HOME", str(own))
    cli_json("init")
    assert stat.S_IMODE(own.stat().st_mode) == 0o755  # the person's folder: FaceSeal does not change its mode
    assert stat.S_IMODE((own / "keys").stat().st_mode) == 0o700


# ------------------------------------------------------------ 4. an empty or malformed edge_token
def start_serve(port: int) -> subprocess.Popen:
    import httpx

    process = subprocess.Popen([sys.executable, "-m", "app.launcher", "serve", "--port", str(port)], cwd=REPO,
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # bounded wait for the port to answer (no timing is asserted)
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2)
            return process
        except httpx.TransportError:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read())
            time.sleep(0.1)
    raise AssertionError("faceseal serve never answered")


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    return process.stderr.read()


def plant_token(home: Path, content: bytes) -> Path:
    """``content`` written as ``<home>/edge_token`` (0600, as FaceSeal's own), before any serve starts."""
    token_file = home / "edge_token"
    token_file.write_bytes(content)
    token_file.chmod(0o600)
    return token_file


@pytest.mark.parametrize("content", [b"", b"   \n", b"\t", b"short-token", b"A" * 42, b"\xff" * 48,
                                     b"has spaces in the middle of a long enough token value"])
def test_empty_or_malformed_token_is_replaced_before_serving(content, isolated):
    import httpx

    cli_json("init")
    token_file = plant_token(isolated, content)
    port = free_port()
    process = start_serve(port)
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        old = content.decode("ascii", "replace").strip()
        presented_tokens = ["", old] if old.isascii() and old.isprintable() else [""]
        for presented in presented_tokens:  # "Bearer" alone is an empty bearer token
            answer = httpx.get(base + "/status", headers={"Authorization": f"Bearer {presented}".strip()}, timeout=30)
            assert answer.status_code == 401, (presented, answer.text)
        assert httpx.get(base + "/status", timeout=30).status_code == 401
        new = token_file.read_text("ascii")
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", new), new
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        answer = httpx.get(base + "/status", headers={"Authorization": f"Bearer {new}"}, timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        stderr = stop(process)
    notices = [line for line in stderr.splitlines() if "edge_token" in line and "new" in line]
    assert len(notices) == 1, stderr
    assert new not in stderr


# A well-formed token is kept only when FaceSeal issued it for this vault (issue 25):
# tests/security/test_unauthenticated_folder.py::test_a_token_faceseal_issued_is_kept_across_restarts_and_rotation_is_honoured
