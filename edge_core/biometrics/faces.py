"""What a detector finds, a ``Face``, and what a detector is, apart from the detectors themselves.

A module of its own because much of FaceSeal names a face without finding one
(the pipeline's types, liveness results, the use cases): they need NumPy only,
while the detectors (:mod:`edge_core.biometrics.detectors`) run OpenCV and
onnxruntime, whose import a command that runs no model must not pay (issue 28).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face in image pixel coordinates.

    ``box`` is (x1, y1, x2, y2); ``landmarks`` are 5 (x, y) points in the order
    left eye, right eye, nose, left mouth corner, right mouth corner, left/right
    as seen in the image (both detector families agree on this order).
    """

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def size(self) -> float:
        """The shorter side of the box: what "the face is big enough" is judged on."""
        return float(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    @property
    def area(self) -> float:
        """Box area, used to pick the largest face."""
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


class Detector(Protocol):
    """Finds faces and their 5 landmarks in a BGR uint8 image."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """All faces above the detector's score threshold, best score first."""
        ...
