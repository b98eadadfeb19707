"""The admin API: status, rotation, reset and crypto-shredding over HTTP on loopback.

Every request checks, before anything else, that the Host header names a
loopback address (a web page that DNS-rebinds a name to 127.0.0.1 is turned
away) and that the bearer token matches. The vault is opened per request and
closed after it, under one lock, so keys are in memory only while a request
needs them, ``faceseal lock`` and the kill switch take effect at once, and two
key operations never interleave (the key lock also serialises them with other
processes).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict

from .. import database, keyops
from ..errors import DataError, FaceSealError, KeyHierarchyError, UnknownIdentity, UsageError
from ..vault import Vault
from . import token as tokens

PREFIX = "/api/v1"
OPENAPI_URL = f"{PREFIX}/openapi.json"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


class ResetRequest(BaseModel):
    """What the reset keeps; every field defaults to clearing it, as ``faceseal reset`` does."""

    model_config = ConfigDict(extra="forbid")
    clear_audit: bool = True
    clear_outbox: bool = True
    rotate_device_key: bool = True


class ResetAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    templates_deleted: int
    identities_deleted: int
    audit_events_deleted: int
    outbox_events_deleted: int
    device_key_rotated: bool
    root_key_destroyed: bool


class RotateAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    templates_rewrapped: int
    rotated_at: str


class DeleteAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    name: str
    templates_deleted: int


class ErrorAnswer(BaseModel):
    error: str
    kind: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": text} for code, text in (
        (400, "bad request"), (401, "missing or wrong bearer token"), (404, "no such identity"),
        (409, "refused in the vault's current state"), (421, "not a loopback Host"),
        (500, "stored data cannot be read"), (503, "the root key is unavailable, locked or revoked"),
    )
}


def _status_code(error: FaceSealError) -> int:
    if isinstance(error, UsageError):
        return 400
    if isinstance(error, UnknownIdentity):
        return 404
    if isinstance(error, KeyHierarchyError):
        return 503
    if isinstance(error, DataError):
        return 500
    return 409


def _error(status: int, message: str, kind: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status, headers=headers or None)


def _loopback_host(header: str) -> bool:
    """Whether a Host header (with or without port, IPv6 in brackets) names a loopback address."""
    host = header.lower()
    host = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    return host in LOOPBACK_HOSTS


def create_app(home: Path) -> FastAPI:
    """The app for the data directory ``home``; the token is made now if there is none."""
    expected = tokens.load_or_create(home)
    vault_lock = threading.Lock()
    app = FastAPI(title="FaceSeal admin API", version="1", openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None)
    bearer = HTTPBearer(auto_error=False)  # documents the scheme; the middleware enforces it

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not _loopback_host(request.headers.get("host", "")):
            return _error(421, "this API answers only to a loopback Host (127.0.0.1, localhost, [::1])", "ForeignHost")
        if request.url.path != OPENAPI_URL:
            scheme, _, presented = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not tokens.matches(presented.strip(), expected):
                return _error(401, "a valid bearer token is required (see <data>/edge_token)", "Unauthorized",
                              **{"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.exception_handler(FaceSealError)
    async def faceseal_error(request: Request, error: FaceSealError) -> JSONResponse:
        return _error(_status_code(error), str(error), type(error).__name__)

    @app.exception_handler(database.Error)
    async def database_error(request: Request, error: database.Error) -> JSONResponse:
        translated = database.translate(error)
        return _error(_status_code(translated), str(translated), type(translated).__name__)

    def with_vault(action: Callable[[Vault], Any]) -> Any:
        with vault_lock:
            vault = Vault.open(home)
            try:
                return action(vault)
            finally:
                vault.close()

    @app.get(f"{PREFIX}/status", responses=ERRORS)
    def status(_: Any = Depends(bearer)) -> dict[str, Any]:
        """Where the root lives, its fingerprint and age, recovery kit, policy, counts."""
        return with_vault(lambda vault: vault.status())

    @app.post(f"{PREFIX}/admin/rotate-key", response_model=RotateAnswer, responses=ERRORS)
    def rotate_key(_: Any = Depends(bearer)) -> dict[str, Any]:
        """A new root; every vault key re-wrapped under it. Requests run one at a time."""
        return with_vault(lambda vault: keyops.rotate_key(vault))

    @app.post(f"{PREFIX}/settings/delete_identity", response_model=ResetAnswer, responses=ERRORS)
    def delete_everything(body: ResetRequest | None = None, _: Any = Depends(bearer)) -> dict[str, Any]:
        """Reset: delete every template and destroy the root, keeping only what the body says to keep."""
        wanted = body or ResetRequest()
        return with_vault(lambda vault: keyops.reset(vault, keep_audit=not wanted.clear_audit,
                                                     keep_outbox=not wanted.clear_outbox,
                                                     keep_device_key=not wanted.rotate_device_key))

    @app.post(PREFIX + "/identities/{name}/delete", response_model=DeleteAnswer, responses=ERRORS)
    def delete_identity(name: str = PathParam(min_length=1, max_length=128), _: Any = Depends(bearer)) -> dict[str, Any]:
        """Crypto-shred one person: their templates and identity key are gone for good."""
        return with_vault(lambda vault: keyops.delete_identity(vault, name))

    return app

