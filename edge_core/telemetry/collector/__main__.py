"""``python -m edge_core.telemetry.collector``: the same as ``faceseal-collector``."""

import sys

from .cli import main

sys.exit(main())
