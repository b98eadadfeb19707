"""One face followed across frames: same place (box overlap) and same person (embedding continuity).

Landmarks for pose are measured again on a canonical crop (the face centred,
at a fixed size): the detectors' landmark regressions shift by up to a tenth
of an eye distance as a face slides a few pixels across their anchor grid,
which is as large as the pose change of a turned head. Centred the same way
every frame, the face keeps its place on the grid, and that error mostly
cancels in the pose *changes* liveness relies on (measured in docs/LIVENESS.md).

The face that answers the challenges must be the one that is matched, so a
session keeps a single track: a second face in view, or the face jumping to
another place, ends it. Every tracked frame is embedded; ``passive`` checks
that consecutive embeddings stay the same person.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.biometrics import Face, Pipeline
from edge_core.liveness.pose import Pose, measure
from edge_core.liveness.result import Refusal


@dataclass(frozen=True)
class TrackPoint:
    """One frame of the track."""

    index: int
    face: Face
    landmarks: np.ndarray
    """The steady landmarks (``steady_landmarks``) the pose and the parallax are measured on."""
    pose: Pose
    embedding: np.ndarray
    aligned: np.ndarray
    """The aligned 112x112 BGR face the embedding was made from."""
    frame_width: int

    @property
    def grey(self) -> np.ndarray:
        """The aligned face in grey: what ``passive`` compares for frozen frames."""
        return cv2.cvtColor(self.aligned, cv2.COLOR_BGR2GRAY)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


CROP_SIDE = 160
"""Pixels of the canonical crop; the face box's height becomes half of it."""


def steady_landmarks(pipeline: Pipeline, image: np.ndarray, face: Face) -> np.ndarray:
    """The face's 5 landmarks detected again on a canonical crop, in frame pixels (the frame's if none found)."""
    x1, y1, x2, y2 = face.box
    scale = CROP_SIDE / (2.0 * max(1.0, y2 - y1))
    shift = np.float32([[scale, 0, CROP_SIDE / 2 - scale * (x1 + x2) / 2],
                        [0, scale, CROP_SIDE / 2 - scale * (y1 + y2) / 2]])
    crop = cv2.warpAffine(image, shift, (CROP_SIDE, CROP_SIDE), borderMode=cv2.BORDER_REPLICATE)
    found = pipeline.detect(crop)
    if not found:
        return face.landmarks
    return (found[0].landmarks - shift[:, 2]) / scale


class Track:
    """The session's single face track."""

    def __init__(self, pipeline: Pipeline, min_iou: float = 0.3) -> None:
        """``min_iou``: overlap needed between consecutive boxes; a head moving at 30 fps keeps far more."""
        self.pipeline = pipeline
        self.min_iou = min_iou
        self.points: list[TrackPoint] = []

    def follow(self, index: int, image: np.ndarray) -> TrackPoint | Refusal | None:
        """The track's face in this frame, a refusal (two faces, a jump), or None when no face is seen."""
        faces = self.pipeline.detect(image)
        if not faces:
            return None
        if len(faces) > 1:
            return Refusal.MANY_FACES
        face = faces[0]
        if self.points and iou(self.points[-1].face.box, face.box) < self.min_iou:
            return Refusal.TRACK_BROKEN
        aligned = self.pipeline.align(image, face)
        landmarks = steady_landmarks(self.pipeline, image, face)
        point = TrackPoint(index, face, landmarks, measure(landmarks), self.pipeline.embedder.embed(aligned),
                           aligned, image.shape[1])
        self.points.append(point)
        return point
