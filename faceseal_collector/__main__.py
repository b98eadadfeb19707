"""``python -m faceseal_collector``: the same as ``faceseal-collector``."""

import sys

from faceseal_collector.cli import main

sys.exit(main())
