"""The window's background telemetry delivery: running while telemetry is on, stopped when the window closes.

It follows the session: whenever the vault opens or its data changes it asks
(off the UI thread) whether telemetry is on, starts the sender if it is and
none runs (``ops.telemetry.start_background``: nothing starts while telemetry
is off), stops it if telemetry was switched off, and wakes it when a batch is
due now (a dead letter replayed from Settings). Sending itself happens on the
sender's own thread, under the send lock every FaceSeal process shares, so
this window and ``faceseal serve`` never send the same batch twice. An
opt-in or opt-out made elsewhere (the CLI) is noticed within a few seconds
through the flag file ``ops.telemetry`` keeps beside the vault.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from app import workers
from edge_core.ops import telemetry as telemetry_ops

if TYPE_CHECKING:
    from app.session import Session
    from edge_core.telemetry.sender import BackgroundSender

STOP_WAIT_S = 5.0
"""How long closing the window waits for a request in flight; after that it is abandoned (the batch stays
pending and is re-sent identically, which the collector counts once)."""


class Delivery(QObject):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._session = session
        self.sender: BackgroundSender | None = None
        self._checking = False
        self._again = False
        self._closed = False
        session.changed.connect(self.follow)
        self._watch = QTimer(self)  # an opt-in or opt-out made elsewhere (the CLI): a stat, no vault open
        self._watch.setInterval(int(telemetry_ops.WATCH_S * 1000))
        self._watch.timeout.connect(self._look)
        self._watch.start()

    @property
    def running(self) -> bool:
        return self.sender is not None and self.sender.running

    def _look(self) -> None:
        if telemetry_ops.is_on() != self.running:
            self.follow()

    def follow(self) -> None:
        """Bring the sender in line with the settings (from the UI thread; the check runs off it)."""
        if self._closed or not self._session.is_open:
            return
        if self._checking:
            self._again = True  # one more check when this one ends: the change may have come after it read
            return
        self._checking = True
        running = self.running

        def check(_reporter: workers.Reporter) -> tuple[bool, bool]:
            report = self._session.call(telemetry_ops.status)
            due = report.status.next_attempt_at is not None and report.status.next_attempt_at <= time.time()
            return report.status.enabled, due

        workers.start(check, lambda found: self._found(running, *found), lambda _message: self._settled())

    def _found(self, was_running: bool, enabled: bool, due: bool) -> None:
        self._settled()
        if self._closed:
            return
        if enabled and not self.running:
            workers.start(lambda _r: telemetry_ops.start_background(), self._started, lambda _message: None)
        elif not enabled and self.running:
            self.stop()
        elif enabled and due and self.sender is not None:
            self.sender.wake()

    def _started(self, sender: BackgroundSender | None) -> None:
        if sender is None:
            return
        if self._closed or self.running:  # closed meanwhile, or a second start raced this one
            sender.stop(STOP_WAIT_S)
            return
        self.sender = sender

    def _settled(self) -> None:
        self._checking = False
        if self._again:
            self._again = False
            self.follow()

    def stop(self) -> None:
        """Start no new request and wait a little for one in flight (see ``STOP_WAIT_S``)."""
        if self.sender is not None:
            self.sender.stop(STOP_WAIT_S)
            self.sender = None

    def close(self) -> None:
        self._closed = True
        self._watch.stop()
        self.stop()
