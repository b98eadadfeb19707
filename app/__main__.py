"""``python -m app`` opens the window, like ``faceseal`` with no arguments."""

import sys

from app.main import main

sys.exit(main())
