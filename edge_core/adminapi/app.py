"""The admin API: the use cases of :mod:`edge_core.ops` over HTTP on loopback, for this machine's owner.

Every request checks, before anything else, that the Host header names a
loopback address (a web page that DNS-rebinds a name to 127.0.0.1 is turned
away) and that the bearer token matches. The vault is opened per request and
closed after it, under one lock, so keys are in memory only while a request
needs them, a lock or the kill switch takes effect at once, and two key
operations never interleave (the key lock also serialises them with other
processes). Every answer is a result's ``as_dict``: the same JSON as
``faceseal --json``. Every error, routing's 404 and 405 and a body that
cannot be parsed included, is ``{"error", "kind"}``.

Bodies are read strictly (:class:`_Body`): a boolean is ``true`` or
``false``, a number is a JSON number, NaN and unknown fields are refused, packs
and policy settings are enums of the values that exist, and every bound the
policy has is in the OpenAPI document. A body that does not match is 422
``InvalidRequest`` naming the first field (a policy setting also names its
range), and so is a body or a query parameter sent to a route that reads none
(a delete never acts on part of a request it does not understand); one that is
not JSON is 400 ``MalformedBody``; nothing is done for any of them. ``Allow`` (on a 405, and the
204 answer to OPTIONS) names every method of the path.

A request body is at most ``MAX_BODY_BYTES`` (1 MiB): a larger declared
Content-Length is answered 413 before a byte of the body is read, and a
chunked body is cut off (413) as soon as it passes the cap. A full disk is
507 (``DiskFull``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge_core import ops
from edge_core.agent import local as agent
from edge_core.ops import apitoken as tokens
from edge_core.ops import signin
from edge_core.errors import (
    ConsentRequired,
    DataError,
    DiskFull,
    FaceSealError,
    InvalidEmbedding,
    KeyHierarchyError,
    LookAlikeEnrolled,
    PresenceRequired,
    UnknownIdentity,
    UsageError,
    VaultRolledBack,
    disk_full,
    is_disk_full,
)
from edge_core.ops import Probe, Source
from edge_core.ops.authsessions import AuthSessions
from edge_core.ops.confirmations import Asker
from edge_core.ops.results import ConsentTerms
from edge_core.support import database, strictjson
from edge_core.support.routes import allowed_methods, unread_part
from edge_core.vault.embeddings import MAX_DIM, MAX_SAMPLES

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

PREFIX = "/api/v1"
OPENAPI_URL = f"{PREFIX}/openapi.json"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
MAX_BODY_BYTES = 1 << 20
"""The largest request body: an embedding of 4096 floats is under 100 KB of JSON."""
TOO_LARGE = f"the request body is larger than {MAX_BODY_BYTES} bytes; nothing was done"
MALFORMED = "the request body is not a JSON document in UTF-8; nothing was done"
Answer = dict[str, Any]


class _Body(BaseModel):
    """A request body as a security API must read it: no coercion ("yes" is not true, "0.5" is not a number,
    false is not 0.0), no NaN or infinity, no field it does not know."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Pack = Literal[tuple(ops.pack_names())]  # type: ignore[valid-type]
"""The packs a threshold or an embedding can belong to (the manifest's, and ``external``)."""
ModelPack = Literal[tuple(name for name in ops.pack_names() if name != ops.EXTERNAL_PACK)]  # type: ignore[valid-type]
"""The manifest's packs: the ones that can be in use."""
Threshold = Annotated[float, Field(ge=-1.0, le=1.0)]


def _only_a_boolean(value: Any) -> Any:
    """``Literal[True]`` alone takes 1 and 1.0 even in strict mode; a confirmation is the JSON value true."""
    if not isinstance(value, bool):
        raise ValueError("confirm must be the JSON value true")
    return value


class ResetRequest(_Body):
    """A reset destroys every person and the root, so it needs ``confirm: true``; the other fields say what it
    keeps, each defaulting to clearing it, as ``faceseal reset --yes`` does."""

    confirm: Annotated[Literal[True], BeforeValidator(_only_a_boolean)]
    clear_audit: bool = True
    clear_outbox: bool = True
    rotate_device_key: bool = True


