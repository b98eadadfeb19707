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
"""

from edge_core.liveness.bands import Band, RiskBands, enforce
from edge_core.liveness.challenges import Challenge, Targets, Timing, draw_sequence
from edge_core.liveness.result import LivenessResult, Progress, Refusal
from edge_core.liveness.session import run_session

__all__ = [
    "Band",
    "Challenge",
    "LivenessResult",
    "Progress",
    "Refusal",
    "RiskBands",
    "Targets",
    "Timing",
    "draw_sequence",
    "enforce",
    "run_session",
]
