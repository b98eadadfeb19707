"""The collector's HTTP API (FastAPI).

``POST /v1/batches`` takes one signed envelope and answers

* ``201 {"status": "accepted", "batch_id", "events"}``: stored now;
* ``200 {"status": "duplicate", "batch_id", "events"}``: this exact batch was
  already stored (a device re-sending after a lost answer): nothing stored;
* an error ``{"error": code, "detail": text}`` with the status in ``STATUS``.

A batch's signed ``created_at`` must lie within ``MAX_AGE`` before and
``MAX_AHEAD`` after the collector's own clock (30 days, 5 minutes); any other
date (1970, 2999) is refused ``422 {"error": "out_of_window"}`` and nothing is
stored.

``GET /v1/devices`` and ``GET /v1/summary`` are the fleet view (``fleet``) for
the operator's own dashboards; they need ``Authorization: Bearer <operator
token>`` (made by ``faceseal-collector token new``; only its SHA-256 is stored,
compared in constant time) and answer ``401 {"error": "unauthorized"}``
otherwise. Query parameters: ``dead_after`` (``7d``, ``12h``...) and ``since``
(a duration back from now or a UTC date).

When the database cannot be reached the answer is ``503 {"error":
"unavailable"}`` (a device keeps the batch and retries later).

Every event's ``at`` must be a date that exists (RFC 3339, UTC, whole
seconds), no older than ``MAX_AGE`` before the collector's clock and no later
than ``MAX_AHEAD`` after the batch's own ``created_at``; otherwise the batch is
refused ``422 out_of_window`` naming the first such event (``event 3: ...``),
as a ``forbidden_event`` refusal names its event too.

``GET /v1/health`` answers ``{"status": "ok"}``. Every other answer, including
404/405 (with ``Allow`` naming every method of the path), a query the fleet
view cannot read and unexpected failures, has the same ``{"error", "detail"}``
shape. ``OPTIONS`` answers 204 with ``Allow``. ``GET /v1/openapi.json`` is the
OpenAPI document: the envelope's JSON Schema (derived from the event
vocabulary itself), the operator token's bearer scheme, every refusal.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from edge_core.support.routes import allowed_methods, unread_part
from edge_core.telemetry.envelope import json_schema as envelope_schema
from faceseal_collector import fleet
from faceseal_collector.database import DB_ENV, parse_database
from faceseal_collector.errors import BadDuration, Refusal
from faceseal_collector.groupcommit import GroupCommitter
from faceseal_collector.intake import (
    BODY_SECONDS,
    BODY_SECONDS_ENV,
    ENROLMENT_HEADER,
    PATH,
    STATUS,
    BatchIntake,
    failure,
)
from faceseal_collector.store import CollectorStore

OPENAPI_URL = "/v1/openapi.json"
BATCH_REFUSALS = tuple(code for code in STATUS if code != "unauthorized")


class RefusalAnswer(BaseModel):
    """Every refusal: a code from ``STATUS`` and one line saying why."""

    error: str
    detail: str


class BatchAnswer(BaseModel):
    status: Literal["accepted", "duplicate"]
    batch_id: str
    events: int


BATCH_ANSWERS: dict[int | str, dict[str, Any]] = {
    201: {"model": BatchAnswer, "description": "stored now"},
    200: {"model": BatchAnswer, "description": "this exact batch was stored before; nothing stored"},
}
DeadAfter = Annotated[str, Query(pattern=f"^{fleet.DURATION_PATTERN}$",
                                 description="a device is dead after this long without a batch: 90s, 30m, 12h, 7d")]
Since = Annotated[str | None, Query(pattern=f"^({fleet.SINCE_PATTERN})$",
                                    description="only batches received since: a duration back (24h, 7d) or a UTC "
                                                "date (2026-01-31, 2026-01-31T08:00:00Z) that exists")]


def _refusals(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of these refusal codes (several codes may share a status)."""
    answers: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry = answers.setdefault(STATUS[code], {"model": RefusalAnswer, "description": ""})
        entry["description"] = ", ".join(filter(None, [entry["description"], code]))
    return answers


FLEET_REFUSALS = {**_refusals("unauthorized", "bad_query", "unavailable"),
                  "4XX": {"model": RefusalAnswer, "description": "every refusal has this shape"}}


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


