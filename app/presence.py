"""The window's proof of presence: a use case that asks for the admin passphrase gets it from a dialog, then runs again.

Why here and not in each page: every page and Admin section starts its work
through :func:`start`, so a delete, a reset, a lower threshold or a looser
policy all ask the same way, and a new page cannot forget to. Which actions
ask, and whether a change loosens, is decided by ``edge_core.ops.presence``
alone; the window only notices the refusal (``PresenceRequired``), asks, has
the session prove the passphrase (:meth:`Session.prove`) and starts the same
work again. The task never waits on the dialog: it ends with the refusal, so
the vault's lock is never held while a person types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from app import workers
from app.session import Session
from edge_core.errors import PresenceRefused, PresenceRequired


@dataclass(frozen=True)
class _ProofNeeded:
    action: str


class ProofDialog(QDialog):
    """Asks the admin passphrase for one action, in the words of that action; Cancel changes nothing."""

    def __init__(self, parent: QWidget, action: str, asked_by: str | None = None) -> None:
        """``asked_by``: who asks, when it is not this window (an app through the admin API)."""
        super().__init__(parent)
        self.setWindowTitle("Admin passphrase")
        self.setAccessibleName("Admin passphrase")
        self.setModal(True)
        if asked_by:
            self.message = (f"{asked_by} asks to {action}. Give this vault's admin passphrase to allow it this once, "
                            "or Cancel to refuse. Nothing has been changed yet.")
        else:
            self.message = (f"To {action}, give this vault's admin passphrase: it shows that the owner is at this "
                            "desktop. Nothing has been changed yet.")
        text = QLabel(self.message)
        text.setWordWrap(True)
        text.setObjectName("confirmText")
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setAccessibleName("Admin passphrase")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Confirm")
        self.ok_button.setAccessibleName("Confirm")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.field)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)


def start(owner: QWidget, session: Session, fn: Callable[[workers.Reporter], Any], done: Callable[[Any], None],
          failed: Callable[[str], None], watch: Callable[[workers.Task], None] | None = None) -> workers.Task:
    """``workers.start``, and when ``fn`` is refused for want of proof: ask, prove, and run ``fn`` again."""

    def attempt(reporter: workers.Reporter) -> Any:
        try:
            return fn(reporter)
        except PresenceRefused:
            raise
        except PresenceRequired as refusal:
            return _ProofNeeded(refusal.action)

    def finished(result: Any) -> None:
        if not isinstance(result, _ProofNeeded):
            done(result)
            return
        dialog = ProofDialog(owner, result.action)

        def given() -> None:
            passphrase = dialog.field.text()
            dialog.field.clear()
            workers.start(lambda _r: session.prove(passphrase),
                          lambda _none: start(owner, session, fn, done, failed, watch), failed, owner=owner)

        dialog.accepted.connect(given)
        dialog.rejected.connect(lambda: failed("Cancelled: nothing was changed (the admin passphrase was not given)."))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    return workers.start(attempt, finished, failed, owner=owner, watch=watch)
