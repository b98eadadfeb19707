"""Face detectors with 5 landmarks behind one small interface.

Both families are run by the libraries that already decode them correctly:
InsightFace's ``SCRFD`` class (anchor decoding, NMS) on an onnxruntime session we
build, and OpenCV's ``FaceDetectorYN`` for YuNet. FaceSeal only adds what they
lack for a desktop app: sessions made from sha256-checked bytes, frames scaled
to the detector's working size, and one ``Face`` type whatever the family.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from edge_core.biometrics.errors import ModelRuntimeError
from edge_core.biometrics.runtime import create_session, engine_errors, quiet_opencv


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


def _faces(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> list[Face]:
    """Package detector arrays as Faces sorted by descending score."""
    order = np.argsort(-scores, kind="stable")
    return [
        Face(
            box=boxes[i].astype(np.float32),
            score=float(scores[i]),
            landmarks=landmarks[i].reshape(5, 2).astype(np.float32),
        )
        for i in order
    ]


class ScrfdDetector:
    """InsightFace SCRFD (e.g. det_500m) decoded by ``insightface.model_zoo.SCRFD``.

    The session is ours (checked bytes, deliberate threads) and is handed to
    insightface with no model path, so insightface neither re-reads the file nor
    builds extra per-resolution sessions: exactly one session per model. The
    input size is fixed per pack (640x480 by default: a webcam frame fills it
    with no padding; other images are letterboxed by insightface).
    """

    def __init__(
        self,
        model: bytes,
        *,
        name: str,
        pack: str,
        input_size: tuple[int, int],
        score_threshold: float,
        nms_threshold: float,
    ) -> None:
        from insightface.model_zoo.scrfd import SCRFD

        self._name, self._pack = name, pack
        session = create_session(model, name=name, pack=pack)
        with engine_errors(name, pack):
            self._scrfd = SCRFD(model_file=None, session=session, static_shape_sessions=False)
        if not self._scrfd.use_kps:
            raise ModelRuntimeError(
                f"model {name} of pack '{pack}' is not an SCRFD detector with landmarks"
            )
        self._scrfd.prepare(
            0, input_size=tuple(input_size), det_thresh=score_threshold, nms_thresh=nms_threshold
        )

    def detect(self, image: np.ndarray) -> list[Face]:
        """Run SCRFD once at the pack's input size (insightface letterboxes and rescales)."""
        with engine_errors(self._name, self._pack):
            dets, kpss = self._scrfd.detect(image)
        return _faces(dets[:, :4], dets[:, 4], kpss)


class YuNetDetector:
    """OpenCV Zoo YuNet through ``cv2.FaceDetectorYN``.

    Images larger than ``max_side`` are shrunk first (YuNet's cost grows with
    pixels and faces in large photos stay large), and coordinates are scaled
    back. ``FaceDetectorYN`` keeps its input size as state, so calls are
    serialised with a lock; a camera stream keeps one size and never re-plans.
    """

    def __init__(
        self,
        model: bytes,
        *,
        name: str,
        pack: str,
        max_side: int,
        score_threshold: float,
        nms_threshold: float,
    ) -> None:
        self._name, self._pack = name, pack
        self._max_side = max_side
        self._lock = threading.Lock()
        self._input_size = (max_side, max_side)
        with engine_errors(name, pack), quiet_opencv():
            self._yunet = cv2.FaceDetectorYN.create(
                "onnx", np.frombuffer(model, np.uint8), np.empty(0, np.uint8),
                self._input_size, score_threshold, nms_threshold,
            )

    def detect(self, image: np.ndarray) -> list[Face]:
        """Detect on the image shrunk to at most ``max_side``, in original pixel coordinates."""
        height, width = image.shape[:2]
        scale = min(1.0, self._max_side / max(height, width))
        work = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            work = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        with self._lock, engine_errors(self._name, self._pack):
            size = (work.shape[1], work.shape[0])
            if size != self._input_size:
                self._yunet.setInputSize(size)
                self._input_size = size
            _, rows = self._yunet.detect(work)
        if rows is None:
            return []
        scores = rows[:, 14]
        coords = rows[:, :14] / scale  # x, y, w, h, then 5 landmark (x, y) pairs
        boxes = np.column_stack(
            [coords[:, 0], coords[:, 1], coords[:, 0] + coords[:, 2], coords[:, 1] + coords[:, 3]]
        )
        return _faces(boxes, scores, coords[:, 4:14])
