"""The ``faceseal`` entry point: the window when there is a screen and no command (or only ``--theme``), else the
command line.

The command line itself lives in :mod:`edge_core.cli` and knows nothing of Qt;
this launcher adds the one command that needs the window (``self-test``, which
opens it) and opens the window for a bare ``faceseal``.
"""

from __future__ import annotations

import sys

from edge_core.cli.main import Extra
from edge_core.cli.main import main as cli_main
from edge_core.support.hardening import harden_process

from . import selftest
from .display import NO_SCREEN, cannot_start, opens_window, window_parser


EXTRA: list[Extra] = [("self-test", selftest.command,
                        "check this installation (vault, models, window) in a throw-away folder; "
                        "never touches your data")]
"""The commands the launcher adds to the command line (the man page is generated from both)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if opens_window(argv):
        window_parser().parse_args(argv)  # anything but the window's options: one line and exit 2
        try:
            from .main import main as open_window  # Qt loads only when the window opens
        except ImportError as error:  # Qt, or a library it links, cannot be loaded on this system
            return cannot_start(error)
        return open_window(argv)
    if not argv:  # the window was wanted, and there is no screen: say why the status comes instead
        print(NO_SCREEN, file=sys.stderr, flush=True)
    return cli_main(argv, extra=EXTRA)


def run() -> int:
    """The ``faceseal`` program: the process hardened first, the window's too (edge_core/support/hardening.py: no
    core file, no reading of its memory by the user's other processes), then :func:`main`. Tests call ``main`` in
    their own process, which is not theirs to make undumpable."""
    harden_process()
    return main()


if __name__ == "__main__":
    sys.exit(run())
