"""Group commit: the batches verified while one transaction commits are stored together in the next.

A transaction's fixed cost (a round trip or two, an fsync of sqlite's WAL or
PostgreSQL's, the statements' setup) dwarfs what 25 more events add to it, so
each process has one writer thread that takes every batch waiting, stores them
in one ``CollectorStore.accept_group`` and then answers each request. A batch
is answered only after the transaction holding it committed, so a ``201``
still means "stored, durably"; under light load a group is one batch and
nothing waits. Two requests with the same batch in one group get ``accepted``
and ``duplicate``, exactly as one after the other.
"""

from __future__ import annotations

import asyncio
import queue
import threading

from sqlalchemy.exc import SQLAlchemyError

from edge_core.telemetry.envelope import VerifiedBatch
from faceseal_collector.database import is_unavailable
from faceseal_collector.store import Acceptance, CollectorStore

#: The most batches stored in one transaction (about 6,400 events).
MAX_GROUP = 256

_Item = tuple[VerifiedBatch, str | None, asyncio.AbstractEventLoop, "asyncio.Future[Acceptance]"]


class GroupCommitter:
    """Stores batches handed in from the event loop, a group per transaction, on a thread of its own."""

    def __init__(self, store: CollectorStore) -> None:
        self.store = store
        self._waiting: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()

    async def accept(self, batch: VerifiedBatch, enrolment_token: str | None) -> Acceptance:
        """``accepted`` or ``duplicate`` once the batch's group committed; raises its refusal or the database's
        failure."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Acceptance] = loop.create_future()
        self._start()
        self._waiting.put((batch, enrolment_token, loop, answer))
        return await answer

    def _start(self) -> None:
        """Start the writer on first use (in the serving process: uvicorn's workers are spawned after the app is
        made)."""
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write, name="collector-group-commit", daemon=True)
                    self._writer.start()

    def _write(self) -> None:
        while True:
            group = [self._waiting.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            outcomes = self._store([(batch, token) for batch, token, _, _ in group])
            for (_, _, loop, answer), outcome in zip(group, outcomes):
                loop.call_soon_threadsafe(_settle, answer, outcome)

    def _store(self, items: list[tuple[VerifiedBatch, str | None]]) -> list[Acceptance | Exception]:
        """The group's outcomes. When its transaction fails for another reason than an unreachable database,
        each batch is stored again on its own, so that one batch the database cannot take fails alone."""
        try:
            return list(self.store.accept_group(items))
        except Exception as error:
            if len(items) == 1 or (isinstance(error, SQLAlchemyError) and is_unavailable(error)):
                return [error] * len(items)  # every request of the group hears it
        return [outcome for item in items for outcome in self._store([item])]


def _settle(answer: asyncio.Future[Acceptance], outcome: Acceptance | Exception) -> None:
    if answer.done():
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)

