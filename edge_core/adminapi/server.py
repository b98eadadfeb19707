"""``faceseal serve``: uvicorn on a loopback address only, access log off (paths can name people)."""

from __future__ import annotations

import ipaddress
import sys

from edge_core import ops
from edge_core.adminapi.app import create_app
from edge_core.adminapi.token import ensure as ensure_token
from edge_core.adminapi.token import token_path
from edge_core.errors import UsageError
from edge_core.support import paths


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


def serve(host: str, port: int) -> None:
    import uvicorn

    bind = check_loopback(host)
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    home = paths.data_dir()
    with ops.open_vault(home) as vault:  # proves the vault opens, and applies the policy's rotation at start
        ops.apply_start_policy(vault)
    _token, replaced = ensure_token(home)  # never serve with an empty, short or malformed token
    if replaced:
        print(f"faceseal: {token_path(home)} held no valid token (empty, too short or malformed); "
              "a new one was made", file=sys.stderr, flush=True)
    app = create_app(home)
    print(f"faceseal: admin API on http://{bind}:{port}/api/v1 (token in {token_path(home)})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=bind, port=port, log_level="warning", access_log=False)
