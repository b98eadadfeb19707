"""Asking a running agent: connect only to the user's own socket, and only to a process of that user.

Used by ``faceseal agent status`` and by the PAM helper (running as root, asking
on behalf of a user). Both checks hold even for root: the folder and the socket
must belong to the user (:func:`rundir.check_socket`), and the kernel must say the
listening process runs as that user (:func:`wire.peer_uid`). A planted socket,
or a process of another user listening at the path, is never told anything.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edge_core.agent import rundir, wire


class AgentUnavailable(Exception):
    """No agent answers for this user (not running, or a socket that is not the user's); the message says which."""


GRACE_S = 2.0
"""Beyond the wait the agent announced, how long a caller still waits for its answer."""


class _Deadline:
    """When the caller stops waiting: ``timeout`` from the start, until the agent announces how long its attempt
    looks (``{"wait": seconds}``, the policy's sign-in timeout), capped at ``most`` seconds from then.

    Only the first announcement counts: an agent that announced again and again would otherwise keep the caller
    (sudo, the greeter) waiting for ever. So the wait never ends later than ``timeout`` + ``most`` + the grace."""

    def __init__(self, timeout: float, most: float) -> None:
        self.at = time.monotonic() + timeout
        self.most = most
        self.fixed = False

    def announced(self, message: dict[str, Any]) -> None:
        wait = message.get("wait")
        if not self.fixed and isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait > 0:
            self.at = time.monotonic() + min(float(wait), self.most) + GRACE_S
            self.fixed = True

    def left(self) -> float:
        return max(self.at - time.monotonic(), 0.001)


def ask(path: Path, uid: int, request: dict[str, Any], timeout: float,
        on_message: Callable[[dict[str, Any]], None] = lambda message: None, most: float = 60.0) -> dict[str, Any]:
    """Send ``request`` and return the agent's final answer (``{"done": true, ...}``); each message before it goes
    to ``on_message`` (what to tell the person). ``timeout`` bounds the wait for the agent's first words; once it
    announces an attempt's length, that (at most ``most`` seconds) bounds the rest."""
    deadline = _Deadline(timeout, most)
    for message in _conversation(path, uid, request, deadline):
        if message.get("done") is True:
            return message
        deadline.announced(message)
        on_message(message)
    raise AgentUnavailable("the agent ended the conversation without an answer")


def _conversation(path: Path, uid: int, request: dict[str, Any], deadline: _Deadline) -> Iterator[dict[str, Any]]:
    try:
        rundir.check_socket(path, uid)
    except FileNotFoundError:
        raise AgentUnavailable(f"no FaceSeal agent is running (no socket at {path})") from None
    except OSError as error:  # InsecureDataDir is a FaceSealError, not an OSError: it passes through
        raise AgentUnavailable(f"the agent's socket cannot be reached ({error.strerror or error})") from None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(deadline.left())
        try:
            sock.connect(str(path))
        except OSError as error:
            raise AgentUnavailable(f"no FaceSeal agent answers at {path} ({error.strerror or error})") from None
        if wire.peer_uid(sock) != uid:
            raise AgentUnavailable(f"the process listening at {path} is not the user's own agent; refused")
        reader = wire.Reader(sock)
        try:
            wire.send(sock, request)
            while True:
                yield reader.receive(deadline.at)
        except TimeoutError:
            raise AgentUnavailable("the agent did not answer in time") from None
        except (OSError, wire.WireError) as error:
            raise AgentUnavailable(f"the conversation with the agent broke off ({error})") from None
