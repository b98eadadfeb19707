"""``faceseal serve``: uvicorn on a loopback address only, access log off (paths can name people).

While telemetry is on it also delivers queued telemetry in the background
(``ops.telemetry.start_background``), and stops that cleanly when it stops.
"""

from __future__ import annotations

import os
import stat
import sys

from edge_core import ops
from edge_core.adminapi.app import create_app
from edge_core.errors import UsageError
from edge_core.ops.confirmations import Asker
from edge_core.ops import telemetry as telemetry_ops
from edge_core.ops.adminserver import check_loopback, check_port
from edge_core.ops.apitoken import for_serving as api_token_for_serving
from edge_core.ops.apitoken import token_path
from edge_core.support import paths


def serve(host: str, port: int, confirm_fd: int | None = None) -> None:
    """``confirm_fd``: the window's private channel for proof of presence (:mod:`edge_core.ops.confirmations`)."""
    import uvicorn

    asker = _asker(confirm_fd)
    bind = check_loopback(host)
    check_port(bind, port)  # a port in use is one sentence, not uvicorn's traceback
    home = paths.data_dir()
    with ops.open_vault(home) as vault:  # proves the vault opens, and applies the policy's rotation at start
        ops.apply_start_policy(vault)
        token, notice = api_token_for_serving(vault)  # only a token FaceSeal issued for this vault is kept
    if notice:
        print(f"faceseal: {notice}", file=sys.stderr, flush=True)
    app = create_app(home, token, asker)
    print(f"faceseal: admin API on http://{bind}:{port}/api/v1 (token in {token_path(home)})", file=sys.stderr, flush=True)
    sender = telemetry_ops.start_background(home, watch=True)  # sends only while telemetry is on
    print("faceseal: delivering telemetry in the background" if telemetry_ops.is_on(home) else
          "faceseal: telemetry is off; delivery starts if it is turned on", file=sys.stderr, flush=True)

    def stop_sending() -> None:
        if sender is not None and sender.running:
            # No new request; one in flight finishes, or stays pending and is re-sent identically later.
            finished = sender.stop()
            print("faceseal: telemetry delivery stopped" + ("" if finished else " (a request in flight was left: "
                  "its batch stays pending)"), file=sys.stderr, flush=True)

    class Server(uvicorn.Server):
        """uvicorn's server, stopping telemetry delivery as part of its graceful shutdown (SIGTERM, Ctrl+C)."""

        async def shutdown(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
            await super().shutdown(sockets)
            stop_sending()

    try:
        Server(uvicorn.Config(app, host=bind, port=port, log_level="warning", access_log=False)).run()
    finally:
        stop_sending()


def _asker(fd: int | None) -> Asker | None:
    """The channel the window passed, refused unless it is a socket (a terminal or a file is no window)."""
    if fd is None:
        return None
    try:
        is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise UsageError("--confirm-fd names the socket the window passes its admin API; this one is not open or "
                         "not a socket")
    return Asker(fd)
