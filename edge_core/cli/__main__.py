"""``python -m edge_core.cli``: the command line alone (no window, no self-test; ``faceseal`` adds those)."""

import sys

from .main import run

sys.exit(run())
