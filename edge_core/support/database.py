"""The SQLCipher database: connection, pragmas, transactions and the ``meta`` table.

The whole file, its WAL and its journal are encrypted page by page with the
database key, so identity names and metadata never reach the disk in clear.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import sqlcipher3

from edge_core.errors import DataDirUnreadable, FaceSealError

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


def get_meta(conn: Connection, key: str) -> str | None:
    """A value of the ``meta`` table (settings, heads, counters), or ``None``."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Insert or replace a ``meta`` value: the one upsert every module uses, inside the caller's transaction."""
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))
