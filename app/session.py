"""The window's one vault: opened off the UI thread, shared by every page, lockable.

Pages never hold a :class:`Vault` themselves: they hand a function to
:meth:`Session.call`, which runs it under one lock so a live capture, a status
refresh and a rotation never touch the database at the same time.

Locking is the one lock every FaceSeal process obeys (``ops.lock``): "Lock
now" here locks the command line and the admin API too, and ``faceseal
lock`` from a terminal locks this window. The session notices a lock set
elsewhere at the next use of the vault or within a second (a cheap poll of
``ops.is_locked``), drops its keys and shows the locked state; while locked it
keeps polling, so ``faceseal unlock`` from a terminal opens the window again
on its own. Unlocking here (``ops.unlock``) lifts the lock for every process.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from app import workers
from app.preferences import take_old_pack_choice
from edge_core import ops
from edge_core.ops.results import RetentionSweep
from edge_core.errors import (
    DatabaseReplaced,
    FaceSealError,
    PresenceRequired,
    RootKeyMissing,
    RootKeyRevoked,
    VaultLocked,
    VaultRolledBack,
    WrongRootKey,
)

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

T = TypeVar("T")

POLL_MS = 1000
"""How often the session looks for a lock set or lifted by another process (one ``stat``)."""


def _offered(vault: Vault, action: str, passphrase: str | None) -> ops.Proof:
    """The proof for accepting an older copy: the passphrase typed in its dialog."""
    if passphrase is None:
        raise PresenceRequired(f"to {action}, give its admin passphrase; nothing was changed", action=action)
    return ops.prove(vault, passphrase)


class State(enum.Enum):
    OPENING = "opening"
    OPEN = "open"
    LOCKED = "locked"
    """Locked ("Lock now" here, or ``faceseal lock`` anywhere); unlocking opens it again."""
    UNAVAILABLE = "unavailable"
    """Opening failed (missing, wrong or revoked root key, unreadable data): ``problem`` says why."""


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
        self.revoked = False
        """Whether that root key was revoked: only a recovery copy opens the data again, never Unlock."""
        self.rolled_back = False
        """Whether opening was refused because the data folder is older than the newest state this machine saw."""
        self.notice = ""
        """What the start policy did or could not do when the vault was opened (shown on Home)."""
        self._follow_lock = False
        """Whether LOCKED is the shared lock, so that lifting it anywhere reopens this window."""
        self.root_problem = ""
        """Why the root key the vault was opened with is gone from where it lives (``ops.root_gone``), or ""."""
        self._root_check: workers.Task | None = None
        self._data_version: int | None = None
        self.chosen_pack: str | None = None
        """The vault's chosen model pack as last read (``ops.chosen_pack``); kept while the vault is locked, so
        the window can still say which pack it would use. Another process's choice is read at its next poll."""
        self._proof: ops.Proof | None = None
        """The admin passphrase given last in this window (``ops.presence``): in memory only, forgotten on lock."""
        self.clock: Callable[[], datetime] = ops.retention_now
        """The time the retention sweep and its reminder go by (the tests give their own)."""
        self.retention: RetentionSweep | None = None
        """What the retention sweep did when the vault was last opened (``ops.sweep_retention``)."""
        self._closed = False
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._watch)
        self._poll.start()

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    def call(self, fn: Callable[[Vault], T]) -> T:
        """Run ``fn(vault)`` under the session lock (from any thread).

        A lock or a revocation made by another process is raised as edge_core
        raises it, and puts the window in the matching state. One that lands
        while ``fn`` runs may make ``fn`` fail in any way (the vault closes
        under it): whatever failed, the lock is then what is raised and shown.
        """
        with self._lock:
            if self._vault is None:
                raise VaultLocked("the vault is locked; unlock it on the Home page")
            try:
                if ops.is_locked():
                    self._vault.conn  # raises the refusal the marker holds (locked or revoked)
                with ops.asking(self._given_proof):
                    return fn(self._vault)
            except (VaultLocked, RootKeyRevoked) as error:
                self._refuse(error)
                raise
            except DatabaseReplaced:  # a reset elsewhere, or an older copy put back: open what is there now
                self._drop()
                workers.on_ui_thread(self.open)
                raise
            except Exception:
                if not ops.is_locked():
                    raise
                refusal = self._refusal()
                if refusal is None:
                    raise
                self._refuse(refusal)
                raise refusal from None

    def _given_proof(self, vault: Vault, action: str) -> ops.Proof:
        """The proof given in this window, if any; the page that started the call asks for one and retries
        (``app.presence``): a task never waits on a dialog."""
        if self._proof is None:
            raise PresenceRequired(f"to {action}, give the admin passphrase first; nothing was changed",
                                   action=action)
        return self._proof

    def prove(self, passphrase: str) -> None:
        """Check the admin passphrase (from a task); the proof then holds for this window until it goes stale or
        the vault locks."""
        self._proof = self.call(lambda vault: ops.prove(vault, passphrase))

    def _refusal(self) -> VaultLocked | RootKeyRevoked | None:
        """The refusal the lock marker holds, when there is one (the vault is then closed)."""
        if self._vault is None:
            return None
        try:
            self._vault.conn  # reads the marker first, even on a vault already closed under the call
        except (VaultLocked, RootKeyRevoked) as refusal:
            return refusal
        return None

    def _refuse(self, refusal: BaseException) -> None:
        self._drop()
        workers.on_ui_thread(lambda: self._on_refused(refusal))

    def call_and_reopen(self, fn: Callable[[Vault], T]) -> T:
        """Run an operation that closes the vault itself (reset, revoke); the session then needs :meth:`open`.

        The handle is dropped whatever happened (but a refusal for want of proof of presence, which changed
        nothing): opening is what finishes or discards an interrupted reset, so opening again is always the way on.
        """
        with self._lock:
            try:
                result = self.call(fn)
            except PresenceRequired:
                raise  # refused before anything was done: the vault stays open to prove and run it again
            except BaseException:
                self._drop()
                raise
            self._drop()
            return result

    def _drop(self) -> None:
        with self._lock:
            self._proof = None
            if self._vault is not None:
                self._vault.close()
            self._vault = None

    # ------------------------------------------------------------ opening
    def open(self, done: Callable[[], None] | None = None, lift: bool = False, accept_older: bool = False,
             passphrase: str | None = None) -> None:
        """Open the vault off the UI thread (``lift``: lift the shared lock first); the outcome lands in ``state``.

        Without ``lift`` a vault locked by any process stays locked: the window
        shows the locked state and its Unlock button. ``accept_older``: the
        person confirmed that this older copy of the folder is the one to use
        (``ops.accept_rollback``, audited) before it opens; ``passphrase``: that copy's admin passphrase, when it
        has one (:meth:`older_copy_asks`).
        """
        self.state = State.OPENING
        self.changed.emit()

        def opened(outcome: str) -> None:
            if outcome == "locked":
                self.state, self.problem, self._follow_lock = State.LOCKED, "", True
            else:
                self.state, self.problem, self._follow_lock = State.OPEN, "", False
            self.changed.emit()
            if done:
                done()

        def failed(message: str) -> None:
            self.state, self.problem, self._follow_lock = State.UNAVAILABLE, message, False
            self.changed.emit()
            if done:
                done()

        workers.start(lambda _reporter: self._open(lift, accept_older, passphrase), opened, failed)

    def unlock(self, done: Callable[[], None] | None = None) -> None:
        """The Unlock button: lift the lock for every process (audited), then open the vault."""
        self.open(done, lift=True)

    @staticmethod
    def older_copy_asks() -> bool:
        """Whether the older copy of the folder put back asks for an admin passphrase before it is accepted (its
        own, or the newest state's, which it then takes)."""
        return ops.older_copy_asks()

    def _open(self, lift: bool, accept_older: bool = False, passphrase: str | None = None) -> str:
        """Open the vault ("open"), or find it locked ("locked"); then apply the start policy as the admin API does."""
        with self._lock:
            if self._vault is not None:
                return "open"
            self.rolled_back = False
            try:
                if lift and ops.is_locked():
                    ops.unlock()
                if accept_older:
                    with ops.asking(lambda vault, action: _offered(vault, action, passphrase)):
                        ops.accept_rollback()
                self._vault = ops.open_vault()
            except VaultLocked:
                self.key_problem = self.revoked = False
                return "locked"
            except (RootKeyMissing, WrongRootKey, RootKeyRevoked) as error:
                self.key_problem = True
                self.revoked = isinstance(error, RootKeyRevoked)
                raise
            except (VaultRolledBack, PresenceRequired):  # still the older copy, not accepted
                self.key_problem = self.revoked = False
                self.rolled_back = True
                raise
            self.key_problem = self.revoked = False
            self._data_version = self._vault.conn.execute("PRAGMA data_version").fetchone()[0]
            self.chosen_pack = self._carry_pack_over(self._vault)
            try:
                rotated = ops.apply_start_policy(self._vault)
            except FaceSealError as error:
                self.notice = f"The start policy was not applied: {workers.describe(error)}"
            else:
                self.notice = ("The root key was due and the policy rotates it at start: it was rotated "
                               f"(new fingerprint {rotated.root_fingerprint}).") if rotated else ""
            self._sweep(self._vault)
            return "open"

    def _sweep(self, vault: Vault) -> None:
        """Crypto-shred whoever's retention ended, each time the window opens the vault (``ops.sweep_retention``);
        Home says who was deleted, and who is due soon."""
        try:
            self.retention = ops.sweep_retention(vault, self.clock())
        except FaceSealError as error:
            self.retention = None
            self.notice = " ".join(filter(None, [self.notice, f"The retention sweep failed: {workers.describe(error)}"]))
            return
        if self.retention.deleted:
            gone = ", ".join(self.retention.deleted)
            self.notice = " ".join(filter(None, [self.notice, f"Retention ended, so FaceSeal deleted {gone} "
                                                 "(crypto-shredded; recorded in the audit log)."]))

    @staticmethod
    def _carry_pack_over(vault: Vault) -> str | None:
        """The vault's chosen pack; a window that chose one in its own preferences file (before the choice moved
        into the vault) has it carried over once, if the vault has none yet and that pack is installed."""
        chosen = ops.chosen_pack(vault)
        old = take_old_pack_choice()
        if chosen is None and old is not None:
            try:
                chosen = ops.use_pack(vault, old).pack
            except FaceSealError:
                pass  # no longer installed, or unknown: the rule of ops.pack_in_use decides
        return chosen

    def pack_in_use(self) -> ops.PackInUse:
        """The pack enrolment and matching use now (``ops.pack_in_use`` over the last choice read)."""
        return ops.pack_in_use(self.chosen_pack)

    @property
    def pack(self) -> str:
        return self.pack_in_use().pack

    def use_pack(self, name: str) -> ops.PackChoice:
        """Choose the pack every front end uses (``ops.use_pack``: refused unless installed, audited)."""
        choice = self.call(lambda vault: ops.use_pack(vault, name))
        self.chosen_pack = choice.pack
        return choice

    # ------------------------------------------------------------ locking
    def lock(self) -> str | None:
        """Lock every FaceSeal process on this data now (audited); returns why it could not, or None.

        Waits for a running vault call to finish; the keys leave memory with it.
        """
        with self._lock:
            try:
                ops.lock(vault=self._vault) if self._vault is not None and self._vault.is_open else ops.lock()
            except FaceSealError as error:
                return workers.describe(error)
            finally:
                self._drop()
        self.state, self.problem, self._follow_lock = State.LOCKED, "", True
        self.changed.emit()
        return None

    def close(self) -> None:
        """Drop every key and cache from memory (the window closes); other processes are not locked."""
        self._closed = True
        self._poll.stop()
        self.set_aside()

    def set_aside(self) -> None:
        """Drop the keys without locking anyone else (before a restore, which opens the vault again after)."""
        self._drop()
        self.state, self.problem, self._follow_lock = State.LOCKED, "", False
        self.changed.emit()

    def _on_refused(self, error: BaseException) -> None:
        if self.state is not State.OPEN:
            return
        if isinstance(error, RootKeyRevoked):
            self.state, self.problem, self.key_problem = State.UNAVAILABLE, workers.describe(error), True
            self.revoked = True
            self._follow_lock = False
        else:
            self.state, self.problem, self._follow_lock = State.LOCKED, "", True
        self.changed.emit()

    def _watch(self) -> None:
        """The poll: follow a lock set or lifted by another process (one ``stat`` per tick), and a root key
        removed from where it lives (``ops.root_gone``, off the UI thread: a keychain may be slow to answer)."""
        if self._closed:
            return
        if self.state is State.OPEN and self._root_check is None:
            self._root_check = workers.start(lambda _r: self._look_around(), self._looked,
                                             lambda _message: self._looked(None))
        if self.state is State.OPEN and ops.is_locked():
            if not self._lock.acquire(blocking=False):
                return  # a vault call is running; it meets the lock itself, or the next tick does
            try:
                if self._vault is None:
                    return
                try:
                    self._vault.conn
                except (VaultLocked, RootKeyRevoked) as error:
                    self._drop()
                    self._on_refused(error)
            finally:
                self._lock.release()
        elif self.state is State.LOCKED and self._follow_lock and not ops.is_locked():
            self.open()

    def _look_around(self) -> tuple[str, int, str | None] | None:
        """The root's problem now ("" when none), the data's version (another process's write changes it) and
        the chosen pack, or None when a vault call holds the lock (the next tick looks again)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._vault is None or not self._vault.is_open:
                return None
            version = self._vault.conn.execute("PRAGMA data_version").fetchone()[0]
            return ops.root_gone(self._vault) or "", version, ops.chosen_pack(self._vault)
        finally:
            self._lock.release()

    def _looked(self, seen: tuple[str, int, str | None] | None) -> None:
        """Pages are told when the root went (or came back) or another process wrote (a kit exported, a lock)."""
        self._root_check = None
        if seen is None or self._closed or self.state is not State.OPEN:
            return
        problem, version, chosen = seen
        written = self._data_version is not None and version != self._data_version
        self._data_version = version
        if problem != self.root_problem or written or chosen != self.chosen_pack:
            self.root_problem, self.chosen_pack = problem, chosen
            self.changed.emit()

    def notify(self) -> None:
        """Tell every page the data changed (after an enrolment, a deletion, a key operation)."""
        self.changed.emit()
