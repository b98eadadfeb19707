"""The real ``faceseal telemetry`` commands on a real vault, delivering to the real collector.

Every command runs as ``faceseal`` does (a subprocess of the launcher) on the
test's own data directory; the events come from real operations (enrol,
verify, identify, rotate-key), never from a stand-in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge_core.telemetry.device import DeviceKey
from tests.conftest import REPO, cli_json, run_cli

from .servers import Collector
from .test_telemetry_envelope import independently_verify

NAMES = ("Alice Example", "Bob O'Brien", "Zoë Ångström")


def one_line_failure(code: int, *args: str) -> dict:
    """Run a telemetry command that must fail: exit ``code``, one line on stderr, an ``{error, kind}`` answer."""
    result = run_cli(*args, "--json")
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("faceseal: error:"), result.stderr
    return json.loads(result.stdout)


def enrol_people(tmp_path: Path, used_identity: Callable[[str], str]) -> dict[str, Path]:
    """Enrol every name of NAMES through the CLI; returns each person's probe file."""
    probes = {}
    rng = np.random.default_rng(0)
    for index, name in enumerate(NAMES):
        samples = (rng.normal(size=512) + 0.05 * rng.normal(size=(2, 512))).astype(np.float32)  # one face, two captures
        np.save(tmp_path / f"enrol-{index}.npy", samples)
        np.save(probes.setdefault(name, tmp_path / f"probe-{index}.npy"), samples[0])
        cli_json("enroll", "--consent", used_identity(name), "--embedding", str(tmp_path / f"enrol-{index}.npy"))
    for row in cli_json("audit", "list"):
        if "identity" in row:
            used_identity(row["identity"])  # the random ids the vault gave them: never sent either
    return probes


def test_enable_status_disable() -> None:
    cli_json("init")
    assert cli_json("telemetry", "status")["enabled"] is False
    enabled = run_cli("telemetry", "enable", "--endpoint", "http://127.0.0.1:8750")
    assert enabled.returncode == 0 and "sent to http://127.0.0.1:8750" in enabled.stdout
    status = cli_json("telemetry", "status")
    assert (status["enabled"], status["endpoint"], status["dead_letters"]) == (True, "http://127.0.0.1:8750", [])
    assert cli_json("status")["telemetry"] == {"enabled": True, "endpoint": "http://127.0.0.1:8750"}
    disabled = run_cli("telemetry", "disable")
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    assert cli_json("telemetry", "status")["enabled"] is False


@pytest.mark.parametrize("url", ["ftp://x", "http://", "not a url", "http://u:p@host", "https://h/?q=1"])
def test_invalid_endpoints_are_refused_in_one_line(url: str) -> None:
    refused = one_line_failure(2, "telemetry", "enable", "--endpoint", url)
    assert refused["kind"] == "InvalidEndpoint"
    assert cli_json("telemetry", "status")["enabled"] is False


def test_flush_refuses_while_disabled() -> None:
    refused = one_line_failure(1, "telemetry", "flush")
    assert refused["kind"] == "TelemetryDisabled" and "telemetry enable" in refused["error"]


def test_flush_export_and_independent_verification(
    tmp_path: Path, collector: Collector, used_identity: Callable[[str], str]
) -> None:
    """A realistic session: names and embeddings exist on the device, none reaches a batch."""
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    probes = enrol_people(tmp_path, used_identity)
    for name, probe in probes.items():
        assert cli_json("verify", name, "--embedding", str(probe))["match"] is True
    cli_json("rotate-key")
    device_id = cli_json("status")["device_id"]

    flushed = cli_json("telemetry", "flush", "--wait", "0")
    assert (flushed["delivered"], flushed["delivered_events"], flushed["pending"]) == (1, 7, 0)
    assert collector.event_count(device_id) == 7
    cli_json("identify", "--embedding", str(probes[NAMES[0]]))  # queued, not yet sealed: export seals it first

    target = tmp_path / "export.jsonl"
    assert cli_json("telemetry", "export", str(target)) == {"file": str(target), "batches": 2}
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    verified = [independently_verify(line) for line in target.read_text().splitlines()]
    assert {v["device_id"] for v in verified} == {device_id}
    assert sum(len(v["events"]) for v in verified) == 8
    assert cli_json("telemetry", "status")["sent_events"] == 7


