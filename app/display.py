"""Whether this process can show a window, and the options the window takes (Qt loads only if it opens)."""

from __future__ import annotations

import argparse
import os
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
