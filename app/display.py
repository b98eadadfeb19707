"""Whether this process can show a window, and the options the window takes (Qt loads only if it opens)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

THEMES = ("system", "light", "dark")


def has_display() -> bool:
    """Always on macOS; with an X11 or Wayland display elsewhere."""
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def window_parser(prog: str = "faceseal") -> argparse.ArgumentParser:
    """The window's own options: ``faceseal --theme dark`` and ``python -m app --theme dark`` take the same."""
    parser = argparse.ArgumentParser(prog=prog, description="FaceSeal's desktop window.")
    parser.add_argument("--theme", choices=THEMES, default="system", help="the look (default: follow the system)")
    return parser


def opens_window(argv: list[str]) -> bool:
    """Whether ``faceseal ARGV`` means the window: no arguments, or the window's options first, with a screen.

    The command line has no ``--theme``, so it cannot be taken for a command.
    """
    return has_display() and (not argv or argv[0] == "--theme" or argv[0].startswith("--theme="))


NO_SCREEN = ("faceseal: note: no screen to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set), so "
             "here is 'faceseal status' instead; 'faceseal --help' lists the commands")
"""What a bare ``faceseal`` says on stderr where it cannot open the window: the status follows, not the window."""


CANNOT_START = 70
"""The exit status when the window cannot start (EX_SOFTWARE, as for any internal failure)."""


def cannot_start(error: BaseException) -> int:
    """Tell the person why the window did not open, where they will look: the terminal, the journal, and a
    desktop notification (a menu entry has no terminal). The command line still works without Qt."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    message = (f"the window cannot start: {reason}. The command line still works (faceseal --help); "
               "'faceseal self-test' checks this installation")
    print(f"faceseal: {message}", file=sys.stderr, flush=True)
    try:
        import syslog  # the journal's /dev/log on a systemd desktop; dropped quietly where there is none

        syslog.openlog("faceseal", 0, syslog.LOG_USER)
        syslog.syslog(syslog.LOG_ERR, message)
    except (ImportError, OSError):
        pass
    notify = shutil.which("notify-send")
    if notify:
        try:
            subprocess.run([notify, "--app-name=FaceSeal", "--icon=faceseal", "FaceSeal cannot start", message],
                           timeout=5, capture_output=True)
        except (OSError, subprocess.SubprocessError):
            pass
    return CANNOT_START
