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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in annotations: measuring them needs OpenCV, which the challenges' words do not
    from edge_core.liveness.expression import Expression
    from edge_core.liveness.pose import PoseChange


class Challenge(enum.Enum):
    """One movement to perform, with the words shown to the person."""

    TURN_LEFT = "turn your head to your left"
    TURN_RIGHT = "turn your head to your right"
    LOOK_UP = "look up"
    LOOK_DOWN = "look down"
    COME_CLOSER = "come closer to the camera"
    BLINK = "blink"
    OPEN_MOUTH = "open your mouth"
    SMILE = "smile"

    @property
    def prompt(self) -> str:
        return self.value[:1].upper() + self.value[1:]

    @property
    def code(self) -> str:
        """The stable name used in JSON and the audit log."""
        return self.name.lower()


TURNS = (Challenge.TURN_LEFT, Challenge.TURN_RIGHT)
HEAD_MOVES = (*TURNS, Challenge.LOOK_UP, Challenge.LOOK_DOWN)
"""Rotations of the head: the nose moves against the eyes by parallax, which a flat picture cannot do."""
NON_RIGID = (Challenge.BLINK, Challenge.OPEN_MOUTH)
"""Movements of a part of the face: a rigid photo, however it is moved, cannot do them."""


def _rng(seed: int | None) -> random.Random:
    return secrets.SystemRandom() if seed is None else random.Random(seed)


def draw_sequence(seed: int | None = None) -> tuple[Challenge, ...]:
    """2 or 3 different challenges in random order: always one head rotation and one blink or open mouth.

    The rotation is what a flat picture cannot fake by parallax; the blink or
    the open mouth is what a rigid picture cannot do at all, however it is
    bent or moved. The third, when there is one, is any other challenge.
    ``seed`` is for tests over video files only.
    """
    rng = _rng(seed)
    count = rng.choice((2, 3))
    sequence = [rng.choice(HEAD_MOVES), rng.choice(NON_RIGID)]
    if count == 3:
        sequence.append(rng.choice([c for c in Challenge if c not in sequence]))
    rng.shuffle(sequence)
    return tuple(sequence)


def draw_extra(asked: tuple[Challenge, ...], seed: int | None = None) -> Challenge:
    """One more challenge for a step-up, not among ``asked`` (from ``secrets`` unless a test seeds it).

    "Come closer" is left out: a face that already came closer cannot do it
    again within the frame.
    """
    rng = _rng(None if seed is None else seed + 7919)
    return rng.choice([c for c in Challenge if c not in asked and c is not Challenge.COME_CLOSER])


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
    blink_seconds: float = 1.0
    """A blink: both eyes closed, then open again, within this (longer is closing the eyes, not blinking)."""


@dataclass(frozen=True)
class Targets:
    """How far a movement must go, relative to the person's own face at the start.

    Head rotations are degrees of ``pose.measure`` (solvePnP). A photo turned
    by 29 degrees in the hand, or rotated in its plane, changed yaw and pitch
    by at most 3 degrees in our measurements; a synthetic head turned by 31
    degrees by 18 (docs/LIVENESS.md). Eyes and mouth are relative to the
    person's own resting face from the first frames (``expression.baseline``).
    """

    turn: float = 12.0
    look: float = 10.0
    closer: float = 1.25
    """Growth of the eye distance while the challenge is asked (the face came this much closer)."""
    neutral: float = 7.0
    """Back to frontal: yaw and pitch within this many degrees of the start."""
    eyes_closed: float = 0.7
    """A blink's closed frame: both eyes' aspect ratio at most this share of their open value."""
    eyes_open: float = 0.85
    """And open again: both back to at least this share."""
    mouth_open: float = 0.18
    """Open mouth: the lips' gap over the mouth's width grew by this much (about 0 with lips together)."""
    smile: float = 1.1
    """Smile: the mouth's width over the eye distance grew by this factor."""
    hold_frames: int = 2
    """Consecutive frames a movement must be held to count (one noisy frame never does)."""

    def reached(self, challenge: Challenge, change: PoseChange, face: Expression | None = None,
                rest: Expression | None = None) -> bool:
        """Whether ``change`` (and the face ``face`` against its resting ``rest``) performs ``challenge``.

        Turning left moves the nose to the image's right (yaw > 0). A blink is
        a transition, not a pose: the session follows it over frames, so here
        it is never reached.
        """
        if challenge in HEAD_MOVES or challenge is Challenge.COME_CLOSER:
            return {
                Challenge.TURN_LEFT: change.yaw >= self.turn,
                Challenge.TURN_RIGHT: change.yaw <= -self.turn,
                Challenge.LOOK_UP: change.pitch >= self.look,
                Challenge.LOOK_DOWN: change.pitch <= -self.look,
                Challenge.COME_CLOSER: change.scale >= self.closer,
            }[challenge]
        if face is None or rest is None:
            return False
        if challenge is Challenge.OPEN_MOUTH:
            return face.mouth_open - rest.mouth_open >= self.mouth_open
        if challenge is Challenge.SMILE:
            return face.mouth_width >= self.smile * rest.mouth_width
        return False

    def wrong_moves(self, asked: Challenge | None, done: set[Challenge], change: PoseChange) -> list[Challenge]:
        """Head movements made that were not asked for (yet): the replay check; ``asked`` None: none is.

        Turns always count. A nod counts only while the head faces forward;
        coming closer never counts (a person may stay close), nor do the eyes
        and mouth (people blink and talk unasked).
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
