"""Resource exhaustion and small leaks: a full disk, weak kit passphrases, unbounded inputs, stray stderr lines.

Each test runs the real ``faceseal`` (or the real admin API / collector over
HTTP) as an outside attacker would. The full disk is a real tmpfs of a few
megabytes mounted for the test (root only; unmounted in a finalizer).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import numpy as np
import pytest

from edge_core.keys.keystore import KeyStore
from tests.conftest import (
    KIT_ENV,
    REPO,
    cli_fails,
    cli_json,
    enrol,
    run_cli,
    serve_api,
    shared_or_skip,
    tree_snapshot,
)
from tests.telemetry.conftest import collector, key  # noqa: F401  (the real collector and a device key)

DISK_FULL_EXIT = 6


# ------------------------------------------------------------------ a small, really full disk
@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh 8 MiB tmpfs holding this test's FACESEAL_HOME."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        home = mount / "home"
        monkeypatch.setenv("FACESEAL_HOME", str(home))
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(mount: Path) -> Path:
    """Write a filler file until the disk says ENOSPC, to the last byte."""
    filler = mount / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def assert_unchanged(home: Path, before: dict[str, bytes]) -> None:
    """Every file of ``home`` as in ``before``; SQLite may leave an empty write-ahead log and the start of its
    index (no data in them)."""
    after = tree_snapshot(home)
    assert after.pop("faceseal.db-wal", b"") == b"" and len(after.pop("faceseal.db-shm", b"")) < 4096
    assert {k: v for k, v in before.items() if k not in ("faceseal.db-wal", "faceseal.db-shm")} == after


def embedding_file(folder: Path, name: str, seed: int) -> Path:
    path = folder / f"{name}.npy"
    np.save(path, (np.random.default_rng(seed).normal(size=32) + 0.05 * np.random.default_rng(seed + 100).normal(size=(2, 32))).astype(np.float32))
    return path


def test_kill_switch_destroys_the_root_on_a_full_disk(small_disk, people, tmp_path):
    home = small_disk / "home"
    enrol(people)
    kit = tmp_path / "kit.json"  # on the real disk
    cli_json("key", "export", "--out", str(kit), extra_env=KIT_ENV)
    filler = fill(small_disk)
    revoked = cli_json("key", "revoke", "--yes")
    assert revoked["status"] == "revoked"
    assert not (home / "keys" / "root_key.hex").exists(), "the root survived the kill switch"
    assert KeyStore.load(home / "keys" / "keystore.json").revoked is not None
    cli_fails(3, "root key revoked", "status")
    # Space comes back; the kit restores, and the revocation is in the audit log before the restore.
    filler.unlink()
    assert cli_json("key", "restore", "--from", str(kit), extra_env=KIT_ENV)["was_revoked"] is True
    events = cli_json("audit", "list")
    kinds = [e["kind"] for e in events]
    assert kinds[-2:] == ["root_revoked", "root_restored"]
    assert cli_json("audit", "verify")["status"] == "intact"


def enrolled_then_full(small_disk: Path, people: dict, tmp_path: Path) -> tuple[Path, Path, Path, dict[str, bytes]]:
    """Alice and Bob enrolled, then the disk filled: (data folder, Carol's embedding file, filler, every file)."""
    home = small_disk / "home"
    enrol(people)
    probe = embedding_file(tmp_path, "carol", 5)
    filler = fill(small_disk)
    return home, probe, filler, tree_snapshot(home)


def test_a_full_disk_is_reported_as_a_full_disk(small_disk, people, tmp_path):
    home, probe, filler, before = enrolled_then_full(small_disk, people, tmp_path)
    # the database cannot take a new person (SQLite's "database or disk is full")
    result = run_cli("enroll", "--consent", "carol", "--embedding", str(probe), "--json")
    assert result.returncode == DISK_FULL_EXIT, result.stderr
    assert "disk" in result.stderr and "full" in result.stderr and "damaged" not in result.stderr
    assert json.loads(result.stdout)["kind"] == "DiskFull"
    # a key operation cannot write its key store (OSError ENOSPC)
    stderr = cli_fails(DISK_FULL_EXIT, "is full", "key", "generate")
    assert "internal" not in stderr
    assert_unchanged(home, before)
    filler.unlink()
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"]


def test_the_admin_api_answers_507_on_a_full_disk(small_disk, people):
    home = small_disk / "home"
    enrol(people)
    with serve_api(home) as (base, token, _process):
        filler = fill(small_disk)
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.post(base + "/api/v1/admin/rotate-key", headers=headers, timeout=60)
        # reading is not writing (issue 26, item 15): what only reads still answers
        reads = {path: httpx.get(base + path, headers=headers, timeout=60)
                 for path in ("/api/v1/status", "/api/v1/identities", "/api/v1/policy", "/api/v1/audit/verify")}
        filler.unlink()
    assert answer.status_code == 507, answer.text
    assert answer.json()["kind"] == "DiskFull" and "full" in answer.json()["error"]
    assert {path: r.status_code for path, r in reads.items()} == dict.fromkeys(reads, 200)
    assert [p["name"] for p in reads["/api/v1/identities"].json()] == ["alice", "bob"]


# ------------------------------------------------------------------ recovery kit passphrases
def test_a_guessable_kit_passphrase_is_refused(people, isolated, tmp_path):
    enrol(people)
    before = tree_snapshot(isolated)
    stderr = cli_fails(2, "too easy to guess", "key", "export", "--out", str(tmp_path / "kit.json"),
                       extra_env={"FACESEAL_KIT_PASSPHRASE": "password12"})
    assert "password12" not in stderr
    assert not (tmp_path / "kit.json").exists()
    assert tree_snapshot(isolated) == before
    cli_fails(2, "too easy to guess", "key", "export", "--out", str(tmp_path / "kit.json"),
              extra_env={"FACESEAL_KIT_PASSPHRASE": "faceseal1234"})
    assert cli_json("key", "export", "--out", str(tmp_path / "kit.json"), extra_env=KIT_ENV)["status"] == "exported"


# ------------------------------------------------------------------ unbounded kit file
@pytest.mark.parametrize("source", ["/dev/zero", "big"])
def test_restore_refuses_a_kit_that_is_not_a_small_regular_file(people, isolated, tmp_path, source):
    enrol(people)
    if source == "big":
        path = tmp_path / "big.json"
        path.write_bytes(b" " * (1 << 20) + b"{}")
        source = str(path)
    before = tree_snapshot(isolated)
    stderr = cli_fails(2, "recovery kit", "key", "restore", "--from", source, extra_env=KIT_ENV)
    assert len(stderr.strip().splitlines()) == 1
    assert tree_snapshot(isolated) == before


# ------------------------------------------------------------------ one line on stderr
def broken_png(folder: Path) -> Path:
    import cv2

    photo = shared_or_skip("faces", "deepface", "img1.jpg")
    ok, encoded = cv2.imencode(".png", cv2.imread(str(photo)))
    assert ok
    path = folder / "truncated.png"
    path.write_bytes(encoded.tobytes()[: len(encoded) // 2])
    return path


def test_library_warnings_never_reach_stderr(models_env, tmp_path):
    result = run_cli("enroll", "--consent", "dave", "--image", str(broken_png(tmp_path)), check_clean=False)
    assert result.returncode == 2
    assert result.stderr.startswith("faceseal: error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    huge = tmp_path / "huge.npy"
    np.save(huge, np.full(32, 1e300, dtype=np.float64))  # numpy overflows while casting
    result = run_cli("enroll", "--consent", "erin", "--embedding", str(huge), check_clean=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_closed_standard_output_ends_quietly(people, isolated):
    enrol(people)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `faceseal list | head -0`: the reader is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "app.launcher", "list"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ), timeout=300)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_arguments_that_are_not_utf8_are_refused_in_one_line(people, isolated, tmp_path):
    enrol(people)
    probe = embedding_file(tmp_path, "probe", 9)
    before = tree_snapshot(isolated)
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "app.launcher", "enroll", "--consent", b"\xff\xfe", "--embedding", str(probe)],
                          capture_output=True, cwd=REPO, env=env, timeout=300)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "UTF-8" in stderr
    assert tree_snapshot(isolated) == before


# ------------------------------------------------------------------ the admin API's body size
def raw_request(base: str, head: str, body: bytes, chunks: int = 1) -> bytes:
    """Send ``head`` and ``chunks`` copies of ``body`` (stopping if the server hangs up), then read the answer."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode("ascii"))
        try:
            for _ in range(chunks):
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                part = sock.recv(65536)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    return answer


def test_the_admin_api_refuses_a_huge_body_without_reading_it(people, isolated):
    enrol(people)
    with serve_api(isolated) as (base, token, _process):
        # 300 MB declared, 1 KB sent: the answer comes without the rest
        head = (f"POST /api/v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n")
        answer = raw_request(base, head, b" " * 1024)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert body["kind"] == "BodyTooLarge" and "error" in body
        # chunked: cut off once past 1 MiB (2 MiB offered)
        head = (f"POST /api/v1/identify HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
        answer = raw_request(base, head, chunk, chunks=32)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        # and the API still answers normally afterwards
        status = httpx.get(base + "/api/v1/status", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert status.status_code == 200


# ------------------------------------------------------------------ the collector's clock window
@pytest.mark.parametrize("created_at", ["1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_the_collector_refuses_batches_dated_far_from_its_clock(collector, key, created_at):
    from edge_core.telemetry import events as ev
    from edge_core.telemetry.envelope import build_envelope

    def post(stamp: str) -> httpx.Response:  # its event happened when the batch was made: only the date is off
        at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        envelope = build_envelope(key, str(uuid.uuid4()), stamp, [ev.app_started(at=at)])
        return httpx.post(f"{collector.url}/v1/batches", content=json.dumps(envelope),
                          headers={"Content-Type": "application/json"}, timeout=10)

    answer = post(created_at)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "out_of_window" and answer.json()["detail"]
    assert collector.event_count(key.device_id) == 0
    now = datetime.now(timezone.utc)
    assert post((now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")).status_code == 201


def test_reading_commands_work_on_a_full_disk_and_only_writes_fail(small_disk, people, tmp_path):
    """Issue 26, item 15: 'list' and 'audit verify' answered with the disk-full message; only a write should."""
    home, probe, filler, before = enrolled_then_full(small_disk, people, tmp_path)
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"]
    assert cli_json("audit", "verify")["status"] == "intact"
    assert [e["kind"] for e in cli_json("audit", "list")][0] == "vault_created"
    assert cli_json("status")["identities"] == 2 and cli_json("policy", "show")["lockout_attempts"] == 5
    cli_fails(DISK_FULL_EXIT, "is full", "enroll", "--consent", "carol", "--embedding", str(probe))
    assert_unchanged(home, before)
    filler.unlink()
    assert [p["name"] for p in cli_json("list")] == ["alice", "bob"]
    assert cli_json("audit", "verify")["status"] == "intact"
