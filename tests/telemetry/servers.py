"""Real loopback servers for delivery tests: the collector, and misbehaving stand-ins.

Each is a real socket on 127.0.0.1. They stop themselves when their context
ends, and none ever talks to anything but loopback.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests.conftest import free_port


class Collector:
    """The real collector (``python -m faceseal_collector``) in a subprocess."""

    def __init__(self, db: Path, port: int | None = None, *options: str) -> None:
        self.db = db
        self.options = options  # more of the command line, such as --workers 2
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Collector:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faceseal_collector",
                "--db",
                str(self.db),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *self.options,
            ],
        )
        deadline = time.monotonic() + 60  # a bounded wait for it to answer: imports take long on busy cores
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
            if self._process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the collector did not start")

    @property
    def pid(self) -> int:
        """The collector's process (with ``--workers``, the parent of its worker processes)."""
        assert self._process is not None, "the collector is not running"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Read the collector's database directly, as an operator would."""
        with sqlite3.connect(self.db, timeout=30) as conn:
            return conn.execute(sql, params).fetchall()

    def markers(self, device_id: str) -> list[int]:
        """The latency_ms markers of every event stored for ``device_id``, sorted (see ``conftest.fill``)."""
        bodies = self.rows("SELECT body FROM events WHERE device_id = ?", (device_id,))
        return sorted(json.loads(str(body))["latency_ms"] for (body,) in bodies)

    def event_count(self, device_id: str) -> int:
        return int(self.rows("SELECT count(*) FROM events WHERE device_id = ?", (device_id,))[0][0])


@contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(BaseHTTPRequestHandler):
    requests = 0

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        type(self).requests += 1
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))


@contextmanager
def answering_500() -> Iterator[tuple[str, type[_Quiet]]]:
    """A server answering every POST with 500; yields (url, handler class with ``requests``)."""

    class Failing(_Quiet):
        requests = 0

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._body()
            payload = json.dumps({"error": "internal", "detail": "boom"}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with _serve(Failing) as url:
        yield url, Failing


@contextmanager
def answer_losing_proxy(target: str, lose: int) -> Iterator[tuple[str, type[_Quiet]]]:
    """Forwards POSTs to ``target`` but drops the answer of the first ``lose`` of them.

    The collector stores the batch; the device sees the connection close
    without an answer, exactly like a crash or a network cut after delivery.
    """

    class Losing(_Quiet):
        requests = 0

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            request = urllib.request.Request(
                target + self.path,
                data=body,
                method="POST",
                headers={"Content-Type": self.headers["Content-Type"]},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, payload = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, payload = error.code, error.read()
            if type(self).requests <= lose:
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    with _serve(Losing) as url:
        yield url, Losing


@contextmanager
def stalling() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers; yields (url, accepted sockets)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_forever() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for sock in accepted:
            sock.close()
        listener.close()
