"""The ``faceseal`` command line: a thin layer over :class:`edge_core.vault.Vault`.

Every command accepts ``--json``. Failures print one line on stderr (and, with
``--json``, an ``{"error": ...}`` object on stdout) and exit non-zero:

    0 success / match, 10 no match, 2 bad input, 3 key problem,
    4 unreadable data, 5 model problem, 1 any other refusal, 70 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from . import __version__, database, embeddings, keyops
from .errors import FaceSealError, UsageError
from .vault import Vault

NO_MATCH = 10
INTERNAL_ERROR = 70
DEFAULT_THRESHOLD = 0.45
EXTERNAL_PACK = "external"

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
    samples = embeddings.load(args.embedding)
    with Vault.open() as vault:
        return vault.enroll(args.name, samples, args.pack or EXTERNAL_PACK, add=args.add), 0


def _probe(args: argparse.Namespace):
    probe = embeddings.load(args.embedding)
    if probe.shape[0] != 1:
        raise UsageError(f"{args.embedding} holds {probe.shape[0]} vectors; verify and identify take one")
    return probe[0]


def _decision(result) -> tuple[Any, int]:
    return result.as_dict(), 0 if result.match else NO_MATCH


def cmd_verify(args: argparse.Namespace) -> tuple[Any, int]:
    probe = _probe(args)
    with Vault.open() as vault:
        return _decision(vault.verify(args.name, probe, args.pack or EXTERNAL_PACK, args.threshold))


def cmd_identify(args: argparse.Namespace) -> tuple[Any, int]:
    probe = _probe(args)
    with Vault.open() as vault:
        return _decision(vault.identify(probe, args.pack or EXTERNAL_PACK, args.threshold))


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
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    parser = _Parser(prog="faceseal", description="Face templates sealed under keys you own.", parents=[common])
    parser.add_argument("--version", action="version", version=f"faceseal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Handler, help: str, **kw) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common], **kw)
        p.set_defaults(handler=handler)
        return p

    command("status", cmd_status, "where the root key lives, key ages, counts, data path")

    def matching(p: argparse.ArgumentParser, threshold: bool) -> None:
        p.add_argument("--embedding", type=Path, required=True, metavar="FILE.npy",
                       help="a (d,) vector, or for enroll a (k, d) array of k samples")
        p.add_argument("--pack", help="the model pack the embedding came from (default: external)")
        if threshold:
            p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                           help=f"cosine similarity needed for a match (default {DEFAULT_THRESHOLD})")

    p = command("enroll", cmd_enroll, "enrol a person: each sample becomes its own sealed template")
    p.add_argument("name")
    p.add_argument("--add", action="store_true", help="add samples to an identity already enrolled")
    matching(p, threshold=False)
    p = command("verify", cmd_verify, "is this the person they claim to be? (exit 0 match, 10 no match)")
    p.add_argument("name")
    matching(p, threshold=True)
    matching(command("identify", cmd_identify, "who is this? (exit 0 match, 10 no match)"), threshold=True)
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

    audit_parser = command("audit", lambda a: (None, 0), "the tamper-evident audit log")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True, parser_class=_Parser)
    for name, handler, text in (("verify", cmd_audit_verify, "check the hash chain; names any edited, inserted or removed event"),
                                ("list", cmd_audit_list, "print the events")):
        audit_sub.add_parser(name, help=text, parents=[common]).set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "handler", None):
            args = build_parser().parse_args(["status", *argv])
        payload, code = args.handler(args)
        _emit(args, payload)
        return code
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


def _fail(wants_json: bool, message: str, kind: str, code: int) -> int:
    print(f"faceseal: error: {message}", file=sys.stderr)
    if wants_json:
        print(json.dumps({"error": message, "kind": kind}))
    return code


if __name__ == "__main__":
    sys.exit(main())
