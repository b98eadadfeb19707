"""The ``faceseal telemetry`` commands.

``enable --endpoint URL | disable | status | flush | retry-dlq | export FILE``.

The vault's CLI mounts these with ``register(subparsers, get_context)``; every
command answers in one human line (or a few) or, with ``args.json``, in one
JSON object. Errors are raised as ``FaceSealError`` subclasses for the main CLI
to print as one line; nothing here prints a traceback or a secret.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from ..paths import atomic_write
from .device import DeviceKey
from .errors import ExportFailed
from .outbox import Outbox


class TelemetryContext(Protocol):
    """What the commands need from the vault. Methods, so it can open/unlock lazily."""

    def connection(self) -> Any:
        """The (encrypted) DB-API connection whose schema includes ``outbox.SCHEMA_STATEMENTS``."""

    def device_key(self) -> DeviceKey:
        """The installation's device key (unsealed from the vault)."""

    def check_telemetry_allowed(self) -> None:
        """Raise a FaceSealError if the security policy forbids switching telemetry on."""


GetContext = Callable[[], TelemetryContext]
Result = tuple[dict[str, Any], str]  # (JSON payload, human text)


def _enable(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    ctx.check_telemetry_allowed()
    settings = Outbox(ctx.connection()).enable(args.endpoint)
    return dataclasses.asdict(settings), (
        f"telemetry enabled: batches will be sent to {settings.endpoint} "
        "(operational counts only, never biometric data)"
    )


def _disable(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    outbox = Outbox(ctx.connection())
    outbox.disable()
    status = outbox.status()
    kept = status.queued_events + status.pending_events + status.dead_events
    return dataclasses.asdict(status), (
        f"telemetry disabled: nothing is recorded or sent; {kept} unsent event(s) stay local"
    )


def _status(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    outbox = Outbox(ctx.connection())
    status, dead = outbox.status(), outbox.dead_letters()
    payload = {**dataclasses.asdict(status), "dead_letters": [dataclasses.asdict(d) for d in dead]}
    lines = [
        f"telemetry: {'enabled' if status.enabled else 'disabled'}"
        + (f" (endpoint {status.endpoint})" if status.endpoint else ""),
        f"queued events: {status.queued_events}",
        f"batches: {status.pending_batches} pending ({status.pending_events} events), "
        f"{status.sent_batches} sent ({status.sent_events}), "
        f"{status.dead_batches} dead-lettered ({status.dead_events})",
        *(
            f"dead letter {d.batch_id}: {d.event_count} events, {d.attempts} attempts, "
            f"last error {d.last_error}"
            for d in dead
        ),
    ]
    return payload, "\n".join(lines)


def _flush(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    # Imported here: the HTTP client costs ~0.1 s, and only this command uses it.
    from .uploader import flush

    report = flush(Outbox(ctx.connection()), ctx.device_key(), max_wait_s=args.wait)
    return dataclasses.asdict(report), (
        f"delivered {report.delivered} batch(es) ({report.delivered_events} events); "
        f"{report.pending} pending, {report.dead_lettered} moved to the dead-letter queue"
    )


def _retry_dlq(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    count = Outbox(ctx.connection()).retry_dlq()
    return {"requeued": count}, (
        f"{count} dead-lettered batch(es) requeued; 'faceseal telemetry flush' sends them"
    )


def _export(ctx: TelemetryContext, args: argparse.Namespace) -> Result:
    """Seal queued events first so the file holds everything recorded so far."""
    outbox = Outbox(ctx.connection())
    outbox.seal(ctx.device_key(), force=True)
    lines = list(outbox.envelopes())
    try:
        atomic_write(Path(args.file), "".join(line + "\n" for line in lines).encode("ascii"))
    except OSError as error:
        raise ExportFailed(f"cannot write {args.file}: {error.strerror or error}") from None
    return {
        "file": args.file,
        "batches": len(lines),
    }, f"exported {len(lines)} batch(es) to {args.file}"


def _run(
    handler: Callable[[TelemetryContext, argparse.Namespace], Result],
    get_context: GetContext,
    args: argparse.Namespace,
) -> int:
    payload, text = handler(get_context(), args)
    if getattr(args, "json", False):
        print(json.dumps(payload, sort_keys=True))
    else:
        print(text)
    return 0


def _wait(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("seconds from 0 to 3600")
    return value


def register(subparsers: Any, get_context: GetContext) -> argparse.ArgumentParser:
    """Add ``telemetry`` and its commands to ``subparsers``.

    Each command sets ``args.func``; the caller runs ``args.func(args)``, which
    prints the answer and returns the exit code (0), or raises a FaceSealError.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "telemetry",
        help="opt-in operational telemetry (never biometric data)",
        description="Opt-in, signed, operational telemetry. Off until you enable it.",
    )
    commands = parser.add_subparsers(dest="telemetry_command", metavar="COMMAND", required=True)

    def command(
        name: str, handler: Callable[..., Result], help_text: str
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name, help=help_text, description=help_text
        )
        sub.set_defaults(func=partial(_run, handler, get_context))
        return sub

    command("enable", _enable, "opt in and set the collector URL").add_argument(
        "--endpoint", required=True, metavar="URL", help="collector base URL (http or https)"
    )
    command("disable", _disable, "opt out: record and send nothing more")
    command("status", _status, "show settings, queue and dead-letter counts")
    command("flush", _flush, "seal queued events and send every due batch now").add_argument(
        "--wait",
        type=_wait,
        default=30.0,
        metavar="SECONDS",
        help="keep retrying failed batches for up to this long (default 30)",
    )
    command("retry-dlq", _retry_dlq, "requeue every dead-lettered batch")
    command(
        "export", _export, "write every batch (sent, pending, dead) as JSON lines"
    ).add_argument("file", metavar="FILE", help="output file (written atomically, mode 0600)")
    return parser
