"""The local admin API as an administrator runs it: where it may listen, its bearer token, and the server the
window starts and stops.

``faceseal serve`` runs the API in the foreground. The window runs that very
command as a child process (:class:`ApiServer`, over :mod:`edge_core.ops.children`),
not on a thread of its own: the API then has its own process and its own vault
handle like any other FaceSeal process, a crash in it cannot take the window
down, and stopping it is uvicorn's graceful shutdown on SIGTERM. The bind
address and the port are checked here first, for the window and the command
line alike, so a port already taken is one clear sentence rather than
uvicorn's traceback.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from edge_core.errors import UsageError
from edge_core.ops import apitoken, confirmations
from edge_core.ops.children import Child
from edge_core.ops.results import Result
from edge_core.ops.vaults import open_vault
from edge_core.support import paths

DEFAULT_PORT = 8787
API_PATH = "/api/v1"
START_WAIT_S = 90.0
"""How long a starting API may take to answer (it opens the vault first; 2 busy cores can be slow)."""


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
    """Refuse a port out of range or one another program already listens on, in one sentence.

    The probe binds as uvicorn will (``SO_REUSEADDR``): connections a stopped API closed wait a minute in
    TIME_WAIT on its port, which keeps no one from listening there, so a restart on the same port (a new token,
    say) must not be refused for them; a port another program listens on is refused all the same.
    """
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


class ApiServer:
    """One ``faceseal serve`` child of this process (:class:`~edge_core.ops.children.Child`), over ``home``."""

    def __init__(self, home: Path | None = None) -> None:
        self.child = Child("admin API", home)
        self.home = self.child.home
        self._address: tuple[str, int] | None = None
        self.confirmations: confirmations.Answerer | None = None
        """Where the running API asks for proof of presence a call did not bring (:mod:`.confirmations`)."""

    @property
    def running(self) -> bool:
        return self.child.running

    def state(self) -> ApiState:
        if not self.running:
            return ApiState(False, None, str(apitoken.token_path(self.home)))
        assert self._address is not None
        host, port = self._address
        shown = f"[{host}]" if ":" in host else host
        return ApiState(True, f"http://{shown}:{port}{API_PATH}", str(apitoken.token_path(self.home)),
                        self.child.pid)

    def start(self, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> ApiState:
        """Start the API and wait until it answers; refused in one sentence if it cannot listen or open the vault."""
        if self.running:
            raise UsageError(f"the admin API already runs at {self.state().address}; stop it first")
        bind = check_loopback(host)
        check_port(bind, port)
        self._address = (bind, port)
        window_end, child_end = confirmations.pair()
        try:
            self.child.start(["serve", "--host", bind, "--port", str(port), "--confirm-fd", str(child_end.fileno())],
                             lambda: _answers(bind, port), START_WAIT_S, pass_fds=(child_end.fileno(),))
        except BaseException:
            window_end.close()
            raise
        finally:
            child_end.close()
        self.confirmations = confirmations.Answerer(window_end)
        return self.state()

    def ended(self) -> str | None:
        """Whether the API stopped without being asked: why, in one sentence, once (the child is reaped)."""
        ended = self.child.ended()
        if ended is not None:
            self.stop()  # its channel too
        return ended

    def stop(self) -> ApiState:
        """Stop the API gracefully (SIGTERM: requests in flight finish); nothing happens if it does not run."""
        self.child.stop()
        if self.confirmations is not None:
            self.confirmations.close()
            self.confirmations = None
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


def _answers(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port`` now."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
