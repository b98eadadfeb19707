"""The vault's schema and its migrations, run in order by ``PRAGMA user_version``.

Each migration runs in its own transaction; the database's ``user_version``
says how many have run, so a crash between two leaves a schema that the next
open finishes.
"""

from __future__ import annotations

from collections.abc import Callable

from edge_core.support.database import Connection, transaction
from edge_core.telemetry.outbox import SCHEMA_STATEMENTS


def run_script(conn: Connection, script: str) -> None:
    """Run ``;``-separated DDL inside the caller's transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE identities (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            key_version INTEGER NOT NULL,      -- vault key version wrapping the identity key
            key_generation INTEGER NOT NULL,   -- vault key version current when the identity key was made,
                                               -- the key version in its template blobs
            wrapped_key BLOB NOT NULL
        );
        CREATE TABLE templates (
            id TEXT PRIMARY KEY,
            identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
            pack TEXT NOT NULL,
            dim INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            blob BLOB NOT NULL
        );
        CREATE INDEX templates_by_identity ON templates(identity_id);
        CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            key_version INTEGER NOT NULL,
            wrapped BLOB NOT NULL
        );
        CREATE TABLE audit_events (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        );
        CREATE TABLE audit_inbox_consumed (id TEXT PRIMARY KEY);
        """
    )


def _v2(conn: Connection) -> None:
    """The telemetry outbox (off by default; see docs/TELEMETRY.md)."""
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)


def _v3(conn: Connection) -> None:
    """Telemetry delivery options and state (issue 16); the statements are idempotent."""
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)


def _v4(conn: Connection) -> None:
    """The gallery generation (issue 28): bumped by SQLite itself on every change to templates or identities, so a
    sealed gallery snapshot names exactly the state it holds (:mod:`edge_core.vault.snapshot`)."""
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('gallery_generation', '0')")
    for table in ("templates", "identities"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER IF NOT EXISTS gallery_{table}_{event.lower()} AFTER {event} ON {table} "
                         "BEGIN UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                         "WHERE key = 'gallery_generation'; END")


def _v5(conn: Connection) -> None:
    """Consent and retention (issue 30 item 2): each person's consent, kept here in the encrypted database and never
    in a file of the data folder, so that nobody who can only write there can extend or drop a retention. The row
    goes with its identity (``ON DELETE CASCADE``), and with it the salt of the name commitment its audit event
    holds. ``expires_at`` is NULL when no retention period was in force at consent. A deletion by retention keeps
    its deletion certificate (identity id, never a name) in ``retention_certificates`` until someone saves it."""
    run_script(
        conn,
        """
        CREATE TABLE consents (
            identity_id TEXT PRIMARY KEY REFERENCES identities(id) ON DELETE CASCADE,
            consented_at TEXT NOT NULL,
            text_version INTEGER NOT NULL,
            text_sha256 TEXT NOT NULL,
            purpose TEXT NOT NULL,
            retention_days INTEGER,
            expires_at TEXT,
            name_salt BLOB NOT NULL,
            audit_seq INTEGER NOT NULL
        );
        CREATE INDEX consents_by_expiry ON consents(expires_at);
        CREATE TABLE retention_certificates (
            identity_id TEXT PRIMARY KEY,
            deleted_at TEXT NOT NULL,
            certificate TEXT NOT NULL
        )
        """
    )


#: Migrations in order; the database's ``user_version`` is how many have run.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5]


def migrate(conn: Connection) -> None:
    """Bring the schema up to date, each step in its own transaction.

    An up-to-date schema is recognised without a write transaction, so opening
    the vault never queues behind another process's long write.
    """
    steps = MIGRATIONS
    if conn.execute("PRAGMA user_version").fetchone()[0] >= len(steps):
        return
    while True:
        with transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= len(steps):
                return
            steps[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
