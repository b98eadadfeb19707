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

``GET /v1/health`` answers ``{"status": "ok"}``. Every other answer, including
404/405 and unexpected failures, has the same ``{"error", "detail"}`` shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from edge_core.telemetry.envelope import verify_envelope
from edge_core.telemetry.errors import EnvelopeError
from faceseal_collector.store import CollectorStore

MAX_BODY_BYTES = 1 << 20  # a full 1,000-event batch is about 200 KB
MAX_AGE = timedelta(days=30)
"""The oldest ``created_at`` accepted: a device offline longer than that has its batches refused."""
MAX_AHEAD = timedelta(minutes=5)
"""How far ahead of the collector's clock a device's clock may run."""

#: HTTP status for each refusal code.
STATUS: dict[str, int] = {
    "malformed": 400,
    "unsigned": 400,
    "unsupported_version": 400,
    "bad_signature": 401,
    "device_mismatch": 403,
    "key_mismatch": 403,
    "replay": 409,
    "too_large": 413,
    "unsupported_media_type": 415,
    "forbidden_event": 422,
    "out_of_window": 422,
}


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """JSON objects with a repeated key are refused: parsers disagree on which one wins."""
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise EnvelopeError("malformed", "a JSON object repeats a key")
    return dict(pairs)


def _refuse_constant(name: str) -> object:
    raise EnvelopeError("malformed", f"{name} is not JSON")


def parse_body(body: bytes) -> object:
    """Strict JSON: UTF-8, no repeated keys, no NaN/Infinity."""
    try:
        return json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EnvelopeError("malformed", "the body is not a JSON document") from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise EnvelopeError("too_large", f"a batch body is at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise EnvelopeError("too_large", f"a batch body is at most {MAX_BODY_BYTES} bytes")
    return bytes(body)


def check_created_at(created_at: str, now: datetime) -> None:
    """Refuse a batch dated outside [now - MAX_AGE, now + MAX_AHEAD] (the envelope checked its form)."""
    try:
        created = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise EnvelopeError("malformed", "created_at must be a UTC timestamp YYYY-MM-DDTHH:MM:SSZ") from None
    if not now - MAX_AGE <= created <= now + MAX_AHEAD:
        raise EnvelopeError(
            "out_of_window",
            f"created_at must lie within {MAX_AGE.days} days before and {int(MAX_AHEAD.total_seconds() // 60)} "
            "minutes after the collector's clock",
        )


def create_app(db_path: Path, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The collector application storing into the sqlite file ``db_path`` (``clock``: now, in UTC)."""
    now = clock or (lambda: datetime.now(timezone.utc))
    store = CollectorStore(db_path)
    app = FastAPI(
        title="FaceSeal telemetry collector", docs_url=None, redoc_url=None, openapi_url=None
    )

    def verify_and_store(body: bytes) -> JSONResponse:
        batch = verify_envelope(parse_body(body))
        check_created_at(batch.created_at, now())
        outcome = store.accept(batch)
        return JSONResponse(
            {"status": outcome, "batch_id": batch.batch_id, "events": len(batch.events)},
            status_code=201 if outcome == "accepted" else 200,
        )

    @app.post("/v1/batches")
    async def receive_batch(request: Request) -> JSONResponse:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise EnvelopeError("unsupported_media_type", "send the envelope as application/json")
        body = await _read_body(request)
        # Verification and sqlite are blocking: keep them off the event loop.
        return await run_in_threadpool(verify_and_store, body)

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(EnvelopeError)
    async def refused(_: Request, error: EnvelopeError) -> JSONResponse:
        return _error(STATUS.get(error.code, 400), error.code, error.detail)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error(error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def internal(_: Request, __: Exception) -> JSONResponse:
        return _error(500, "internal", "the collector failed to process the request")

    return app
