"""``faceseal-collector``: run the collector, look at the fleet, manage operator tokens.

::

    faceseal-collector [serve] --db DB [--port 8750] [--host 127.0.0.1] [--workers 1] [--body-timeout 30]
                               [--log-level info]
    faceseal-collector devices --db DB [--since S] [--dead-after 7d] [--json]
    faceseal-collector summary --db DB [--since S] [--dead-after 7d] [--json]
    faceseal-collector token new|list|revoke --db DB [--name operator]
    faceseal-collector enrol mode [open|allow-list|token] --db DB
    faceseal-collector enrol allow|forbid DEVICE_ID --db DB
    faceseal-collector enrol list --db DB
    faceseal-collector enrol token new|list|revoke --db DB [--name devices]

``DB`` is an sqlite file path or a ``postgresql://user@host/dbname`` URL; when
``--db`` is left out, ``FACESEAL_COLLECTOR_DB`` is used (so a password need not
sit on a command line that ``ps`` shows). Passwords are masked in every message.

The server listens on loopback unless told otherwise: exposing it is a
deliberate operator decision (put it behind a TLS reverse proxy).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from faceseal_collector import fleet
from faceseal_collector.database import DB_ENV, parse_database
from faceseal_collector.errors import CollectorError
from faceseal_collector.intake import BODY_SECONDS, BODY_SECONDS_ENV
from faceseal_collector.store import ENROLMENT_MODES, CollectorStore, TokenKind

T = TypeVar("T")

DEFAULT_PORT = 8750
COMMANDS = ("serve", "devices", "summary", "token", "enrol")


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError("a port is a number from 1 to 65535")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError("workers is a number from 1 to 64")
    return int(text)


def _body_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0.5 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("body-timeout is a number of seconds from 0.5 to 3600")
    return seconds


def _token_name(text: str) -> str:
    if not text or len(text) > 64 or not all(c.isalnum() or c in "-_." for c in text):
        raise argparse.ArgumentTypeError("a token name is 1 to 64 letters, digits, '-', '_' or '.'")
    return text


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=os.environ.get(DB_ENV),
        help=f"sqlite file path or postgresql://user@host/dbname URL (default: ${DB_ENV})",
    )


def _add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="a duration back from now (24h, 7d) or a UTC date (2026-01-31)")
    parser.add_argument("--dead-after", default="7d", help="silence after which a device is dead (default 7d)")
    parser.add_argument("--json", action="store_true", help="one JSON document")


def build_parser() -> argparse.ArgumentParser:
    """The ``serve`` command line (also what ``faceseal-collector --db ... --port ...`` runs)."""
    parser = argparse.ArgumentParser(
        prog="faceseal-collector",
        description="Receive, verify and store signed FaceSeal telemetry batches. Other commands:"
        " 'devices', 'summary' (the fleet view), 'token' (operator tokens) and 'enrol' (which devices may"
        " register); see COMMAND --help.",
    )
    _add_db(parser)
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    parser.add_argument("--workers", type=_workers, default=1,
                        help="serving processes (default 1): one per core the collector may use")
    parser.add_argument("--body-timeout", type=_body_seconds, default=BODY_SECONDS, metavar="SECONDS",
                        help=f"how long a batch body may take to arrive (default {BODY_SECONDS:g}): a body that "
                             "never ends is answered 408 and its connection closed")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def _fleet_parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"faceseal-collector {command}", description=description)
    _add_db(parser)
    _add_window(parser)
    return parser


def _token_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceseal-collector token",
        description="Operator tokens for GET /v1/devices and /v1/summary. 'new' prints a fresh token once"
        " (only its SHA-256 is stored); it replaces a token of the same name. Every collector on the same"
        " database accepts it at once; 'revoke' removes it.",
    )
    parser.add_argument("action", choices=["new", "list", "revoke"])
    _add_db(parser)
    parser.add_argument("--name", type=_token_name, default="operator", help="default 'operator'")
    return parser


def _open(db: str | None, parser: argparse.ArgumentParser) -> CollectorStore:
    if not db:
        parser.error(f"--db (or ${DB_ENV}) is required")
    return CollectorStore(parse_database(db))


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import uvicorn

    store = _open(args.db, parser)  # migrated here, once, before any worker opens it
    try:
        if store.enrolment() == "open":
            print("faceseal-collector: enrolment is open: any device key may register and send "
                  "('faceseal-collector enrol mode allow-list' or 'token' decides which may)", file=sys.stderr)
    finally:
        store.close()
    os.environ[DB_ENV] = args.db  # each worker process opens the database named here (app.from_environment)
    os.environ[BODY_SECONDS_ENV] = repr(args.body_timeout)
    uvicorn.run("faceseal_collector.app:from_environment", factory=True, workers=args.workers, host=args.host,
                port=args.port, log_level=args.log_level, server_header=False)
    return 0


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _fleet_query(args: argparse.Namespace, parser: argparse.ArgumentParser,
                 query: Callable[..., T]) -> tuple[datetime, timedelta, datetime | None, T]:
    """(now, dead-after, since, the answer of ``query(store, now, dead_after, since)``) for a fleet command."""
    now = datetime.now(UTC)
    dead_after = fleet.parse_duration(args.dead_after)
    since = fleet.parse_since(args.since, now) if args.since else None
    store = _open(args.db, parser)
    try:
        return now, dead_after, since, query(store, now, dead_after, since)
    finally:
        store.close()


def _devices(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    now, dead_after, since, views = _fleet_query(args, parser, fleet.list_devices)
    if args.json:
        print(json.dumps(fleet.devices_document(views, now, dead_after), indent=1))
        return 0
    if not views:
        print("no devices" + (" seen since then" if since else " yet"))
        return 0
    header = ["DEVICE", "REGISTERED", "LAST CONTACT", "BATCHES", "EVENTS", "STATE"]
    body = [
        [v.device_id, v.registered_at[:19] + "Z", v.last_seen_at[:19] + "Z", str(v.batches), str(v.events),
         "dead" if v.dead else "alive"]
        for v in views
    ]
    print(_table([header, *body]))
    return 0


def _summary(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    now, dead_after, since, report = _fleet_query(
        args, parser, lambda store, now, dead_after, since: fleet.summarize(store, now, since, dead_after))
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    window = f"since {report['since']}" if since else "ever"
    lines = [
        f"devices registered: {report['devices_registered']}",
        f"devices seen {window}: {report['devices_seen']}",
        f"last contact: {report['last_contact'] or 'never'}",
        f"batches received {window}: {report['batches']}",
        f"events received {window}: {report['events']}",
    ]
    lines += [f"  {kind}: {count}" for kind, count in report["events_by_kind"].items()]
    dead = report["dead_devices"]
    lines.append(f"dead devices (no contact for {args.dead_after}): {len(dead)}")
    lines += [f"  {d['device_id']}  last contact {d['last_seen_at'][:19]}Z" for d in dead]
    print("\n".join(lines))
    return 0


def _tokens(store: CollectorStore, kind: TokenKind, action: str, name: str) -> int:
    """new / list / revoke for operator or enrolment tokens; a new token is printed once, only its digest kept."""
    if action == "new":
        token = secrets.token_urlsafe(32)
        store.set_token(kind, name, token)
        print(token)
        print(f"faceseal-collector: {kind} token '{name}' set; it is shown only now", file=sys.stderr)
    elif action == "list":
        for listed, created in store.tokens(kind):
            print(f"{listed}  created {created[:19]}Z")
    elif not store.revoke_token(kind, name):
        print(f"faceseal-collector: no {kind} token named '{name}'", file=sys.stderr)
        return 1
    return 0


def _token(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = _open(args.db, parser)
    try:
        return _tokens(store, "operator", args.action, args.name)
    finally:
        store.close()


def _device_id(text: str) -> str:
    try:
        if str(uuid.UUID(text)) == text:
            return text
    except ValueError:
        pass
    raise argparse.ArgumentTypeError("a device id is a lower-case UUID, as 'faceseal status' shows it")


def _enrol_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceseal-collector enrol",
        description="Which devices may register and send. 'mode' shows or sets it for every collector on the"
        " database: 'open' (any device key; the default), 'allow-list' (only the devices 'allow' lists: every"
        " batch is checked, so 'forbid' stops one at once) or 'token' (a new device's first batch must carry"
        " an enrolment token made by 'token new'; give it to the device's owner for 'faceseal telemetry"
        " enable --enrolment-token'). A refused device is answered 403 not_enrolled.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    mode = actions.add_parser("mode", help="show or set the enrolment mode")
    mode.add_argument("mode", nargs="?", choices=ENROLMENT_MODES)
    for name, words in (("allow", "put a device on the allow-list"), ("forbid", "take a device off it")):
        actions.add_parser(name, help=words).add_argument("device_id", type=_device_id)
    actions.add_parser("list", help="the allow-list")
    token = actions.add_parser("token", help="enrolment tokens for new devices: new, list, revoke")
    token.add_argument("token_action", choices=["new", "list", "revoke"])
    token.add_argument("--name", type=_token_name, default="devices", help="default 'devices'")
    for sub in (mode, token, *(actions.choices[name] for name in ("allow", "forbid", "list"))):
        _add_db(sub)
    return parser


def _enrol(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = _open(args.db, parser)
    try:
        if args.action == "token":
            return _tokens(store, "enrolment", args.token_action, args.name)
        if args.action == "mode":
            if args.mode:
                store.set_enrolment(args.mode)
            print(f"enrolment: {store.enrolment()}")
        elif args.action == "allow":
            print(f"{args.device_id} {'allowed' if store.allow_device(args.device_id) else 'was already allowed'}")
        elif args.action == "forbid":
            if not store.forbid_device(args.device_id):
                print(f"faceseal-collector: {args.device_id} is not on the allow-list", file=sys.stderr)
                return 1
            print(f"{args.device_id} forbidden")
        else:
            for device, added in store.allowed():
                print(f"{device}  allowed {added[:19]}Z")
    finally:
        store.close()
    return 0


_RUN: dict[str, tuple[Callable[[], argparse.ArgumentParser], Callable[..., int]]] = {
    "serve": (build_parser, _serve),
    "devices": (
        lambda: _fleet_parser("devices", "Every device: registration, last contact, batches, events, dead or alive."),
        _devices,
    ),
    "summary": (
        lambda: _fleet_parser(
            "summary", "Devices seen, last contact, events by kind, dead devices (received since --since)."
        ),
        _summary,
    ),
    "token": (_token_parser, _token),
    "enrol": (_enrol_parser, _enrol),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "serve"
    make_parser, run = _RUN[command]
    parser = make_parser()
    args: Any = parser.parse_args(argv)
    try:
        return run(args, parser)
    except CollectorError as error:
        print(f"faceseal-collector: {error}", file=sys.stderr)
        return 2
