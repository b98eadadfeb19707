"""The agent's messages: one JSON object a line, at most :data:`LIMIT` bytes, and who sent them.

Strict JSON (:mod:`edge_core.support.strictjson`: UTF-8, no duplicate keys, no
NaN); anything else ends the conversation. The peer's uid comes from the kernel
(SO_PEERCRED on Linux, LOCAL_PEERCRED on macOS), never from the message; so does
its pid, named for the window and the audit by :func:`describe_process`.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from edge_core.support import strictjson

LIMIT = 8192
"""The longest message line, in bytes; a request is a few hundred."""


class WireError(Exception):
    """The other end sent something that is not one bounded JSON object a line, or went away."""


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, allow_nan=False, separators=(",", ":")).encode() + b"\n"
    if len(data) > LIMIT:
        raise WireError("message too long")
    sock.sendall(data)


class Reader:
    """Reads message lines from a socket, keeping what arrived after a line for the next one."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def receive(self, deadline: float | None = None) -> dict[str, Any]:
        """The next message. ``deadline`` (``time.monotonic()`` seconds) bounds the whole line, not each read: a
        peer that sends a byte now and then would otherwise restart the socket's timeout with every byte, and keep
        the reader (the root PAM helper, and sudo or the lock screen behind it) waiting for as long as it liked.
        Past it, :class:`TimeoutError`, as the socket's own timeout says it."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > LIMIT:
                raise WireError("message too long")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no whole message before the deadline")
                self._sock.settimeout(left)
            chunk = self._sock.recv(4096)
            if not chunk:
                raise WireError("the other end closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        if len(line) > LIMIT:
            raise WireError("message too long")
        try:
            message = strictjson.loads(line)
        except ValueError as error:
            raise WireError(f"not a message ({error})") from None
        if not isinstance(message, dict):
            raise WireError("not a message (a JSON object is expected)")
        return message


def peer_credentials(sock: socket.socket) -> tuple[int, int]:
    """The pid (0 where the platform does not say) and uid of the process at the other end of a Unix socket, as the
    kernel saw it connect."""
    if sys.platform.startswith("linux"):
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", raw)
        return pid, uid
    raw = sock.getsockopt(0, 0x001, struct.calcsize("Ii16i"))  # SOL_LOCAL, LOCAL_PEERCRED: struct xucred
    return 0, struct.unpack("Ii16i", raw)[1]


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket, as the kernel saw it connect."""
    return peer_credentials(sock)[1]


def describe_process(pid: int) -> str:
    """How the window and the audit name a caller the kernel or the bus identified: its pid and program, from /proc
    (the executable; or, for a process that made itself undumpable as FaceSeal's own do, the name it runs under).
    Only a hint: an app of the same user could be any program it likes."""
    try:
        program = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        try:
            program = Path(f"/proc/{pid}/comm").read_text().strip() or "program unknown"
        except OSError:
            program = "program unknown"
    return f"process {pid} ({program})"
