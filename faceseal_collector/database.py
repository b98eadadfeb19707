"""Where the collector stores: an sqlite file (the default) or PostgreSQL, one schema for both.

``--db`` is either a file path (sqlite, embedded, for one admin) or a
``postgresql://user[:password]@host[:port]/dbname`` URL (a fleet; the driver is
psycopg 3). Both go through SQLAlchemy Core, so the statements are the same;
the only per-backend code is connection setup below: sqlite gets WAL, foreign
keys and ``BEGIN IMMEDIATE`` transactions (so two writers queue instead of
failing), PostgreSQL keeps its default READ COMMITTED, and the unique keys of
``batches`` and ``events`` decide which of two concurrent writers stores a batch.

The schema is versioned in ``collector_schema``; ``migrate`` brings any database
up to ``SCHEMA_VERSION`` in one transaction (an sqlite file made by the first
collector, which had no version table, is adopted as version 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    ProgrammingError,
    SQLAlchemyError,
)

from faceseal_collector.errors import BadDatabaseUrl, DatabaseUnavailable, SchemaTooNew

DB_ENV = "FACESEAL_COLLECTOR_DB"
"""The ``--db`` of a collector when its command line leaves it out (so that a password need not show in ``ps``)."""
#: Execution option marking a connection that only reads (sqlite then takes no write lock).
READ_ONLY = "faceseal_read_only"

metadata = MetaData()

devices = Table(
    "devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("public_key", Text, nullable=False),
    Column("registered_at", Text, nullable=False),
    Column("last_seen_at", Text, nullable=False),
)
batches = Table(
    "batches",
    metadata,
    Column("batch_id", Text, primary_key=True),
    Column("device_id", Text, ForeignKey("devices.device_id"), nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
)
events = Table(
    "events",
    metadata,
    Column("batch_id", Text, ForeignKey("batches.batch_id"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("device_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("body", Text, nullable=False),
)
def _tokens(name: str) -> Table:
    """A table of named tokens, each kept only as its SHA-256."""
    return Table(name, metadata, Column("name", Text, primary_key=True),
                 Column("token_sha256", Text, nullable=False), Column("created_at", Text, nullable=False))


operator_tokens = _tokens("operator_tokens")
enrolment_tokens = _tokens("enrolment_tokens")  # given to devices so that they may register (mode "token")
allowed_devices = Table(  # the devices that may send (enrolment mode "allow-list")
    "allowed_devices",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("added_at", Text, nullable=False),
)
collector_settings = Table(
    "collector_settings",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
schema_version = Table("collector_schema", metadata, Column("version", Integer, nullable=False))

_INDEXES = [
    Index("events_by_device_kind", events.c.device_id, events.c.kind),
    Index("batches_by_received", batches.c.received_at),
    Index("batches_by_device", batches.c.device_id),
    Index("devices_by_last_seen", devices.c.last_seen_at),
]


def _v1_tables(conn: Connection) -> None:
    for table in (devices, batches, events):
        table.create(conn, checkfirst=True)


def _v2_fleet(conn: Connection) -> None:
    operator_tokens.create(conn, checkfirst=True)
    for index in _INDEXES:
        index.create(conn, checkfirst=True)


def _v3_enrolment(conn: Connection) -> None:
    for table in (enrolment_tokens, allowed_devices, collector_settings):
        table.create(conn, checkfirst=True)


#: Step ``n`` brings a database from version ``n`` to ``n + 1``. Append, never edit.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1_tables, _v2_fleet, _v3_enrolment]
SCHEMA_VERSION = len(MIGRATIONS)


def parse_database(text: str) -> URL:
    """``--db``: a ``postgresql://`` (or ``sqlite:///``) URL, or else a path to an sqlite file."""
    if "://" not in text:
        if not text.strip():
            raise BadDatabaseUrl("--db needs an sqlite file path or a postgresql:// URL")
        return URL.create("sqlite+pysqlite", database=str(Path(text)))
    try:
        url = make_url(text)
    except ArgumentError:
        raise BadDatabaseUrl("--db is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database:
        return url.set(drivername="sqlite+pysqlite")
    raise BadDatabaseUrl("--db must be an sqlite file path or a postgresql:// URL")


def shown(url: URL) -> str:
    """The URL as it may be printed: any password masked."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def reason(error: BaseException, url: URL) -> str:
    """One line saying why a database call failed, with the URL's password scrubbed."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    text = lines[0] if lines else type(original).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begin below, not in the driver
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock first: writers queue, never deadlock

    return engine


def open_engine(url: URL) -> Engine:
    """An engine on ``url`` with the schema migrated to ``SCHEMA_VERSION``.

    Raises ``DatabaseUnavailable`` (password masked) when it cannot be reached
    and ``SchemaTooNew`` when a newer collector already migrated it.
    """
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20, pool_recycle=3600)
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {shown(url)}: {reason(error, url)}") from None
    except SchemaTooNew:
        engine.dispose()
        raise
    return engine


