"""The frozen program's entry point: exactly the ``faceseal`` console script.

PyInstaller needs a script, not a ``module:function`` entry point; this is it. ``faceseal pam-helper`` is the
``faceseal-pam`` console script of a source install (one frozen program serves both).
"""

import sys

if sys.argv[1:2] == ["pam-helper"]:  # /usr/bin/faceseal-pam: the PAM helper, before anything heavy is imported
    from edge_core.agent.pam import main as pam_helper

    sys.exit(pam_helper(sys.argv[2:]))

from app.launcher import run

sys.exit(run())
