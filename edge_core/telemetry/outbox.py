"""The durable telemetry outbox: events, signed batches and dead letters in the caller's DB.

Everything lives in tables of a connection the vault passes in (the encrypted
sqlcipher database in production), so telemetry survives a closed app or a
dead network and is as private at rest as the templates. Each method that
writes runs in its own ``BEGIN IMMEDIATE`` ... ``COMMIT``: a crash leaves an
event either recorded or not, a batch either sealed (and its events gone from
the queue) or not, never half of either.

Lifecycle: ``append`` -> events -> ``seal`` -> batch ``pending`` -> the
uploader calls ``mark_sent`` or ``mark_failed`` -> ``sent``, or ``pending``
again after a backoff, or ``dead`` (the DLQ) after ``RetryPolicy.max_attempts``
failures or one permanent refusal -> ``retry_dlq`` makes dead batches pending.
Sent batches are kept for ``DeliveryOptions.retention_days`` (export, audit of
what left the device), then ``purge_sent`` removes them.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from edge_core.telemetry.canonical import canonical_json
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.endpoint import validate_endpoint
from edge_core.telemetry.envelope import MAX_AGE, MAX_EVENTS, build_envelope
from edge_core.telemetry.errors import ForbiddenEvent, InvalidDeliveryOption, OutboxBusy, UnknownBatch
from edge_core.telemetry.events import Event, parse_timestamp, utc_timestamp

#: Run these (in order) inside the vault's migration; each is idempotent.
#: The outbox's tables: what a reset that keeps the outbox carries over.
TABLES = ("telemetry_settings", "telemetry_events", "telemetry_batches", "telemetry_delivery")

SCHEMA_STATEMENTS: list[str] = [
    """CREATE TABLE IF NOT EXISTS telemetry_settings (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        endpoint TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS telemetry_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at REAL NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS telemetry_batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id TEXT NOT NULL UNIQUE,
        envelope TEXT NOT NULL,
        event_count INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        last_error TEXT,
        sealed_at REAL NOT NULL,
        sent_at REAL
    )""",
    """CREATE INDEX IF NOT EXISTS telemetry_batches_due
        ON telemetry_batches (state, next_attempt_at)""",
    # Issue 16: how delivery is scheduled and pinned, and how the last attempts went.
    """CREATE TABLE IF NOT EXISTS telemetry_delivery (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        pin_sha256 TEXT,
        interval_s REAL NOT NULL DEFAULT 60,
        max_delay_s REAL NOT NULL DEFAULT 300,
        retention_days REAL NOT NULL DEFAULT 30,
        last_delivery_at REAL,
        last_error TEXT,
        last_error_at REAL
    )""",
    # The token a collector in enrolment mode "token" asks of a new device (sent with every batch; secret).
    """CREATE TABLE IF NOT EXISTS telemetry_enrolment (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token TEXT NOT NULL
    )""",
]
ENROLMENT_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")
"""What an enrolment token may be: the collector makes URL-safe base64 (``enrol token new``); it travels in
an HTTP header, so nothing else can pass."""


def check_enrolment_token(token: str) -> None:
    """Refuse a token that is not of the collector's form (it would be refused anyway, or break the header)."""
    if not ENROLMENT_TOKEN.fullmatch(token):
        raise InvalidDeliveryOption("an enrolment token is 16 to 128 letters, digits, '-' or '_', as "
                                    "'faceseal-collector enrol token new' prints it")

#: Bounds of the delivery options (``configure``), inclusive.
INTERVAL_RANGE_S = (1.0, 3600.0)
MAX_DELAY_RANGE_S = (1.0, 86400.0)
RETENTION_RANGE_DAYS = (0.0, 3650.0)

BatchState = Literal["pending", "sent", "dead"]


