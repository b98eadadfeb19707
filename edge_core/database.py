"""The SQLCipher database: connection, pragmas, transactions and schema migrations.

The whole file, its WAL and its journal are encrypted page by page with the
database key, so identity names and metadata never reach the disk in clear.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlcipher3

from .errors import DataDirUnreadable, FaceSealError

Connection = sqlcipher3.Connection
DatabaseError = sqlcipher3.DatabaseError
Error = sqlcipher3.Error
BUSY_TIMEOUT_S = 120.0


def connect(path: Path, key: bytes, create: bool = False) -> Connection:
    """Open the encrypted database (``create``: a new one); a wrong key or a damaged file is refused.

    Opening an existing vault never writes before it has proven the file holds
    FaceSeal's schema: an emptied or foreign file is reported, not re-initialised.
    """
    if not create and not path.exists():
        raise DataDirUnreadable(f"the database {path} is missing; FaceSeal left the data as it is")
    # SQLite gives the -wal and -shm files the main file's mode: make that 0600 from the start.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        # SQLCipher would otherwise print its own error lines to stderr on a wrong key.
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not create and conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise DatabaseError("no FaceSeal schema")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
    except DatabaseError:
        conn.close()
        raise DataDirUnreadable(
            f"the database {path} cannot be read (damaged, truncated or sealed with other keys); "
            "FaceSeal left it as it is"
        ) from None
    return conn


def translate(error: sqlcipher3.Error) -> FaceSealError:
    """A database error as a person should read it: busy, or damaged (never SQLite's own words)."""
    if isinstance(error, sqlcipher3.OperationalError) and "locked" in str(error):
        return FaceSealError("another FaceSeal process kept the vault busy for too long; try again")
    return DataDirUnreadable(
        "the database is damaged (a page failed to decrypt or parse); FaceSeal left it as it is. "
        "Restore the data directory from a backup"
    )


@contextlib.contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """BEGIN IMMEDIATE ... COMMIT: writers queue up, and a crash rolls the whole step back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
    from .telemetry.outbox import SCHEMA_STATEMENTS

    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)


#: Migrations in order; the database's ``user_version`` is how many have run.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2]


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


def get_meta(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
