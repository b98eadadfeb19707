"""Whether this process can show a window."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """Always on macOS; with an X11 or Wayland display elsewhere."""
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
