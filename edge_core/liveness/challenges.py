"""The challenges a person is asked to perform, how they are drawn, and how long each may take.

The order is drawn per attempt from ``secrets`` so a recording of an earlier
attempt answers the wrong questions. A seed exists only so a test can build a
video answering one exact sequence; the CLI honours it for video files and
never for a camera (docs/LIVENESS.md).

Time limits are seconds on a *timeline*: for a video file the time of frame n
is n / fps (so the limit is a frame budget and tests never depend on the wall
clock); for a camera it is an injectable clock, ``time.monotonic`` by default.
"""

from __future__ import annotations

import enum
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from edge_core.liveness.pose import PoseChange


class Challenge(enum.Enum):
    """One movement to perform, with the words shown to the person."""

    TURN_LEFT = "turn your head to your left"
    TURN_RIGHT = "turn your head to your right"
    LOOK_UP = "look up"
    LOOK_DOWN = "look down"
    COME_CLOSER = "come closer to the camera"

    @property
    def prompt(self) -> str:
        return self.value[:1].upper() + self.value[1:]

    @property
    def code(self) -> str:
        """The stable name used in JSON and the audit log."""
        return self.name.lower()


TURNS = (Challenge.TURN_LEFT, Challenge.TURN_RIGHT)


def draw_sequence(seed: int | None = None) -> tuple[Challenge, ...]:
    """2 or 3 different challenges in random order, always with at least one turn.

    A turn is the movement the 5 landmarks measure best (the nose moves
    against the eyes by parallax, which a flat picture cannot do), so every
    attempt contains one. ``seed`` is for tests over video files only.
    """
    rng: random.Random = secrets.SystemRandom() if seed is None else random.Random(seed)
    count = rng.choice((2, 3))
    turn = rng.choice(TURNS)
    sequence = [turn, *rng.sample([c for c in Challenge if c is not turn], count - 1)]
    rng.shuffle(sequence)
    return tuple(sequence)


@dataclass(frozen=True)
class Timing:
    """Seconds allowed per phase of a session (on the session's timeline)."""

    acquire_seconds: float = 5.0
    """To show one steady frontal face before the first challenge."""
    challenge_seconds: float = 4.0
    """For each challenge, from the moment it is asked."""
    return_seconds: float = 4.0
    """To face the camera again at the end, where the final embedding is taken."""
    settle_seconds: float = 1.0
    """To then hold still facing the camera. A recording made for a longer sequence moves on
    to its next challenge here, which refuses it: without this, a video answering (A, B, C)
    would pass when only (A, B) was asked."""
    lost_seconds: float = 0.75
    """How long the face may be missing (a blink of the detector) before the track is lost."""


@dataclass(frozen=True)
class Targets:
    """How far a movement must go, relative to the person's own frontal pose at the start.

    Yaw and pitch are ``quality.head_pose`` units (nose offset in eye
    distances, nose height between eyes and mouth). A photo turned or tilted
    in the hand moved yaw by at most 0.05 and pitch by at most 0.055 in our
    measurements (docs/LIVENESS.md); a head turned by about 25 degrees by
    0.09 to 0.16.
    """

    turn: float = 0.08
    look: float = 0.06
    closer: float = 1.25
    """Growth of the eye distance while the challenge is asked (the face came this much closer)."""
    neutral: float = 0.05
    """Back to frontal: yaw and pitch within this of the start."""
    hold_frames: int = 2
    """Consecutive frames a movement must be held to count (one noisy frame never does)."""

    def reached(self, challenge: Challenge, change: PoseChange) -> bool:
        """Whether ``change`` performs ``challenge`` (turning left moves the nose to the image's right)."""
        return {
            Challenge.TURN_LEFT: change.yaw >= self.turn,
            Challenge.TURN_RIGHT: change.yaw <= -self.turn,
            Challenge.LOOK_UP: change.pitch <= -self.look,
            Challenge.LOOK_DOWN: change.pitch >= self.look,
            Challenge.COME_CLOSER: change.scale >= self.closer,
        }[challenge]

    def wrong_moves(self, asked: Challenge | None, done: set[Challenge], change: PoseChange) -> list[Challenge]:
        """Movements made that were not asked for (yet): the replay check; ``asked`` None: none is.

        Turns always count. A nod counts only while the head faces forward,
        because turning the head also moves the 5-landmark pitch a little;
        coming closer never counts (a person may stay close).
        """
        forward = abs(change.yaw) <= self.neutral
        candidates = [*TURNS, *((Challenge.LOOK_UP, Challenge.LOOK_DOWN) if forward else ())]
        return [c for c in candidates if c is not asked and c not in done and self.reached(c, change)]

    def neutral_pose(self, change: PoseChange) -> bool:
        return abs(change.yaw) <= self.neutral and abs(change.pitch) <= self.neutral


class Timeline:
    """Seconds since the session started, for frame number ``index``."""

    def __init__(self, fps: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """With ``fps`` (a video file) time is ``index / fps``; without, the clock (a camera)."""
        self.fps = fps if fps and fps > 0 else None
        self._clock = clock
        self._start: float | None = None

    def now(self, index: int) -> float:
        if self.fps is not None:
            return index / self.fps
        if self._start is None:
            self._start = self._clock()
        return self._clock() - self._start
