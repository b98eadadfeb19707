"""Quality gates for enrolment, each failing with a reason a person can act on.

An enrolled template is only as good as its worst sample, and a person in front
of a webcam needs to know *what to change*, so every gate maps to one
``Reason`` whose text is the hint ("move closer", "hold still"). The default
limits were chosen on the labelled photos in ``shared/faces`` (every one of the
88 passes) and on degraded copies of them (blurred, shrunk, turned), see
docs/BIOMETRICS.md.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from edge_core.biometrics.align import template, to_template
from edge_core.biometrics.faces import Face
from edge_core.biometrics.pipeline import Pipeline


class Reason(enum.Enum):
    """Why a frame was not used, worded as the hint to show."""

    NO_FACE = "no face found: look at the camera"
    MANY_FACES = "more than one face: only the person enrolling should be in view"
    TOO_SMALL = "face too small: move closer"
    LOW_SCORE = "face not clearly visible: face the camera in good light"
    BLURRY = "too blurry: hold still"
    POSE = "turn to face the camera"
    COVERED = "the lower face is covered (a mask?): uncover it"

    @property
    def message(self) -> str:
        """The hint text shown to the person in front of the camera."""
        return self.value

    def said(self, live: bool) -> str:
        """The hint for a camera (``live``), or the plain finding for a photo or a video file, where "look at
        the camera" or "only the person enrolling should be in view" asks something of nobody."""
        return self.value if live else _ON_FILE[self]


_ON_FILE = {
    Reason.NO_FACE: "no face found",
    Reason.MANY_FACES: "more than one face (the largest one can be chosen: --largest)",
    Reason.TOO_SMALL: "face too small",
    Reason.LOW_SCORE: "face not clearly visible",
    Reason.BLURRY: "too blurry",
    Reason.POSE: "face turned away",
    Reason.COVERED: "the lower face is covered (a mask?)",
}


def sharpness(aligned: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned 112x112 crop, in grey.

    Measured on the crop the recognizer sees, so it judges the detail that
    actually reaches the embedding, independently of the photo's resolution.
    """
    import cv2  # here, not at the top: the gates' reasons are named where no frame is measured (issue 28)

    grey = cv2.cvtColor(aligned, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def head_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) proxies from the 5 landmarks, 0 for a frontal face.

    In the aligned template frame: yaw is how far the nose sits off the eyes'
    midpoint, in eye distances; pitch is how far the nose's height between the
    eye line and the mouth line moved from the template's. Both grow as the
    head turns or nods, which is all a gate needs.
    """

    def ratios(points: np.ndarray) -> tuple[float, float]:
        left_eye, right_eye, nose, left_mouth, right_mouth = points
        eye_mid = (left_eye + right_eye) / 2
        mouth_mid = (left_mouth + right_mouth) / 2
        eye_distance = float(np.linalg.norm(right_eye - left_eye)) or 1.0
        face_height = float(mouth_mid[1] - eye_mid[1]) or 1.0
        return float(nose[0] - eye_mid[0]) / eye_distance, float(nose[1] - eye_mid[1]) / face_height

    yaw, pitch = ratios(to_template(landmarks))
    yaw_0, pitch_0 = ratios(template())
    return yaw - yaw_0, pitch - pitch_0


@dataclass(frozen=True)
class QualityGates:
    """Limits a frame must meet to become an enrolment sample."""

    min_face_size: float = 64.0
    """Shorter side of the face box in pixels: below it the crop is upscaled mush."""
    min_score: float = 0.6
    """Detector confidence: low scores are partial, occluded or badly lit faces.
    Each pack sets its own (``for_pipeline``): YuNet and SCRFD score on different scales."""
    min_sharpness: float = 60.0
    """Variance of the Laplacian on the aligned crop: below it motion or focus blur."""
    max_yaw: float = 0.35
    """Nose offset from the eye midpoint, in eye distances (roughly 30 degrees of turn)."""
    max_pitch: float = 0.3
    """Change in the nose's relative height between eyes and mouth (nodding)."""

    @classmethod
    def for_pipeline(cls, pipeline: Pipeline) -> QualityGates:
        """The default gates with the detection-score limit of the pipeline's pack."""
        return cls(min_score=pipeline.min_enrol_score)

    def select(self, faces: list[Face], largest: bool) -> Face | Reason:
        """The one face to enrol, or why there is none: exactly one face unless ``largest``."""
        if not faces:
            return Reason.NO_FACE
        if len(faces) > 1 and not largest:
            return Reason.MANY_FACES
        return max(faces, key=lambda face: face.area)

    def score(self, face: Face, aligned: np.ndarray) -> float:
        """How good a sample that passed the gates is, 0..1: the mean of size, sharpness and pose terms.

        Each term is 1 once comfortably past its gate (twice the minimum face
        size, four times the minimum sharpness, a frontal pose) and falls
        towards 0 at the gate, so enrolment keeps the clearest, most frontal,
        closest samples when it saw more good ones than it needs.
        """
        size = min(1.0, face.size / (2 * self.min_face_size))
        detail = min(1.0, sharpness(aligned) / (4 * self.min_sharpness))
        yaw, pitch = head_pose(face.landmarks)
        pose = max(0.0, 1.0 - max(abs(yaw) / self.max_yaw, abs(pitch) / self.max_pitch))
        return (size + detail + pose) / 3

    def check(self, face: Face, aligned: np.ndarray) -> Reason | None:
        """The first gate this face fails, or None when it is a good sample."""
        if face.size < self.min_face_size:
            return Reason.TOO_SMALL
        if face.score < self.min_score:
            return Reason.LOW_SCORE
        yaw, pitch = head_pose(face.landmarks)
        if abs(yaw) > self.max_yaw or abs(pitch) > self.max_pitch:
            return Reason.POSE
        if sharpness(aligned) < self.min_sharpness:
            return Reason.BLURRY
        return None
