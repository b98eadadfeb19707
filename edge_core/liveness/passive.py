"""Passive signals of a presentation attack, and the one risk score they make.

Each signal is a score from 0 (nothing suspicious) to 1 (this alone is
enough to refuse), computed over the frames of the track:

* ``frozen``: the share of consecutive frames whose aligned face differs by
  less than half a grey level on average *and* whose landmarks moved less
  than a quarter pixel. A live camera's sensor noise alone is more than that;
  an injected still image or a looped frame is not. Score = share / 0.5.
* ``flat``: the face moved (its eyes and mouth corners travelled at least a
  quarter eye distance) but the nose never left the position a flat picture
  would give it (``pose.parallax``, second largest over the track, so one bad
  landmark cannot decide). Parallax <= 0.04 eye distances scores 1, >= 0.08
  scores 0, linear between; scaled down while the face barely moved.
* ``size``: the share of frames where the face, seen through a typical
  webcam (60 degrees horizontal field of view, 63 mm between the eyes),
  would be closer than 0.2 m or farther than 1.5 m. Without a depth camera
  the distance is only *implied* by the size, so this refuses faces that fit
  no plausible distance, not a wrong size at a measured distance (that needs
  a depth sensor or model: plug one in as an ``AttackModel``). Score = share / 0.5.
* ``identity``: the lowest cosine between the embeddings of consecutive
  tracked frames. 0.6 or more scores 0, 0.4 or less scores 1 (different
  people score about 0 to 0.45 with the open pack).
* any ``AttackModel`` given to the session (none ships: see docs/LIVENESS.md).

The risk combines them as independent pieces of evidence (noisy OR):
``risk = 1 - prod(1 - score)``. An attempt is refused when ``risk >= 0.5``,
naming the strongest signal; so one decisive signal, or two halfway ones,
refuse.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge_core.biometrics import Face
from edge_core.liveness.pose import parallax, plane_motion
from edge_core.liveness.result import Refusal
from edge_core.liveness.tracking import TrackPoint

RISK_LIMIT = 0.5

FROZEN_GREY = 0.5
FROZEN_PIXELS = 0.25
FLAT_PARALLAX = (0.04, 0.08)
FLAT_MIN_MOTION = 0.25
FIELD_OF_VIEW_DEGREES = 60.0
EYE_DISTANCE_M = 0.063
PLAUSIBLE_DISTANCE_M = (0.2, 1.5)
IDENTITY_COSINE = (0.4, 0.6)


class AttackModel(Protocol):
    """A model-based presentation-attack detector (screen moire, print texture, depth): the extension point.

    The session shows it every tracked frame, then asks for its score (0..1),
    which joins the risk like any other signal.
    """

    name: str

    def observe(self, image: np.ndarray, face: Face) -> None: ...

    def score(self) -> float: ...


@dataclass(frozen=True)
class Signal:
    name: str
    score: float
    measured: str
    """What ``value`` is: "frozen_share", "parallax", "implausible_share", "lowest_similarity", ..."""
    value: float
    refusal: Refusal


@dataclass(frozen=True)
class Assessment:
    risk: float
    signals: tuple[Signal, ...]

    @property
    def refused(self) -> bool:
        return self.risk >= RISK_LIMIT

    @property
    def strongest(self) -> Signal:
        return max(self.signals, key=lambda s: s.score)


def _ramp(value: float, zero_at: float, one_at: float) -> float:
    """0 at ``zero_at``, 1 at ``one_at``, linear between, clipped."""
    return float(min(1.0, max(0.0, (value - zero_at) / (one_at - zero_at))))


def _pairs(points: Sequence[TrackPoint]) -> list[tuple[TrackPoint, TrackPoint]]:
    return list(zip(points, points[1:]))


def frozen(points: Sequence[TrackPoint]) -> Signal:
    pairs = _pairs(points)
    still = sum(
        1 for a, b in pairs
        if np.abs(a.grey.astype(np.int16) - b.grey).mean() < FROZEN_GREY
        and np.abs(a.landmarks - b.landmarks).max() < FROZEN_PIXELS
    )
    share = still / len(pairs) if pairs else 0.0
    return Signal("frozen", _ramp(share, 0.0, 0.5), "frozen_share", share, Refusal.FROZEN)


def flat(points: Sequence[TrackPoint]) -> Signal:
    reference = points[0].landmarks
    rest = points[1:] or points
    depth = sorted(parallax(reference, p.landmarks) for p in rest)
    second_largest = depth[-2] if len(depth) > 1 else depth[-1]
    moved = max(plane_motion(reference, p.landmarks) for p in rest)
    low, high = FLAT_PARALLAX
    score = _ramp(second_largest, high, low) * _ramp(moved, 0.0, FLAT_MIN_MOTION)
    return Signal("flat", score, "parallax", second_largest, Refusal.FLAT)


def implied_distance(eye_distance: float, frame_width: int) -> float:
    """Metres to a face whose eyes are ``eye_distance`` pixels apart, through a typical webcam."""
    focal = (frame_width / 2) / math.tan(math.radians(FIELD_OF_VIEW_DEGREES) / 2)
    return focal * EYE_DISTANCE_M / eye_distance


def size(points: Sequence[TrackPoint]) -> Signal:
    near, far = PLAUSIBLE_DISTANCE_M
    off = sum(1 for p in points if not near <= implied_distance(p.pose.eye_distance, p.frame_width) <= far)
    share = off / len(points)
    return Signal("size", _ramp(share, 0.0, 0.5), "implausible_share", share, Refusal.SIZE)


def identity(points: Sequence[TrackPoint]) -> Signal:
    pairs = _pairs(points)
    lowest = min((float(a.embedding @ b.embedding) for a, b in pairs), default=1.0)
    low, high = IDENTITY_COSINE
    return Signal("identity", _ramp(lowest, high, low), "lowest_similarity", lowest, Refusal.IDENTITY_JUMP)


def assess(points: Sequence[TrackPoint], models: Sequence[AttackModel] = ()) -> Assessment:
    """Every signal over the track, and the risk they combine into (see the module docstring)."""
    if not points:
        return Assessment(0.0, ())
    signals = [frozen(points), flat(points), size(points), identity(points)]
    for model in models:
        score = float(min(1.0, max(0.0, model.score())))
        signals.append(Signal(model.name, score, f"{model.name}_score", score, Refusal.ATTACK_MODEL))
    risk = 1.0 - float(np.prod([1.0 - s.score for s in signals]))
    return Assessment(risk, tuple(signals))
