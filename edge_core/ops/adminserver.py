"""The local admin API as an administrator runs it: where it may listen, its bearer token, and the server the
window starts and stops.

``faceseal serve`` runs the API in the foreground. The window runs that very
command as a child process (:class:`ApiServer`), not on a thread of its own:
the API then has its own process and its own vault handle like any other
FaceSeal process (the shared lock reaches it the same way), a crash in it
cannot take the window down, and stopping it is uvicorn's graceful shutdown
on SIGTERM. The bind address and the port are checked here first, for the
window and the command line alike, so a port already taken is one clear
sentence rather than uvicorn's traceback.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge_core.errors import FaceSealError, UsageError
from edge_core.ops import apitoken
from edge_core.ops.results import Result
from edge_core.ops.vaults import open_vault
from edge_core.support import paths

DEFAULT_PORT = 8787
API_PATH = "/api/v1"
START_WAIT_S = 90.0
"""How long a starting API may take to answer (it opens the vault first; 2 busy cores can be slow)."""
STOP_WAIT_S = 30.0


class ApiNotStarted(FaceSealError):
    """The API process ended before it answered; the message is its own last line."""


@dataclass(frozen=True)
class ApiState(Result):
    """Whether this process's API child runs, where, and where its token is (never the token itself)."""

    running: bool
    address: str | None
    token_file: str
    pid: int | None = None


@dataclass(frozen=True)
class TokenRotation(Result):
    token_file: str
    restarted: bool
    status: str = "rotated"


def check_loopback(host: str) -> str:
    """Refuse any bind address that is not loopback: the API is for this machine's owner only."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return host.strip("[]")
    except ValueError:
        pass
    raise UsageError(f"refusing to listen on {host}: the admin API binds to loopback addresses only")


def check_port(host: str, port: int) -> None:
    """Refuse a port out of range or one another program already listens on, in one sentence."""
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is already in use by another program; "
                                 "choose another port") from None
            raise UsageError(f"cannot listen on {host}:{port} ({error.strerror or error})") from None


def rotate_token(home: Path | None = None) -> TokenRotation:
    """A fresh bearer token in ``<data>/edge_token``; a running ``faceseal serve`` needs a restart to use it."""
    with open_vault(home or paths.data_dir()) as vault:  # the token's digest is sealed in the vault
        return TokenRotation(str(apitoken.rotate(vault)), restarted=False)


def _serve_command() -> list[str]:
    """``faceseal serve`` as this installation runs it (a frozen bundle is its own interpreter)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "serve"]
    return [sys.executable, "-m", "edge_core.cli", "serve"]


class ApiServer:
    """One ``faceseal serve`` child of this process, over the data folder ``home``."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or paths.data_dir()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._address: tuple[str, int] | None = None
        # A start runs in a worker thread while the window's watch asks ``ended`` every second: a child the
        # start still waits for (which may die refusing, on a locked vault say) is the start's to reap and
        # explain, never an API that "stopped without being asked".
        self._starting = threading.Lock()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def state(self) -> ApiState:
        if not self.running:
            return ApiState(False, None, str(apitoken.token_path(self.home)))
        assert self._address is not None and self._process is not None
        host, port = self._address
        shown = f"[{host}]" if ":" in host else host
        return ApiState(True, f"http://{shown}:{port}{API_PATH}", str(apitoken.token_path(self.home)),
                        self._process.pid)

    def start(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> ApiState:
        """Start the API and wait until it answers; refused in one sentence if it cannot listen or open the vault."""
        with self._starting:
            if self.running:
                raise UsageError(f"the admin API already runs at {self.state().address}; stop it first")
            bind = check_loopback(host)
            check_port(bind, port)
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - kept open while the child writes to it
            self._process = subprocess.Popen([*_serve_command(), "--host", bind, "--port", str(port)],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
                                             env=dict(os.environ, FACESEAL_HOME=str(self.home)))
            self._address = (bind, port)
            deadline = time.monotonic() + START_WAIT_S
            while not _answers(bind, port):
                if self._process.poll() is not None:
                    raise ApiNotStarted(self._last_words())
                if time.monotonic() > deadline:
                    self.stop()
                    raise ApiNotStarted(f"the admin API did not answer on {bind}:{port} within {START_WAIT_S:.0f} s")
                time.sleep(0.1)
            return self.state()

    def ended(self) -> str | None:
        """Whether the API stopped without being asked (killed, or Ctrl-C in its terminal): why, in one sentence,
        once; the child is reaped (never left defunct) and the state is "not running" from then on."""
        if not self._starting.acquire(blocking=False):
            return None  # being started: the start says how that went
        try:
            process = self._process
            if process is None or process.poll() is None:
                return None
            self.stop()
        finally:
            self._starting.release()
        code = process.returncode
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        return (f"the admin API stopped without being asked ({how}; Ctrl-C in the terminal the window was started "
                "from stops both); start it again here")

    def stop(self) -> ApiState:
        """Stop the API gracefully (SIGTERM: requests in flight finish); nothing happens if it does not run."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.state()

    def rotate_token(self) -> TokenRotation:
        """A fresh token; a running API is restarted on the same address so the old token stops working now."""
        address = self._address if self.running else None
        if address is not None:
            self.stop()
        with open_vault(self.home) as vault:
            path = apitoken.rotate(vault)
        if address is not None:
            self.start(address[1], address[0])
        return TokenRotation(str(path), restarted=address is not None)

    def _last_words(self) -> str:
        """The child's last line on stderr (FaceSeal's one-line error), without its 'faceseal:' prefix."""
        assert self._log is not None
        self._log.seek(0)
        lines = [line.strip() for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        self.stop()
        if not lines:
            return "the admin API stopped before it answered"
        last = lines[-1]
        for prefix in ("faceseal: error:", "faceseal:"):
            if last.startswith(prefix):
                return last[len(prefix):].strip()
        return last


def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port`` now."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
