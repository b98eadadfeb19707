"""The collector's storage: registered device keys, accepted batches, their events, operator tokens.

One store per process over an sqlite file or a PostgreSQL database
(``database``); any thread may call it. Each accepted batch is written in one
transaction together with its events and, on a device's first batch, the
device's registration, so a crash or a concurrent duplicate can never store a
batch twice or half of it. With several collectors behind one PostgreSQL
database, the primary keys of ``devices``, ``batches`` and ``events`` decide:
the second writer of the same batch fails on a unique key once the first
commits, and its retry finds the batch stored and answers ``duplicate``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError

from edge_core.telemetry.canonical import canonical_json
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
        """Store a verified batch exactly once, if the enrolment mode admits its device.

        Returns ``duplicate`` for a batch whose signed content is already
        stored (a re-send after a lost answer, or the same batch received by
        another collector). Raises ``EnvelopeError`` with ``key_mismatch`` when
        the device id is registered with another public key, ``replay``
        when the batch id is taken by different content, and ``not_enrolled``
        when the operator's enrolment mode does not admit the device.
        """
        digest = hashlib.sha256(batch.content).hexdigest()
        rows = [
            {
                "batch_id": batch.batch_id,
                "idx": idx,
                "device_id": batch.device_id,
                "kind": str(fields["kind"]),
                "at": str(fields["at"]),
                "body": canonical_json(fields).decode("ascii"),
            }
            for idx, fields in enumerate(event.as_dict() for event in batch.events)
        ]
        for attempt in range(RACE_RETRIES + 1):
            now = stamp(datetime.now(UTC))
            try:
                with self.engine.begin() as conn:
                    return self._accept_in(conn, batch, digest, now, rows, enrolment_token)
            except IntegrityError:
                # Another writer stored this device or batch first and has committed:
                # the next attempt sees its rows.
                if attempt == RACE_RETRIES:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _accept_in(
        conn: Connection, batch: VerifiedBatch, digest: str, now: str, rows: list[dict[str, object]],
        enrolment_token: str | None,
    ) -> Acceptance:
        registered = conn.execute(
            select(devices.c.public_key).where(devices.c.device_id == batch.device_id)
        ).scalar()
        if registered is not None and registered != batch.public_key:
            raise EnvelopeError("key_mismatch", "this device id is registered with another key")
        _check_enrolment(conn, batch, registered is not None, enrolment_token)
        seen = conn.execute(
            select(batches.c.content_sha256).where(batches.c.batch_id == batch.batch_id)
        ).scalar()
        if seen is not None:
            if seen == digest:
                return "duplicate"
            raise EnvelopeError("replay", "this batch id was already used for other content")
        if registered is None:
            conn.execute(
                insert(devices).values(
                    device_id=batch.device_id,
                    public_key=batch.public_key,
                    registered_at=now,
                    last_seen_at=now,
                )
            )
        else:
            conn.execute(
                update(devices)
                .where(devices.c.device_id == batch.device_id, devices.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
        conn.execute(
            insert(batches).values(
                batch_id=batch.batch_id,
                device_id=batch.device_id,
                content_sha256=digest,
                created_at=batch.created_at,
                received_at=now,
                event_count=len(rows),
            )
        )
        conn.execute(insert(events), rows)
        return "accepted"

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
    mode = conn.execute(select(collector_settings.c.value).where(collector_settings.c.name == "enrolment")).scalar()
    return mode if mode in ENROLMENT_MODES else "open"  # type: ignore[return-value]


def _check_enrolment(conn: Connection, batch: VerifiedBatch, registered: bool, presented: str | None) -> None:
    """Refuse (``not_enrolled``) a device the operator's enrolment mode does not admit.

    ``open``: any device key registers on its first batch. ``allow-list``: every batch's device must be on
    the operator's list (taking one off stops it at once). ``token``: a device's first batch must carry a
    current enrolment token (``X-FaceSeal-Enrolment``); once registered, its key is what identifies it.
    """
    mode = _enrolment_in(conn)
    if mode == "allow-list":
        listed = conn.execute(select(allowed_devices.c.device_id)
                              .where(allowed_devices.c.device_id == batch.device_id)).first()
        if not listed:
            raise EnvelopeError("not_enrolled", "this device is not on the collector's allow-list")
    elif mode == "token" and not registered:
        digests = conn.execute(select(enrolment_tokens.c.token_sha256)).scalars().all()
        if not presented or not _matches(presented, digests):
            raise EnvelopeError("not_enrolled", "a new device must present a valid enrolment token "
                                "(X-FaceSeal-Enrolment) with its first batch")
