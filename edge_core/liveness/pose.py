"""Head pose and 3D shape cues from the 5 landmarks (eyes, nose tip, mouth corners).

Yaw and pitch come from ``biometrics.quality.head_pose`` (the same numbers the
enrolment gate uses): the nose's offset in the aligned template frame, which
moves when a head turns because the nose stands out of the face. Scale is the
eye distance in pixels (it grows as the face comes closer).

``parallax`` is the rigidity test: the eyes and mouth corners lie roughly in
one plane, so the homography mapping them from a reference frame to the
current one predicts where the nose would be *if the face were flat*. A photo
moved, turned or tilted in the hand is flat: the nose lands where predicted.
A real head that turns puts it elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.biometrics.quality import head_pose

_PLANE = [0, 1, 3, 4]
"""Landmarks taken as the face plane: both eyes and both mouth corners."""
_NOSE = 2


@dataclass(frozen=True)
class Pose:
    """Pose of one face in one frame."""

    yaw: float
    pitch: float
    eye_distance: float
    """Pixels between the eye landmarks."""


@dataclass(frozen=True)
class PoseChange:
    """A pose relative to the person's own frontal baseline."""

    yaw: float
    pitch: float
    scale: float
    """Eye distance over the baseline's: 1.3 means the face came 30 % closer."""


def measure(landmarks: np.ndarray) -> Pose:
    yaw, pitch = head_pose(landmarks)
    return Pose(yaw, pitch, _eye_distance(landmarks))


def change(pose: Pose, baseline: Pose) -> PoseChange:
    return PoseChange(pose.yaw - baseline.yaw, pose.pitch - baseline.pitch, pose.eye_distance / baseline.eye_distance)


def parallax(reference: np.ndarray, landmarks: np.ndarray) -> float:
    """How far the nose is from where a flat face would put it, in eye distances."""
    plane = cv2.getPerspectiveTransform(np.float32(reference[_PLANE]), np.float32(landmarks[_PLANE]))
    predicted = cv2.perspectiveTransform(np.float32(reference[None, _NOSE : _NOSE + 1]), plane)[0, 0]
    return float(np.linalg.norm(landmarks[_NOSE] - predicted)) / _eye_distance(landmarks)


def plane_motion(reference: np.ndarray, landmarks: np.ndarray) -> float:
    """How far the eyes and mouth corners moved from the reference, mean, in reference eye distances."""
    moved = np.linalg.norm(np.float32(landmarks[_PLANE]) - np.float32(reference[_PLANE]), axis=1)
    return float(moved.mean()) / _eye_distance(reference)


def _eye_distance(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(np.float32(landmarks[1]) - np.float32(landmarks[0]))) or 1.0