class RotateRequest(_Body):
    deep: bool = False
    """Also reseal every template under new keys (``faceseal rotate-key --deep``)."""


class MatchRequest(_Body):
    """A ready embedding (the API has no camera: its answers are never live)."""

    embedding: list[float] = Field(min_length=2, max_length=MAX_DIM)
    pack: Pack = ops.EXTERNAL_PACK  # type: ignore[valid-type]
    threshold: Threshold | None = None
    liveness: bool = False
    """Asking for a liveness check is refused: an embedding is not a moving picture."""


class VerifyRequest(MatchRequest):
    name: str = Field(min_length=1, max_length=128)


class ConsentGiven(_Body):
    """The consent terms the person was shown (``GET /api/v1/consent``) and accepted: the text's sha256 and the
    retention shown with it (null: none). Terms other than those in force are refused (400), to be shown again."""

    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    retention_days: int | None


class EnrolRequest(_Body):
    """Ready embeddings to enrol, one sealed template each (``faceseal enroll --embedding``)."""

    name: str = Field(min_length=1, max_length=128)
    embeddings: list[Annotated[list[float], Field(min_length=2, max_length=MAX_DIM)]] = Field(
        min_length=1, max_length=MAX_SAMPLES)
    pack: Pack = ops.EXTERNAL_PACK  # type: ignore[valid-type]
    add: bool = False
    """Add samples to someone already enrolled."""
    allow_look_alike: bool = False
    """Enrol even though the samples match someone else already enrolled (recorded in the audit log)."""
    consent: ConsentGiven | None = None
    """Needed for someone new, or to add samples to someone whose consent was never recorded."""


def _accepted(vault: Any, given: ConsentGiven | None) -> ConsentTerms | None:
    """The terms in force as this request says the person accepted them (ops refuses any that differ)."""
    if given is None:
        return None
    return dataclasses.replace(ops.consent_terms(vault), sha256=given.sha256, retention_days=given.retention_days)


def _whole(value: Any) -> Any:
    """JSON has one number type and JSON Schema calls 3.0 an integer, so a whole float is that integer; 3.5,
    "3" and true stay what they are and are refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _setting_type(rule: Any) -> Any:
    if rule.choices:
        return Annotated[Literal[tuple(rule.choices)], BeforeValidator(_whole)]
    if rule.kind == "bool":
        return bool
    if rule.kind == "int":
        return Annotated[int, Field(ge=rule.low, le=rule.high), BeforeValidator(_whole)]
    return Annotated[float, Field(ge=rule.low, le=rule.high)]


def _no_default(schema: dict[str, Any]) -> None:
    """A setting left out is unchanged; ``null`` is not a value of it, so the document shows no default."""
    schema.pop("default", None)


class _Changes(_Body):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> _Changes:
        if not self.model_fields_set:
            raise ValueError("name at least one setting to change")
        return self


PolicyChanges = create_model(  # every setting typed and bounded as the policy allows it; none required
    "PolicyChanges", __base__=_Changes,
    **{rule.name: (_setting_type(rule), Field(None, description=rule.meaning, json_schema_extra=_no_default))
       for rule in ops.SETTING_RULES},
)


MAX_FRAME_B64 = 700_000
"""A frame's base64, at most: a 640x480 JPEG is some 50 KB; a PNG of it fits too."""
SESSION_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"


class AuthStartRequest(_Body):
    """Start an authentication session for an enrolled person, at the frame rate the app captures."""

    name: str = Field(min_length=1, max_length=128)
    fps: float = Field(ge=5, le=60)


class AuthFramesRequest(_Body):
    """Frames in capture order, each a JPEG or PNG in standard base64 (the request stays under 1 MiB)."""

    frames: list[Annotated[str, Field(min_length=4, max_length=MAX_FRAME_B64)]] = Field(min_length=1, max_length=30)


_SETTINGS = {rule.name: rule for rule in ops.SETTING_RULES}
"""A refused setting names what it may be, as the command line and the window do (the policy's own range)."""


class PolicyRequest(_Body):
    changes: PolicyChanges  # type: ignore[valid-type]


