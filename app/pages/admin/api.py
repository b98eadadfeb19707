"""Admin API: start and stop the local API (``faceseal serve`` as a child process of the window), its address,
and a new bearer token, over ``edge_core.ops.adminserver``."""

from __future__ import annotations

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from app.pages.admin.section import Section
from app.presence import ProofDialog
from app.pages.base import Context
from app.widgets import button, packed
from edge_core.ops.adminserver import DEFAULT_PORT, ApiServer, ApiState, TokenRotation
from edge_core.ops.confirmations import Answerer, Cancel, Request

ASKED_BY = "An app using the admin API"


class ApiSection(Section):
    title = "Admin API"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.server: ApiServer | None = None
        self._notifier: QSocketNotifier | None = None
        self.proof_dialog: ProofDialog | None = None
        self._question: str | None = None
        """The id of the API's question the dialog answers (``ops.confirmations``)."""
        self._poll = QTimer(self)
        self._poll.setInterval(1000)
        self._poll.timeout.connect(self._watch)
        self._poll.start()
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(DEFAULT_PORT)
        self.port.setAccessibleName("Port")
        self.address = QLabel()
        self.address.setWordWrap(True)
        self.address.setAccessibleName("Admin API address")
        self.token_file = QLabel()
        self.token_file.setWordWrap(True)
        self.token_file.setAccessibleName("Bearer token file")
        self.start_button = button("Start the API", self.start, "primary", "Start the admin API")
        self.stop_button = button("Stop the API", self.stop, name="Stop the admin API")
        self.rotate_button = button("Make a new token", self.rotate, name="Rotate the admin API token")
        box = QGroupBox("Local admin API (HTTP on this computer only)")
        form = QFormLayout(box)
        form.addRow("Port", packed(self.port))
        form.addRow("Address", self.address)
        form.addRow("Bearer token", self.token_file)
        form.addRow("", packed(self.start_button, self.stop_button, self.rotate_button))
        note = QLabel("The API runs as 'faceseal serve' in a process of its own, on a loopback address only; every "
                      "request needs the bearer token kept in the file above (readable by you alone). A new token "
                      "locks out whoever held the old one; a running API is restarted to use it. The API stops "
                      "when the window closes. With an admin passphrase set, a request that would delete people or "
                      "loosen security is shown here first, and goes ahead only once you give the passphrase.")
        note.setWordWrap(True)
        note.setObjectName("consequence")
        layout = QVBoxLayout(self.body)
        layout.addWidget(box)
        layout.addWidget(note)
        layout.addStretch(1)

    def _server(self) -> ApiServer:
        if self.server is None:
            self.server = ApiServer()
        return self.server

    def load(self) -> None:
        self._say_if_ended()  # before "Not running." is shown, so an old "answers at" never stands beside it
        self._show(self._server().state())

    def _watch(self) -> None:
        """Every second while the API runs: one that stopped on its own is reaped and said, never shown as running."""
        if self.server is not None and self._say_if_ended():
            self._show(self.server.state())

    def _say_if_ended(self) -> bool:
        ended = self._server().ended()
        if ended:
            self.banner.show_message("warning", f"{ended[:1].upper()}{ended[1:]}.")
        return ended is not None

    def _show(self, state: ApiState) -> None:
        self._listen()
        self.address.setText(state.address if state.running else "Not running.")
        self.token_file.setText(state.token_file)
        self.start_button.setEnabled(not state.running)
        self.stop_button.setEnabled(state.running)
        self.port.setEnabled(not state.running)
        self.rotate_button.setEnabled(True)

    def _listen(self) -> None:
        """Watch the running API's channel for a request that needs the admin passphrase (``ops.confirmations``)."""
        channel = self.server.confirmations if self.server is not None else None
        if self._notifier is not None and (channel is None or self._notifier.socket() != channel.fileno()):
            self._unlisten()
        if channel is not None and self._notifier is None:
            self._notifier = QSocketNotifier(channel.fileno(), QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(lambda: self._asked(channel))

    def _asked(self, channel: Answerer) -> None:
        """The API asks (an app's call waits for the person here) or gives up: the passphrase is passed on (the API
        checks it), refused, or the question closed."""
        while True:
            message = channel.read()
            if message is None:
                self._unlisten()  # the API stopped: its channel closed
                return
            if isinstance(message, Cancel):
                if self._question == message.id and self.proof_dialog is not None:
                    self._close_question("gave up waiting")
            else:
                self._close_question("was replaced by a newer one")
                self._ask(channel, message)
            if not channel.waiting():
                return

    def _ask(self, channel: Answerer, request: Request) -> None:
        self._question = request.id
        self.proof_dialog = dialog = ProofDialog(self, request.action, ASKED_BY)

        def answered(passphrase: str | None) -> None:
            if self._question != request.id:
                return  # closed meanwhile: nobody waits for this answer
            channel.answer(request.id, passphrase)
            self._question, self.proof_dialog = None, None
            self.banner.show_message("info", f"{ASKED_BY} asked to {request.action}: " + (
                "the passphrase was passed on." if passphrase is not None else "refused."))

        dialog.accepted.connect(lambda: answered(dialog.field.text()))
        dialog.rejected.connect(lambda: answered(None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _close_question(self, why: str) -> None:
        """Close the open question without answering it (the API no longer waits for it)."""
        dialog, self.proof_dialog, self._question = self.proof_dialog, None, None
        if dialog is not None:
            dialog.field.clear()
            dialog.reject()
            self.banner.show_message("warning", f"{ASKED_BY}'s request {why}; nothing was passed on.")

    def _unlisten(self) -> None:
        """Stop watching the channel (before a stop or restart closes it)."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None

    def _busy(self) -> None:
        self._unlisten()
        self.banner.clear()
        for button in (self.start_button, self.stop_button, self.rotate_button):
            button.setEnabled(False)

    def start(self) -> None:
        port, server = self.port.value(), self._server()
        self._busy()
        self.run(lambda _r: server.start(port), self._started, self._failed)

    def _started(self, state: ApiState) -> None:
        self.banner.show_message("success", f"The admin API answers at {state.address}.")
        self._show(state)

    def stop(self) -> None:
        server = self._server()
        self._busy()
        self.run(lambda _r: server.stop(), lambda state: (
            self.banner.show_message("info", "The admin API is stopped."), self._show(state)), self._failed)

    def rotate(self) -> None:
        server = self._server()
        self._busy()
        self.run(lambda _r: server.rotate_token(), self._rotated, self._failed)

    def _rotated(self, rotation: TokenRotation) -> None:
        again = " The API was restarted and accepts only the new token." if rotation.restarted else ""
        self.banner.show_message("success", f"A new token is in {rotation.token_file}; the old one no longer "
                                            f"works.{again}")
        self.load()

    def _failed(self, message: str) -> None:
        self.show_error(message)
        self.load()

    def shutdown(self) -> None:
        """The window closes: the API it started stops with it."""
        self._poll.stop()
        self._unlisten()
        if self.server is not None:
            self.server.stop()