@dataclass(frozen=True)
class BatchLimits:
    """When queued events become a batch: ``max_events`` queued, or the oldest ``max_age_s`` old."""

    max_events: int = 100
    max_age_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_events <= MAX_EVENTS or self.max_age_s < 0:
            raise ValueError(f"max_events must be 1..{MAX_EVENTS} and max_age_s >= 0")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, and the failure count that sends a batch to the DLQ.

    The n-th failure waits ``d/2 + uniform(0, d/2)`` with
    ``d = min(max_delay_s, base_delay_s * 2**(n-1))``: always growing, never
    synchronised across a fleet that lost the same collector at once.
    """

    max_attempts: int = 6
    base_delay_s: float = 2.0
    max_delay_s: float = 900.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError("need max_attempts >= 1 and 0 <= base_delay_s <= max_delay_s")

    def delay_s(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (failures - 1))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


@dataclass(frozen=True)
class Settings:
    enabled: bool
    endpoint: str | None
    pin_sha256: str | None = None
    enrolment_token_set: bool = False
    """Whether an enrolment token is kept for the collector (the token itself is never shown)."""


@dataclass(frozen=True)
class DeliveryOptions:
    """When batches leave (every ``interval_s``; no event waits more than ``max_delay_s`` to be
    sealed) and how long sent batches are kept; with the last delivery and the last error."""

    pin_sha256: str | None = None
    interval_s: float = 60.0
    max_delay_s: float = 300.0
    retention_days: float = 30.0
    last_delivery_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None


@dataclass(frozen=True)
class DueBatch:
    """A pending batch whose retry time has come; ``envelope`` is its signed JSON line."""

    batch_id: str
    envelope: str
    event_count: int
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    batch_id: str
    event_count: int
    attempts: int
    last_error: str | None
    sealed_at: float


@dataclass(frozen=True)
class OutboxStatus:
    enabled: bool
    endpoint: str | None
    queued_events: int  # recorded, not yet sealed into a batch
    pending_batches: int
    pending_events: int
    sent_batches: int
    sent_events: int
    dead_batches: int
    dead_events: int
    next_attempt_at: float | None  # earliest retry of a pending batch (epoch seconds)
    oldest_queued_at: float | None = None  # when the oldest queued event was recorded
    last_delivery_at: float | None = None  # when a batch last reached the collector
    last_error: str | None = None  # the last failed attempt's short code (never a response body)
    last_error_at: float | None = None


@dataclass(frozen=True)
class Cleared:
    events: int
    batches: int


class Outbox:
    """Telemetry state on one DB-API connection (sqlite3 or sqlcipher3).

    The connection may be in autocommit mode or Python's default mode, but it
    must not be inside a transaction when a method is called (``OutboxBusy``).
    ``clock`` (epoch seconds; the uploader schedules with it too) and ``rng``
    are injectable so tests and benchmarks control time and jitter.
    """

    def __init__(
        self,
        conn: Any,
        *,
        limits: BatchLimits = BatchLimits(),
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._conn = conn
        self.limits = limits
        self.retry = retry
        self.clock = clock
        self._rng = rng or random.Random()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self._conn.in_transaction:
            raise OutboxBusy("the telemetry outbox cannot run inside an open transaction")
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(sql, params).fetchone()

    # ------------------------------------------------------------ settings

    def settings(self) -> Settings:
        row = self._one("SELECT enabled, endpoint FROM telemetry_settings WHERE id = 1")
        if not row:
            return Settings(False, None)
        return Settings(bool(row[0]), row[1], self.delivery().pin_sha256, self.enrolment_token() is not None)

    def enrolment_token(self) -> str | None:
        """The token to present to a collector that asks new devices for one, or None."""
        row = self._one("SELECT token FROM telemetry_enrolment WHERE id = 1")
        return str(row[0]) if row else None

    def set_enrolment_token(self, token: str | None) -> None:
        """Keep ``token`` for the collector (None: forget it); refused unless it has the collector's form."""
        if token is not None:
            check_enrolment_token(token)
        with self._transaction() as conn:
            conn.execute("DELETE FROM telemetry_enrolment")
            if token is not None:
                conn.execute("INSERT INTO telemetry_enrolment (id, token) VALUES (1, ?)", (token,))

    def delivery(self) -> DeliveryOptions:
        row = self._one(
            "SELECT pin_sha256, interval_s, max_delay_s, retention_days, last_delivery_at, last_error,"
            " last_error_at FROM telemetry_delivery WHERE id = 1"
        )
        return DeliveryOptions(*row) if row else DeliveryOptions()

    def enable(self, endpoint: str, pin_sha256: str | None = None) -> Settings:
        """Opt in and set the collector URL (validated) and its key pin (None: no pin). Makes no connection.

        ``pin_sha256`` must already be in ``endpoint.parse_pin``'s form.
        """
        url = validate_endpoint(endpoint)
        if pin_sha256 is not None and not url.startswith("https://"):
            raise InvalidDeliveryOption("a certificate pin needs an https:// endpoint")
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO telemetry_settings (id, enabled, endpoint) VALUES (1, 1, ?) "
                "ON CONFLICT (id) DO UPDATE SET enabled = 1, endpoint = excluded.endpoint",
                (url,),
            )
            _delivery_row(conn)
            conn.execute("UPDATE telemetry_delivery SET pin_sha256 = ? WHERE id = 1", (pin_sha256,))
        return Settings(True, url, pin_sha256)

    def configure(
        self,
        *,
        interval_s: float | None = None,
        max_delay_s: float | None = None,
        retention_days: float | None = None,
    ) -> DeliveryOptions:
        """Change the delivery schedule and the retention of sent batches (None: unchanged)."""
        for value, (low, high), name in (
            (interval_s, INTERVAL_RANGE_S, "the send interval"),
            (max_delay_s, MAX_DELAY_RANGE_S, "the longest wait of an event"),
            (retention_days, RETENTION_RANGE_DAYS, "the retention of sent batches"),
        ):
            if value is not None and not (isinstance(value, (int, float)) and low <= value <= high):
                unit = "days" if name.endswith("batches") else "seconds"
                raise InvalidDeliveryOption(f"{name} must be from {low:g} to {high:g} {unit}")
        with self._transaction() as conn:
            _delivery_row(conn)
            conn.execute(
                "UPDATE telemetry_delivery SET interval_s = coalesce(?, interval_s),"
                " max_delay_s = coalesce(?, max_delay_s), retention_days = coalesce(?, retention_days)"
                " WHERE id = 1",
                (interval_s, max_delay_s, retention_days),
            )
        return self.delivery()

    def disable(self) -> Settings:
        """Opt out: nothing more is recorded or sent. Queued data stays (see ``clear``)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO telemetry_settings (id, enabled) VALUES (1, 0) "
                "ON CONFLICT (id) DO UPDATE SET enabled = 0"
            )
        return self.settings()

    # -------------------------------------------------------------- events

    def append(self, event: Event) -> bool:
        """Queue ``event``; returns False, recording nothing, while telemetry is disabled."""
        if not isinstance(event, Event):
            raise ForbiddenEvent("the outbox accepts only validated Event objects")
        body = canonical_json(event.as_dict()).decode("ascii")
        with self._transaction() as conn:
            row = conn.execute("SELECT enabled FROM telemetry_settings WHERE id = 1").fetchone()
            if not (row and row[0]):
                return False
            conn.execute(
                "INSERT INTO telemetry_events (recorded_at, body) VALUES (?, ?)",
                (self.clock(), body),
            )
        return True

    def seal(self, device_key: DeviceKey, *, force: bool = False) -> list[str]:
        """Turn queued events into signed pending batches; return their ids.

        A batch is sealed when ``limits.max_events`` events are queued or the
        oldest has waited ``limits.max_age_s``; ``force`` seals whatever is
        queued (flush, export). One transaction per batch: the envelope is
        stored and its events leave the queue together. An event older than
        the wire format's ``MAX_AGE`` (queued while nothing delivered, for a
        month) leaves the queue unsent: a collector refuses a batch holding one,
        which would take the fresh events with it into the dead letters.
        """
        sealed: list[str] = []
        while True:
            with self._transaction() as conn:
                rows = conn.execute(
                    "SELECT seq, recorded_at, body FROM telemetry_events ORDER BY seq LIMIT ?",
                    (self.limits.max_events,),
                ).fetchall()
                now = self.clock()
                ripe = len(rows) == self.limits.max_events or (
                    rows and now - rows[0][1] >= self.limits.max_age_s
                )
                if not rows or not (ripe or force):
                    return sealed
                batch_id = str(uuid.uuid4())
                sealed_at = datetime.fromtimestamp(now, timezone.utc)
                events = [event for event in (Event(json.loads(body)) for _, _, body in rows)
                          if (parse_timestamp(event.as_dict()["at"]) or sealed_at) >= sealed_at - MAX_AGE]
                if events:
                    envelope = build_envelope(device_key, batch_id, utc_timestamp(sealed_at), events)
                    conn.execute(
                        "INSERT INTO telemetry_batches (batch_id, envelope, event_count, state,"
                        " next_attempt_at, sealed_at) VALUES (?, ?, ?, 'pending', ?, ?)",
                        (batch_id, canonical_json(envelope).decode("ascii"), len(events), now, now),
                    )
                conn.execute("DELETE FROM telemetry_events WHERE seq <= ?", (rows[-1][0],))
            if events:
                sealed.append(batch_id)

    # ------------------------------------------------------------- batches

    def due(self, limit: int = 100) -> list[DueBatch]:
        """Pending batches whose next attempt time has come, oldest first."""
        rows = self._conn.execute(
            "SELECT batch_id, envelope, event_count, attempts FROM telemetry_batches"
            " WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY seq LIMIT ?",
            (self.clock(), limit),
        ).fetchall()
        return [DueBatch(*row) for row in rows]

    def mark_sent(self, batch_id: str) -> None:
        """The collector holds this batch (accepted now, or earlier: a duplicate)."""
        with self._transaction() as conn:
            now = self.clock()
            conn.execute(
                "UPDATE telemetry_batches SET state = 'sent', sent_at = ?, last_error = NULL"
                " WHERE batch_id = ?",
                (now, batch_id),
            )
            _delivery_row(conn)
            conn.execute("UPDATE telemetry_delivery SET last_delivery_at = ? WHERE id = 1", (now,))

    def mark_failed(
        self, batch_id: str, error: str, *, permanent: bool = False
    ) -> BatchState | None:
        """Count a failed attempt; schedule a retry, or dead-letter the batch.

        ``error`` is a short code (``timeout``, ``http_500``, ``refused:replay``),
        never a response body. ``permanent`` (the collector refused the batch
        itself) dead-letters at once: resending the same bytes cannot help.
        Returns the batch's state afterwards (None if it no longer exists).
        """
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT attempts FROM telemetry_batches WHERE batch_id = ? AND state = 'pending'",
                (batch_id,),
            ).fetchone()
            if row is None:  # another flusher settled it meanwhile, or it was cleared
                return self._state(batch_id)
            attempts = row[0] + 1
            dead = permanent or attempts >= self.retry.max_attempts
            retry_at = self.clock() + (0.0 if dead else self.retry.delay_s(attempts, self._rng))
            state: BatchState = "dead" if dead else "pending"
            conn.execute(
                "UPDATE telemetry_batches SET state = ?, attempts = ?, next_attempt_at = ?,"
                " last_error = ? WHERE batch_id = ?",
                (state, attempts, retry_at, error[:200], batch_id),
            )
            _delivery_row(conn)
            conn.execute(
                "UPDATE telemetry_delivery SET last_error = ?, last_error_at = ? WHERE id = 1",
                (error[:200], self.clock()),
            )
        return state

    def _state(self, batch_id: str) -> BatchState | None:
        row = self._one("SELECT state FROM telemetry_batches WHERE batch_id = ?", (batch_id,))
        return row[0] if row else None

    def retry_dlq(self) -> int:
        """Give every dead-lettered batch a fresh set of attempts, due now; return how many."""
        with self._transaction() as conn:
            return len(requeue_dead(conn, self.clock()))

    def purge_sent(self, older_than_days: float | None = None) -> int:
        """Delete sent batches older than the retention (``retention_days`` unless given); return how many."""
        days = self.delivery().retention_days if older_than_days is None else older_than_days
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM telemetry_batches WHERE state = 'sent' AND sent_at < ?",
                (self.clock() - days * 86400.0,),
            )
        return int(cursor.rowcount)

    def oldest_queued_at(self) -> float | None:
        return self._one("SELECT min(recorded_at) FROM telemetry_events")[0]

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT batch_id, event_count, attempts, last_error, sealed_at"
            " FROM telemetry_batches WHERE state = 'dead' ORDER BY seq"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def envelopes(self) -> Iterator[str]:
        """Every batch (sent, pending and dead), oldest first, as its signed JSON line."""
        for (envelope,) in self._conn.execute(
            "SELECT envelope FROM telemetry_batches ORDER BY seq"
        ):
            yield envelope

    def status(self) -> OutboxStatus:
        settings = self.settings()
        queued = self._one("SELECT count(*) FROM telemetry_events")[0]
        counts = {
            state: (batches, events)
            for state, batches, events in self._conn.execute(
                "SELECT state, count(*), sum(event_count) FROM telemetry_batches GROUP BY state"
            )
        }
        next_at = self._one(
            "SELECT min(next_attempt_at) FROM telemetry_batches WHERE state = 'pending'"
        )[0]

        def of(state: str) -> tuple[int, int]:
            batches, events = counts.get(state, (0, 0))
            return int(batches), int(events or 0)

        (pb, pe), (sb, se), (db, de) = of("pending"), of("sent"), of("dead")
        delivery = self.delivery()
        return OutboxStatus(
            settings.enabled, settings.endpoint, queued, pb, pe, sb, se, db, de, next_at,
            self.oldest_queued_at(), delivery.last_delivery_at, delivery.last_error, delivery.last_error_at,
        )

    def clear(self) -> Cleared:
        """Forget every queued event and batch (for ``reset``); settings are kept."""
        with self._transaction() as conn:
            events = conn.execute("DELETE FROM telemetry_events").rowcount
            batches = conn.execute("DELETE FROM telemetry_batches").rowcount
        return Cleared(int(events), int(batches))


def _delivery_row(conn: Any) -> None:
    """Make sure the one row of ``telemetry_delivery`` exists (inside the caller's transaction)."""
    conn.execute("INSERT INTO telemetry_delivery (id) VALUES (1) ON CONFLICT (id) DO NOTHING")


def requeue_dead(conn: Any, now: float, batch_id: str | None = None) -> list[str]:
    """Inside the caller's transaction: make the dead letter ``batch_id`` (None: every one) pending,
    due ``now``, with a fresh set of attempts; return the ids requeued. An unknown id raises
    ``UnknownBatch`` (the caller's transaction rolls back)."""
    ids = _dead_ids(conn, batch_id)
    conn.executemany(
        "UPDATE telemetry_batches SET state = 'pending', attempts = 0, next_attempt_at = ?"
        " WHERE batch_id = ? AND state = 'dead'",
        [(now, found) for found in ids],
    )
    return ids


def drop_dead(conn: Any, batch_id: str) -> DeadLetter:
    """Inside the caller's transaction: delete the dead letter ``batch_id``; return what it was."""
    [found] = _dead_ids(conn, batch_id)
    row = conn.execute(
        "SELECT batch_id, event_count, attempts, last_error, sealed_at FROM telemetry_batches"
        " WHERE batch_id = ?",
        (found,),
    ).fetchone()
    conn.execute("DELETE FROM telemetry_batches WHERE batch_id = ? AND state = 'dead'", (found,))
    return DeadLetter(*row)


def _dead_ids(conn: Any, batch_id: str | None) -> list[str]:
    if batch_id is None:
        return [row[0] for row in conn.execute(
            "SELECT batch_id FROM telemetry_batches WHERE state = 'dead' ORDER BY seq"
        )]
    row = conn.execute(
        "SELECT batch_id FROM telemetry_batches WHERE batch_id = ? AND state = 'dead'",
        (str(batch_id).strip().lower(),),
    ).fetchone()
    if row is None:
        raise UnknownBatch("no dead-lettered batch has that id ('faceseal telemetry dlq list' shows them)")
    return [row[0]]
