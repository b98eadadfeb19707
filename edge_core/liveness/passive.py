"""Passive signals of a presentation attack, and the one risk score they make.

Each signal is a score from 0 (nothing suspicious) to 1 (this alone is
enough to refuse), computed over the frames of the track:

* ``frozen``: the share of consecutive frames whose aligned face differs by
  less than half a grey level on average *and* whose landmarks moved less
  than a quarter pixel. A live camera's sensor noise alone is more than that;
  an injected still image or a looped frame is not. Score = share / 0.5.
* ``flat``: the head turned or nodded (its solvePnP pose changed by at least
  ``ROTATED_DEGREES`` from the first frame) but the nose never left the
  position a flat picture would give it (``pose.parallax``, second largest
  over those *rotated* frames, so one bad landmark cannot decide). Parallax
  <= 0.04 eye distances scores 1, >= 0.08 scores 0, linear between. Without
  two rotated frames it is **not judged** (score 0, with a note saying so): on
  a nearly still head the mesh's jitter is all the parallax there is (issue
  33: a live man sitting still scored 0.54, the replay of him 0.36), so
  stillness is no evidence either way. A picture moved in the hand turns the
  pose by 7 degrees at most (``ROTATED_DEGREES``), so it is not judged either:
  the challenges, which it cannot answer, are what stop it.
* ``size``: the share of frames where the face would be farther than 1.5 m
  even through the widest common camera (90 degrees horizontal field of
  view, 63 mm between the eyes): too small for a head at any usual distance.
  The camera's field of view is not known, so a *large* face is never
  suspicious: a phone's front camera or a close webcam shows a live face
  larger than a 60-degree webcam would at 0.2 m (issue 33: eyes 114 pixels
  apart in a 368-pixel frame). Without a depth camera the distance is only
  *implied* by the size, so this refuses faces that fit no plausible
  distance, not a wrong size at a measured distance (that needs a depth
  sensor or model: plug one in as an ``AttackModel``). Score = share / 0.5.
* ``identity``: the lowest cosine between the embeddings of consecutive
  *sharp* tracked frames: those passing the enrolment gate's sharpness
  (``QualityGates.min_sharpness``, the variance of the Laplacian of the
  aligned face). A motion-blurred frame embeds as nobody in particular (a
  real clip's fast turn fell to 0.26), so it is left out, and the frames on
  either side of it are compared instead. 0.6 or more scores 0, 0.4 or less
  scores 1 (different people score about 0 to 0.45 with the open pack).
* ``depth``: the mesh-wide form of ``flat``. A homography fitted to all 468
  points from the first frame to each later one takes away whatever a flat
  (or evenly bent) picture can do; what is left of the points' motion is
  regressed on the mesh's depth (z). A head that turns leaves a residual
  that follows its depth (the nose moves most); a photo leaves none, and a
  print bent in the hand leaves one that follows the bend, not the face.
  Why not simply the spread of the mesh's z: the model infers z from how a
  face *looks*, so a photo of a face gets a face's depth; only motion shows
  real depth. The measure is that depth-explained residual in eye distances
  (second largest over the rotated frames): <= 0.02 scores 1, >= 0.04
  scores 0; not judged without two rotated frames, as for ``flat``.
* ``moire``: the median over the track of ``texture.moire`` (spectral peak
  prominence over the face): <= 3.3 scores 0, >= 4.3 scores ``DOUBT_WEIGHT``.
  A *doubt* (below): on real recordings (issue 33) real screens filmed by
  real cameras measured 2.31 to 2.43 and live faces 2.32 to 2.40; only our
  simulated screens reach 3.6.
* ``border``: the share of frames in which straight edges run beside the
  face on at least 2 sides (``texture.border``: a bezel or a paper edge).
  A doubt: rooms have straight edges too (a window frame scored 0.26 on a
  live clip, a bezel 0.45 on replays).
* ``no_blink``: the longest stretch, in seconds, without a frame whose eyes
  are both closed (aspect ratio <= 0.7 of the person's open value, the
  track's 90th percentile). People blink every few seconds; a picture never
  does. <= 10 s scores 0, >= 20 s scores ``DOUBT_WEIGHT``. A doubt: a
  person may stare.
* any ``AttackModel`` given to the session (``attack.TrackedAntiSpoof``, off by default: docs/LIVENESS.md).

A *doubt* is a signal that does not separate live people from attacks on
real media: it may ask for one more challenge, never refuse alone. It
scores at most ``DOUBT_WEIGHT`` (0.45), several doubts count as the largest
of them (they are one reason to look again, not independent evidence), and
once the step-up challenge has been answered they no longer count
(``Assessment.settled``). A high band needs a firm signal outside the low
band (``Assessment.band``), whatever the policy's thresholds.

The risk combines the firm signals and the largest doubt as independent
pieces of evidence (noisy OR): ``risk = 1 - (1 - doubt) * prod(1 - firm)``,
and falls in one of three bands (``RiskBands``, the thresholds from the
policy file): below ``low`` the attempt passes, at or above ``high`` it is
refused, between them the session asks for one more random challenge, once,
and then passes only when the settled risk (without the doubts) is below
``low``. The refusal names the strongest signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import cv2
import numpy as np

from edge_core.biometrics import Face
from edge_core.biometrics.quality import QualityGates, sharpness
from edge_core.liveness.bands import Band, RiskBands
from edge_core.liveness.pose import parallax
from edge_core.liveness.result import Refusal
from edge_core.liveness.tracking import TrackPoint


FROZEN_GREY = 0.5
FROZEN_PIXELS = 0.25
FLAT_PARALLAX = (0.04, 0.08)
ROTATED_DEGREES = 10.0
"""The pose change (yaw or pitch, from the track's first frame) from which a frame shows depth by parallax:
the smaller of the head-rotation challenges' targets (``challenges.Targets``: look 10, turn 12), so a head that
answered one always has such frames. Measured: a print slid, rotated, zoomed, bent or turned in the hand, and a
phone screen, 2.9 to 6.8 degrees; the synthetic heads at 10 degrees showed parallax 0.11 to 0.14 and depth
0.028 to 0.039 (docs/LIVENESS.md)."""
NOT_TURNED = "not judged: the head did not turn"
WIDEST_FIELD_OF_VIEW_DEGREES = 90.0
"""The widest horizontal field of view of common webcams and phone front cameras: through it a face looks
smallest, so a face farther than ``FARTHEST_M`` even so is too small for a head at any usual distance."""
EYE_DISTANCE_M = 0.063
FARTHEST_M = 1.5
IDENTITY_COSINE = (0.4, 0.6)
IDENTITY_SHARPNESS = QualityGates().min_sharpness
"""Frames below the enrolment gate's sharpness are too blurred to embed as anyone: ``identity`` skips them."""
DEPTH_PARALLAX = (0.02, 0.04)
MOIRE_PROMINENCE = (3.3, 4.3)
BORDER_SIDES = 2
DOUBT_WEIGHT = 0.45
"""The most a doubt (a signal that does not separate live from attack) scores: below the default high band
(0.6), so alone it asks for one more challenge."""
EYES_CLOSED = 0.7
NO_BLINK_SECONDS = (10.0, 20.0)


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
    doubt: bool = False
    """A signal that does not separate live from attack: it may ask for one more challenge, never refuse alone."""
    note: str = ""
    """Why the signal gave no evidence, when it could not judge (``NOT_TURNED``); empty when it judged."""


def _combined(signals: Sequence[Signal]) -> float:
    """Noisy OR of the firm signals and the largest doubt."""
    doubt = max((s.score for s in signals if s.doubt), default=0.0)
    return 1.0 - (1.0 - doubt) * float(np.prod([1.0 - s.score for s in signals if not s.doubt]))


@dataclass(frozen=True)
class Assessment:
    risk: float
    signals: tuple[Signal, ...]

    def band(self, bands: RiskBands) -> Band:
        """The risk's band; high only when the firm signals alone are not low (a doubt never refuses alone)."""
        band = bands.band(self.risk)
        if band is Band.HIGH and bands.band(self.settled.risk) is Band.LOW:
            return Band.MIDDLE
        return band

    @property
    def settled(self) -> Assessment:
        """The assessment once one more challenge was answered: the doubts no longer count."""
        firm = tuple(s if not s.doubt else replace(s, score=0.0) for s in self.signals)
        return Assessment(_combined(firm), firm)

    def without(self, names: Sequence[str]) -> Assessment:
        """The assessment had the signals ``names`` not been measured (an attack model switched off)."""
        kept = tuple(s for s in self.signals if s.name not in names)
        return Assessment(_combined(kept), kept)

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


def _rotation(reference: TrackPoint, point: TrackPoint) -> float:
    """Degrees the head turned or nodded since ``reference`` (the larger of the yaw and pitch changes)."""
    return max(abs(point.pose.yaw - reference.pose.yaw), abs(point.pose.pitch - reference.pose.pitch))


def _over_rotated_frames(name: str, points: Sequence[TrackPoint], measure: Callable[[TrackPoint, TrackPoint], float],
                         measured: str, threshold: tuple[float, float], refusal: Refusal) -> Signal:
    """A parallax signal: ``measure`` (reference, frame), second largest over the frames rotated by at least
    ``ROTATED_DEGREES``, scoring 1 at ``threshold[0]`` or less and 0 at ``threshold[1]`` or more; not judged
    (score 0, the largest rotation as its value) with fewer than two such frames."""
    reference = points[0]
    rotations = [_rotation(reference, p) for p in points[1:]]
    rotated = [p for p, degrees in zip(points[1:], rotations) if degrees >= ROTATED_DEGREES]
    if len(rotated) < 2:
        return Signal(name, 0.0, "largest_rotation_degrees", max(rotations, default=0.0), refusal, note=NOT_TURNED)
    second_largest = sorted(measure(reference, p) for p in rotated)[-2]
    low, high = threshold
    return Signal(name, _ramp(second_largest, high, low), measured, second_largest, refusal)


def flat(points: Sequence[TrackPoint]) -> Signal:
    return _over_rotated_frames("flat", points, lambda a, b: parallax(a.landmarks, b.landmarks), "parallax",
                                FLAT_PARALLAX, Refusal.FLAT)


def implied_distance(eye_distance: float, frame_width: int,
                     field_of_view: float = WIDEST_FIELD_OF_VIEW_DEGREES) -> float:
    """Metres to a face whose eyes are ``eye_distance`` pixels apart, through a camera of ``field_of_view`` degrees.

    By default the widest common camera: the nearest the face can be for its size.
    """
    focal = (frame_width / 2) / math.tan(math.radians(field_of_view) / 2)
    return focal * EYE_DISTANCE_M / eye_distance


def size(points: Sequence[TrackPoint]) -> Signal:
    off = sum(1 for p in points if implied_distance(p.pose.eye_distance, p.frame_width) > FARTHEST_M)
    share = off / len(points)
    return Signal("size", _ramp(share, 0.0, 0.5), "implausible_share", share, Refusal.SIZE)


def identity(points: Sequence[TrackPoint]) -> Signal:
    pairs = _pairs([p for p in points if sharpness(p.aligned) >= IDENTITY_SHARPNESS])
    lowest = min((float(a.embedding @ b.embedding) for a, b in pairs), default=1.0)
    low, high = IDENTITY_COSINE
    return Signal("identity", _ramp(lowest, high, low), "lowest_similarity", lowest, Refusal.IDENTITY_JUMP)


def _depth_parallax(reference: TrackPoint, point: TrackPoint) -> float:
    """The part of the mesh's motion since ``reference`` that its depth explains, in eye distances."""
    source, target = reference.mesh.points, point.mesh.points
    plane, _ = cv2.findHomography(source[:, :2], target[:, :2], 0)
    if plane is None:
        return 0.0
    residual = target[:, :2] - cv2.perspectiveTransform(source[None, :, :2], plane)[0]
    depth = source[:, 2] - source[:, 2].mean()
    along = depth @ residual / float(depth @ depth or 1.0)
    return float(np.linalg.norm(along) * depth.std()) / point.mesh.eye_distance


def depth(points: Sequence[TrackPoint]) -> Signal:
    return _over_rotated_frames("depth", points, _depth_parallax, "depth_parallax", DEPTH_PARALLAX,
                                Refusal.FLAT_DEPTH)


def moire(points: Sequence[TrackPoint]) -> Signal:
    value = float(np.median([p.moire for p in points]))
    return Signal("moire", DOUBT_WEIGHT * _ramp(value, *MOIRE_PROMINENCE), "moire_prominence", value,
                  Refusal.MOIRE, doubt=True)


def border(points: Sequence[TrackPoint]) -> Signal:
    share = sum(1 for p in points if p.border >= BORDER_SIDES) / len(points)
    return Signal("border", DOUBT_WEIGHT * _ramp(share, 0.0, 0.5), "border_share", share, Refusal.BORDER,
                  doubt=True)


def no_blink(points: Sequence[TrackPoint]) -> Signal:
    right = float(np.percentile([p.expression.right_eye for p in points], 90))
    left = float(np.percentile([p.expression.left_eye for p in points], 90))
    closed = [p.time for p in points
              if p.expression.right_eye <= EYES_CLOSED * right and p.expression.left_eye <= EYES_CLOSED * left]
    marks = [points[0].time, *closed, points[-1].time]
    longest = max(b - a for a, b in zip(marks, marks[1:]))
    return Signal("no_blink", DOUBT_WEIGHT * _ramp(longest, *NO_BLINK_SECONDS), "seconds_without_blink",
                  longest, Refusal.NO_BLINK, doubt=True)


def assess(points: Sequence[TrackPoint], models: Sequence[AttackModel] = ()) -> Assessment:
    """Every signal over the track, and the risk they combine into (see the module docstring)."""
    if not points:
        return Assessment(0.0, ())
    signals = [frozen(points), flat(points), depth(points), size(points), identity(points), moire(points),
               border(points), no_blink(points)]
    for model in models:
        score = float(min(1.0, max(0.0, model.score())))
        signals.append(Signal(model.name, score, f"{model.name}_score", score, Refusal.ATTACK_MODEL))
    return Assessment(_combined(signals), tuple(signals))
