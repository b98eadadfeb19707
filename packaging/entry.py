"""The frozen program's entry point: exactly the ``faceseal`` console script.

PyInstaller needs a script, not a ``module:function`` entry point; this is it.
"""

import sys

from app.launcher import main

sys.exit(main())