def test_retry_dlq_and_status_show_dead_letters(tmp_path: Path, collector: Collector) -> None:
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    device_id = cli_json("status")["device_id"]
    stranger = DeviceKey.generate().public_key_b64  # the operator registered this device with another key
    with sqlite3.connect(collector.db) as conn:
        conn.execute("INSERT INTO devices VALUES (?, ?, 'x', 'x')", (device_id, stranger))
    np.save(tmp_path / "someone.npy", np.ones((2, 16), np.float32))
    cli_json("enroll", "--consent", "someone", "--embedding", str(tmp_path / "someone.npy"))
    assert cli_json("telemetry", "flush", "--wait", "0")["dead_lettered"] == 1  # a refusal is not retried
    [dead] = cli_json("telemetry", "status")["dead_letters"]
    assert dead["last_error"] == "refused:key_mismatch" and dead["event_count"] == 1
    shown = run_cli("telemetry", "status")
    assert f"dead letter {dead['batch_id']}" in shown.stdout
    assert cli_json("telemetry", "retry-dlq") == {"requeued": 1}
    status = cli_json("telemetry", "status")
    assert (status["pending_batches"], status["dead_batches"], status["dead_letters"]) == (1, 0, [])


def test_export_to_an_unwritable_place_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    refused = one_line_failure(2, "telemetry", "export", str(blocker / "sub" / "out.jsonl"))
    assert refused["kind"] == "ExportFailed" and str(blocker) in refused["error"]


@pytest.mark.parametrize("wait", ["-3", "3601", "soon"])
def test_bad_arguments_are_one_line_errors_not_tracebacks(wait: str) -> None:
    refused = one_line_failure(2, "telemetry", "flush", f"--wait={wait}")
    assert "seconds" in refused["error"]


def loads_httpx(*args: str) -> bool:
    """Whether ``faceseal ARGS``, run as the launcher runs it in a fresh process, imported the HTTP client."""
    code = "import sys; from app.launcher import main; code = main(sys.argv[1:]); print(code, 'httpx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ), timeout=120)
    exit_code, loaded = result.stdout.split()[-2:]
    assert exit_code == "0", result.stderr
    return loaded == "True"


def test_only_flush_loads_the_http_client(collector: Collector) -> None:
    """Every CLI run mounts the telemetry commands; only ``flush`` may bring in the network stack."""
    cli_json("telemetry", "enable", "--endpoint", collector.url)
    for args in (["status"], ["telemetry", "status"], ["list"]):
        assert not loads_httpx(*args), args
    assert loads_httpx("telemetry", "flush", "--wait", "0")


def test_a_device_enrols_with_the_token_its_operator_gave(tmp_path: Path, collector: Collector) -> None:
    """The collector admits new devices by token; the device reads it from a file or the environment (never
    argv), keeps it sealed and presents it. A malformed token is refused before anything is written."""
    from faceseal_collector.cli import main as collector_main

    assert collector_main(["enrol", "mode", "token", "--db", str(collector.db)]) == 0
    made = subprocess.run([sys.executable, "-m", "faceseal_collector", "enrol", "token", "new", "--db",
                           str(collector.db)], capture_output=True, text=True, cwd=REPO, check=True)
    token = made.stdout.strip()
    bad = tmp_path / "bad.txt"
    bad.write_text("not a token!\n")
    refused = one_line_failure(2, "telemetry", "enable", "--endpoint", collector.url, "--enrolment-token-file",
                               str(bad))
    assert "enrolment token" in refused["error"] and cli_json("telemetry", "status")["enabled"] is False
    given = tmp_path / "token.txt"
    given.write_text(token + "\n")
    enabled = cli_json("telemetry", "enable", "--endpoint", collector.url, "--enrolment-token-file", str(given))
    assert enabled["enrolment_token"] is True and token not in json.dumps(enabled)
    np.save(tmp_path / "someone.npy", np.ones((2, 16), np.float32))
    cli_json("enroll", "--consent", "someone", "--embedding", str(tmp_path / "someone.npy"))
    assert cli_json("telemetry", "flush", "--wait", "0")["delivered"] == 1
    assert token not in json.dumps(cli_json("telemetry", "status"))
    # Another vault without the token is refused: not_enrolled, dead-lettered, never retried.
    other = tmp_path / "other-home"
    env = {"FACESEAL_HOME": str(other), "FACESEAL_ENROLMENT_TOKEN": "B" * 43}
    assert run_cli("telemetry", "enable", "--endpoint", collector.url, "--enrolment-token",
                   extra_env=env).returncode == 0
    run_cli("enroll", "--consent", "someone", "--embedding", str(tmp_path / "someone.npy"), extra_env=env)
    flushed = json.loads(run_cli("telemetry", "flush", "--wait", "0", "--json", extra_env=env).stdout)
    assert flushed["dead_lettered"] == 1
