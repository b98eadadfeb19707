"""Liveness: is the face in front of the camera a live person, not a photo or a screen?

A live verification asks for a short random sequence of head movements
(``challenges``), follows one face through it (``tracking``), measures its
head pose from the 5 landmarks (``pose``), weighs passive signals of a
presentation attack into one risk score (``passive``), and runs all of it over
a frame source (``session``); ``check`` runs one session the same way for
every front end. What an outcome means for a verification (lockout, audit,
policy) is the use cases' business (``edge_core.ops``). docs/LIVENESS.md says
what this defends against and what it does not.
"""

from edge_core.liveness.challenges import Challenge, Targets, Timing, draw_sequence
from edge_core.liveness.result import LivenessResult, Progress, Refusal
from edge_core.liveness.session import run_session

__all__ = [
    "Challenge",
    "LivenessResult",
    "Progress",
    "Refusal",
    "Targets",
    "Timing",
    "draw_sequence",
    "run_session",
]
