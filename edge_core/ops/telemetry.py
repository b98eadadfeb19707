"""Telemetry on this device: opt in (within the policy), opt out, status, send now, dead letters, export.

Off by default; nothing is recorded while it is off. Switching it on is
refused while the policy forbids it, and forbidding it in the policy switches
it off (:mod:`edge_core.policy.rules`). Each result has a ``summary`` line for
a person; ``as_dict`` is its JSON form.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core.errors import PolicyViolation
from edge_core.ops.results import Result, flattened
from edge_core.policy import rules as policy
from edge_core.support.paths import atomic_write
from edge_core.telemetry.errors import ExportFailed
from edge_core.telemetry.outbox import DeadLetter, Outbox, OutboxStatus
from edge_core.vault import device
from edge_core.vault.store import Vault

if TYPE_CHECKING:  # the uploader brings in the HTTP client (~0.1 s): only sending needs it
    from edge_core.telemetry.uploader import FlushReport

FLUSH_WAIT_LIMIT_S = 3600.0


@dataclass(frozen=True)
class TelemetrySettings(Result):
    enabled: bool
    endpoint: str | None

    def summary(self) -> str:
        return (f"telemetry enabled: batches will be sent to {self.endpoint} "
                "(operational counts only, never biometric data)")


@dataclass(frozen=True)
class TelemetryOff(Result):
    status: OutboxStatus = flattened()

    def summary(self) -> str:
        kept = self.status.queued_events + self.status.pending_events + self.status.dead_events
        return f"telemetry disabled: nothing is recorded or sent; {kept} unsent event(s) stay local"


@dataclass(frozen=True)
class TelemetryReport(Result):
    status: OutboxStatus = flattened()
    dead_letters: list[DeadLetter]

    def summary(self) -> str:
        s = self.status
        return "\n".join([
            f"telemetry: {'enabled' if s.enabled else 'disabled'}" + (f" (endpoint {s.endpoint})" if s.endpoint else ""),
            f"queued events: {s.queued_events}",
            f"batches: {s.pending_batches} pending ({s.pending_events} events), {s.sent_batches} sent "
            f"({s.sent_events}), {s.dead_batches} dead-lettered ({s.dead_events})",
            *(f"dead letter {d.batch_id}: {d.event_count} events, {d.attempts} attempts, last error {d.last_error}"
              for d in self.dead_letters or []),
        ])


@dataclass(frozen=True)
class Delivery(Result):
    report: FlushReport = flattened()

    def summary(self) -> str:
        r = self.report
        return (f"delivered {r.delivered} batch(es) ({r.delivered_events} events); "
                f"{r.pending} pending, {r.dead_lettered} moved to the dead-letter queue")


@dataclass(frozen=True)
class Requeued(Result):
    requeued: int

    def summary(self) -> str:
        return f"{self.requeued} dead-lettered batch(es) requeued; 'faceseal telemetry flush' sends them"


@dataclass(frozen=True)
class TelemetryExport(Result):
    file: str
    batches: int

    def summary(self) -> str:
        return f"exported {self.batches} batch(es) to {self.file}"


def enable(vault: Vault, endpoint: str) -> TelemetrySettings:
    """Opt in, sending to ``endpoint``; refused while the policy forbids telemetry."""
    if not policy.telemetry_allowed(vault):
        raise PolicyViolation("the security policy does not allow telemetry (faceseal policy show)")
    settings = Outbox(vault.conn).enable(endpoint)
    return TelemetrySettings(settings.enabled, settings.endpoint)


def disable(vault: Vault) -> TelemetryOff:
    """Opt out: nothing more is recorded or sent; what is queued stays local."""
    outbox = Outbox(vault.conn)
    outbox.disable()
    return TelemetryOff(outbox.status())


def status(vault: Vault) -> TelemetryReport:
    """Settings, queue, batches sent and pending, and every dead letter."""
    outbox = Outbox(vault.conn)
    return TelemetryReport(outbox.status(), outbox.dead_letters())


def send_now(vault: Vault, wait_s: float = 30.0) -> Delivery:
    """Seal queued events and send every due batch, retrying for up to ``wait_s`` seconds."""
    from edge_core.telemetry.uploader import flush

    return Delivery(flush(Outbox(vault.conn), device.device_key(vault), max_wait_s=wait_s))


def retry_dead_letters(vault: Vault) -> Requeued:
    """Requeue every dead-lettered batch for the next send."""
    return Requeued(Outbox(vault.conn).retry_dlq())


def export(vault: Vault, file: Path) -> TelemetryExport:
    """Every batch (sent, pending, dead) as JSON lines in ``file`` (0600, written atomically)."""
    outbox = Outbox(vault.conn)
    outbox.seal(device.device_key(vault), force=True)
    lines = list(outbox.envelopes())
    try:
        atomic_write(Path(file), "".join(line + "\n" for line in lines).encode("ascii"))
    except OSError as error:
        raise ExportFailed(f"cannot write {file}: {error.strerror or error}") from None
    return TelemetryExport(str(file), len(lines))
