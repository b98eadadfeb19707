"""The collector's database: registered device keys, accepted batches, their events.

Each accepted batch is written in one ``BEGIN IMMEDIATE`` transaction together
with its events and, on a device's first batch, the device's registration, so
a crash or a concurrent duplicate can never store a batch twice or half of it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from edge_core.telemetry.canonical import canonical_json
from edge_core.telemetry.envelope import VerifiedBatch
from edge_core.telemetry.errors import EnvelopeError

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS devices (
        device_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices (device_id),
        content_sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        event_count INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        batch_id TEXT NOT NULL REFERENCES batches (batch_id),
        idx INTEGER NOT NULL,
        device_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (batch_id, idx)
    )""",
]

Acceptance = Literal["accepted", "duplicate"]


class CollectorStore:
    """A sqlite file; one short-lived connection per call, so any thread may call it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                conn.execute(statement)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def accept(self, batch: VerifiedBatch) -> Acceptance:
        """Store a verified batch exactly once.

        Returns ``duplicate`` for a batch whose signed content is already
        stored (a re-send after a lost answer). Raises ``EnvelopeError`` with
        ``key_mismatch`` when the device id is registered with another public
        key, and ``replay`` when the batch id is taken by different content.
        """
        digest = hashlib.sha256(batch.content).hexdigest()
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = self._accept_locked(conn, batch, digest, now)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        finally:
            conn.close()

    @staticmethod
    def _accept_locked(
        conn: sqlite3.Connection, batch: VerifiedBatch, digest: str, now: str
    ) -> Acceptance:
        row = conn.execute(
            "SELECT public_key FROM devices WHERE device_id = ?", (batch.device_id,)
        ).fetchone()
        if row is not None and row[0] != batch.public_key:
            raise EnvelopeError("key_mismatch", "this device id is registered with another key")
        seen = conn.execute(
            "SELECT content_sha256 FROM batches WHERE batch_id = ?", (batch.batch_id,)
        ).fetchone()
        if seen is not None:
            if seen[0] == digest:
                return "duplicate"
            raise EnvelopeError("replay", "this batch id was already used for other content")
        if row is None:
            conn.execute(
                "INSERT INTO devices (device_id, public_key, registered_at, last_seen_at)"
                " VALUES (?, ?, ?, ?)",
                (batch.device_id, batch.public_key, now, now),
            )
        else:
            conn.execute(
                "UPDATE devices SET last_seen_at = ? WHERE device_id = ?", (now, batch.device_id)
            )
        conn.execute(
            "INSERT INTO batches (batch_id, device_id, content_sha256, created_at, received_at,"
            " event_count) VALUES (?, ?, ?, ?, ?, ?)",
            (batch.batch_id, batch.device_id, digest, batch.created_at, now, len(batch.events)),
        )
        conn.executemany(
            "INSERT INTO events (batch_id, idx, device_id, kind, at, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    batch.batch_id,
                    idx,
                    batch.device_id,
                    str(fields["kind"]),
                    str(fields["at"]),
                    canonical_json(fields).decode("ascii"),
                )
                for idx, fields in enumerate(event.as_dict() for event in batch.events)
            ],
        )
        return "accepted"
