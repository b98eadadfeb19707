"""Background delivery: one thread per long-running process, one sender at a time per data folder.

:class:`BackgroundSender` runs a *round* (given by the caller: open the vault,
seal what is ripe, send what is due; see ``edge_core.ops.telemetry``) and
sleeps for as long as the round says, until it is stopped or a round finds
telemetry off. Rounds of every FaceSeal process on the same data folder (the
window, ``faceseal serve``, a ``telemetry flush``) hold :func:`send_lock`, an
``flock`` on ``<data>/telemetry-send.lock``: a background round that finds it
held skips its turn, so two processes never send the same batch at once, and
the one that gets the lock next sees what the other marked sent.

Stopping is clean at any moment: ``stop`` sets an event the round checks
before each request; a request in flight finishes (it is bounded by the
timeouts) or, if the process exits first, is abandoned, leaving the batch
pending so that the next round re-sends the identical bytes, which the
collector counts once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = "telemetry-send.lock"
MIN_WAIT_S = 0.2
"""The shortest pause between two rounds (a retry due now is not a busy loop)."""

Round = Callable[[Callable[[], bool]], "float | None"]
"""A round: given ``should_stop``, do one delivery round; return seconds until the next, or None (stop)."""


@contextlib.contextmanager
def send_lock(home: Path, wait: bool) -> Iterator[bool]:
    """Hold the data folder's send lock; yields False (holding nothing) if ``wait`` is False and it is taken.

    An ``flock`` belongs to an open file, so two threads of one process
    exclude each other too; it is released when the file is closed, including
    when the process dies.
    """
    fd = os.open(Path(home) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class BackgroundSender:
    """A daemon thread running ``round`` on its own schedule; :meth:`stop` ends it cleanly."""

    def __init__(self, round: Round, name: str = "faceseal-telemetry") -> None:
        self._round = round
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.rounds = 0
        self.last_problem: str | None = None

    def start(self) -> BackgroundSender:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wake(self) -> None:
        """Run the next round now (after a dead letter was requeued, say)."""
        self._wake.set()

    def stop(self, wait_s: float = 20.0) -> bool:
        """Start no new request, let one in flight finish for up to ``wait_s``; True if the thread ended.

        A thread still in a request after ``wait_s`` is a daemon and is
        abandoned when the process exits; its batch stays pending (see above).
        """
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        usual = 60.0  # until a round says otherwise
        while not self._stop.is_set():
            try:
                wait = self._round(self._stop.is_set)
                self.last_problem = None
                usual = wait if wait is not None else usual
            except Exception as error:  # a round must never kill the thread: it tries again at the usual pace
                self.last_problem = type(error).__name__  # the class only: a message might say anything
                wait = usual
            self.rounds += 1
            if wait is None:
                return
            self._wake.wait(max(MIN_WAIT_S, wait))
            self._wake.clear()
