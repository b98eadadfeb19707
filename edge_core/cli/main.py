"""The ``faceseal`` command line: a thin front end over the use cases in :mod:`edge_core.ops`.

Every command accepts ``--json`` anywhere on the line. Failures print one
line on stderr (and, with ``--json``, an ``{"error", "kind"}`` object on
stdout) and exit non-zero:

    0 success / match, 10 no match, 11 liveness check failed, 2 bad input,
    3 key problem, 4 unreadable or tampered data, 5 model problem,
    1 any other refusal, 70 internal error.

The window and the ``self-test`` live in ``app``: the ``faceseal`` launcher
(:mod:`app.launcher`) adds them around :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from edge_core import __version__
from edge_core.cli import admin, identities, keys, models, telemetry
from edge_core.cli.framework import Commands, Handler, Parser, render
from edge_core.errors import FaceSealError
from edge_core.support import database

INTERNAL_ERROR = 70
INTERRUPTED = 130

Extra = tuple[str, Handler, str]
"""A command a front end adds (words, handler, help): the launcher adds ``self-test``."""


def build_parser(extra: Sequence[Extra] = ()) -> argparse.ArgumentParser:
    parser = Parser(prog="faceseal", description="Face templates sealed under keys you own.")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (anywhere on the line)")
    parser.add_argument("--version", action="version", version=f"faceseal {__version__}")
    commands = Commands(parser)
    for module in (identities, keys, admin, models, telemetry):
        module.register(commands)
    for words, handler, text in extra:
        commands.add(words, handler, text)
    return parser


def main(argv: list[str] | None = None, extra: Sequence[Extra] = ()) -> int:
    """Run one command; returns its exit code, never raises (one line on stderr instead)."""
    argv = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]  # accepted anywhere on the line
    try:
        parser = build_parser(extra)
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            args = parser.parse_args(["status", *argv])
        args.json = wants_json
        result, code = args.handler(args)
        render(result, wants_json)
        return code
    except database.Error as error:
        translated = database.translate(error)
        return _fail(wants_json, str(translated), type(translated).__name__, translated.exit_code)
    except FaceSealError as error:
        return _fail(wants_json, str(error), type(error).__name__, error.exit_code)
    except KeyboardInterrupt:
        return _fail(wants_json, "interrupted", "Interrupted", INTERRUPTED)
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
