"""What every page shares: a title, a banner, the locked state, and running work off the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app import presence, workers
from app.presence import ProofDialog
from app.preferences import Preferences
from app.session import Session, State
from app.widgets.banner import Banner
from app.widgets.confirm import ConfirmDialog

ACCEPT_OLDER = "make this older copy of the data folder the newest state (its policy, lockouts and people come back)"


@dataclass
class Context:
    """What a page is given: the vault session, the window's preferences, and a way to another page."""

    session: Session
    prefs: Preferences
    navigate: Callable[[str], Any]
    """Show the page of that title; returns the page."""


class Page(QWidget):
    """A page of the window. Subclasses fill ``body`` and implement :meth:`load`.

    ``load`` runs whenever the page is shown or the vault changed while it is
    shown; a page that needs the vault shows the locked state instead, with
    the button that unlocks, and never an empty table.
    """

    title = ""
    needs_vault = True

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.setAccessibleName(f"{self.title} page")
        heading = QLabel(self.title)
        heading.setObjectName("pageTitle")
        heading.setAccessibleName(self.title)
        self.banner = Banner()
        self.lock_banner = Banner("Vault state")
        self.body = QWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 18, 24, 18)
        outer.addWidget(heading)
        outer.addWidget(self.lock_banner)
        outer.addWidget(self.banner)
        outer.addWidget(self.body, 1)
        ctx.session.changed.connect(self._session_changed)

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def prefs(self) -> Preferences:
        return self.ctx.prefs

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.banner.news:
            self.banner.clear()  # news of an earlier visit (a deletion, a lock, an evidence check) is stale by now
        self.refresh()

    def _session_changed(self) -> None:
        if not self.session.is_open:
            self.vault_closed()
        if self.isVisible():
            self.refresh()

    def vault_closed(self) -> None:
        """The vault was locked or became unavailable (here or in another process), shown or not.

        A page whose running work would need the vault at its end stops it
        now, rather than letting a person go on with work that will be refused.
        """

    def refresh(self) -> None:
        """Show the vault state if this page cannot work without it, else load the page's data."""
        ready = self.session.is_open or not self.needs_vault
        self.body.setEnabled(ready)
        self.show_vault_state(self.lock_banner)  # a page that works while locked still says it is locked
        if ready:
            self.load()

    def show_vault_state(self, banner: Banner) -> None:
        """The locked / unavailable state with its way out, or nothing when the vault is open."""
        state = self.session.state
        if state is State.OPEN and self.session.root_problem:
            banner.show_message("error", self.session.root_problem, "Export a recovery copy",
                                lambda: self.ctx.navigate("Security").focus_export())
        elif state is State.OPEN:
            banner.clear()
        elif state is State.OPENING:
            banner.show_message("info", "Opening the vault…")
        elif state is State.LOCKED:
            banner.show_message("warning", "The vault is locked: no key is in memory. Unlock it to go on.",
                                "Unlock", self.session.unlock)
        elif self.session.rolled_back:
            banner.show_message("error", f"The vault cannot be opened. {self.session.problem}",
                                "Use this older copy…", self.ask_accept_older)
        elif self.session.key_problem:
            banner.show_message("error", f"The vault cannot be opened. {self.session.problem}",
                                "Restore from a recovery copy", lambda: self.ctx.navigate("Security"))
        else:
            banner.show_message("error", f"The vault cannot be opened. {self.session.problem}",
                                "Try again", self.session.unlock)

    def ask_accept_older(self) -> None:
        """The way out of a rolled-back folder, asked first: going back to an older state is a choice, audited."""
        self.older_dialog = ConfirmDialog(
            self, "Use this older copy", "This data folder is older than the newest state this computer saw: an "
            "older backup was put back, or someone replaced it. Its policy, lockouts and people are those of that "
            "time. Use it only if you restored it yourself (the choice is audited).", "Use this older copy")
        self.older_dialog.accepted.connect(lambda: workers.start(
            lambda _r: self.session.older_copy_asks(), self._accept_older, self._report_failure, owner=self))
        self.older_dialog.open()

    def _accept_older(self, asks: bool) -> None:
        """Accept the older copy, with its admin passphrase first when it has one (``ops.presence``)."""
        if not asks:
            self.session.open(accept_older=True)
            return
        self.proof_dialog = ProofDialog(self, ACCEPT_OLDER)
        self.proof_dialog.accepted.connect(
            lambda: self.session.open(accept_older=True, passphrase=self.proof_dialog.field.text()))
        self.proof_dialog.open()

    def load(self) -> None:
        """Fill the page from the vault (called on the UI thread; start a task for the work)."""

    def run(self, fn: Callable[[workers.Reporter], Any], done: Callable[[Any], None],
            failed: Callable[[str], None] | None = None,
            watch: Callable[[workers.Task], None] | None = None) -> workers.Task:
        """Run ``fn`` off the UI thread; a failure shows in this page's banner unless ``failed`` is given;
        a use case that asks for the admin passphrase gets it from a dialog and runs again (``app.presence``)."""
        return presence.start(self, self.session, fn, done, failed or self._report_failure, watch)

    def _report_failure(self, message: str) -> None:
        """A failure of work started here; one that met the vault locked meanwhile is the lock banner's to say."""
        if self.session.is_open:
            self.show_error(message)

    def show_error(self, message: str) -> None:
        self.banner.show_message("error", message)
