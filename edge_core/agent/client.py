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


def ask(path: Path, uid: int, request: dict[str, Any], timeout: float,
        on_message: Callable[[dict[str, Any]], None] = lambda message: None) -> dict[str, Any]:
    """Send ``request`` and return the agent's final answer (``{"done": true, ...}``); each message before it goes
    to ``on_message`` (what to tell the person). ``timeout`` bounds the whole exchange, in seconds."""
    for message in _conversation(path, uid, request, time.monotonic() + timeout):
        if message.get("done") is True:
            return message
        on_message(message)
    raise AgentUnavailable("the agent ended the conversation without an answer")


def _conversation(path: Path, uid: int, request: dict[str, Any], deadline: float) -> Iterator[dict[str, Any]]:
    try:
        rundir.check_socket(path, uid)
    except FileNotFoundError:
        raise AgentUnavailable(f"no FaceSeal agent is running (no socket at {path})") from None
    except OSError as error:  # InsecureDataDir is a FaceSealError, not an OSError: it passes through
        raise AgentUnavailable(f"the agent's socket cannot be reached ({error.strerror or error})") from None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
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
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                yield reader.receive()
        except TimeoutError:
            raise AgentUnavailable("the agent did not answer in time") from None
        except (OSError, wire.WireError) as error:
            raise AgentUnavailable(f"the conversation with the agent broke off ({error})") from None
