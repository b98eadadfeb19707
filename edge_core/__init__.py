"""FaceSeal's core: everything that is not the window.

The command line (``edge_core.cli``), the local admin API
(``edge_core.adminapi``) and the Qt window (``app/``) all call the same use
cases (``edge_core.ops``), so they can never disagree about what an operation
does or which rule applies. docs/ARCHITECTURE.md draws the layers.
"""

__version__ = "0.1.0"
