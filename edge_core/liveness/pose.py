"""Head pose from the face mesh by ``cv2.solvePnP``, and the flat-picture (parallax) cue.

**Pose.** The mesh's 2-D points are matched to the same points of a canonical
3-D face and ``cv2.solvePnP`` finds the rotation that projects one onto the
other through a typical webcam (60 degrees horizontal field of view, the
frame's centre as principal point). The canonical points are MediaPipe's own
canonical face model: the ``canonical_mesh`` vertex buffer of
``mediapipe/modules/face_geometry/data/geometry_pipeline_metadata_landmarks.pbtxt``
(MediaPipe, Apache-2.0; centimetres, x to the image right, y up, z towards the
camera), restricted to the 33 landmarks MediaPipe's face-geometry pipeline
itself uses as its Procrustes basis (points that move little with expression:
nose bridge, eye corners, cheekbones, temples, jaw), plus the nose tip (1) and
the chin (152). Nodding moves the nose against the eye line and the chin as
much as turning does, so looking up and down are measured as well as turns,
unlike the 5-landmark proxy this replaced. Angles are in degrees: yaw > 0 when
the nose moves to the image's right (the person turned to their left), pitch
> 0 when the person looks up, roll > 0 clockwise in the image.

**Parallax** is the rigidity test: the eyes and mouth corners lie roughly in
one plane, so the homography mapping them from a reference frame to the
current one predicts where the nose would be *if the face were flat*. A photo
moved, turned or tilted in the hand is flat: the nose lands where predicted.
A real head that turns puts it elsewhere. It works on the mesh's eye centres,
nose tip and mouth corners (``Mesh.five``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.liveness.mesh import Mesh

CANONICAL_FACE: dict[int, tuple[float, float, float]] = {
    1: (0.000000, -1.126865, 7.475604), 4: (0.000000, -0.463170, 7.586580), 6: (0.000000, 2.473255, 5.788627),
    10: (0.000000, 8.261778, 4.481535), 33: (-4.445859, 2.663991, 3.173422), 54: (-6.279331, 6.615427, 1.425850),
    67: (-3.523964, 8.005976, 3.729163), 117: (-5.258659, 0.945811, 2.974312), 119: (-3.300681, 0.861641, 3.872784),
    121: (-1.820731, 1.467954, 4.224124), 127: (-7.743095, 2.364999, -2.005167), 129: (-1.785794, -0.978284, 4.850470),
    132: (-7.270895, -2.890917, -2.252455), 133: (-1.856432, 2.585245, 3.757904), 136: (-5.085276, -7.178590, 0.714711),
    143: (-6.407571, 2.236021, 1.560843), 147: (-6.234883, -1.944430, 1.663542), 152: (0.000000, -9.403378, 4.264492),
    198: (-1.246815, 0.230297, 5.681036), 205: (-3.832928, -1.537326, 4.137731), 263: (4.445859, 2.663991, 3.173422),
    284: (6.279331, 6.615427, 1.425850), 297: (3.523964, 8.005976, 3.729163), 346: (5.258659, 0.945811, 2.974312),
    348: (3.300681, 0.861641, 3.872784), 350: (1.820731, 1.467954, 4.224124), 356: (7.743095, 2.364999, -2.005167),
    358: (1.785794, -0.978284, 4.850470), 361: (7.270895, -2.890917, -2.252455), 362: (1.856432, 2.585245, 3.757904),
    365: (5.085276, -7.178590, 0.714711), 372: (6.407571, 2.236021, 1.560843), 376: (6.234883, -1.944430, 1.663542),
    420: (1.246815, 0.230297, 5.681036), 425: (3.832928, -1.537326, 4.137731),
}
"""MediaPipe's canonical face (cm), landmark index -> (x right, y up, z towards the camera); see the docstring."""

_IDS = list(CANONICAL_FACE)
_MODEL = np.float64([CANONICAL_FACE[i] for i in _IDS]) * np.float64([1, -1, -1])
"""The canonical points in OpenCV's camera axes (y down, z away from the camera)."""
FIELD_OF_VIEW_DEGREES = 60.0
"""The horizontal field of view assumed for the camera (a typical webcam)."""

_PLANE = [0, 1, 3, 4]
"""Of ``Mesh.five``: both eyes and both mouth corners, taken as the face plane."""
_NOSE = 2


@dataclass(frozen=True)
class Pose:
    """Pose of one face in one frame."""

    yaw: float
    pitch: float
    roll: float
    """Degrees (see the module docstring for the signs)."""
    eye_distance: float
    """Pixels between the eye centres: grows as the face comes closer."""


@dataclass(frozen=True)
class PoseChange:
    """A pose relative to the person's own frontal baseline."""

    yaw: float
    pitch: float
    scale: float
    """Eye distance over the baseline's: 1.3 means the face came 30 % closer."""


def camera_matrix(width: int, height: int) -> np.ndarray:
    """The intrinsics of a typical webcam for a ``width`` x ``height`` frame."""
    focal = (width / 2) / math.tan(math.radians(FIELD_OF_VIEW_DEGREES) / 2)
    return np.float64([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])


def measure(mesh: Mesh, width: int, height: int) -> Pose:
    """Yaw, pitch and roll of the face by solvePnP against the canonical face."""
    image_points = np.float64(mesh.points[_IDS, :2])
    ok, rvec, _ = cv2.solvePnP(_MODEL, image_points, camera_matrix(width, height), None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return Pose(0.0, 0.0, 0.0, mesh.eye_distance)
    angles = cv2.RQDecomp3x3(cv2.Rodrigues(rvec)[0])[0]
    pitch, yaw, roll = (_wrap(a) for a in angles)
    return Pose(-yaw, -pitch, roll, mesh.eye_distance)


def _wrap(degrees: float) -> float:
    """An angle in (-180, 180]: a face seen from the front is near 0, not near 180."""
    return float((degrees + 180.0) % 360.0 - 180.0)


def change(pose: Pose, baseline: Pose) -> PoseChange:
    return PoseChange(pose.yaw - baseline.yaw, pose.pitch - baseline.pitch, pose.eye_distance / baseline.eye_distance)


def parallax(reference: np.ndarray, landmarks: np.ndarray) -> float:
    """How far the nose is from where a flat face would put it, in eye distances (5-point landmarks)."""
    plane = cv2.getPerspectiveTransform(np.float32(reference[_PLANE]), np.float32(landmarks[_PLANE]))
    predicted = cv2.perspectiveTransform(np.float32(reference[None, _NOSE : _NOSE + 1]), plane)[0, 0]
    return float(np.linalg.norm(landmarks[_NOSE] - predicted)) / _eye_distance(landmarks)


def _eye_distance(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(np.float32(landmarks[1]) - np.float32(landmarks[0]))) or 1.0