class PackRequest(_Body):
    pack: ModelPack  # type: ignore[valid-type]
    """The pack to use from now on, for every front end (only an installed one)."""


class ThresholdRequest(_Body):
    value: Threshold | None
    """The new threshold; ``null`` goes back to the pack's default."""


class SignInChange(_Body):
    """Face sign-in on or off for one PAM service (``faceseal signin enable / disable``).

    A name goes with enabling only; the document says so (``if``/``then``), so a client and the fuzzer know it."""

    model_config = ConfigDict(json_schema_extra={"if": {"properties": {"enabled": {"const": False}}},
                                                 "then": {"not": {"required": ["name"]}}})

    service: Literal[signin.SERVICES]  # type: ignore[valid-type]
    enabled: bool
    name: str | None = Field(None, min_length=1, max_length=128)
    """The enrolled person whose face signs this login in (enabling only; left out: the person already chosen)."""

    @model_validator(mode="after")
    def _name_only_when_enabling(self) -> SignInChange:
        if not self.enabled and "name" in self.model_fields_set:
            raise ValueError("a name goes with enabling only")
        return self


class ErrorAnswer(BaseModel):
    error: str
    kind: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorAnswer, "description": text} for code, text in (
        (400, "bad request, or a body that is not JSON"), (401, "missing or wrong bearer token"),
        (403, "loosening security or destroying data needs the admin passphrase (missing or wrong)"),
        (404, "no such identity"), (409, "refused in the vault's current state"), (421, "not a loopback Host"),
        (413, "request body over 1 MiB"), (422, "the request does not match this document (types are strict)"),
        (500, "stored data cannot be read"), (503, "the root key is unavailable, locked or revoked"),
        (507, "the disk is full"),
    )
}


def _frame(text: str, index: int) -> Any:
    """One frame of a session, decoded as every image FaceSeal reads is (size and pixels checked first)."""
    from edge_core.biometrics import decode_image

    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UsageError(f"frame {index} is not standard base64; nothing of this request was taken") from None
    return decode_image(data, f"frame {index}")


def _links(value: str, *targets: tuple[str, str, str]) -> dict[int | str, dict[str, Any]]:
    """``ERRORS`` and a 200 whose OpenAPI links (name, method, path) feed ``value``, a runtime expression, to the
    path's one parameter: a client, and Schemathesis' stateful phase, can follow an answer to what it names."""
    links = {name: {
        "operationRef": f"#/paths/{(PREFIX + path).replace('~', '~0').replace('/', '~1')}/{method.lower()}",
        "parameters": {path[path.index("{") + 1:path.index("}")]: value}} for name, method, path in targets}
    return {**ERRORS, 200: {"links": links}}


DELETIONS = (("DeletePerson", "DELETE", "/identities/{name}"),
             ("DeletePersonByPost", "POST", "/identities/{name}/delete"))
"""Where a name an answer gives leads: the two routes that delete that person."""


PASSPHRASE_HEADER = "X-FaceSeal-Admin-Passphrase"
CERTIFICATE: Any = Query(False, description=(
    "true: the answer carries the signed deletion certificate (made now, never kept: ask with the deletion)"))
NAME_ON_CERTIFICATE: Any = Query(False, description=(
    "with certificate=true: the person's name on it too (else only their random id)"))
ADMIN_PASSPHRASE: Any = Header(default=None, alias=PASSPHRASE_HEADER, description=(
    "the vault's admin passphrase (UTF-8), asked only when the call loosens security or destroys data and the vault "
    "has one (ops.presence): proof that the owner is here, checked per call, never stored or logged"))


def _presence(passphrase: str | None, asker: Asker | None) -> ops.PresenceProvider:
    """The API's proof of presence: the header of this one call; without it, the person at the window that started
    this API (``asker``) is asked; else a 403 naming the header."""
    def prove(vault: Vault, action: str) -> ops.Proof:
        if passphrase is not None:
            try:
                given = passphrase.encode("latin-1").decode("utf-8")  # HTTP hands header bytes over as Latin-1
            except UnicodeError:
                given = passphrase  # never a match: its bytes are not UTF-8 text
        elif asker is not None:
            given = asker.ask(action)
        else:
            raise PresenceRequired(f"to {action}, send the admin passphrase in the {PASSPHRASE_HEADER} header; "
                                   "nothing was changed", action=action)
        return ops.prove(vault, given)
    return prove


