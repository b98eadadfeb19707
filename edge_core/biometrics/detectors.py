"""Face detectors with 5 landmarks behind one small interface.

SCRFD runs on an onnxruntime session we build, its outputs decoded with NumPy
(the app ships without insightface); YuNet runs through OpenCV's
``FaceDetectorYN``, which decodes it exactly as its authors do. Both get
sessions made from sha256-checked bytes, frames scaled to the detector's
working size, and one ``Face`` type whatever the family (:mod:`edge_core.biometrics.faces`,
which needs no OpenCV).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from edge_core.biometrics.errors import ModelRuntimeError
from edge_core.biometrics.faces import Face
from edge_core.biometrics.runtime import create_session, engine_errors, quiet_opencv


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
    """InsightFace SCRFD (e.g. det_500m) run by onnxruntime and decoded with NumPy.

    The image is letterboxed into the pack's fixed input size (640x480 by
    default: a webcam frame fills it with no padding), normalised as SCRFD was
    trained ((x - 127.5) / 128 on RGB), and every stride's outputs are turned
    into boxes and landmarks around its anchor centres (2 anchors per cell).
    Overlapping boxes are merged by OpenCV's NMS. The decoding is InsightFace's
    (tests/biometrics/test_reference.py compares it with ``insightface.model_zoo.SCRFD``),
    written here so the installed app does not carry insightface.
    """

    _STRIDES = (8, 16, 32)
    _ANCHORS = 2

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
        self._name, self._pack = name, pack
        self._session = create_session(model, name=name, pack=pack)
        self._input = self._session.get_inputs()[0].name
        if len(self._session.get_outputs()) != 3 * len(self._STRIDES):
            raise ModelRuntimeError(
                f"model {name} of pack '{pack}' is not an SCRFD detector with landmarks"
            )
        self._width, self._height = (int(v) for v in input_size)
        self._score_threshold, self._nms_threshold = score_threshold, nms_threshold
        self._centres = {stride: self._anchor_centres(stride) for stride in self._STRIDES}

    def _anchor_centres(self, stride: int) -> np.ndarray:
        """(x, y) of every anchor of one stride, row-major, each repeated per anchor."""
        rows, cols = self._height // stride, self._width // stride
        grid = np.stack(np.mgrid[:rows, :cols][::-1], axis=-1).reshape(-1, 2).astype(np.float32) * stride
        return np.repeat(grid, self._ANCHORS, axis=0)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Run SCRFD once at the pack's input size; coordinates come back in image pixels."""
        height, width = image.shape[:2]
        if height * self._width > width * self._height:  # taller than the input: fit the height
            new_height, new_width = self._height, max(1, int(self._height * width / height))
        else:
            new_width, new_height = self._width, max(1, int(self._width * height / width))
        canvas = np.zeros((self._height, self._width, 3), np.uint8)
        canvas[:new_height, :new_width] = cv2.resize(image, (new_width, new_height))
        blob = cv2.dnn.blobFromImage(canvas, 1.0 / 128.0, None, (127.5, 127.5, 127.5), swapRB=True)
        with engine_errors(self._name, self._pack):
            outputs = self._session.run(None, {self._input: blob})
        count = len(self._STRIDES)
        boxes, scores, landmarks = [], [], []
        for index, stride in enumerate(self._STRIDES):
            score = outputs[index].reshape(-1)
            keep = score >= self._score_threshold
            centres = self._centres[stride][keep]
            distances = outputs[index + count].reshape(-1, 4)[keep] * stride
            offsets = outputs[index + 2 * count].reshape(-1, 10)[keep] * stride
            boxes.append(np.hstack([centres - distances[:, :2], centres + distances[:, 2:]]))
            landmarks.append(offsets + np.tile(centres, 5))
            scores.append(score[keep])
        box_array = np.vstack(boxes) / (new_height / height)
        score_array = np.concatenate(scores)
        landmark_array = np.vstack(landmarks) / (new_height / height)
        kept = _nms(box_array, score_array, self._score_threshold, self._nms_threshold)
        return _faces(box_array[kept], score_array[kept], landmark_array[kept])


def _nms(boxes: np.ndarray, scores: np.ndarray, score_threshold: float, nms_threshold: float) -> np.ndarray:
    """Indices of the boxes (x1, y1, x2, y2) that survive non-maximum suppression."""
    if not len(boxes):
        return np.zeros(0, np.int64)
    rects = np.column_stack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).astype(np.float64).tolist()
    kept = cv2.dnn.NMSBoxes(rects, scores.astype(np.float64).tolist(), score_threshold, nms_threshold)
    return np.asarray(kept, np.int64).reshape(-1)


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
