"""The window's one vault: opened off the UI thread, shared by every page, lockable.

Pages never hold a :class:`Vault` themselves: they hand a function to
:meth:`Session.call`, which runs it under one lock so a live capture, a status
refresh and a rotation never touch the database at the same time. Locking
closes the vault (``Vault.close`` drops every key from memory); unlocking is
``Vault.open`` again, exactly as the CLI does on every command.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, Signal

from edge_core import keyops
from edge_core.errors import FaceSealError, RootKeyMissing, RootKeyRevoked, VaultLocked, WrongRootKey
from edge_core.vault.store import Vault

from app import workers

T = TypeVar("T")


class State(enum.Enum):
    OPENING = "opening"
    OPEN = "open"
    LOCKED = "locked"
    """Locked on purpose ("Lock now"); unlocking opens it again."""
    UNAVAILABLE = "unavailable"
    """Opening failed (missing or wrong root key, unreadable data): ``problem`` says why."""


class Session(QObject):
    """Owns the open vault; ``changed`` fires on the UI thread whenever the vault or its data changed."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._vault: Vault | None = None
        self._lock = threading.RLock()
        self.state = State.LOCKED
        self.problem = ""
        self.key_problem = False
        """Whether opening failed for want of the right root key (restoring a recovery copy is the way out)."""
        self.notice = ""
        """What the start policy did or could not do when the vault was opened (shown on Home)."""

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def call(self, fn: Callable[[Vault], T]) -> T:
        """Run ``fn(vault)`` under the session lock (from any thread)."""
        with self._lock:
            if self._vault is None:
                raise VaultLocked("the vault is locked; unlock it on the Home page")
            return fn(self._vault)

    def call_and_reopen(self, fn: Callable[[Vault], T]) -> T:
        """Run an operation that closes the vault itself (reset); the session then needs :meth:`unlock`.

        The handle is dropped whatever happened: ``Vault.open`` is what finishes
        or discards an interrupted reset, so opening again is always the way on.
        """
        with self._lock:
            try:
                return self.call(fn)
            finally:
                if self._vault is not None:
                    self._vault.close()
                self._vault = None

    def unlock(self, done: Callable[[], None] | None = None) -> None:
        """Open the vault off the UI thread; the outcome lands in ``state`` and ``problem``."""
        self.state = State.OPENING
        self.changed.emit()

        def opened(_result: object) -> None:
            self.state, self.problem = State.OPEN, ""
            self.changed.emit()
            if done:
                done()

        def failed(message: str) -> None:
            self.state, self.problem = State.UNAVAILABLE, message
            self.changed.emit()
            if done:
                done()

        workers.start(lambda _reporter: self._open(), opened, failed)

    def _open(self) -> None:
        """Open the vault, then apply the start policy exactly as the CLI's admin path does."""
        with self._lock:
            if self._vault is not None:
                return
            try:
                self._vault = Vault.open()
            except (RootKeyMissing, WrongRootKey, RootKeyRevoked):
                self.key_problem = True
                raise
            self.key_problem = False
            try:
                rotated = keyops.apply_start_policy(self._vault)
            except FaceSealError as error:
                self.notice = f"The start policy was not applied: {workers.describe(error)}"
            else:
                self.notice = ("The root key was due and the policy rotates it at start: it was rotated "
                               f"(new fingerprint {rotated['root_fingerprint']}).") if rotated else ""

    def lock(self) -> None:
        """Drop every key and cache from memory now (waits for a running vault call to finish)."""
        with self._lock:
            if self._vault is not None:
                self._vault.close()
                self._vault = None
        self.state, self.problem = State.LOCKED, ""
        self.changed.emit()

    def notify(self) -> None:
        """Tell every page the data changed (after an enrolment, a deletion, a key operation)."""
        self.changed.emit()
