"""FaceSeal's core: everything that is not UI.

The Qt app (``app/``) and the command line (``edge_core.cli``) both call this
package, so the two can never disagree about what an operation does.
"""

__version__ = "0.1.0"
