"""Liveness: is the face in front of the camera a live person, not a photo or a screen?

A live verification asks for a short random sequence of head movements
(``challenges``), follows one face through it (``tracking``), measures its
head pose from the 5 landmarks (``pose``), weighs passive signals of a
presentation attack into one risk score (``passive``), and runs all of it over
a frame source (``session``). ``verification`` ties the outcome to the vault:
the audit log, the lockout and the policy. docs/LIVENESS.md says what this
defends against and what it does not.
"""

from .challenges import Challenge, Targets, Timing, draw_sequence
from .result import LivenessResult, Progress, Refusal
from .session import run_session

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
