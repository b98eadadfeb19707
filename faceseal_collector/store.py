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
    batches,
    devices,
    events,
    open_engine,
    operator_tokens,
)

Acceptance = Literal["accepted", "duplicate"]

#: How many times a batch is retried after losing a race to another collector.
RACE_RETRIES = 3


def stamp(moment: datetime) -> str:
    """The collector's own timestamps: UTC, microseconds, fixed width (so they sort as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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

    def accept(self, batch: VerifiedBatch) -> Acceptance:
        """Store a verified batch exactly once.

        Returns ``duplicate`` for a batch whose signed content is already
        stored (a re-send after a lost answer, or the same batch received by
        another collector). Raises ``EnvelopeError`` with ``key_mismatch`` when
        the device id is registered with another public key, and ``replay``
        when the batch id is taken by different content.
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
                    return self._accept_in(conn, batch, digest, now, rows)
            except IntegrityError:
                # Another writer stored this device or batch first and has committed:
                # the next attempt sees its rows.
                if attempt == RACE_RETRIES:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _accept_in(
        conn: Connection, batch: VerifiedBatch, digest: str, now: str, rows: list[dict[str, object]]
    ) -> Acceptance:
        registered = conn.execute(
            select(devices.c.public_key).where(devices.c.device_id == batch.device_id)
        ).scalar()
        if registered is not None and registered != batch.public_key:
            raise EnvelopeError("key_mismatch", "this device id is registered with another key")
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

    # -- operator tokens: only their SHA-256 is stored; the token is shown once, when made

    def set_operator_token(self, name: str, token: str) -> None:
        """Store ``token`` (its digest) under ``name``, replacing a token of that name."""
        with self.engine.begin() as conn:
            conn.execute(delete(operator_tokens).where(operator_tokens.c.name == name))
            conn.execute(
                insert(operator_tokens).values(
                    name=name, token_sha256=token_digest(token), created_at=stamp(datetime.now(UTC))
                )
            )

    def revoke_operator_token(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(operator_tokens).where(operator_tokens.c.name == name)).rowcount)

    def operator_tokens(self) -> list[tuple[str, str]]:
        """(name, created_at) of every operator token, by name."""
        with self.reading() as conn:
            rows = conn.execute(
                select(operator_tokens.c.name, operator_tokens.c.created_at).order_by(operator_tokens.c.name)
            ).all()
        return [(str(name), str(created)) for name, created in rows]

    def operator_token_valid(self, presented: str) -> bool:
        """Whether ``presented`` is a current operator token; compared in constant time with each one."""
        digest = token_digest(presented)
        with self.reading() as conn:
            stored = conn.execute(select(operator_tokens.c.token_sha256)).scalars().all()
        valid = False
        for candidate in stored:
            valid |= hmac.compare_digest(str(candidate), digest)
        return valid
