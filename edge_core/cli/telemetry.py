"""``telemetry enable --endpoint URL [--pin-sha256 PIN] | disable | status | schedule | flush | retry-dlq |
dlq list|retry ID|retry --all|drop ID | export FILE``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from edge_core.cli.framework import Commands, answer, with_vault
from edge_core.cli.prompts import secret
from edge_core.errors import UsageError
from edge_core.ops import telemetry
from edge_core.ops.telemetry import FLUSH_WAIT_LIMIT_S

ENROLMENT_VARIABLE = "FACESEAL_ENROLMENT_TOKEN"


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= FLUSH_WAIT_LIMIT_S:
        raise argparse.ArgumentTypeError(f"seconds from 0 to {FLUSH_WAIT_LIMIT_S:.0f}")
    return value


def _number(text: str) -> float:
    """A finite number; its bounds are checked by the use case, which names them."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number is needed") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError("a finite number is needed")
    return value


def _schedule_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--interval", type=_number, metavar="SECONDS",
                        help="how often waiting batches are sent (default 60)")
    parser.add_argument("--max-delay", type=_number, metavar="SECONDS",
                        help="the longest an event waits before it is sealed and sent (default 300)")
    parser.add_argument("--retention-days", type=_number, metavar="DAYS",
                        help="how long sent batches are kept on the device (default 30)")
    return parser


def _enable(vault, args: argparse.Namespace):
    wanted = args.enrolment_token or args.enrolment_token_file is not None
    token = secret("enrolment token", ENROLMENT_VARIABLE, args.enrolment_token_file) if wanted else None
    return answer(telemetry.enable(vault, args.endpoint, args.pin_sha256, interval_s=args.interval,
                                   max_delay_s=args.max_delay, retention_days=args.retention_days,
                                   enrolment_token=token))


def _retry(vault, args: argparse.Namespace):
    if (args.batch_id is None) == (not args.all):
        raise UsageError("name one dead-lettered batch id, or --all (not both)")
    return answer(telemetry.retry_dead_letter(vault, None if args.all else args.batch_id))


def _plain(fn: Callable, reading: bool = False) -> Callable:
    return with_vault(lambda vault, _args: answer(fn(vault)), reading)


def register(commands: Commands) -> None:
    commands.group("telemetry", "opt-in operational telemetry (never biometric data)")
    enable = commands.add("telemetry enable", with_vault(_enable),
                          "opt in, set the collector URL and check it once")
    enable.add_argument("--endpoint", required=True, metavar="URL",
                        help="the collector's base URL or its full /v1/batches URL (https unless on loopback)")
    enable.add_argument("--pin-sha256", metavar="PIN",
                        help="accept only a collector whose certificate carries this public key "
                             "(sha256//BASE64 of its SubjectPublicKeyInfo, or 64 hex digits)")
    enable.add_argument("--enrolment-token", action="store_true",
                        help=f"the collector admits new devices by token: ask for the one its operator gave you "
                             f"(or read ${ENROLMENT_VARIABLE}); never on the command line, where other users see "
                             "it; kept sealed in the vault and sent with every batch")
    enable.add_argument("--enrolment-token-file", type=Path, metavar="FILE",
                        help="read the enrolment token from the first line of FILE instead")
    _schedule_options(enable)
    commands.add("telemetry disable", _plain(telemetry.disable), "opt out: record and send nothing more")
    commands.add("telemetry status", _plain(telemetry.status, reading=True),
                 "show settings, queue, last delivery and error, and dead letters")
    _schedule_options(commands.add(
        "telemetry schedule",
        with_vault(lambda vault, args: answer(telemetry.configure(vault, args.interval, args.max_delay,
                                                                  args.retention_days))),
        "show or change when batches are sent and how long sent ones are kept"))
    commands.add("telemetry flush", with_vault(lambda vault, args: answer(telemetry.send_now(vault, args.wait))),
                 "seal queued events and send every due batch now").add_argument(
        "--wait", type=_wait, default=30.0, metavar="SECONDS",
        help="keep retrying failed batches for up to this long (default 30)")
    commands.add("telemetry retry-dlq", _plain(telemetry.retry_dead_letters),
                 "requeue every dead-lettered batch (same as 'dlq retry --all')")
    commands.group("telemetry dlq", "the dead-letter queue: batches that could not be delivered")
    commands.add("telemetry dlq list", _plain(telemetry.dead_letters, reading=True), "list every dead-lettered batch")
    retry = commands.add("telemetry dlq retry", with_vault(_retry),
                         "requeue one dead-lettered batch, or --all (audited)")
    retry.add_argument("batch_id", nargs="?", metavar="ID", help="the batch id ('dlq list' shows them)")
    retry.add_argument("--all", action="store_true", help="requeue every dead-lettered batch")
    commands.add("telemetry dlq drop",
                 with_vault(lambda vault, args: answer(telemetry.drop_dead_letter(vault, args.batch_id))),
                 "delete one dead-lettered batch: it is never sent (audited)").add_argument(
        "batch_id", metavar="ID", help="the batch id ('dlq list' shows them)")
    commands.add("telemetry export", with_vault(lambda vault, args: answer(telemetry.export(vault, args.file))),
                 "write every batch (sent, pending, dead) as JSON lines").add_argument(
        "file", metavar="FILE", help="output file (written atomically, mode 0600)")
