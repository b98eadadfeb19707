"""``POST /v1/batches``, the collector's one busy route, as a plain ASGI application.

Profiled under load (docs/PERFORMANCE.md, "Collector at fleet scale"), FastAPI's
machinery around this route (dependency solving, request objects, the
middleware that streams every response) cost more CPU than verifying the
batch. Here the route does what it did, in the same order, with nothing in
between: a query parameter is refused (``bad_query``), then anything but
``application/json`` (``unsupported_media_type``), a body over
``MAX_BODY_BYTES`` (declared or streamed: ``too_large``) or one that has not
arrived within ``body_seconds`` (``too_slow``, and the connection closed), then strict JSON
(``parse_body``), ``verify_envelope``, the time window (``check_times``) and the
store's own checks (device key, enrolment, duplicate, replay), through the
process's ``GroupCommitter``. Refusals have the one ``{"error", "detail"}``
shape and the statuses of ``STATUS``. The route stays declared in the FastAPI
application for its OpenAPI document and ``Allow``; ``app.CollectorApp`` sends
the requests here before FastAPI sees them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from edge_core.support import strictjson
from edge_core.support.routes import unread_part
from edge_core.telemetry import envelope as envelope_rules
from edge_core.telemetry.envelope import VerifiedBatch, verify_envelope
from edge_core.telemetry.errors import EnvelopeError
from edge_core.telemetry.events import TIMESTAMP_WHAT, parse_timestamp
from faceseal_collector.database import is_unavailable
from faceseal_collector.errors import Refusal
from faceseal_collector.groupcommit import GroupCommitter

PATH = "/v1/batches"
MAX_BODY_BYTES = 1 << 20  # a full 1,000-event batch is about 200 KB
BODY_SECONDS = 30.0
"""How long a batch body may take to arrive: 1 MiB at 40 KB/s. A body that never ends would otherwise hold its
connection for as long as the sender likes (uvicorn bounds the wait between requests, not a request's body)."""
BODY_SECONDS_ENV = "FACESEAL_COLLECTOR_BODY_SECONDS"
MAX_AGE = envelope_rules.MAX_AGE
"""The oldest ``created_at`` or event accepted: a device offline longer than that has its batches refused."""
MAX_AHEAD = envelope_rules.MAX_SKEW
"""How far ahead of the collector's clock a device's clock may run, and an event of its batch's created_at."""
ENROLMENT_HEADER = "X-FaceSeal-Enrolment"
"""Where a new device presents its enrolment token (collector enrolment mode ``token``)."""

#: HTTP status for each refusal code.
STATUS: dict[str, int] = {
    "malformed": 400,
    "unsigned": 400,
    "unsupported_version": 400,
    "bad_signature": 401,
    "device_mismatch": 403,
    "key_mismatch": 403,
    "not_enrolled": 403,
    "replay": 409,
    "too_large": 413,
    "too_slow": 408,
    "unsupported_media_type": 415,
    "forbidden_event": 422,
    "out_of_window": 422,
    "unauthorized": 401,
    "bad_query": 400,
    "unavailable": 503,
}
Answer = tuple[int, dict[str, Any]]


def failure(error: Exception) -> Answer:
    """The status and ``{"error", "detail"}`` document of a request that failed with ``error``."""
    if isinstance(error, (EnvelopeError, Refusal)):
        return STATUS.get(error.code, 400), {"error": error.code, "detail": error.detail}
    if isinstance(error, SQLAlchemyError) and is_unavailable(error):
        return 503, {"error": "unavailable", "detail": "the collector's database is unavailable; retry later"}
    return 500, {"error": "internal", "detail": "the collector failed to process the request"}


def parse_body(body: bytes) -> object:
    """Strict JSON: UTF-8, no repeated keys, no NaN/Infinity.

    orjson reads it first. A body that is byte for byte what orjson writes back for what it read, keys sorted,
    cannot have repeated a key (each would have been written again): that is the canonical form every FaceSeal
    device sends, so it needs nothing more. Any other body, or one orjson refuses, is read again by the strict
    parser, which refuses a repeated key and decides exactly as before.
    """
    try:
        document = orjson.loads(body)
        if orjson.dumps(document, option=orjson.OPT_SORT_KEYS) == body:
            return document
    except orjson.JSONDecodeError:
        pass
    try:
        return strictjson.loads(body)
    except strictjson.NotStrictJson as error:
        raise EnvelopeError("malformed", str(error)) from None


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def check_times(batch: VerifiedBatch, now: datetime) -> None:
    """Refuse a batch dated outside [now - MAX_AGE, now + MAX_AHEAD], or holding an event dated before that
    window or after the batch was made (beyond ``MAX_AHEAD`` of clock skew): the first such event is named."""
    created = parse_timestamp(batch.created_at)
    if created is None:  # the envelope checked its form; a date that does not exist is malformed too
        raise EnvelopeError("malformed", f"created_at must be {TIMESTAMP_WHAT}")
    if not now - MAX_AGE <= created <= now + MAX_AHEAD:
        raise EnvelopeError(
            "out_of_window",
            f"created_at must lie within {MAX_AGE.days} days before and {_minutes(MAX_AHEAD)} minutes after the "
            "collector's clock",
        )
    oldest, latest = now - MAX_AGE, created + MAX_AHEAD
    for index, event in enumerate(batch.events):
        at = parse_timestamp(event.as_dict()["at"])
        if at is None or at < oldest:
            raise EnvelopeError("out_of_window", f"event {index}: at lies more than {MAX_AGE.days} days before "
                                "the collector's clock")
        if at > latest:
            raise EnvelopeError("out_of_window", f"event {index}: at lies more than {_minutes(MAX_AHEAD)} minutes "
                                "after the batch's created_at")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name`` (lower case), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class BatchIntake:
    """Verify one signed batch and store it exactly once: the ASGI application of ``POST /v1/batches``."""

    def __init__(self, committer: GroupCommitter, clock: Callable[[], datetime], routes: list[BaseRoute],
                 body_seconds: float = BODY_SECONDS) -> None:
        self.committer = committer
        self.clock = clock
        self.routes = routes
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, document = await self.answer(scope, receive)
        body = orjson.dumps(document)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == STATUS["too_slow"]:
            headers.append((b"connection", b"close"))  # the rest of that body is never read: the connection ends
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        """The status and JSON document answering this request."""
        try:
            batch, outcome = await self._take(scope, receive)
        except Exception as error:
            return failure(error)
        return (201 if outcome == "accepted" else 200), {
            "status": outcome, "batch_id": batch.batch_id, "events": len(batch.events)}

    async def _take(self, scope: Scope, receive: Receive) -> tuple[VerifiedBatch, str]:
        if scope["query_string"]:
            query = [name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)]
            unread = unread_part(self.routes, scope, query, True)
            if unread:
                raise Refusal("bad_query", f"POST {PATH} {unread}")
        media_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise EnvelopeError("unsupported_media_type", "send the envelope as application/json")
        try:
            async with asyncio.timeout(self.body_seconds):
                body = await _read_body(scope, receive)
        except TimeoutError:
            raise Refusal("too_slow", f"a batch body must arrive within {self.body_seconds:g} seconds") from None
        batch = verify_envelope(parse_body(body))
        check_times(batch, self.clock())
        return batch, await self.committer.accept(batch, _header(scope, ENROLMENT_HEADER.lower().encode()))


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    declared = _header(scope, b"content-length") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise EnvelopeError("too_large", f"a batch body is at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            raise EnvelopeError("too_large", f"a batch body is at most {MAX_BODY_BYTES} bytes")
        if not message.get("more_body", False):
            return bytes(body)
