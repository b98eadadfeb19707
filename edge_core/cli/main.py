"""The ``faceseal`` command line: a thin front end over the use cases in :mod:`edge_core.ops`.

Every command accepts ``--json`` anywhere on the line. Failures print one
line on stderr (and, with ``--json``, an ``{"error", "kind"}`` object on
stdout) and exit non-zero, with the codes of :mod:`edge_core.cli.exitcodes`
(the README's table and the man page's EXIT STATUS list the same): 0 success
or a match, 1 a refusal (unknown or existing name, lockout, no camera), 2 bad
input, 3 key problem, 4 unreadable or tampered data, 5 model problem, 6 disk
full, 10 no match, 11 liveness check failed, 70 internal error, 130
interrupted, 141 standard output closed early (``faceseal list | head -1``:
nothing is printed, no second line).

The one-line rule holds for the libraries too: while a command runs, Python
warnings are ignored, OpenCV's log is off, and whatever a native library
(libpng, OpenCV, ONNX Runtime, SQLCipher) writes on the process's stderr goes
to the null device; FaceSeal's own line still reaches the real stderr. A
command-line argument that is not valid UTF-8 is refused (exit 2).

The window and the ``self-test`` live in ``app``: the ``faceseal`` launcher
(:mod:`app.launcher`) adds them around :func:`main`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence

from edge_core import ops
from edge_core.cli import (admin, assertions, calibrate, consent, identities, keys, models, padeval, prompts, signin,
                           telemetry)
from edge_core.cli.exitcodes import INTERNAL_ERROR, INTERRUPTED, OUTPUT_CLOSED
from edge_core.cli.framework import Commands, Handler, Parser, render
from edge_core.cli.version import VersionAction
from edge_core.errors import FaceSealError, UsageError, disk_full, is_disk_full
from edge_core.support import database
from edge_core.support.hardening import harden_process


Extra = tuple[str, Handler, str]
"""A command a front end adds (words, handler, help): the launcher adds ``self-test``."""


def build_parser(extra: Sequence[Extra] = ()) -> argparse.ArgumentParser:
    parser = Parser(prog="faceseal", description="Face templates sealed under keys you own.")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (anywhere on the line)")
    parser.add_argument("--version", action=VersionAction)
    commands = Commands(parser)
    for module in (identities, consent, keys, admin, models, telemetry, calibrate, padeval, signin, assertions):
        module.register(commands)
    for words, handler, text in extra:
        commands.add(words, handler, text)
    return parser


def main(argv: list[str] | None = None, extra: Sequence[Extra] = ()) -> int:
    """Run one command; returns its exit code, never raises (one line on stderr instead). The program's entry points
    (:func:`run`, ``app.launcher.run``) harden the process first; a caller inside another program (the tests) is not
    made undumpable."""
    argv = sys.argv[1:] if argv is None else argv
    wants_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]  # accepted anywhere on the line
    with _quiet_libraries():
        try:
            return _run(argv, extra, wants_json)
        except BrokenPipeError:
            return _output_closed()


def run() -> int:
    """``python -m edge_core.cli``: the process hardened before any key is unwrapped (no core file, no reading of
    its memory by the user's other processes), then one command."""
    harden_process()
    return main()


def _run(argv: list[str], extra: Sequence[Extra], wants_json: bool) -> int:
    try:
        _check_utf8(argv)
        parser = build_parser(extra)
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            args = parser.parse_args(["status", *argv])
        args.json = wants_json
        existed = _vault_exists()
        with ops.asking(prompts.presence):
            result, code = args.handler(args)
        render(result, wants_json, args.empty)
        if not existed:
            _say_where_a_new_root_went()
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        raise
    except database.Error as error:
        translated = database.translate(error)
        return _fail(wants_json, str(translated), type(translated).__name__, translated.exit_code)
    except FaceSealError as error:
        return _fail(wants_json, str(error), type(error).__name__, error.exit_code)
    except KeyboardInterrupt:
        return _fail(wants_json, "interrupted", "Interrupted", INTERRUPTED)
    except Exception as error:  # never a traceback: one line naming the kind of failure
        if is_disk_full(error):
            full = disk_full()
            return _fail(wants_json, str(full), type(full).__name__, full.exit_code)
        return _fail(wants_json, f"unexpected internal error ({type(error).__name__}); please report it",
                     "InternalError", INTERNAL_ERROR)


def _vault_exists() -> bool:
    try:
        return ops.vault_exists()
    except (OSError, ValueError):
        return True  # nothing to say about a folder that cannot be looked at


def _say_where_a_new_root_went() -> None:
    """A vault this command made keeps its root in a file (no keychain): say so, on stderr, every time."""
    notice = ops.root_file_notice() if _vault_exists() else None
    if notice:
        print(f"faceseal: note: a new vault was made; {notice}", file=sys.stderr)


def _check_utf8(argv: Sequence[str]) -> None:
    """Refuse arguments that are not UTF-8 (Python hands them over with surrogate escapes)."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError("a command-line argument is not valid UTF-8 text; give names and paths "
                             "in UTF-8") from None


def _fail(wants_json: bool, message: str, kind: str, code: int) -> int:
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")  # printable whatever it holds
    print(f"faceseal: error: {message}", file=sys.stderr)
    if wants_json:
        print(json.dumps({"error": message, "kind": kind}))
        sys.stdout.flush()
    return code


def _output_closed() -> int:
    """Standard output's reader went away: stop quietly (no traceback, no second line)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the flush at exit must not fail again
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return OUTPUT_CLOSED


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """Keep libraries' warnings and native log lines off the person's stderr while a command runs."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(0)
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"), _native_stderr_to_null():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _native_stderr_to_null() -> Iterator[None]:
    """Point file descriptor 2 at the null device, and Python's ``sys.stderr`` at the real stderr.

    Only when ``sys.stderr`` is the process's own (a caller that captures it keeps it).
    """
    real = sys.stderr
    try:
        usable = real is sys.__stderr__ and real is not None and real.fileno() == 2
    except (OSError, ValueError, AttributeError):
        usable = False
    if not usable:
        yield
        return
    real.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    ours = open(saved, "w", buffering=1, encoding=real.encoding or "utf-8", errors="backslashreplace",
                closefd=False)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = ours
    try:
        yield
    finally:
        try:
            ours.flush()
        except OSError:
            pass
        sys.stderr = real
        os.dup2(saved, 2)
        os.close(saved)
        ours.close()


if __name__ == "__main__":
    sys.exit(main())
