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

from edge_core.errors import DataDirUnreadable, DiskFull, FaceSealError, disk_full, is_disk_full
from edge_core.support import paths

Connection = sqlcipher3.Connection
DatabaseError = sqlcipher3.DatabaseError
Error = sqlcipher3.Error
BUSY_TIMEOUT_S = 120.0
LOW_SPACE_BYTES = 1 << 20
"""Below this much free space, SQLite's "disk I/O error" is the full disk (its WAL index cannot grow)."""


def _full(error: BaseException, folder: Path | None) -> bool:
    """Whether a database error means the disk is full: SQLITE_FULL, or an I/O error on a (nearly) full disk."""
    if is_disk_full(error):
        return True
    if folder is None or "disk I/O error" not in str(error):
        return False
    try:
        info = os.statvfs(folder)
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < LOW_SPACE_BYTES


def connect(path: Path, key: bytes, create: bool = False, reading: bool = False) -> Connection:
    """Open the encrypted database (``create``: a new one); a wrong key or a damaged file is refused.

    Opening an existing vault never writes before it has proven the file holds
    FaceSeal's schema: an emptied or foreign file is reported, not re-initialised.

    ``reading``: the caller only reads, briefly (a read-only command). On a
    full disk the WAL's shared-memory index cannot be made, so the database is
    then opened in exclusive locking mode, whose index lives in this process's
    memory: the reads work, a write still fails as a full disk, and other
    processes wait for the lock until this connection closes.
    """
    try:
        return _connect(path, key, create, exclusive=False)
    except DiskFull:
        if not reading or create:
            raise
        return _connect(path, key, create, exclusive=True)


_HEX_DIGITS = b"0123456789abcdef"


def _spelt(key: bytes) -> bytearray:
    """``key`` spelt as SQLCipher's raw-key literal ``x'<64 hex digits>'``, in a buffer the caller overwrites.

    SQLCipher itself takes no raw 32 bytes: any key not spelt ``x'...'`` is a
    passphrase run through PBKDF2, another key entirely.
    """
    blob = bytearray(3 + 2 * len(key))
    blob[:2], blob[-1] = b"x'", ord("'")
    for at, byte in enumerate(key):
        blob[2 + 2 * at], blob[3 + 2 * at] = _HEX_DIGITS[byte >> 4], _HEX_DIGITS[byte & 15]
    return blob


def _give_key(conn: Connection, key: bytes) -> None:
    """Give SQLCipher ``key`` as a raw key through ``sqlite3_key``, spelt in a buffer that is overwritten once
    SQLCipher has its own copy.

    A ``PRAGMA key`` statement would leave the hex spelling in immutable str
    objects (the f-string, the statement, SQLite's copy of the SQL) that
    nothing can overwrite.
    """
    blob = _spelt(key)
    try:
        conn.set_key(blob)
    finally:
        blob[:] = bytes(len(blob))


def export(conn: Connection, target: Path, key: bytes) -> None:
    """Copy the whole database of ``conn`` into a new file ``target`` sealed with another ``key``.

    ``sqlcipher_export`` writes every table, index and trigger anew (free pages
    are not copied), then ``user_version`` (which it leaves at 0) is carried
    over. The key goes to ``ATTACH`` as a bound buffer, overwritten afterwards,
    never as SQL text. ``target`` is left in rollback-journal mode: one
    self-contained file that can be renamed into place.
    """
    os.close(os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    blob = _spelt(key)
    try:
        conn.execute("ATTACH DATABASE ? AS faceseal_export KEY ?", (str(target), blob))
    finally:
        blob[:] = bytes(len(blob))
    try:
        conn.execute("SELECT sqlcipher_export('faceseal_export')").fetchone()
        conn.execute(f"PRAGMA faceseal_export.user_version = {version}")
    finally:
        conn.execute("DETACH DATABASE faceseal_export")


def _connect(path: Path, key: bytes, create: bool, exclusive: bool) -> Connection:
    if not create and not path.exists():
        raise DataDirUnreadable(f"the database {path} is missing; FaceSeal left the data as it is")
    # SQLite gives the -wal and -shm files the main file's mode: make that 0600 from the start.
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as error:
        if is_disk_full(error):
            raise disk_full(str(path.parent)) from None
        # a folder planted where a database (or a staged one) belongs, or one that may not be opened
        raise DataDirUnreadable(f"{path} cannot be opened as a database ({error.strerror}); FaceSeal left the data "
                                "as it is") from None
    os.chmod(path, 0o600)
    conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        # SQLCipher would otherwise print its own error lines to stderr on a wrong key.
        conn.execute("PRAGMA cipher_log_level = NONE")
        _give_key(conn, key)
        if exclusive:  # before the first read: no shared-memory index is ever made
            conn.execute("PRAGMA locking_mode = EXCLUSIVE").fetchone()
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if not create and conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise DatabaseError("no FaceSeal schema")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
    except DatabaseError as error:
        conn.close()
        if _full(error, path.parent):  # the WAL and its index need room: a full disk is not damage
            raise disk_full(str(path.parent)) from None
        raise DataDirUnreadable(
            f"the database {path} cannot be read (damaged, truncated or sealed with other keys); "
            "FaceSeal left it as it is"
        ) from None
    return conn


def translate(error: sqlcipher3.Error, folder: Path | None = None) -> FaceSealError:
    """A database error as a person should read it: disk full, busy, or damaged (never SQLite's own words).

    ``folder`` holds the database (default: the data directory).
    """
    if _full(error, folder or paths.data_dir()):
        return disk_full()
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
