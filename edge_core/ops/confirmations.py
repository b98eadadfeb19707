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

One line of JSON each way: ``{"action": ...}`` from the API,
``{"passphrase": "..." | null}`` back (null: declined).
"""

from __future__ import annotations

import json
import socket
import threading

from edge_core.errors import PresenceRequired

ANSWER_WAIT_S = 120.0
"""How long a call waits for the person at the window before it is refused."""

_MAX_LINE = 64 * 1024


def pair() -> tuple[socket.socket, socket.socket]:
    """The window's end and the child's end (inheritable, to be passed with ``pass_fds``)."""
    window, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child.set_inheritable(True)
    return window, child


def _line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk or len(data) + len(chunk) > _MAX_LINE:
            raise ConnectionError("the channel closed")
        data += chunk
    return data


class Asker:
    """The API's end: asks the window for the admin passphrase, one call at a time."""

    def __init__(self, fd: int) -> None:
        self._sock = socket.socket(fileno=fd)
        self._lock = threading.Lock()

    def ask(self, action: str) -> str:
        """What the person typed for ``action``; :class:`PresenceRequired` when they declined, did not answer in
        time, or the window is gone."""
        with self._lock:
            try:
                self._sock.settimeout(ANSWER_WAIT_S)
                self._sock.sendall(json.dumps({"action": action}).encode() + b"\n")
                answer = json.loads(_line(self._sock))
            except (OSError, ValueError):
                raise PresenceRequired(f"to {action}, the admin passphrase is needed and nobody at the window gave "
                                       "it in time; nothing was changed", action=action) from None
        passphrase = answer.get("passphrase") if isinstance(answer, dict) else None
        if not isinstance(passphrase, str):
            raise PresenceRequired(f"to {action}, the admin passphrase is needed and the person at the window "
                                   "declined; nothing was changed", action=action)
        return passphrase


class Answerer:
    """The window's end: reads what the API asks and sends back what the person typed (or ``None``)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def request(self) -> str | None:
        """The action the API asks proof for (called when the channel is readable); ``None`` when it closed."""
        try:
            asked = json.loads(_line(self._sock))
        except (OSError, ValueError):
            return None
        action = asked.get("action") if isinstance(asked, dict) else None
        return action if isinstance(action, str) else None

    def answer(self, passphrase: str | None) -> None:
        try:
            self._sock.sendall(json.dumps({"passphrase": passphrase}).encode() + b"\n")
        except OSError:
            pass  # the API stopped meanwhile: nobody waits for the answer

    def close(self) -> None:
        self._sock.close()
