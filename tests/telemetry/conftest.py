"""Fixtures for the telemetry tests: real sqlite outboxes, the real collector, a leak scan.

Every envelope any test's outbox holds at teardown, and every event the
collector stored, is collected; when the session ends they are scanned for
every identity name and id a test declared with ``used_identity`` and for
floats, numeric arrays and blobs (``leakscan``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_core.telemetry import events as ev
from edge_core.telemetry.device import DeviceKey
from edge_core.telemetry.outbox import SCHEMA_STATEMENTS, Outbox, RetryPolicy

from .leakscan import find_leaks
from .servers import Collector

_FORBIDDEN: set[str] = set()
_PRODUCED: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _scan_everything_produced() -> Iterator[None]:
    yield
    leaks = find_leaks(_PRODUCED, _FORBIDDEN)
    assert not leaks, f"{len(leaks)} leak(s) in {len(_PRODUCED)} telemetry lines: {leaks[:5]}"


@pytest.fixture
def used_identity() -> Callable[[str], str]:
    """Declare an identity name or id the test used; the session scan looks for it."""

    def declare(value: str) -> str:
        _FORBIDDEN.add(value)
        return value

    return declare


def open_outbox_db(path: Path) -> sqlite3.Connection:
    """An autocommit sqlite3 connection with the telemetry schema, as the vault would hand over."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)
    return conn


def fill(outbox: Outbox, count: int, start: int = 0) -> None:
    """Queue ``count`` events whose latency_ms markers start..start+count-1 are unique."""
    for marker in range(start, start + count):
        assert outbox.append(
            ev.operation(ev.Operation.IDENTIFY, ev.Outcome.NO_MATCH, marker, count=9)
        )


@pytest.fixture
def make_outbox(tmp_path: Path) -> Iterator[Callable[..., Outbox]]:
    """Factory: ``make_outbox(endpoint=None, name="outbox.db", **Outbox kwargs)``."""
    made: list[Outbox] = []

    def make(endpoint: str | None = None, name: str = "outbox.db", **kwargs: Any) -> Outbox:
        outbox = Outbox(open_outbox_db(tmp_path / name), **kwargs)
        if endpoint:
            outbox.enable(endpoint)
        made.append(outbox)
        return outbox

    yield make
    for outbox in made:
        _PRODUCED.extend(outbox.envelopes())


@pytest.fixture
def key() -> DeviceKey:
    return DeviceKey.generate()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """Three attempts with tens of milliseconds between them."""
    return RetryPolicy(max_attempts=3, base_delay_s=0.02, max_delay_s=0.1)


def _collected(collector: Collector) -> list[str]:
    return [str(body) for (body,) in collector.rows("SELECT body FROM events")]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    """One real collector per test module, on a free loopback port."""
    running = Collector(tmp_path_factory.mktemp("collector") / "collector.db").start()
    yield running
    running.stop()
    _PRODUCED.extend(_collected(running))


@pytest.fixture
def own_collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector that is *not* started: the test decides when it comes up."""
    mine = Collector(tmp_path / "own-collector.db")
    yield mine
    mine.stop()
    if mine.db.exists():
        _PRODUCED.extend(_collected(mine))
