"""The collector tests run twice: on an sqlite file and on a real PostgreSQL server.

``database`` is what ``--db`` gets (a file path, or a ``postgresql://`` URL of a
fresh database in the session's PostgreSQL cluster, see ``pgserver``);
``collector`` is the real collector process on it. The telemetry tests'
fixtures give real outboxes and the session's leak scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from faceseal_collector.database import parse_database
from tests.telemetry.conftest import (  # noqa: F401
    _PRODUCED,
    _scan_everything_produced,
    key,
    make_outbox,
)
from tests.telemetry.servers import Collector

from .pgserver import PostgresServer, PostgresUnavailable

BACKENDS = ["sqlite", "postgresql"]


class BackendCollector(Collector):
    """The real collector on ``--db`` any backend; ``rows`` reads its database as an operator would."""

    def __init__(self, db: str, port: int | None = None, *options: str) -> None:
        super().__init__(db, port, *options)  # type: ignore[arg-type]  # only ever passed to str()

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run ``sql`` with ``?`` placeholders on the collector's database (committed)."""
        names = iter(range(len(params)))
        statement = text(re.sub(r"\?", lambda _: f":p{next(names)}", sql))
        engine = create_engine(parse_database(str(self.db)))
        try:
            with engine.begin() as conn:
                result = conn.execute(statement, {f"p{i}": value for i, value in enumerate(params)})
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return self.execute(sql, params)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (each test gets its own database in it)."""
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Factory of fresh, empty ``--db`` values on this test's backend."""
    made = 0

    def make() -> str:
        nonlocal made
        made += 1
        if backend == "postgresql":
            return request.getfixturevalue("postgres").database()
        return str(tmp_path / f"collector-{made}.db")

    return make


@pytest.fixture
def database(make_database: Callable[[], str]) -> str:
    return make_database()


@pytest.fixture
def collector(database: str) -> Iterator[BackendCollector]:
    """One real collector process on a fresh database of this test's backend."""
    running = BackendCollector(database)
    running.start()
    yield running
    running.stop()
    _PRODUCED.extend(str(body) for (body,) in running.rows("SELECT body FROM events"))
