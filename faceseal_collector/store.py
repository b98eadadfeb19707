"""The collector's storage: registered device keys, accepted batches, their events, operator tokens.

One store per process over an sqlite file or a PostgreSQL database
(``database``); any thread may call it. Each accepted batch is written in one
transaction together with its events and, on a device's first batch, the
device's registration, so a crash or a concurrent duplicate can never store a
batch twice or half of it; one transaction may hold a group of batches
(``accept_group``, fed by ``groupcommit``). With several collector processes
behind one database, the primary keys of ``devices``, ``batches`` and
``events`` decide: the second writer of the same batch fails on a unique key
once the first commits, and its retry finds the batch stored and answers
``duplicate``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from edge_core.telemetry.envelope import VerifiedBatch
from edge_core.telemetry.errors import EnvelopeError
from faceseal_collector.database import (
    READ_ONLY,
    allowed_devices,
    batches,
    collector_settings,
    devices,
    enrolment_tokens,
    events,
    insert_rows,
    is_lost_race,
    open_engine,
    operator_tokens,
)

Acceptance = Literal["accepted", "duplicate"]
Enrolment = Literal["open", "allow-list", "token"]
ENROLMENT_MODES: tuple[Enrolment, ...] = ("open", "allow-list", "token")
TokenKind = Literal["operator", "enrolment"]
TOKENS = {"operator": operator_tokens, "enrolment": enrolment_tokens}

#: How many times a batch is retried after losing a race to another collector.
RACE_RETRIES = 3


def stamp(moment: datetime) -> str:
    """The collector's own timestamps: UTC, microseconds, fixed width (so they sort as text). The year is
    padded by hand: glibc's ``%Y`` writes year 999 as "999", which sorts after "2026"."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.%fZ")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CollectorStore:
    """The database behind ``url`` (migrated on open); thread-safe through the engine's pool."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.engine: Engine = open_engine(url)

    def reading(self) -> Connection:
        """A connection for reads only (use it in a ``with``)."""
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    def close(self) -> None:
        self.engine.dispose()

    def accept(self, batch: VerifiedBatch, enrolment_token: str | None = None) -> Acceptance:
        """Store one verified batch exactly once (``accept_group`` of one); raises its refusal."""
        [outcome] = self.accept_group([(batch, enrolment_token)])
        if isinstance(outcome, EnvelopeError):
            raise outcome
        return outcome

    def accept_group(self, items: Sequence[tuple[VerifiedBatch, str | None]]) -> list[Acceptance | EnvelopeError]:
        """Store verified batches, each exactly once if the enrolment mode admits its device, in one transaction.

        One outcome per item, in order, as if they had come one after the other: ``accepted``; ``duplicate`` for
        a batch whose signed content is already stored (a re-send after a lost answer, the same batch received by
        another collector process, or earlier in this group); or the refusal: ``key_mismatch`` when the device id
        is registered with another public key, ``replay`` when the batch id is taken by different content,
        ``not_enrolled`` when the operator's enrolment mode does not admit the device. A refused item stores
        nothing and does not hold the others back. A failing database raises for the whole group, storing none.
        """
        pending = [_Pending(batch, token) for batch, token in items]
        for attempt in range(RACE_RETRIES + 1):
            now = stamp(datetime.now(UTC))
            try:
                with self.engine.begin() as conn:
                    return _accept_group_in(conn, pending, now)
            except DBAPIError as error:
                # Another writer stored one of these devices or batches first and has committed (or PostgreSQL
                # broke a lock cycle between two groups): the next attempt sees its rows.
                if attempt == RACE_RETRIES or not is_lost_race(error):
                    raise
        raise AssertionError("unreachable")

    # -- tokens (operators', and devices' enrolment): only their SHA-256 is stored; shown once, when made

    def set_token(self, kind: TokenKind, name: str, token: str) -> None:
        """Store ``token`` (its digest) under ``name``, replacing a token of that name and kind."""
        table = TOKENS[kind]
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.name == name))
            conn.execute(insert(table).values(name=name, token_sha256=token_digest(token),
                                              created_at=stamp(datetime.now(UTC))))

    def revoke_token(self, kind: TokenKind, name: str) -> bool:
        table = TOKENS[kind]
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(table).where(table.c.name == name)).rowcount)

    def tokens(self, kind: TokenKind) -> list[tuple[str, str]]:
        """(name, created_at) of every token of ``kind``, by name."""
        table = TOKENS[kind]
        with self.reading() as conn:
            rows = conn.execute(select(table.c.name, table.c.created_at).order_by(table.c.name)).all()
        return [(str(name), str(created)) for name, created in rows]

    def token_valid(self, kind: TokenKind, presented: str) -> bool:
        """Whether ``presented`` is a current token of ``kind``; compared in constant time with each one."""
        table = TOKENS[kind]
        with self.reading() as conn:
            return _matches(presented, conn.execute(select(table.c.token_sha256)).scalars().all())

    # -- enrolment: which devices may register

    def enrolment(self) -> Enrolment:
        with self.reading() as conn:
            return _enrolment_in(conn)

    def set_enrolment(self, mode: Enrolment) -> None:
        if mode not in ENROLMENT_MODES:
            raise ValueError(mode)
        with self.engine.begin() as conn:
            conn.execute(delete(collector_settings).where(collector_settings.c.name == "enrolment"))
            conn.execute(insert(collector_settings).values(name="enrolment", value=mode))

    def allow_device(self, device_id: str) -> bool:
        """Put a device on the allow-list; False if it was on it already."""
        with self.engine.begin() as conn:
            if conn.execute(select(allowed_devices.c.device_id).where(allowed_devices.c.device_id == device_id)).first():
                return False
            conn.execute(insert(allowed_devices).values(device_id=device_id, added_at=stamp(datetime.now(UTC))))
            return True

    def forbid_device(self, device_id: str) -> bool:
        """Take a device off the allow-list (its next batch is refused in allow-list mode); False if absent."""
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(allowed_devices).where(allowed_devices.c.device_id == device_id)).rowcount)

    def allowed(self) -> list[tuple[str, str]]:
        with self.reading() as conn:
            rows = conn.execute(select(allowed_devices.c.device_id, allowed_devices.c.added_at)
                                .order_by(allowed_devices.c.device_id)).all()
        return [(str(device), str(added)) for device, added in rows]


def _matches(presented: str, digests: list[str]) -> bool:
    digest = token_digest(presented)
    valid = False
    for candidate in digests:
        valid |= hmac.compare_digest(str(candidate), digest)
    return valid


def _enrolment_in(conn: Connection) -> Enrolment:
    mode = conn.execute(_ENROLMENT).scalar()
    return mode if mode in ENROLMENT_MODES else "open"  # type: ignore[return-value]


class _Pending:
    """A verified batch on its way in: its digest and event rows are made before the transaction starts."""

    __slots__ = ("batch", "token", "digest", "rows")

    def __init__(self, batch: VerifiedBatch, token: str | None) -> None:
        self.batch = batch
        self.token = token
        self.digest = hashlib.sha256(batch.content).hexdigest()
        # an event's fields are sorted, ASCII strings and integers: orjson writes exactly canonical_json here,
        # at a twentieth of its cost (tests/collector/test_collector.py compares them)
        self.rows = [(batch.batch_id, idx, batch.device_id, fields["kind"], fields["at"], orjson.dumps(fields).decode())
                     for idx, fields in enumerate(event.as_dict() for event in batch.events)]


# Built once: a statement made per call costs more to build and look up in SQLAlchemy's cache than to run.
_KEYS_OF = select(devices.c.device_id, devices.c.public_key).where(
    devices.c.device_id.in_(bindparam("ids", expanding=True)))
_DIGESTS_OF = select(batches.c.batch_id, batches.c.content_sha256).where(
    batches.c.batch_id.in_(bindparam("ids", expanding=True)))
_HEARD = update(devices).where(devices.c.device_id.in_(bindparam("ids", expanding=True)),
                               devices.c.last_seen_at < bindparam("now")).values(last_seen_at=bindparam("now"))
_LISTED = select(allowed_devices.c.device_id).where(allowed_devices.c.device_id.in_(bindparam("ids", expanding=True)))
_ENROLMENT = select(collector_settings.c.value).where(collector_settings.c.name == "enrolment")


def _accept_group_in(conn: Connection, pending: list[_Pending], now: str) -> list[Acceptance | EnvelopeError]:
    """Decide every item against the database and the items before it, then write what was accepted in bulk,
    devices and batches in key order (two groups never wait on each other in a cycle)."""
    device_ids = sorted({item.batch.device_id for item in pending})
    registered: dict[str, str] = dict(conn.execute(_KEYS_OF, {"ids": device_ids}).all())  # type: ignore[arg-type]
    seen: dict[str, str] = dict(conn.execute(  # type: ignore[arg-type]
        _DIGESTS_OF, {"ids": sorted({item.batch.batch_id for item in pending})}).all())
    admits = _Enrolment(conn, device_ids, registered)
    outcomes: list[Acceptance | EnvelopeError] = []
    new_devices: dict[str, tuple[str, str, str, str]] = {}
    accepted: list[_Pending] = []
    for item in pending:
        batch = item.batch
        key = registered.get(batch.device_id)
        if key is not None and key != batch.public_key:
            outcomes.append(EnvelopeError("key_mismatch", "this device id is registered with another key"))
            continue
        refusal = admits.refusal(batch.device_id, key is not None, item.token)
        if refusal is not None:
            outcomes.append(refusal)
            continue
        prior = seen.get(batch.batch_id)
        if prior is not None:
            outcomes.append("duplicate" if prior == item.digest else
                            EnvelopeError("replay", "this batch id was already used for other content"))
            continue
        if key is None:
            registered[batch.device_id] = batch.public_key
            new_devices[batch.device_id] = (batch.device_id, batch.public_key, now, now)
        seen[batch.batch_id] = item.digest
        accepted.append(item)
        outcomes.append("accepted")
    if accepted:
        _write(conn, sorted(accepted, key=lambda item: item.batch.batch_id), new_devices, now)
    return outcomes


def _write(conn: Connection, accepted: list[_Pending], new_devices: dict[str, tuple[str, str, str, str]],
           now: str) -> None:
    if new_devices:
        insert_rows(conn, devices, [new_devices[device_id] for device_id in sorted(new_devices)])
    heard = sorted({item.batch.device_id for item in accepted} - new_devices.keys())
    if heard:
        conn.execute(_HEARD, {"ids": heard, "now": now})
    insert_rows(conn, batches, [(item.batch.batch_id, item.batch.device_id, item.digest, item.batch.created_at, now,
                                 len(item.rows)) for item in accepted])
    insert_rows(conn, events, [row for item in accepted for row in item.rows])


class _Enrolment:
    """Which devices the operator's enrolment mode admits, read once per group.

    ``open``: any device key registers on its first batch. ``allow-list``: every batch's device must be on
    the operator's list (taking one off stops it at once). ``token``: a device's first batch must carry a
    current enrolment token (``X-FaceSeal-Enrolment``); once registered, its key is what identifies it.
    """

    def __init__(self, conn: Connection, device_ids: list[str], registered: dict[str, str]) -> None:
        self.mode = _enrolment_in(conn)
        self.listed: set[str] = set()
        self.digests: list[str] = []
        if self.mode == "allow-list":
            self.listed = set(conn.execute(_LISTED, {"ids": device_ids}).scalars())
        elif self.mode == "token" and not registered.keys() >= set(device_ids):
            self.digests = list(conn.execute(select(enrolment_tokens.c.token_sha256)).scalars())

    def refusal(self, device_id: str, registered: bool, presented: str | None) -> EnvelopeError | None:
        if self.mode == "allow-list" and device_id not in self.listed:
            return EnvelopeError("not_enrolled", "this device is not on the collector's allow-list")
        if self.mode == "token" and not registered and (not presented or not _matches(presented, self.digests)):
            return EnvelopeError("not_enrolled", "a new device must present a valid enrolment token "
                                 "(X-FaceSeal-Enrolment) with its first batch")
        return None
