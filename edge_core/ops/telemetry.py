"""Telemetry on this device: opt in (within the policy), opt out, status, schedule, send now,
background delivery, the dead-letter queue, export.

Off by default; nothing is recorded while it is off. Switching it on is
refused while the policy forbids it, and forbidding it in the policy switches
it off (:mod:`edge_core.policy.rules`). Each result has a ``summary`` line for
a person; ``as_dict`` is its JSON form. Changes to the dead-letter queue are
audited in the transaction that makes them.

:func:`start_background` is what the long-running processes (the window,
``faceseal serve``) call: while telemetry is on it runs
:func:`background_round` on a thread, under the data folder's send lock
(:mod:`edge_core.telemetry.sender`), so at most one process sends at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from edge_core.audit import chain as audit
from edge_core.errors import FaceSealError, PolicyTampered, PolicyViolation, VaultLocked
from edge_core.ops.results import Result, flattened
from edge_core.ops.vaults import open_vault
from edge_core.policy import rules as policy
from edge_core.support import paths
from edge_core.support.paths import atomic_write
from edge_core.telemetry import outbox as outboxes
from edge_core.telemetry.endpoint import parse_pin, validate_endpoint
from edge_core.telemetry.errors import ExportFailed, InvalidDeliveryOption
from edge_core.telemetry.outbox import (
    BatchLimits,
    DeadLetter,
    DeliveryOptions,
    Outbox,
    OutboxStatus,
    check_enrolment_token,
)
from edge_core.telemetry.sender import MIN_WAIT_S, BackgroundSender, send_lock
from edge_core.vault import device
from edge_core.vault.store import Vault

if TYPE_CHECKING:  # the uploader brings in the HTTP client (~0.1 s): only sending needs it
    from edge_core.telemetry.uploader import FlushReport

FLUSH_WAIT_LIMIT_S = 3600.0
ON_FLAG = "telemetry-on"
"""An empty file beside the vault while telemetry is on. It lets a long-running process that started with
telemetry off notice an opt-in made elsewhere with a ``stat``, without opening the vault; it decides
nothing (the setting in the encrypted database does), so a planted or stale flag costs one vault open."""
WATCH_S = 5.0
"""How often a watching process looks for the flag while telemetry is off."""


def _when(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Schedule(Result):
    """How delivery is scheduled and pinned, and how long sent batches are kept."""

    interval_s: float
    max_delay_s: float
    retention_days: float
    pin_sha256: str | None

    @classmethod
    def of(cls, options: DeliveryOptions) -> Schedule:
        return cls(options.interval_s, options.max_delay_s, options.retention_days, options.pin_sha256)

    def summary(self) -> str:
        return (f"telemetry schedule: sent every {self.interval_s:g} s, no event waits more than "
                f"{self.max_delay_s:g} s; sent batches kept {self.retention_days:g} days"
                + (f"; certificate pinned ({self.pin_sha256})" if self.pin_sha256 else ""))


@dataclass(frozen=True)
class TelemetrySettings(Result):
    enabled: bool
    endpoint: str | None
    health: str  # what the one check at enable found: "ok" or a short code
    found: str  # the same in words
    schedule: Schedule = flattened()
    enrolment_token: bool = False  # whether one is kept for the collector (never the token itself)

    def summary(self) -> str:
        return (f"telemetry enabled: batches will be sent to {self.endpoint} "
                "(operational counts only, never biometric data)\n"
                f"checked {self.endpoint}/v1/health: {self.found}"
                + ("" if self.health == "ok" else "; batches wait in the outbox and are retried")
                + ("\nan enrolment token is kept sealed in the vault and presented to the collector"
                   if self.enrolment_token else ""))


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
    allowed: bool  # whether the policy lets telemetry be switched on
    schedule: Schedule = flattened()

    def summary(self) -> str:
        s = self.status
        return "\n".join([
            f"telemetry: {'enabled' if s.enabled else 'disabled'}" + (f" (endpoint {s.endpoint})" if s.endpoint else "")
            + ("" if self.allowed else " (the policy does not allow telemetry)"),
            f"queued events: {s.queued_events}",
            f"batches: {s.pending_batches} pending ({s.pending_events} events), {s.sent_batches} sent "
            f"({s.sent_events}), {s.dead_batches} dead-lettered ({s.dead_events})",
            f"last delivery: {_when(s.last_delivery_at) or 'never'}"
            + (f"; last error: {s.last_error} at {_when(s.last_error_at)}" if s.last_error else ""),
            self.schedule.summary(),
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
class DeadLetters(Result):
    dead_letters: list[DeadLetter]

    def summary(self) -> str:
        if not self.dead_letters:
            return "the dead-letter queue is empty"
        return "\n".join(f"{d.batch_id}: {d.event_count} events, {d.attempts} attempts, last error {d.last_error}, "
                         f"sealed {_when(d.sealed_at)}" for d in self.dead_letters)


@dataclass(frozen=True)
class DeadLettersRequeued(Result):
    batch_ids: list[str]

    def summary(self) -> str:
        return (f"{len(self.batch_ids)} dead-lettered batch(es) requeued; they are sent at the next delivery "
                "('faceseal telemetry flush' sends them now)")


@dataclass(frozen=True)
class DeadLetterDropped(Result):
    dropped: DeadLetter = flattened()

    def summary(self) -> str:
        return f"dead letter {self.dropped.batch_id} ({self.dropped.event_count} events) deleted; it is never sent"


@dataclass(frozen=True)
class TelemetryExport(Result):
    file: str
    batches: int

    def summary(self) -> str:
        return f"exported {self.batches} batch(es) to {self.file}"


@dataclass(frozen=True)
class RoundOutcome:
    """What one background round did (for the sender and its tests)."""

    next_in_s: float | None  # None: telemetry is off, the sender stops
    sent: bool = False  # this round held the send lock and delivered or tried
    busy: bool = False  # another process held the send lock
    delivered: int = 0
    error: str | None = None


# ------------------------------------------------------------------ settings

def enable(vault: Vault, endpoint: str, pin_sha256: str | None = None, *, interval_s: float | None = None,
           max_delay_s: float | None = None, retention_days: float | None = None,
           check: bool = True, enrolment_token: str | None = None) -> TelemetrySettings:
    """Opt in, sending to ``endpoint`` (base URL or the full ``/v1/batches`` URL), optionally pinning the
    collector's key, keeping the enrolment token its operator gave (for a collector that admits new devices
    by token) and setting the schedule; checks ``<endpoint>/v1/health`` once (unless ``check`` is False) and
    says what it found. Refused while the policy forbids telemetry."""
    if not policy.telemetry_allowed(vault):
        raise PolicyViolation("the security policy does not allow telemetry (faceseal policy show)")
    url = validate_endpoint(endpoint)
    pin = parse_pin(pin_sha256) if pin_sha256 is not None else None
    if enrolment_token is not None:
        check_enrolment_token(enrolment_token)  # before anything is written
    if pin is not None and not url.startswith("https://"):
        raise InvalidDeliveryOption("a certificate pin needs an https:// endpoint")
    outbox = Outbox(vault.conn)
    outbox.configure(interval_s=interval_s, max_delay_s=max_delay_s, retention_days=retention_days)
    if enrolment_token is not None:
        outbox.set_enrolment_token(enrolment_token)
    if check:
        from edge_core.telemetry.transport import check_health

        health = check_health(url, pin)
        found, words = health.found, health.describe()
    else:
        found, words = "unchecked", "not checked"
    settings = outbox.enable(url, pin)
    atomic_write(_flag(vault.layout.home), b"")
    return TelemetrySettings(settings.enabled, settings.endpoint, found, words, Schedule.of(outbox.delivery()),
                             outbox.enrolment_token() is not None)


def configure(vault: Vault, interval_s: float | None = None, max_delay_s: float | None = None,
              retention_days: float | None = None) -> Schedule:
    """Change the delivery schedule and the retention of sent batches (also while telemetry is off)."""
    return Schedule.of(Outbox(vault.conn).configure(interval_s=interval_s, max_delay_s=max_delay_s,
                                                    retention_days=retention_days))


def disable(vault: Vault) -> TelemetryOff:
    """Opt out: nothing more is recorded or sent; what is queued stays local."""
    outbox = Outbox(vault.conn)
    outbox.disable()
    _flag(vault.layout.home).unlink(missing_ok=True)
    return TelemetryOff(outbox.status())


def _allowed(vault: Vault) -> bool:
    """Whether the policy lets telemetry be on; a tampered policy file allows nothing, but still lets status answer."""
    try:
        return policy.telemetry_allowed(vault)
    except PolicyTampered:
        return False


def status(vault: Vault) -> TelemetryReport:
    """Settings, queue, batches sent and pending, last delivery and error, schedule, every dead letter."""
    outbox = Outbox(vault.conn)
    return TelemetryReport(outbox.status(), outbox.dead_letters(), _allowed(vault),
                           Schedule.of(outbox.delivery()))


# ------------------------------------------------------------------ sending

def send_now(vault: Vault, wait_s: float = 30.0) -> Delivery:
    """Seal queued events and send every due batch, retrying for up to ``wait_s`` seconds.

    Waits for a background round of any process to finish first (the send lock).
    """
    from edge_core.telemetry.uploader import flush

    outbox = Outbox(vault.conn)
    key = device.device_key(vault)
    if not outbox.settings().enabled:
        return Delivery(flush(outbox, key, max_wait_s=wait_s))  # raises TelemetryDisabled, connects nowhere
    with send_lock(vault.layout.home, wait=True):
        return Delivery(flush(outbox, key, max_wait_s=wait_s))


def background_round(home: Path | None = None, should_stop: Callable[[], bool] = lambda: False,
                     clock: Callable[[], float] = time.time) -> RoundOutcome:
    """One round of background delivery on the data folder ``home``.

    Opens the vault (a locked vault is skipped: the round comes back later),
    returns ``RoundOutcome(None)`` when telemetry is off, skips sending when
    another process holds the send lock, else seals every batch that is ripe
    (``max_delay_s`` old or full) and sends every due batch, once each. The
    next round is due after ``interval_s``, or sooner when the oldest queued
    event turns ``max_delay_s`` old or a retry comes due.
    """
    from edge_core.telemetry.uploader import flush

    try:
        vault = open_vault(home)
    except VaultLocked:
        return RoundOutcome(60.0, error="vault_locked")
    with vault:
        outbox = Outbox(vault.conn)
        if not outbox.settings().enabled:
            return RoundOutcome(None)
        options = outbox.delivery()
        outbox = Outbox(vault.conn, limits=BatchLimits(max_age_s=options.max_delay_s), clock=clock)
        with send_lock(vault.layout.home, wait=False) as held:
            if not held:
                return RoundOutcome(_next_wait(outbox, options, clock()), busy=True)
            report = flush(outbox, device.device_key(vault), seal_all=False, should_stop=should_stop)
        return RoundOutcome(_next_wait(outbox, options, clock()), sent=True, delivered=report.delivered,
                            error=outbox.delivery().last_error if report.failed_attempts else None)


def _next_wait(outbox: Outbox, options: DeliveryOptions, now: float) -> float:
    """Seconds to the next round: the interval, or sooner for an event about to be too old or a retry."""
    waits = [options.interval_s]
    oldest = outbox.oldest_queued_at()
    if oldest is not None:
        waits.append(oldest + options.max_delay_s - now)
    retry = outbox.status().next_attempt_at
    if retry is not None:
        waits.append(retry - now)
    return max(MIN_WAIT_S, min(waits))


def _flag(home: Path) -> Path:
    return Path(home) / ON_FLAG


def is_on(home: Path | None = None) -> bool:
    """Whether the flag says telemetry is on (what a watching process goes by between vault opens)."""
    return _flag(Path(home) if home else paths.data_dir()).exists()


def watching_round(home: Path, should_stop: Callable[[], bool] = lambda: False) -> float:
    """A round for a process that outlives opt-ins: while the flag is absent it only looks for it."""
    if not _flag(home).exists():
        return WATCH_S
    outcome = background_round(home, should_stop)
    if outcome.next_in_s is None:  # off after all (forbidden by the policy, a reset): the flag was stale
        _flag(home).unlink(missing_ok=True)
        return WATCH_S
    return outcome.next_in_s


def start_background(home: Path | None = None, watch: bool = False) -> BackgroundSender | None:
    """Start background delivery for a long-running process; while telemetry is off, None (nothing started).

    A sender stops by itself at the first round that finds telemetry off;
    ``stop()`` it when the process ends. With ``watch`` (``faceseal serve``,
    which runs for months) the process also notices a later opt-in made
    elsewhere: it then returns a sender that, while telemetry is off, only
    ``stat``s the flag file every few seconds and sends nothing.
    """
    home = Path(home) if home else paths.data_dir()
    try:
        with open_vault(home) as vault:
            enabled = Outbox(vault.conn).settings().enabled
    except FaceSealError:
        enabled = False
    if enabled:
        atomic_write(_flag(home), b"")  # a vault that opted in before the flag existed
    elif not watch:
        return None

    def run(should_stop: Callable[[], bool]) -> float | None:
        if watch:
            return watching_round(home, should_stop)
        return background_round(home, should_stop).next_in_s

    return BackgroundSender(run).start()


# ------------------------------------------------------------------ dead letters

def dead_letters(vault: Vault) -> DeadLetters:
    """Every dead-lettered batch, oldest first."""
    return DeadLetters(Outbox(vault.conn).dead_letters())


def retry_dead_letters(vault: Vault) -> Requeued:
    """Requeue every dead-lettered batch for the next send (audited)."""
    return Requeued(len(retry_dead_letter(vault, None).batch_ids))


def retry_dead_letter(vault: Vault, batch_id: str | None) -> DeadLettersRequeued:
    """Requeue the dead letter ``batch_id`` (None: every one) with a fresh set of attempts (audited)."""
    with vault.writing() as tx:
        ids = outboxes.requeue_dead(tx, time.time(), batch_id)
        if ids:
            audit.append(tx, "telemetry_dead_letters_retried", batches=ids)
    return DeadLettersRequeued(ids)


def drop_dead_letter(vault: Vault, batch_id: str) -> DeadLetterDropped:
    """Delete the dead letter ``batch_id``: it is never sent (audited)."""
    with vault.writing() as tx:
        dropped = outboxes.drop_dead(tx, batch_id)
        audit.append(tx, "telemetry_dead_letter_dropped", batch=dropped.batch_id, events=dropped.event_count,
                     last_error=dropped.last_error)
    return DeadLetterDropped(dropped)


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
