"""The ``faceseal`` command line: a thin layer over :class:`edge_core.vault.Vault`.

Every command accepts ``--json``. Failures print one line on stderr (and, with
``--json``, an ``{"error": ...}`` object on stdout) and exit non-zero:

    0 success / match, 10 no match, 11 liveness check failed, 2 bad input,
    3 key problem, 4 unreadable data, 5 model problem, 1 any other refusal,
    70 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from . import __version__, cli_biometrics, cli_liveness, database, device, keyops, policy, selftest, sovereignty_cli
from .cli_biometrics import add_source_arguments, probe_from, threshold_for
from .errors import FaceSealError, PolicyViolation, UsageError
from .telemetry import cli as telemetry_cli
from .vault import Vault

NO_MATCH = 10
LIVENESS_FAILED = 11
INTERNAL_ERROR = 70

Handler = Callable[[argparse.Namespace], tuple[Any, int]]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _emit(args: argparse.Namespace, payload: Any) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, sort_keys=True, default=str))
        return
    if isinstance(payload, dict):
        _print_dict(payload)
    elif isinstance(payload, list):
        for item in payload:
            print("  ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else item)
    else:
        print(payload)


def _print_dict(payload: dict, indent: str = "") -> None:
    for key, value in payload.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_dict(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value}")


def _confirm(args: argparse.Namespace, question: str) -> None:
    """Destructive commands need --yes, or a 'yes' typed at a terminal."""
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("this cannot be undone; pass --yes to confirm")
    answer = input(f"{question} This cannot be undone. Type 'yes' to go on: ")
    if answer.strip().lower() != "yes":
        raise UsageError("cancelled; nothing was changed")


# ------------------------------------------------------------------ commands
def cmd_status(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return vault.status(), 0


def cmd_enroll(args: argparse.Namespace) -> tuple[Any, int]:
    probe = probe_from(args, enrol=True)
    with Vault.open() as vault:
        return vault.enroll(args.name, probe.vectors, probe.pack, add=args.add), 0


def _decision(result) -> tuple[Any, int]:
    return result.as_dict(), 0 if result.match else NO_MATCH


def cmd_verify(args: argparse.Namespace) -> tuple[Any, int]:
    payload = cli_liveness.verify(args)
    failed_liveness = payload.get("liveness", {}).get("passed") is False
    return payload, 0 if payload["match"] else LIVENESS_FAILED if failed_liveness else NO_MATCH


def cmd_identify(args: argparse.Namespace) -> tuple[Any, int]:
    """The best candidate for the (largest) face; with a photo, also every face in it."""
    probe = probe_from(args, enrol=False)
    with Vault.open() as vault:
        threshold = threshold_for(args, vault, probe.pack, probe.default_threshold)
        payload, code = _decision(vault.identify(probe.vectors[0], probe.pack, threshold))
        if probe.faces is not None:
            payload["faces"] = [
                {"box": face["box"], **vault.identify(face["embedding"], probe.pack, threshold).as_dict()}
                for face in probe.faces
            ]
    return payload, code


def cmd_list(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return [
            {"name": i.name, "samples": i.samples, "pack": i.pack, "enrolled": i.created_at}
            for i in vault.list_identities()
        ], 0


def cmd_rotate(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return keyops.rotate_key(vault, deep=args.deep), 0


def cmd_delete(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        vault.list_identities()  # opens fine before we ask anything
        _confirm(args, f"Delete '{args.name}' and crypto-shred their templates?")
        return keyops.delete_identity(vault, args.name), 0


def cmd_reset(args: argparse.Namespace) -> tuple[Any, int]:
    vault = Vault.open()
    try:
        _confirm(args, "Delete every template and destroy the root key?")
        return keyops.reset(vault, args.keep_audit, args.keep_outbox, args.keep_device_key), 0
    finally:
        vault.close()


def cmd_audit_verify(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        problems = vault.audit_verify()
        count = len(vault.audit_events())
    if problems:
        return {"status": "tampered", "events": count, "problems": problems}, 4
    return {"status": "intact", "events": count}, 0


def cmd_audit_list(args: argparse.Namespace) -> tuple[Any, int]:
    with Vault.open() as vault:
        return [{"seq": e.seq, "ts": e.ts, "kind": e.kind, **e.detail} for e in vault.audit_events()], 0


# -------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="faceseal", description="Face templates sealed under keys you own.")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (anywhere on the line)")
    parser.add_argument("--version", action="version", version=f"faceseal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Handler | None, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if handler is not None:
            p.set_defaults(handler=handler)
        return p

    command("status", cmd_status, "where the root key lives, key ages, counts, data path")
    p = command("enroll", cmd_enroll, "enrol a person: each sample becomes its own sealed template")
    p.add_argument("name")
    p.add_argument("--add", action="store_true", help="add samples to an identity already enrolled")
    add_source_arguments(p, enrol=True)
    p = command("verify", cmd_verify,
                "is this the person they claim to be? (exit 0 match, 10 no match, 11 liveness check failed)")
    p.add_argument("name")
    add_source_arguments(p, enrol=False)
    cli_liveness.add_arguments(p)
    add_source_arguments(command("identify", cmd_identify, "who is this? (exit 0 match, 10 no match)"), enrol=False)
    command("list", cmd_list, "the enrolled identities")

    p = command("rotate-key", cmd_rotate, "replace the root key; the vault key is re-wrapped under it")
    p.add_argument("--deep", action="store_true", help="also reseal every template under new keys")
    p = command("delete-identity", cmd_delete, "crypto-shred one person's templates")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = command("reset", cmd_reset, "delete every template and destroy the root key")
    p.add_argument("--keep-audit", action="store_true", help="keep the audit log")
    p.add_argument("--keep-outbox", action="store_true", help="keep the telemetry outbox")
    p.add_argument("--keep-device-key", action="store_true", help="keep the device identity key")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    audit_parser = command("audit", None, "the tamper-evident audit log")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True, parser_class=_Parser)
    audit_verify = audit_sub.add_parser("verify", help="check the hash chain; names any edited, inserted or removed event")
    audit_verify.set_defaults(handler=cmd_audit_verify)
    audit_sub.add_parser("list", help="print the events").set_defaults(handler=cmd_audit_list)
    sovereignty_cli.register(sub, command, audit_sub, audit_verify)

    cli_biometrics.register(sub, command)
    command("self-test", selftest.command,
            "check this installation (vault, models, window) in a throw-away folder; never touches your data")
    telemetry_cli.register(sub, _telemetry_context)
    return parser


class _VaultContext:
    """What the telemetry commands need, opening the vault only when they ask."""

    def __init__(self) -> None:
        self.vault: Vault | None = None

    def _open(self) -> Vault:
        if self.vault is None:
            self.vault = Vault.open()
        return self.vault

    def connection(self):
        return self._open().conn

    def device_key(self):
        return device.device_key(self._open())

    def check_telemetry_allowed(self) -> None:
        if not policy.telemetry_allowed(self._open()):
            raise PolicyViolation("the security policy does not allow telemetry (faceseal policy show)")

    def close(self) -> None:
        if self.vault is not None:
            self.vault.close()


_contexts: list[_VaultContext] = []


def _telemetry_context() -> _VaultContext:
    _contexts.append(_VaultContext())
    return _contexts[-1]


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "func", None):  # the telemetry commands print for themselves
        try:
            return args.func(args)
        finally:
            while _contexts:
                _contexts.pop().close()
    payload, code = args.handler(args)
    _emit(args, payload)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv and _has_display():
        from app.main import main as open_window  # the Qt window; only when there is a screen

        return open_window([])
    wants_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]  # accepted anywhere on the line
    try:
        args = build_parser().parse_args(argv)
        if not (getattr(args, "handler", None) or getattr(args, "func", None)):
            args = build_parser().parse_args(["status", *argv])
        args.json = wants_json
        return _run(args)
    except database.Error as error:
        error = database.translate(error)
        return _fail(wants_json, str(error), type(error).__name__, error.exit_code)
    except FaceSealError as error:
        return _fail(wants_json, str(error), type(error).__name__, error.exit_code)
    except KeyboardInterrupt:
        return _fail(wants_json, "interrupted", "Interrupted", 130)
    except Exception as error:  # never a traceback: one line naming the kind of failure
        return _fail(wants_json, f"unexpected internal error ({type(error).__name__}); please report it",
                     "InternalError", INTERNAL_ERROR)


def _has_display() -> bool:
    """Whether a window can be shown: always on macOS, with an X11 or Wayland display elsewhere."""
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _fail(wants_json: bool, message: str, kind: str, code: int) -> int:
    print(f"faceseal: error: {message}", file=sys.stderr)
    if wants_json:
        print(json.dumps({"error": message, "kind": kind}))
    return code


if __name__ == "__main__":
    sys.exit(main())
