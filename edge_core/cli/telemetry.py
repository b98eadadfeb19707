"""``telemetry enable --endpoint URL | disable | status | flush | retry-dlq | export FILE``."""

from __future__ import annotations

import argparse

from edge_core.cli.framework import Commands, answer, with_vault
from edge_core.ops import telemetry
from edge_core.ops.telemetry import FLUSH_WAIT_LIMIT_S


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= FLUSH_WAIT_LIMIT_S:
        raise argparse.ArgumentTypeError(f"seconds from 0 to {FLUSH_WAIT_LIMIT_S:.0f}")
    return value


def register(commands: Commands) -> None:
    commands.group("telemetry", "opt-in operational telemetry (never biometric data)")
    commands.add("telemetry enable", with_vault(lambda vault, args: answer(telemetry.enable(vault, args.endpoint))),
                 "opt in and set the collector URL").add_argument(
        "--endpoint", required=True, metavar="URL", help="collector base URL (http or https)")
    commands.add("telemetry disable", with_vault(lambda vault, _args: answer(telemetry.disable(vault))),
                 "opt out: record and send nothing more")
    commands.add("telemetry status", with_vault(lambda vault, _args: answer(telemetry.status(vault))),
                 "show settings, queue and dead-letter counts")
    commands.add("telemetry flush", with_vault(lambda vault, args: answer(telemetry.send_now(vault, args.wait))),
                 "seal queued events and send every due batch now").add_argument(
        "--wait", type=_wait, default=30.0, metavar="SECONDS",
        help="keep retrying failed batches for up to this long (default 30)")
    commands.add("telemetry retry-dlq", with_vault(lambda vault, _args: answer(telemetry.retry_dead_letters(vault))),
                 "requeue every dead-lettered batch")
    commands.add("telemetry export", with_vault(lambda vault, args: answer(telemetry.export(vault, args.file))),
                 "write every batch (sent, pending, dead) as JSON lines").add_argument(
        "file", metavar="FILE", help="output file (written atomically, mode 0600)")
