"""What every section of the Admin page shares: its own banner, the vault it may need, work off the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from app import presence, workers
from app.pages.base import Context
from app.session import Session
from app.widgets.banner import Banner


class Section(QWidget):
    """One tab of the Admin page, thin over one concern of ``edge_core.ops``. Subclasses fill ``body`` and
    implement :meth:`load`.

    A section that needs the vault says so in its banner while the vault is
    not open, instead of showing empty figures; its banner is its own, so a
    message about the API never lands beside the policy.
    """

    title = ""
    needs_vault = True

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.setAccessibleName(f"{self.title} section")
        self.banner = Banner(f"{self.title} status")
        self.body = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 8, 0, 0)
        outer.addWidget(self.banner)
        outer.addWidget(scroll, 1)

    @property
    def session(self) -> Session:
        return self.ctx.session

    def refresh(self) -> None:
        """Load the section, or say why it cannot while the vault is not open."""
        ready = self.session.is_open or not self.needs_vault
        self.body.setEnabled(ready)
        if ready:
            self.load()
        else:
            self.banner.show_message("warning", f"Unlock the vault to see and change {self.title.lower()}.")

    def load(self) -> None:
        """Fill the section (on the UI thread; start a task for the work)."""

    def run(self, fn: Callable[[workers.Reporter], Any], done: Callable[[Any], None],
            failed: Callable[[str], None] | None = None,
            watch: Callable[[workers.Task], None] | None = None) -> workers.Task:
        """Run ``fn`` off the UI thread; a failure shows in this section's banner unless ``failed`` is given."""
        return presence.start(self, self.session, fn, done, failed or self.show_error, watch)

    def in_vault(self, fn: Callable[[Any], Any], done: Callable[[Any], None],
                 failed: Callable[[str], None] | None = None) -> workers.Task:
        """Run ``fn(vault)`` under the session's lock, off the UI thread."""
        return self.run(lambda _r: self.session.call(fn), done, failed)

    def shutdown(self) -> None:
        """The window closes: stop what this section started (a child process); most start none."""

    def show_error(self, message: str) -> None:
        self.banner.show_message("error", message)
