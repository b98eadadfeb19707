"""The telemetry event vocabulary, and the guard that refuses everything else.

This module is the privacy boundary. An event is a flat object whose keys come
from a fixed allow-list and whose values are only

* strings drawn from a closed enum (operation, outcome, error kind, key role),
* bounded non-negative integers (latency in ms, a count),
* an app version and a UTC timestamp, both matched by strict patterns that
  admit digits and a few separators only.

So a free-form string (an identity name, an identity id, a path), a float, a
list (an embedding) or a nested object cannot be expressed at all: ``Event``
validates in its constructor, and the outbox accepts nothing but an ``Event``.
Refusals name the rule that failed, never the offending value, because that
value may be exactly the secret we are keeping out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from importlib import metadata

from edge_core.telemetry.errors import ForbiddenEvent


class EventKind(StrEnum):
    """What happened. Each kind has its own allow-list of fields below."""

    APP_STARTED = "app_started"
    OPERATION = "operation"
    KEY_ROTATED = "key_rotated"


class Operation(StrEnum):
    """A user-visible vault operation (never which identity it concerned)."""

    ENROL = "enrol"
    VERIFY = "verify"
    IDENTIFY = "identify"
    DELETE = "delete"
    RESET = "reset"
    UNLOCK = "unlock"
    LOCK = "lock"
    EXPORT = "export"
    IMPORT = "import"


class Outcome(StrEnum):
    """How it ended. ``error`` requires an ``error_kind``; the others forbid one."""

    OK = "ok"
    MATCH = "match"
    NO_MATCH = "no_match"
    ERROR = "error"


class KeyRole(StrEnum):
    """Which key of the hierarchy was rotated (never the key itself)."""

    ROOT = "root"
    DATA = "data"
    DEVICE = "device"


class ErrorKind(StrEnum):
    """Error classes of ``edge_core.errors``, snake_cased; ``internal`` for anything else."""

    FACE_SEAL_ERROR = "face_seal_error"
    USAGE_ERROR = "usage_error"
    INVALID_KEY_MATERIAL = "invalid_key_material"
    INVALID_EMBEDDING = "invalid_embedding"
    UNKNOWN_IDENTITY = "unknown_identity"
    IDENTITY_EXISTS = "identity_exists"
    KEY_HIERARCHY_ERROR = "key_hierarchy_error"
    ROOT_KEY_MISSING = "root_key_missing"
    WRONG_ROOT_KEY = "wrong_root_key"
    ROOT_KEY_REVOKED = "root_key_revoked"
    INSECURE_KEY_FILE = "insecure_key_file"
    KEYCHAIN_UNAVAILABLE = "keychain_unavailable"
    ROOT_STORE_FIXED = "root_store_fixed"
    VAULT_LOCKED = "vault_locked"
    DATA_ERROR = "data_error"
    CORRUPT_BLOB = "corrupt_blob"
    DATA_DIR_UNREADABLE = "data_dir_unreadable"
    MODEL_ERROR = "model_error"
    INTERNAL = "internal"


def error_kind_for(error: BaseException) -> ErrorKind:
    """The most specific ``ErrorKind`` in the error's class hierarchy.

    Works from class names only, so an error subclass added later maps to its
    nearest known ancestor and no message text ever reaches telemetry.
    """
    for cls in type(error).__mro__:
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
        if snake in ErrorKind._value2member_map_:
            return ErrorKind(snake)
    return ErrorKind.INTERNAL


# ---------------------------------------------------------------- field rules

# [0-9], not \d: Python's \d takes every script's digits ("٠.١.٠"), JSON Schema's (the collector's document) does not
_VERSION_RE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6}){0,3}((a|b|rc|\.dev|\.post)[0-9]{1,6})?")
TIMESTAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
MAX_LATENCY_MS = 86_400_000  # a day: anything longer is a clock bug, not a latency
MAX_COUNT = 1_000_000_000

Value = str | int


class _Enum:
    """A string from a closed enum; returns it as a plain ``str`` (JSON-ready)."""

    __slots__ = ("_name", "_plain")

    def __init__(self, values: type[StrEnum]) -> None:
        self._name = values.__name__
        self._plain = {str(member.value): str(member.value) for member in values}

    def check(self, field: str, value: object) -> Value:
        plain = self._plain.get(value) if isinstance(value, str) else None
        if plain is None:
            raise ForbiddenEvent(f"field {field!r} must be one of the {self._name} values")
        return plain

    def json_schema(self) -> dict[str, object]:
        return {"type": "string", "enum": list(self._plain)}


@dataclass(frozen=True)
class _Int:
    high: int

    def check(self, field: str, value: object) -> Value:
        # bool is an int subclass and numpy integers are not ints: exact type only.
        if type(value) is not int or not 0 <= value <= self.high:
            raise ForbiddenEvent(f"field {field!r} must be an integer from 0 to {self.high}")
        return value

    def json_schema(self) -> dict[str, object]:
        return {"type": "integer", "minimum": 0, "maximum": self.high}


@dataclass(frozen=True)
class _Pattern:
    pattern: re.Pattern[str]
    what: str

    def check(self, field: str, value: object) -> Value:
        if type(value) is not str or not self.pattern.fullmatch(value):
            raise ForbiddenEvent(f"field {field!r} must be {self.what}")
        return value

    def json_schema(self) -> dict[str, object]:
        return {"type": "string", "pattern": f"^{self.pattern.pattern}$", "description": self.what}


TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIMESTAMP_WHAT = "a UTC timestamp YYYY-MM-DDTHH:MM:SSZ (RFC 3339) that exists"


def parse_timestamp(value: object) -> datetime | None:
    """The instant a timestamp names, or None when it is not one: the pattern alone admits month 14 and
    day 92, so the date must also exist (year 0001 and later)."""
    if type(value) is not str or not TIMESTAMP_RE.fullmatch(value):
        return None
    if value[11:13] >= "24":  # fromisoformat may read 24:00:00 as the next midnight (Python 3.14); strptime never did
        return None
    try:  # the pattern fixed the form; fromisoformat refuses a date that does not exist (and is 30x faster than strptime)
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Timestamp:
    def check(self, field: str, value: object) -> Value:
        if parse_timestamp(value) is None:
            raise ForbiddenEvent(f"field {field!r} must be {TIMESTAMP_WHAT}")
        return str(value)

    def json_schema(self) -> dict[str, object]:
        return {"type": "string", "format": "date-time", "pattern": f"^{TIMESTAMP_RE.pattern}$",
                "description": TIMESTAMP_WHAT}


_FieldRule = _Enum | _Int | _Pattern | _Timestamp

_COMMON: dict[str, _FieldRule] = {
    "kind": _Enum(EventKind),
    "at": _Timestamp(),
    "app_version": _Pattern(_VERSION_RE, "a numeric release version"),
}
_OUTCOME_FIELDS: dict[str, _FieldRule] = {
    "outcome": _Enum(Outcome),
    "latency_ms": _Int(MAX_LATENCY_MS),
    "error_kind": _Enum(ErrorKind),
    "count": _Int(MAX_COUNT),
}
_OPTIONAL = frozenset({"error_kind", "count"})

#: Every field each kind may carry; all but ``_OPTIONAL`` are required.
SCHEMA: Mapping[EventKind, Mapping[str, _FieldRule]] = {
    EventKind.APP_STARTED: _COMMON,
    EventKind.OPERATION: {**_COMMON, "op": _Enum(Operation), **_OUTCOME_FIELDS},
    EventKind.KEY_ROTATED: {**_COMMON, "key": _Enum(KeyRole), **_OUTCOME_FIELDS},
}


# Each rule's check, keyed by the plain kind string a decoded event carries: the collector checks every event
# it receives, some fifty thousand a second, so the lookups are done once here.
_CHECKS: Mapping[str, Mapping[str, Callable[[str, object], Value]]] = {
    str(kind): {field: rule.check for field, rule in rules.items()} for kind, rules in SCHEMA.items()}
_REQUIRED: Mapping[str, frozenset[str]] = {str(kind): frozenset(rules) - _OPTIONAL for kind, rules in SCHEMA.items()}


def json_schema() -> dict[str, object]:
    """The JSON Schema of one event, derived from ``SCHEMA`` (the collector's OpenAPI document shows it)."""
    return {"oneOf": [
        {"type": "object", "additionalProperties": False,
         "properties": {name: ({"const": str(kind)} if name == "kind" else rule.json_schema())
                        for name, rule in rules.items()},
         "required": sorted(set(rules) - _OPTIONAL)}
        for kind, rules in SCHEMA.items()
    ]}


def _validate(data: object) -> tuple[tuple[str, Value], ...]:
    """Check ``data`` against the schema; return its fields sorted and normalised."""
    if not isinstance(data, Mapping):
        raise ForbiddenEvent("an event must be a flat mapping of allow-listed fields")
    kind = _COMMON["kind"].check("kind", data.get("kind"))
    checks = _CHECKS[kind]
    if not data.keys() <= checks.keys():
        # Never name the key: an unknown key may itself be a name someone typed.
        raise ForbiddenEvent(f"an event of kind {kind} has a field outside its allow-list")
    missing = sorted(_REQUIRED[kind] - data.keys())
    if missing:
        raise ForbiddenEvent(
            f"an event of kind {kind} lacks required field(s) {', '.join(missing)}"
        )
    fields = {key: checks[key](key, value) for key, value in data.items()}
    if "outcome" in fields and (fields["outcome"] == "error") != ("error_kind" in fields):
        raise ForbiddenEvent("error_kind is required when, and only when, outcome is 'error'")
    return tuple(sorted(fields.items()))


class Event:
    """One validated, immutable telemetry event. It cannot exist unvalidated.

    Build one with ``app_started``, ``operation`` or ``key_rotated``, or from a
    decoded mapping with ``Event(mapping)`` (the collector does this to every
    event it receives, so a rogue client cannot store anything else either).
    """

    __slots__ = ("_fields",)

    def __init__(self, data: Mapping[str, object]) -> None:
        self._fields = _validate(data)

    @property
    def kind(self) -> EventKind:
        return EventKind(str(self.as_dict()["kind"]))

    def as_dict(self) -> dict[str, Value]:
        """A fresh JSON-ready dict (strings and ints only)."""
        return dict(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"Event({self.as_dict()!r})"


# ------------------------------------------------------------ constructors


def _installed_version() -> str:
    """The installed FaceSeal version, or 0.0.0 when running from an uninstalled tree."""
    try:
        return metadata.version("faceseal")
    except metadata.PackageNotFoundError:
        return "0.0.0"


APP_VERSION = _installed_version()


def utc_timestamp(at: datetime | None = None) -> str:
    """``at`` (default now) as the event/envelope timestamp form, whole seconds, UTC."""
    moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment.year:04d}" + moment.strftime(TIMESTAMP_FORMAT[2:])  # glibc's %Y does not pad year 999


def _build(kind: EventKind, at: datetime | None, **fields: object) -> Event:
    present = {key: value for key, value in fields.items() if value is not None}
    return Event({"kind": kind, "at": utc_timestamp(at), "app_version": APP_VERSION, **present})


def app_started(*, at: datetime | None = None) -> Event:
    """The app (or CLI) started: carries only the version and the time."""
    return _build(EventKind.APP_STARTED, at)


def operation(
    op: Operation,
    outcome: Outcome,
    latency_ms: int,
    *,
    error_kind: ErrorKind | None = None,
    count: int | None = None,
    at: datetime | None = None,
) -> Event:
    """A vault operation finished. ``count``: e.g. gallery size searched, templates deleted."""
    return _build(
        EventKind.OPERATION,
        at,
        op=op,
        outcome=outcome,
        latency_ms=latency_ms,
        error_kind=error_kind,
        count=count,
    )


def key_rotated(
    key: KeyRole,
    outcome: Outcome,
    latency_ms: int,
    *,
    error_kind: ErrorKind | None = None,
    count: int | None = None,
    at: datetime | None = None,
) -> Event:
    """A key was rotated. ``count``: e.g. how many templates were re-sealed."""
    return _build(
        EventKind.KEY_ROTATED,
        at,
        key=key,
        outcome=outcome,
        latency_ms=latency_ms,
        error_kind=error_kind,
        count=count,
    )
