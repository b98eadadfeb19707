"""The admin API asks the window it runs under for proof of presence: a private channel between the two processes.

Why: an app that calls the admin API should not have to hold the owner's
admin passphrase to delete a person or loosen the policy. When the window
started ``faceseal serve`` (Admin › Admin API), a call that needs proof and
carries no ``X-FaceSeal-Admin-Passphrase`` header is shown in the window
instead, naming what the app asks; the person at the desk types the
passphrase there, or declines. The channel is one end of a Unix socket pair
the window made and handed to its child (``serve --confirm-fd``): nobody else
holds it. The child still checks the passphrase itself (``ops.prove``): the
window only relays what the person typed, so a channel on a terminal or any
other descriptor proves nothing by itself.

One line of JSON each way. The API sends ``{"id", "action"}`` and waits for ``{"id", "passphrase"}``
(``passphrase`` null: declined); an answer to any other ``id`` is dropped, so a late answer to a call that
already gave up never approves the next one. A call that gives up sends ``{"id", "cancel": true}`` and the
window closes that question.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from edge_core.errors import PresenceRequired

ANSWER_WAIT_S = 120.0
"""How long a call waits for the person at the window before it is refused."""

_MAX_LINE = 64 * 1024


def pair() -> tuple[socket.socket, socket.socket]:
    """The window's end and the child's end (inheritable, to be passed with ``pass_fds``)."""
    window, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child.set_inheritable(True)
    return window, child


@dataclass(frozen=True)
class Request:
    """What the API asks: proof for ``action``, question ``id``."""

    id: str
    action: str


@dataclass(frozen=True)
class Cancel:
    """The API stopped waiting for question ``id``."""

    id: str


class _Lines:
    """Whole lines from a stream socket, kept across reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def next(self, deadline: float | None = None) -> dict:
        while b"\n" not in self._buffer:
            if deadline is not None:
                self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = self.sock.recv(4096)
            if not chunk or len(self._buffer) + len(chunk) > _MAX_LINE:
                raise ConnectionError("the channel closed")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ValueError("not a message")
        return message

    def waiting(self) -> bool:
        """Whether a whole line is already read and waiting (no need to wait for the socket)."""
        return b"\n" in self._buffer

    def send(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")


class Asker:
    """The API's end: asks the window for the admin passphrase, one call at a time."""

    def __init__(self, fd: int) -> None:
        self._lines = _Lines(socket.socket(fileno=fd))
        self._lock = threading.Lock()

    def ask(self, action: str) -> str:
        """What the person typed for ``action``; :class:`PresenceRequired` when they declined, did not answer in
        time, or the window is gone."""
        question = secrets.token_hex(8)
        with self._lock:
            deadline = time.monotonic() + ANSWER_WAIT_S
            try:
                self._lines.send({"id": question, "action": action})
                while True:
                    answer = self._lines.next(deadline)
                    if answer.get("id") == question:
                        break
            except (OSError, ValueError):
                try:
                    self._lines.send({"id": question, "cancel": True})
                except OSError:
                    pass
                raise PresenceRequired(f"to {action}, the admin passphrase is needed and nobody at the window gave "
                                       "it in time; nothing was changed", action=action) from None
        passphrase = answer.get("passphrase")
        if not isinstance(passphrase, str):
            raise PresenceRequired(f"to {action}, the admin passphrase is needed and the person at the window "
                                   "declined; nothing was changed", action=action)
        return passphrase


class Answerer:
    """The window's end: reads what the API asks and sends back what the person typed (or ``None``)."""

    def __init__(self, sock: socket.socket) -> None:
        self._lines = _Lines(sock)

    def fileno(self) -> int:
        return self._lines.sock.fileno()

    def waiting(self) -> bool:
        """Whether another message was read with the last one (read it before waiting for the socket again)."""
        return self._lines.waiting()

    def read(self) -> Request | Cancel | None:
        """The next message (called when the channel is readable); ``None`` when it closed or spoke nonsense."""
        try:
            message = self._lines.next()
        except (OSError, ValueError):
            return None
        question, action = message.get("id"), message.get("action")
        if not isinstance(question, str):
            return None
        if message.get("cancel") is True:
            return Cancel(question)
        return Request(question, action) if isinstance(action, str) else None

    def answer(self, question: str, passphrase: str | None) -> None:
        try:
            self._lines.send({"id": question, "passphrase": passphrase})
        except OSError:
            pass  # the API stopped meanwhile: nobody waits for the answer

    def close(self) -> None:
        self._lines.sock.close()
