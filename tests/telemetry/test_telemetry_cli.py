"""The ``telemetry`` commands mounted on an argparse parser, as the vault's CLI mounts them."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge_core.errors import FaceSealError, UsageError
from edge_core.telemetry import events as ev
from edge_core.cli.telemetry import TelemetryContext, register
from faceseal_collector.cli import main as collector_main
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.errors import ExportFailed, InvalidEndpoint, TelemetryDisabled
from edge_core.telemetry.outbox import Outbox

from .conftest import open_outbox_db
from .servers import Collector
from .test_telemetry_envelope import independently_verify


class Context:
    """The small object the vault hands over: a connection and the device key."""

    def __init__(self, conn: Any, key: DeviceKey) -> None:
        self._conn, self._key = conn, key

    def connection(self) -> Any:
        return self._conn

    def device_key(self) -> DeviceKey:
        return self._key

    def check_telemetry_allowed(self) -> None:
        """This harness has no policy; the real one is tested through the faceseal CLI."""


Run = Callable[..., Any]


@pytest.fixture
def cli(tmp_path: Path, key: DeviceKey, capsys: pytest.CaptureFixture[str]) -> Run:
    context: TelemetryContext = Context(open_outbox_db(tmp_path / "vault.db"), key)
    parser = argparse.ArgumentParser(prog="faceseal")
    parser.add_argument("--json", action="store_true")
    register(parser.add_subparsers(dest="command", required=True), lambda: context)

    def run(*argv: str) -> Any:
        args = parser.parse_args(list(argv))
        assert args.func(args) == 0
        out = capsys.readouterr().out
        return json.loads(out) if args.json else out

    return run


def outbox_of(tmp_path: Path) -> Outbox:
    return Outbox(open_outbox_db(tmp_path / "vault.db"))


def test_enable_status_disable(cli: Run) -> None:
    assert cli("--json", "telemetry", "status")["enabled"] is False
    assert "sent to http://127.0.0.1:8750" in cli(
        "telemetry", "enable", "--endpoint", "http://127.0.0.1:8750"
    )
    status = cli("--json", "telemetry", "status")
    assert (status["enabled"], status["endpoint"], status["dead_letters"]) == (
        True,
        "http://127.0.0.1:8750",
        [],
    )
    assert "disabled" in cli("telemetry", "disable")
    assert cli("--json", "telemetry", "status")["enabled"] is False


@pytest.mark.parametrize(
    "url", ["ftp://x", "http://", "not a url", "http://u:p@host", "https://h/?q=1"]
)
def test_invalid_endpoints_are_refused_in_one_line(cli: Run, url: str) -> None:
    with pytest.raises(InvalidEndpoint) as caught:
        cli("telemetry", "enable", "--endpoint", url)
    assert isinstance(caught.value, UsageError) and "\n" not in str(caught.value)


def test_flush_refuses_while_disabled(cli: Run) -> None:
    with pytest.raises(TelemetryDisabled) as caught:
        cli("telemetry", "flush")
    assert isinstance(caught.value, FaceSealError) and "telemetry enable" in str(caught.value)


def test_flush_export_and_independent_verification(
    cli: Run,
    tmp_path: Path,
    key: DeviceKey,
    collector: Collector,
    used_identity: Callable[[str], str],
) -> None:
    """A realistic session: names and embeddings exist on the device, none reaches a batch."""
    cli("telemetry", "enable", "--endpoint", collector.url)
    outbox = outbox_of(tmp_path)
    for name in ("Alice Example", "Bob O'Brien", "Zoë Ångström"):
        identity_id = used_identity(str(uuid.uuid4()))
        used_identity(name)
        embedding = np.random.default_rng(0).standard_normal(512).astype(np.float32)
        assert embedding.shape == (512,) and identity_id  # what the vault holds, never sent
        outbox.append(ev.operation(ev.Operation.ENROL, ev.Outcome.OK, 12, count=1))
        outbox.append(ev.operation(ev.Operation.VERIFY, ev.Outcome.MATCH, 4))
    outbox.append(ev.key_rotated(ev.KeyRole.DATA, ev.Outcome.OK, 40, count=3))

    flushed = cli("--json", "telemetry", "flush", "--wait", "0")
    assert (flushed["delivered"], flushed["delivered_events"]) == (1, 7)
    outbox.append(ev.app_started())  # queued, not yet sealed: export seals it first

    target = tmp_path / "export.jsonl"
    assert cli("--json", "telemetry", "export", str(target)) == {"file": str(target), "batches": 2}
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    lines = target.read_text().splitlines()
    verified = [independently_verify(line) for line in lines]
    assert {v["device_id"] for v in verified} == {key.device_id}
    assert sum(len(v["events"]) for v in verified) == 8


def test_retry_dlq_and_status_show_dead_letters(cli: Run, tmp_path: Path) -> None:
    cli("telemetry", "enable", "--endpoint", "http://127.0.0.1:9")
    outbox = outbox_of(tmp_path)
    outbox.append(ev.app_started())
    [batch_id] = outbox.seal(DeviceKey.generate(), force=True)
    outbox.mark_failed(batch_id, "refused:replay", permanent=True)
    assert f"dead letter {batch_id}" in cli("telemetry", "status")
    assert cli("--json", "telemetry", "retry-dlq") == {"requeued": 1}
    assert cli("--json", "telemetry", "status")["pending_batches"] == 1


def test_export_to_an_unwritable_place_is_a_one_line_error(cli: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ExportFailed) as caught:
        cli("telemetry", "export", str(blocker / "sub" / "out.jsonl"))
    assert "\n" not in str(caught.value)


def test_bad_arguments_are_argparse_errors_not_tracebacks(
    cli: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli("telemetry", "flush", "--wait", "-3")
    assert caught.value.code == 2 and "seconds" in capsys.readouterr().err


def test_collector_cli_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert collector_main(["--db", str(tmp_path / "missing" / "c.db"), "--port", "8750"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceseal-collector: cannot open database") and err.count("\n") == 1
    with pytest.raises(SystemExit) as caught:
        collector_main(["--db", str(tmp_path / "c.db"), "--port", "70000"])
    assert caught.value.code == 2


def test_mounting_the_commands_loads_no_http_client() -> None:
    """Every CLI run imports these modules; only ``flush`` may bring in the network stack."""
    code = (
        "import sys, edge_core.telemetry.cli, edge_core.telemetry.outbox;"
        "print('httpx' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
