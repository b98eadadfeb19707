"""Operational telemetry from vault operations: what happened and how long it took, never who.

A use case (``edge_core.ops``) decorated with :func:`recorded` appends one event to the outbox
when it finishes (nothing at all while telemetry is off). Recording can never
change the operation's result: any failure to record is swallowed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from edge_core.errors import FaceSealError
from edge_core.telemetry.events import (
    ErrorKind,
    Event,
    KeyRole,
    Operation,
    Outcome,
    error_kind_for,
    key_rotated,
    operation,
)
from edge_core.telemetry.outbox import Outbox

F = TypeVar("F", bound=Callable[..., Any])


def append(conn: Any, event: Event) -> None:
    try:
        Outbox(conn).append(event)
    except Exception:  # telemetry must never break, or leak through, the operation it describes
        pass


def _outcome(result: Any) -> tuple[Outcome, int | None]:
    match = getattr(result, "match", None)
    if match is not None:
        return (Outcome.MATCH if match else Outcome.NO_MATCH), None
    for name in ("templates_resealed", "templates_deleted", "samples"):
        count = getattr(result, name, None)
        if isinstance(count, int):
            return Outcome.OK, count
    return Outcome.OK, None


def recorded(op: Operation | KeyRole, conn_of: Callable[..., Any]) -> Callable[[F], F]:
    """Record the decorated call's outcome; ``conn_of(*args)`` gives the vault's connection."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                result = fn(*args, **kwargs)
            except FaceSealError as error:
                _emit(op, conn_of(*args), start, Outcome.ERROR, error_kind_for(error), None)
                raise
            outcome, count = _outcome(result)
            _emit(op, conn_of(*args), start, outcome, None, count)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _emit(op: Operation | KeyRole, conn: Any, start: float, outcome: Outcome,
          error_kind: ErrorKind | None, count: int | None) -> None:
    if conn is None:
        return
    latency = int((time.monotonic() - start) * 1000)
    build = key_rotated if isinstance(op, KeyRole) else operation
    append(conn, build(op, outcome, latency, error_kind=error_kind, count=count))  # type: ignore[arg-type]
