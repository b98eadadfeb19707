"""One face followed across frames: same place (box overlap) and same person (embedding continuity).

Pose, eyes and mouth are measured on the face mesh (``mesh``), not on the
detector's 5 landmarks: its second pass crops the face centred and turned
upright by its own eye line, so the points do not jump as the face slides
across the detector's anchor grid (the detectors' landmarks shift by up to a
tenth of an eye distance there, as much as a turned head's signal). From the
second frame on, the mesh is followed from the previous frame's points (one
pass instead of two); the detector still runs on every frame, so a second
face or a face in another place is seen at once. A detection whose crop the
mesh finds no face in (presence < 0.5) counts as no face; while the tracked
face is such a detection, ``covered`` counts the frames: a face whose lower
half is covered (a mask: issue 33) is found by the detector and never by the
mesh, and the person must be told why.

The face that answers the challenges must be the one that is matched, so a
session keeps a single track: a second face in view, or the face jumping to
another place, ends it. A second detection counts as a face only when it is
of a plausible size beside the tracked one (``SECOND_FACE_SIZE``) and the
mesh confirms it: on a real clip the detector scored 0.61 on a hand making a
V sign beside the face, and that ended a live session. Every tracked frame
is embedded; ``passive`` checks that consecutive embeddings stay the same
person.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.biometrics import Face, Pipeline
from edge_core.liveness import expression, texture
from edge_core.liveness.expression import Expression
from edge_core.liveness.eyes import EyeModel
from edge_core.liveness.mesh import FaceMesh, Mesh
from edge_core.liveness.pose import Pose, measure
from edge_core.liveness.result import Refusal

SECOND_FACE_SIZE = (0.5, 2.0)
"""A second detection's size (its box's shorter side) over the tracked face's: outside this it is no face
in the session's way (far in the background, or a hand close to the lens)."""


@dataclass(frozen=True)
class TrackPoint:
    """One frame of the track."""

    index: int
    time: float
    """Seconds on the session's timeline."""
    face: Face
    mesh: Mesh
    landmarks: np.ndarray
    """The mesh's eye centres, nose tip and mouth corners (``Mesh.five``): what the parallax is measured on."""
    pose: Pose
    expression: Expression
    moire: float
    """``texture.moire`` of this frame."""
    border: int
    """``texture.border`` of this frame."""
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


class Track:
    """The session's single face track."""

    def __init__(self, pipeline: Pipeline, mesh: FaceMesh, eyes: EyeModel, min_iou: float = 0.3) -> None:
        """``min_iou``: overlap needed between consecutive boxes; a head moving at 30 fps keeps far more."""
        self.pipeline = pipeline
        self.mesh = mesh
        self.eyes = eyes
        self.min_iou = min_iou
        self.points: list[TrackPoint] = []
        self.covered = 0
        """Frames in a row, up to now, whose face the detector found and the mesh did not (a mask?)."""

    def _second_face(self, image: np.ndarray, face: Face, other: Face) -> bool:
        """Whether ``other`` is a second face beside ``face``: of a plausible size and confirmed by the mesh."""
        low, high = SECOND_FACE_SIZE
        return low <= other.size / max(face.size, 1.0) <= high and self.mesh.fit(image, other) is not None

    def follow(self, index: int, time: float, image: np.ndarray) -> TrackPoint | Refusal | None:
        """The track's face in this frame, a refusal (two faces, a jump), or None when no face is seen."""
        faces = self.pipeline.detect(image)
        if not faces:
            self.covered = 0
            return None
        # the tracked face is the detection on its last box; before there is one, the detector's best
        face = max(faces, key=lambda f: iou(self.points[-1].face.box, f.box)) if self.points else faces[0]
        if any(self._second_face(image, face, other) for other in faces if other is not face):
            return Refusal.MANY_FACES
        if self.points and iou(self.points[-1].face.box, face.box) < self.min_iou:
            return Refusal.TRACK_BROKEN
        mesh = self.mesh.fit(image, face, self.points[-1].mesh if self.points else None)
        if mesh is None:
            self.covered += 1
            return None
        self.covered = 0
        aligned = self.pipeline.align(image, face)
        height, width = image.shape[:2]
        point = TrackPoint(index, time, face, mesh, mesh.five, measure(mesh, width, height),
                           expression.measure(mesh, self.eyes.openness(image, mesh)), texture.moire(image, face),
                           texture.border(image, face), self.pipeline.embedder.embed(aligned), aligned, width)
        self.points.append(point)
        return point
