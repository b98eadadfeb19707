"""``python -m app`` opens the window, like ``faceseal`` with no arguments."""

import sys

from .main import main

sys.exit(main())
