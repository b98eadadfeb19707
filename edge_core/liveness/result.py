"""What a liveness session reports: live progress for a UI, and the final result with its reason."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge_core.liveness.challenges import Challenge


class Refusal(enum.Enum):
    """Why an attempt was not accepted as live, worded for the person in front of the camera."""

    NO_FACE = "no steady frontal face was seen: look straight at the camera"
    FACE_COVERED = ("a face was seen, but not its features: the lower face is covered (a mask?); uncover it "
                    "and look straight at the camera")
    MANY_FACES = "more than one face was in view: only the person verifying may be in front of the camera"
    FACE_LOST = "the face left the picture during the check"
    TRACK_BROKEN = "the face jumped to another place in the picture: it is not the same face"
    TIMEOUT = "the movement was not done in time"
    WRONG_MOVE = "a different movement was made than the one asked for"
    NOT_FRONTAL_AGAIN = "the face did not look at the camera again at the end"
    SOURCE_ENDED = "the picture ended before the check was finished"
    CHANGED_FACE = "the face at the end is not the face at the start"
    FROZEN = "the picture is frozen: the same frame over and over"
    FLAT = "the face moves like a flat picture, not like a head"
    SIZE = "the face is too small for a real head at any usual distance"
    IDENTITY_JUMP = "the face changed into another person's during the check"
    FLAT_DEPTH = "the face has no depth of its own as it moves: a flat or bent picture"
    MOIRE = "the face shows the stripes of a screen's pixel grid (moire)"
    BORDER = "straight edges frame the face, like a phone's bezel or a photo's edge"
    NO_BLINK = "the eyes never blinked"
    STEP_UP_FAILED = "the risk stayed too high even after one more challenge"
    RISK_ABOVE_POLICY = "the risk is higher than the policy accepts"
    ATTACK_MODEL = "a presentation-attack detector flagged the picture"

    @property
    def code(self) -> str:
        """The stable name used in JSON and the audit log."""
        return self.name.lower()


@dataclass(frozen=True)
class Progress:
    """Sent for every frame so a UI can show the prompt and a progress ring."""

    prompt: str
    step: int
    """1-based: 1 is 'look at the camera', then one per challenge, then 'look at the camera' again."""
    steps: int
    fraction: float
    """0..1 over the whole session."""
    challenge: Challenge | None
    label: str
    """The frame's label ("frame 12")."""


@dataclass(frozen=True)
class LivenessResult:
    """The outcome. ``embedding`` (the start's frontal face, unit norm) is set only when ``passed``."""

    passed: bool
    refusal: Refusal | None
    reason: str
    """One sentence: why it passed, or why not (naming the challenge when one was missed)."""
    risk: float
    """The passive risk score that decided, 0 (looks live) to 1 (looks like an attack); see ``passive``. After
    an answered step-up challenge it leaves out the doubts that challenge settled."""
    signals: dict[str, float]
    """Each passive signal's score, 0..1."""
    challenges: tuple[Challenge, ...]
    completed: int
    """How many challenges were done."""
    frames: int
    evidence: dict[str, float] = field(default_factory=dict)
    """The measurements behind the decision (start/end similarity, largest parallax, ...)."""
    embedding: np.ndarray | None = field(default=None, repr=False)
    end_embedding: np.ndarray | None = field(default=None, repr=False)
    """The frontal face after the challenges (the look-again phase), set only when ``passed``: face sign-in matches
    both, so an attempt is judged on two faces seconds apart, not one frame."""
    band: str = "low"
    """Where ``risk`` fell: "low" (passes), "middle" (one more challenge was asked), "high" (refused)."""
    stepped_up: bool = False
    """Whether one more challenge was asked because the risk was in the middle band."""

    def as_dict(self) -> dict[str, Any]:
        """For ``--json`` and the UI: no embedding, no image."""
        return {
            "passed": self.passed,
            "reason": self.reason,
            "refusal": self.refusal.code if self.refusal else None,
            "risk": round(self.risk, 3),
            "band": self.band,
            "stepped_up": self.stepped_up,
            "signals": {k: round(v, 3) for k, v in self.signals.items()},
            "challenges": [c.code for c in self.challenges],
            "completed": self.completed,
            "frames": self.frames,
            "evidence": {k: round(v, 4) for k, v in self.evidence.items()},
        }
