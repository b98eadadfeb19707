"""How open each eye is: the eye aspect ratio on lid points refined by the MediaPipe Iris model.

The face mesh alone follows a closing eye only in part (on test faces whose
lids were painted shut its EAR fell by a fifth); the iris model, run on a
64x64 crop of each eye, is what MediaPipe itself uses to refine the eyes, and
its lid points follow the lids closely (the same faces: EAR halved). Its 16
lid-margin points include the mesh's documented 6-point eye sets
(../shared/models/README.md section 5): for the 33/133 eye, mesh points
33, 160, 158, 133, 153, 144 are iris points 0, 11, 13, 8, 5, 3; the 362/263
eye is fed mirrored, so the same iris indices name its outer corner, upper
lid, inner corner and lower lid. EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|),
computed in the crop (a ratio: the crop's scale and rotation drop out).
The model file ships in every pack and is sha256-checked like the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.biometrics.runtime import create_session, engine_errors
from edge_core.liveness.mesh import Mesh, Roi, load_model

IRIS_FILE = "iris_landmark_mediapipe.onnx"
INPUT_SIDE = 64
EYE_SCALE = 2.3
"""Crop side over the eye corners' larger extent (MediaPipe's iris graph)."""
_EAR_POINTS = (0, 11, 13, 8, 5, 3)
"""p1..p6 of the EAR among the iris model's 16 lid-margin points (outer corner first)."""
_EYES = ((33, 133, False), (362, 263, True))
"""Each eye's mesh corners (the crop runs from the first to the second) and whether it is fed mirrored."""


@dataclass(frozen=True)
class Openness:
    """Eye aspect ratio of each eye: about 0.3 open, falling towards 0 as the lids close."""

    right: float
    """The subject's right eye (image left, mesh 33/133)."""
    left: float


class EyeModel:
    """The iris model in one onnxruntime session."""

    def __init__(self, model: bytes, *, name: str = IRIS_FILE, pack: str = "") -> None:
        self.name, self.pack = name, pack
        self._session = create_session(model, name=name, pack=pack)
        self._input = self._session.get_inputs()[0].name
        self._contours = next(o.name for o in self._session.get_outputs() if o.shape[-1] == 213)

    def _ear(self, image: np.ndarray, mesh: Mesh, first: int, second: int, mirrored: bool) -> float:
        a, b = mesh.points[first, :2], mesh.points[second, :2]
        dx, dy = (float(v) for v in b - a)
        centre = (a + b) / 2
        roi = Roi(float(centre[0]), float(centre[1]), EYE_SCALE * max(abs(dx), abs(dy), 1.0), math.atan2(dy, dx))
        crop = cv2.warpAffine(image, roi.to_crop(INPUT_SIDE), (INPUT_SIDE, INPUT_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        if mirrored:
            crop = np.ascontiguousarray(crop[:, ::-1])
        tensor = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)[None]
        with engine_errors(self.name, self.pack):
            (contours,) = self._session.run([self._contours], {self._input: tensor})
        lid = contours.reshape(71, 3)[:16, :2]
        p1, p2, p3, p4, p5, p6 = (lid[i] for i in _EAR_POINTS)
        width = float(np.linalg.norm(p1 - p4)) or 1.0
        return float(np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2.0 * width)

    def openness(self, image: np.ndarray, mesh: Mesh) -> Openness:
        """Both eyes' aspect ratios for a face whose mesh is ``mesh`` in the BGR frame ``image``."""
        right, left = (self._ear(image, mesh, *eye) for eye in _EYES)
        return Openness(right, left)


def load_eyes(pack: str) -> EyeModel:
    """The iris model of installed pack ``pack``, sha256-checked against the manifest, built once per process."""
    return load_model(pack, IRIS_FILE, lambda model, name: EyeModel(model, pack=name))