def migrate(engine: Engine) -> int:
    """Apply every missing migration in one transaction; returns the version before.

    Two collectors starting together on an empty PostgreSQL database race to
    create the tables; the loser's transaction fails on a unique key once the
    winner commits, and its retry finds the schema current.
    """
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                schema_version.create(conn, checkfirst=True)
                current = conn.execute(select(schema_version.c.version)).scalar()
                if current is None:
                    current = 0
                    conn.execute(insert(schema_version).values(version=0))
                if current > SCHEMA_VERSION:
                    raise SchemaTooNew(
                        f"the database has schema version {current}; this collector knows up to"
                        f" {SCHEMA_VERSION}: upgrade the collector"
                    )
                for step in MIGRATIONS[current:]:
                    step(conn)
                if current != SCHEMA_VERSION:
                    conn.execute(update(schema_version).values(version=SCHEMA_VERSION))
                return int(current)
        except (IntegrityError, ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


#: Parameters per sqlite statement: SQLITE_MAX_VARIABLE_NUMBER before sqlite 3.32 (32,766 since).
_SQLITE_PARAMETERS = 999


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert many rows (tuples in the table's column order) in the connection's transaction, the fastest way
    each backend offers: ``COPY`` into PostgreSQL (one stream, nothing compiled or pipelined per row), INSERTs of
    many rows each into sqlite. A unique key taken raises ``IntegrityError`` as an INSERT would."""
    columns = ", ".join(table.c.keys())
    if conn.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({columns}) FROM STDIN"
        driver = conn.dialect.loaded_dbapi
        try:
            with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
        except driver.Error as error:  # the driver's own error: make it SQLAlchemy's, as an execute would
            raise DBAPIError.instance(statement, None, error, driver.Error) from error
    else:
        # many rows per INSERT, not executemany: sqlite3 releases and retakes the GIL around every step, once per
        # row there, against the event loop's thread verifying beside it (this measured 10% less CPU per batch)
        per_statement = _SQLITE_PARAMETERS // len(table.c)
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            values = ", ".join([f"({', '.join('?' * len(table.c))})"] * len(chunk))
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES {values}",
                                 tuple(value for row in chunk for value in row))


#: SQLSTATEs of a PostgreSQL transaction that lost to a concurrent one: a deadlock it broke, a serialization failure.
_LOST_RACE = {"40P01", "40001"}


def is_lost_race(error: DBAPIError) -> bool:
    """Whether ``error`` means another writer got there first and the transaction may simply run again: a unique
    key taken by a writer that committed first (its rows are seen on the next try), or a broken lock cycle."""
    return isinstance(error, IntegrityError) or getattr(error.orig, "sqlstate", None) in _LOST_RACE


def is_unavailable(error: BaseException) -> bool:
    """A connection-level failure (server down, network cut), not a bug in a statement."""
    return isinstance(error, DBAPIError) and (error.connection_invalidated or type(error).__name__ == "OperationalError")