def _status_code(error: FaceSealError) -> int:
    if isinstance(error, PresenceRequired):
        return 403
    if isinstance(error, DiskFull):
        return 507
    if isinstance(error, UsageError):
        return 400
    if isinstance(error, UnknownIdentity):
        return 404
    if isinstance(error, KeyHierarchyError):
        return 503
    if isinstance(error, VaultRolledBack):
        return 409  # the folder is readable, but older than this machine's anchor: its state, not its bytes
    if isinstance(error, DataError):
        return 500
    return 409


def _error(status: int, message: str, kind: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message, "kind": kind}, status_code=status, headers=headers or None)


def _invalid(error: RequestValidationError) -> JSONResponse:
    """FastAPI's validation errors in the one error shape; a body that is not JSON at all is a 400."""
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return _error(400, MALFORMED, "MalformedBody")
    first = problems[0] if problems else {}
    location = tuple(str(part) for part in first.get("loc", ()))
    where = ".".join(part for part in location if part != "body") or "the body"
    setting = _SETTINGS.get(location[2]) if location[:2] == ("body", "changes") and len(location) == 3 else None
    allowed = f" ({setting.name} may be {setting.allowed})" if setting is not None else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return _error(422, f"{where}: {first.get('msg', 'invalid')}{allowed}{more}; nothing was done", "InvalidRequest")


class BodyTooLarge(HTTPException):
    """A streamed body passed ``MAX_BODY_BYTES`` (FastAPI passes an HTTPException through unchanged)."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


class BodyLimit:
    """ASGI middleware: refuse a body over ``limit`` bytes without reading the rest of it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > self.limit):
            await _error(413, TOO_LARGE, "BodyTooLarge", Connection="close")(scope, receive, send)
            return
        received = 0
        started = too_large = False
        refusal = _error(413, TOO_LARGE, "BodyTooLarge", Connection="close")

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    too_large = True
                    raise BodyTooLarge()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if too_large:  # whatever the app made of the cut-off body, the answer is the 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await refusal(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Exception:
            if not too_large:
                raise
            if not started:
                await refusal(scope, receive, send)


def _loopback_host(header: str) -> bool:
    """Whether a Host header (a loopback name, then nothing or ``:`` and a port number) names a loopback address."""
    host = header.lower()
    name = host[: host.find("]") + 1] if host.startswith("[") else host.split(":", 1)[0]
    rest = host[len(name):]
    return name in LOOPBACK_HOSTS and (rest == "" or (rest[:1] == ":" and rest[1:].isdigit() and rest[1:].isascii()))


def _probe(body: MatchRequest) -> Probe:
    return Probe(Source.EMBEDDING, body.pack, ops.default_threshold(body.pack),
                 np.asarray([body.embedding], dtype=np.float32))