class CollectorApp:
    """The collector as uvicorn serves it: ``POST /v1/batches`` straight to its ``BatchIntake``, every other
    request (and the lifespan) to the FastAPI application ``api``, which also declares that route for the
    OpenAPI document, ``Allow`` and the unread-query check."""

    def __init__(self, api: FastAPI, intake: BatchIntake) -> None:
        self.api = api
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH:
            await self.intake(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def from_environment() -> CollectorApp:
    """The application on the database named by ``$FACESEAL_COLLECTOR_DB``: what each uvicorn worker process
    makes (``faceseal-collector --workers N``)."""
    return create_app(os.environ[DB_ENV], body_seconds=float(os.environ.get(BODY_SECONDS_ENV, BODY_SECONDS)))


def create_app(
    db: Path | str | URL | CollectorStore, clock: Callable[[], datetime] | None = None,
    body_seconds: float = BODY_SECONDS,
) -> CollectorApp:
    """The collector application storing into ``db`` (an sqlite path, a database URL or an open store).

    ``clock``: now, in UTC. ``body_seconds``: how long a batch body may take to arrive. Raises ``DatabaseUnavailable`` / ``SchemaTooNew``
    when the database cannot be opened.
    """
    now = clock or (lambda: datetime.now(UTC))
    if isinstance(db, CollectorStore):
        store = db
    else:
        store = CollectorStore(db if isinstance(db, URL) else parse_database(str(db)))
    app = FastAPI(
        title="FaceSeal telemetry collector", version="1", docs_url=None, redoc_url=None, openapi_url=OPENAPI_URL,
        redirect_slashes=False,  # /v1/batches/ is no route: a 404 in the one shape, never a redirect to a Host
    )
    bearer = HTTPBearer(auto_error=False, description="an operator token (faceseal-collector token new)")

    def operator(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        """The operator token, checked before anything else of the request is read (its query included); exactly
        one Authorization header (with two, a proxy or a log may read the other one than this does)."""
        if credentials is None or len(request.headers.getlist("authorization")) != 1 \
                or not store.token_valid("operator", credentials.credentials):
            raise Refusal("unauthorized", "send a valid operator token: Authorization: Bearer <token>")

    def nothing_unread(request: Request) -> None:
        """A query parameter or a body the route never reads is refused, not ignored (after the token, before the
        query's own values): ``dead_afterr=1d`` would otherwise answer for the default 7d as if it had been read,
        and a batch sent with ``?dry_run=1`` be stored."""
        has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
        unread = unread_part(app.routes, request.scope, request.query_params.keys(), has_body)
        if unread:
            raise Refusal("bad_query", f"{request.method} {request.url.path} {unread}")

    @app.middleware("http")
    async def options(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        allow = allowed_methods(app.routes, request.url.path)
        if request.method == "OPTIONS" and allow:
            return Response(status_code=204, headers={"Allow": allow})
        return await call_next(request)

    intake = BatchIntake(GroupCommitter(store), now, app.router.routes, body_seconds)

    @app.post(PATH, status_code=201, responses={**BATCH_ANSWERS, **_refusals(*BATCH_REFUSALS)},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": envelope_schema()}}},
                  "parameters": [{"name": ENROLMENT_HEADER, "in": "header", "required": False,
                                  "schema": {"type": "string"},
                                  "description": "a device's enrolment token, read on its first batch "
                                                 "when the collector's enrolment mode is 'token'"}]})
    async def receive_batch(request: Request) -> JSONResponse:
        """Verify one signed batch and store it exactly once."""
        status, document = await intake.answer(request.scope, request.receive)  # CollectorApp calls intake itself
        return JSONResponse(document, status_code=status)

    def fleet_window(dead_after_text: str, since_text: str | None) -> tuple[datetime, datetime | None, timedelta]:
        moment = now()
        try:
            dead_after = fleet.parse_duration(dead_after_text)
            since = fleet.parse_since(since_text, moment) if since_text else None
        except BadDuration as error:
            raise Refusal("bad_query", str(error)) from None
        return moment, since, dead_after

    def devices_view(dead_after_text: str, since_text: str | None) -> JSONResponse:
        moment, since, dead_after = fleet_window(dead_after_text, since_text)
        views = fleet.list_devices(store, moment, dead_after, since)
        return JSONResponse(fleet.devices_document(views, moment, dead_after))

    def summary_view(dead_after_text: str, since_text: str | None) -> JSONResponse:
        moment, since, dead_after = fleet_window(dead_after_text, since_text)
        return JSONResponse(fleet.summarize(store, moment, since, dead_after))

    @app.get("/v1/devices", responses=FLEET_REFUSALS, dependencies=[Depends(operator), Depends(nothing_unread)])
    async def list_devices(dead_after: DeadAfter = "7d", since: Since = None) -> JSONResponse:
        """Every registered device, when it was last heard from (the collector's clock) and whether it is dead."""
        return await run_in_threadpool(devices_view, dead_after, since)

    @app.get("/v1/summary", responses=FLEET_REFUSALS, dependencies=[Depends(operator), Depends(nothing_unread)])
    async def summary(dead_after: DeadAfter = "7d", since: Since = None) -> JSONResponse:
        """Counts over the fleet: devices alive and dead, batches and events by kind and outcome."""
        return await run_in_threadpool(summary_view, dead_after, since)

    @app.get("/v1/health", responses=_refusals("bad_query"), dependencies=[Depends(nothing_unread)])
    async def health() -> dict[str, str]:
        """Whether the collector answers (no database round trip)."""
        return {"status": "ok"}

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        code = "bad_query" if tuple(first.get("loc", ()))[:1] == ("query",) else "malformed"
        return _error(STATUS[code], code, f"{'.'.join(map(str, first.get('loc', ())))}: {first.get('msg', '')}")

    @app.exception_handler(Refusal)
    async def refused_request(_: Request, error: Refusal) -> JSONResponse:
        status, document = failure(error)
        answer = JSONResponse(document, status_code=status)
        if error.code == "unauthorized":
            answer.headers["WWW-Authenticate"] = "Bearer"
        return answer

    @app.exception_handler(SQLAlchemyError)
    async def database_failed(_: Request, error: SQLAlchemyError) -> JSONResponse:
        status, document = failure(error)
        return JSONResponse(document, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 405:
            allow = allowed_methods(app.routes, request.url.path) or ""
            answer = _error(405, "method_not_allowed",
                            f"{request.method} is not a method of {request.url.path}; it takes {allow}")
            answer.headers["Allow"] = allow
            return answer
        if error.status_code == 404:
            return _error(404, "not_found", f"there is no {request.url.path} in this API (see {OPENAPI_URL})")
        return _error(error.status_code, "http_error", str(error.detail))

    @app.exception_handler(Exception)
    async def internal(_: Request, error: Exception) -> JSONResponse:
        status, document = failure(error)
        return JSONResponse(document, status_code=status)

    return CollectorApp(app, intake)
