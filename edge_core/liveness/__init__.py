"""Liveness: is the face in front of the camera a live person, not a photo or a screen?

A live verification asks for a short random sequence of challenges (head
rotations, a blink, an open mouth, a smile: ``challenges``), follows one face
through it on the 468-point face mesh (``tracking``, ``mesh``), measures its
head pose by solvePnP (``pose``) and its eyes and mouth (``eyes``,
``expression``), weighs passive signals of a presentation attack (``texture``,
``passive``) into one risk score whose band (``bands``) passes, refuses or
asks for one more challenge, and runs all of it over a frame source
(``session``); ``check`` runs one session the same way for every front end.
What an outcome means for a verification (lockout, audit,
policy) is the use cases' business (``edge_core.ops``). docs/LIVENESS.md says
what this defends against and what it does not.

Each name below is imported from its module on first use
(:mod:`edge_core.support.lazy`): the result types the use cases return do not
bring OpenCV and onnxruntime with them (issue 28).
"""

from typing import TYPE_CHECKING

from edge_core.support import lazy

if TYPE_CHECKING:  # never run: named for the tools that read imports without running them (PyInstaller's bundle)
    from edge_core.liveness import bands, challenges, result, session  # noqa: F401

_MODULES = {
    "bands": ("Band", "RiskBands", "enforce"),
    "challenges": ("Challenge", "Targets", "Timing", "draw_sequence"),
    "result": ("LivenessResult", "Progress", "Refusal"),
    "session": ("run_session",),
}
__getattr__, __dir__, __all__ = lazy.exports(__name__, _MODULES)