def create_app(home: Path, expected: str, asker: Asker | None = None) -> FastAPI:
    """The app for the data directory ``home``, answering only to the bearer token ``expected``; ``asker``: the
    window that started it, asked for proof of presence a call does not bring."""
    vault_lock = threading.Lock()
    app = FastAPI(title="FaceSeal admin API", version="1", openapi_url=OPENAPI_URL, docs_url=None, redoc_url=None,
                  redirect_slashes=False)  # /status/ is no route: a 404 in the one shape, not a bare redirect
    bearer = HTTPBearer(auto_error=False)  # documents the scheme; the middleware enforces it

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not _loopback_host(request.headers.get("host", "")):
            return _error(421, "this API answers only to a loopback Host (127.0.0.1, localhost, [::1])", "ForeignHost")
        if request.url.path != OPENAPI_URL:
            # Exactly one Authorization header: with two, a proxy or a log may read the other one than this does.
            presented_headers = request.headers.getlist("authorization")
            scheme, _, presented = (presented_headers[0] if len(presented_headers) == 1 else "").partition(" ")
            if scheme.lower() != "bearer" or not tokens.matches(presented.strip(), expected):
                return _error(401, "a valid bearer token is required (see <data>/edge_token)", "Unauthorized",
                              **{"WWW-Authenticate": "Bearer"})
        allow = allowed_methods(app.routes, request.url.path)
        if request.method == "OPTIONS" and allow:
            return Response(status_code=204, headers={"Allow": allow})
        body = await request.body()  # kept by Starlette for the route to read again
        if body:
            try:
                strictjson.loads(body)
            except strictjson.NotStrictJson as error:
                return _error(400, f"{error}; nothing was done", "MalformedBody")
        unread = unread_part(app.routes, request.scope, request.query_params.keys(), bool(body))
        if unread:
            return _error(422, f"{request.method} {request.url.path} {unread}; nothing was done", "InvalidRequest")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        return _invalid(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        """Routing's own answers (404, 405) and a body FastAPI could not read (400), in the one shape."""
        if error.status_code == 405:
            allow = allowed_methods(app.routes, request.url.path) or ""
            return _error(405, f"{request.method} is not a method of {request.url.path}; it takes {allow}",
                          "MethodNotAllowed", Allow=allow)
        if error.status_code == 404:
            return _error(404, f"there is no {request.url.path} in this API (see {OPENAPI_URL})", "NotFound")
        if error.status_code == 400:
            return _error(400, MALFORMED, "MalformedBody")
        return _error(error.status_code, str(error.detail), "HTTPError")

    @app.exception_handler(FaceSealError)
    async def faceseal_error(request: Request, error: FaceSealError) -> JSONResponse:
        return _error(_status_code(error), str(error), type(error).__name__)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, error: BodyTooLarge) -> JSONResponse:
        return _error(413, TOO_LARGE, "BodyTooLarge", Connection="close")

    @app.exception_handler(OSError)
    async def os_error(request: Request, error: OSError) -> JSONResponse:
        if is_disk_full(error):
            full = disk_full()
            return _error(507, str(full), type(full).__name__)
        return _error(500, f"unexpected internal error ({type(error).__name__}); please report it", "InternalError")

    @app.exception_handler(database.Error)
    async def database_error(request: Request, error: database.Error) -> JSONResponse:
        translated = database.translate(error)
        return _error(_status_code(translated), str(translated), type(translated).__name__)

    sessions = AuthSessions()  # apps' authentication sessions live as long as this process

    def with_vault(action: Callable[[Vault], Any], reading: bool = False, passphrase: str | None = None) -> Any:
        """``action`` on the open vault; ``reading``: a read-only request (no vault made, answered on a full disk);
        ``passphrase``: the call's admin passphrase header, for a use case that asks for proof of presence."""
        with vault_lock:
            vault = ops.open_vault(home, reading=reading)
            try:
                with ops.asking(_presence(passphrase, asker)):
                    result = action(vault)
            finally:
                vault.close()
        if isinstance(result, str):  # a rendering a route answers as it is (a report in Markdown)
            return result
        return [item.as_dict() for item in result] if isinstance(result, list) else result.as_dict()

    def reset(wanted: ResetRequest, passphrase: str | None) -> Answer:
        return with_vault(lambda vault: ops.reset(vault, keep_audit=not wanted.clear_audit,
                                                  keep_outbox=not wanted.clear_outbox,
                                                  keep_device_key=not wanted.rotate_device_key), passphrase=passphrase)

    @app.get(f"{PREFIX}/status", responses=ERRORS)
    def status(_: Any = Depends(bearer)) -> Answer:
        """Where the root lives, its fingerprint and age, recovery kit, policy, counts."""
        return with_vault(ops.status, reading=True)

    @app.post(f"{PREFIX}/admin/rotate-key", responses=ERRORS)
    def rotate_key(body: RotateRequest | None = None, _: Any = Depends(bearer)) -> Answer:
        """A new root; every vault key re-wrapped under it (``deep``: every template resealed too).

        ``rotated_at`` is epoch seconds, ``rotated_at_iso`` the same instant in ISO 8601; the counts say
        what was really touched. Requests run one at a time.
        """
        return with_vault(lambda vault: ops.rotate(vault, deep=(body or RotateRequest()).deep))

    @app.post(f"{PREFIX}/admin/reset", responses=ERRORS)
    def reset_everything(body: ResetRequest, _: Any = Depends(bearer),
                         passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Reset: delete every person and template and destroy the root, keeping only what the body says.

        Without ``"confirm": true`` nothing happens (422).
        """
        return reset(body, passphrase)

    @app.post(f"{PREFIX}/settings/delete_identity", responses=ERRORS, deprecated=True)
    def reset_alias(body: ResetRequest, _: Any = Depends(bearer),
                    passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """The seed contract's name for a full reset (every person, not one): an alias of ``/admin/reset``,
        held to the same ``"confirm": true``."""
        return reset(body, passphrase)

    @app.get(f"{PREFIX}/identities", responses=ERRORS)
    def identities(_: Any = Depends(bearer)) -> list[Answer]:
        """Everyone enrolled: name, samples, pack, enrolment time."""
        return with_vault(ops.list_identities, reading=True)

    def delete(name: str, certificate: bool, name_on_certificate: bool, passphrase: str | None) -> Answer:
        if name_on_certificate and not certificate:
            raise UsageError("name_on_certificate puts the name on a certificate: ask for one with certificate=true")
        wanted = ops.CertificateRequest(None, name_on_certificate) if certificate else None
        return with_vault(lambda vault: ops.delete_identity(vault, name, wanted), passphrase=passphrase)

    @app.delete(PREFIX + "/identities/{name}", responses=ERRORS)
    def delete_person(name: str = PathParam(min_length=1, max_length=128), certificate: bool = CERTIFICATE,
                      name_on_certificate: bool = NAME_ON_CERTIFICATE, _: Any = Depends(bearer),
                      passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Crypto-shred one person: their templates and identity key are gone for good.

        ``?certificate=true``: the answer carries the signed deletion certificate (``certificate``), made at this
        moment from the deletion's audit event and the head the device signed with it; FaceSeal keeps nothing
        from which to make one later, so ask now. ``faceseal audit verify-certificate`` checks it offline.
        """
        return delete(name, certificate, name_on_certificate, passphrase)

    @app.post(PREFIX + "/identities/{name}/delete", responses=ERRORS)
    def delete_identity(name: str = PathParam(min_length=1, max_length=128), certificate: bool = CERTIFICATE,
                        name_on_certificate: bool = NAME_ON_CERTIFICATE, _: Any = Depends(bearer),
                        passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """The same as ``DELETE /identities/{name}``, for clients that only POST."""
        return delete(name, certificate, name_on_certificate, passphrase)

    @app.get(PREFIX + "/identities/{name}/report", responses=ERRORS, response_model=None)
    def subject_report(name: str = PathParam(min_length=1, max_length=128),
                       format: Literal["json", "markdown"] = Query("json", description="markdown: text/markdown"),
                       _: Any = Depends(bearer)) -> Answer | Response:
        """What FaceSeal holds about one person (record, sample dates, consent, attempts from the audit log),
        never a template or a score. No admin passphrase; the request is audited (who and when, not what)."""
        if format == "json":
            return with_vault(lambda vault: ops.subject_report(vault, name, "api"))
        text = with_vault(lambda vault: ops.subject_report(vault, name, "api").as_markdown())
        return Response(text, media_type="text/markdown; charset=utf-8")

    @app.post(f"{PREFIX}/enrol", responses=_links("$response.body#/name", *DELETIONS))
    def enrol(body: EnrolRequest, _: Any = Depends(bearer), passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Enrol a person from embeddings; a look-alike of someone enrolled is 409 unless ``allow_look_alike``."""
        if len({len(row) for row in body.embeddings}) > 1:  # a rule no JSON schema states: 400, not 422
            raise InvalidEmbedding("every embedding to enrol must have the same size; nothing was enrolled")
        probe = Probe(Source.EMBEDDING, body.pack, ops.default_threshold(body.pack),
                      np.asarray(body.embeddings, dtype=np.float32))
        try:
            return with_vault(lambda vault: ops.enrol(vault, body.name, probe, body.add, body.allow_look_alike,
                                                      consent=_accepted(vault, body.consent)),
                              passphrase=passphrase)
        except LookAlikeEnrolled as refused:  # the rule is ops's; the field that lifts it is this front end's
            raise LookAlikeEnrolled(f'{refused} ("allow_look_alike": true)', refused.resembles) from None
        except ConsentRequired as refused:  # the rule is ops's; how to give consent here is this front end's
            raise ConsentRequired(f'{refused} (show them GET {PREFIX}/consent, then send "consent": '
                                  '{"sha256": …, "retention_days": …} as it says)') from None

    @app.get(f"{PREFIX}/consent", responses=ERRORS)
    def consent_terms(_: Any = Depends(bearer)) -> Answer:
        """The consent text in force (version, sha256, purpose, text) and the retention a consent given now is
        fixed to: what to show a person before enrolling them."""
        return with_vault(ops.consent_terms, reading=True)

    @app.post(PREFIX + "/identities/{name}/consent", responses=ERRORS)
    def renew_consent(body: ConsentGiven, name: str = PathParam(min_length=1, max_length=128),
                      _: Any = Depends(bearer), passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """The person consents again to the terms in force (``faceseal consent renew``): their retention counts
        from today, audited as a renewed consent. The way to keep someone whose retention ends soon; one that
        ends them sooner needs the admin passphrase, as a deletion does."""
        return with_vault(lambda vault: ops.renew_consent(vault, name, _accepted(vault, body)), passphrase=passphrase)

    @app.post(f"{PREFIX}/verify", responses=ERRORS)
    def verify(body: VerifyRequest, _: Any = Depends(bearer)) -> Answer:
        """Is this embedding the named person? Policy bounds, lockout and audit as in every front end."""
        return with_vault(lambda vault: ops.verify(vault, body.name, _probe(body), body.threshold, body.liveness))

    @app.post(f"{PREFIX}/auth/sessions", responses=ERRORS)
    def start_auth(body: AuthStartRequest, _: Any = Depends(bearer)) -> Answer:
        """An app that captures frames itself starts a session: the challenges to ask, in order."""
        return with_vault(lambda vault: sessions.start(vault, body.name, body.fps), reading=True)

    @app.post(PREFIX + "/auth/sessions/{session}/frames", responses=ERRORS)
    def auth_frames(body: AuthFramesRequest, session: str = PathParam(pattern=SESSION_PATTERN),
                    _: Any = Depends(bearer)) -> Answer:
        """Frames of the session, in order; the answer says the prompt the person is at."""
        images = [_frame(text, index) for index, text in enumerate(body.frames, 1)]
        return sessions.add(session, images).as_dict()

    @app.post(PREFIX + "/auth/sessions/{session}/finish", responses=ERRORS)
    def finish_auth(session: str = PathParam(pattern=SESSION_PATTERN), _: Any = Depends(bearer)) -> Answer:
        """The decision: the liveness session must pass, then verify's rule (lockout, audit); never live otherwise."""
        return with_vault(lambda vault: sessions.finish(vault, session))

    @app.post(f"{PREFIX}/identify", responses=ERRORS)
    def identify(body: MatchRequest, _: Any = Depends(bearer)) -> Answer:
        """Who is this embedding? Policy bounds, lockout and audit as in every front end."""
        return with_vault(lambda vault: ops.identify(vault, _probe(body), body.threshold, body.liveness))

    @app.get(PREFIX + "/thresholds/{pack}", responses=ERRORS)
    def get_threshold(pack: Pack = PathParam(), _: Any = Depends(bearer)) -> Answer:  # type: ignore[valid-type]
        """A pack's match threshold in force, its default and the policy's bounds."""
        return with_vault(lambda vault: ops.threshold(vault, pack, ops.default_threshold(pack)), reading=True)

    @app.put(PREFIX + "/thresholds/{pack}",
             responses=_links("$request.path.pack", ("GetThreshold", "GET", "/thresholds/{pack}")))
    def set_threshold(body: ThresholdRequest, pack: Pack = PathParam(),  # type: ignore[valid-type]
                      _: Any = Depends(bearer), passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Choose a pack's threshold within the policy's bounds (audited); ``null`` restores the default."""
        return with_vault(lambda vault: ops.threshold(vault, pack, ops.default_threshold(pack), body.value,
                                                      body.value is None), passphrase=passphrase)

    @app.get(f"{PREFIX}/pack", responses=ERRORS)
    def pack_in_use(_: Any = Depends(bearer)) -> Answer:
        """The model pack in use: ``chosen`` (null: none chosen), ``default``, and ``instead_of`` when an installed
        pack stands in for the chosen or default one, which is not installed."""
        return with_vault(lambda vault: ops.pack_in_use(ops.chosen_pack(vault)), reading=True)

    @app.put(f"{PREFIX}/pack", responses=ERRORS)
    def use_pack(body: PackRequest, _: Any = Depends(bearer)) -> Answer:
        """Choose the pack in use for the window, the command line and this API (``faceseal models use``);
        one not installed is refused (409); audited. ``stranded`` counts who must be enrolled again."""
        return with_vault(lambda vault: ops.use_pack(vault, body.pack))

    @app.get(f"{PREFIX}/policy", responses=ERRORS)
    def policy(_: Any = Depends(bearer)) -> Answer:
        """The security policy in force."""
        return with_vault(ops.policy_show, reading=True)

    @app.post(f"{PREFIX}/policy", responses=ERRORS)
    def change_policy(body: PolicyRequest, _: Any = Depends(bearer),
                      passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Change settings (the whole result is validated; audited with old and new values)."""
        return with_vault(lambda vault: ops.policy_set(vault, body.changes.model_dump(exclude_unset=True)),
                          passphrase=passphrase)

    @app.post(f"{PREFIX}/lock", responses=ERRORS)
    def lock(_: Any = Depends(bearer)) -> Answer:
        """Every FaceSeal process on this data drops its keys until unlocked (audited)."""
        with vault_lock:
            return ops.lock(home).as_dict()

    @app.post(f"{PREFIX}/unlock", responses=ERRORS)
    def unlock(_: Any = Depends(bearer)) -> Answer:
        """Lift the lock (a revoked root stays revoked; audited)."""
        with vault_lock:
            return ops.unlock(home).as_dict()

    @app.get(f"{PREFIX}/audit/verify", responses=ERRORS)
    def audit_verify(_: Any = Depends(bearer)) -> Answer:
        """Recompute the audit chain; ``problems`` names every edited, inserted or removed event."""
        return with_vault(ops.audit_verify, reading=True)

    @app.get(f"{PREFIX}/signin", responses=ERRORS)
    def signin_status(_: Any = Depends(bearer)) -> Answer:
        """Face sign-in: who (``identity``) and where (``services``), whether this user's agent runs (``agent``:
        its own status, with what it last did, or why not) and the last attempt in the audit log
        (``last_attempt``, null before the first). Never a score."""
        settings = with_vault(signin.signin_settings, reading=True)
        attempts = with_vault(lambda vault: signin.signin_attempts(vault, 1), reading=True)
        return {**settings, "agent": agent.agent_state().as_dict(), "last_attempt": attempts[0] if attempts else None}

    @app.put(f"{PREFIX}/signin", responses=ERRORS)
    def signin_change(body: SignInChange, _: Any = Depends(bearer),
                      passphrase: str | None = ADMIN_PASSPHRASE) -> Answer:
        """Turn face sign-in on (``"enabled": true``, for ``name``, or the person already chosen) or off for one
        PAM service; audited. Editing /etc/pam.d stays the administrator's act (docs/SIGNIN.md)."""
        if body.enabled:
            return with_vault(lambda vault: signin.signin_enable(vault, body.service, body.name), passphrase=passphrase)
        return with_vault(lambda vault: signin.signin_disable(vault, body.service))

    app.add_middleware(BodyLimit)  # outermost: before the Host and token checks, before any body is read
    return app
