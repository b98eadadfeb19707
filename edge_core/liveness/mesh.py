"""The face mesh stage: 468 3-D points of a face in frame pixels, and whether it is a face at all.

The model is MediaPipe Face Mesh (``face_landmark_mediapipe.onnx``, Apache-2.0,
converted to ONNX; ../shared/models/README.md section 5 gives its crop, input
and outputs). It ships in every model pack and is sha256-checked like the
detector and the recognizer (``models/packs.json``), so liveness never runs a
file the manifest does not name.

Why two passes: the detector's box is a coarse, square-ish guess; the mesh run
on it already finds the face's outline, and a second run on the crop that
outline gives (centred, rotated by the eye line) is what MediaPipe itself
does on video frames and gives steadier points. The face-presence score of
the second pass drops crops that hold no face (MediaPipe's own cut, p < 0.5).
On a video, the next frame's mesh is one pass on the crop the last frame's
points give, while it still sits on the new detection (MediaPipe's tracking).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np

from edge_core.biometrics import Face, pack_info
from edge_core.biometrics.errors import PackNotInstalled
from edge_core.biometrics.runtime import create_session, engine_errors, read_verified

T = TypeVar("T")

MESH_FILE = "face_landmark_mediapipe.onnx"
"""The mesh model's file name in every pack of models/packs.json."""
INPUT_SIDE = 192
ROI_SCALE = 1.5
"""Crop side over the face's size, as MediaPipe's detection-to-ROI and landmarks-to-ROI graphs."""
MIN_PRESENCE = 0.5
"""Below this face-presence probability the points are dropped (MediaPipe's default)."""

RIGHT_EYE = (33, 160, 158, 133, 153, 144)
"""The subject's right eye (image left), in EAR order p1..p6: outer corner, upper lid x2, inner corner, lower lid x2."""
LEFT_EYE = (362, 385, 387, 263, 373, 380)
"""The subject's left eye (image right), p1..p6: inner corner, upper lid x2, outer corner, lower lid x2."""
NOSE_TIP = 1
MOUTH_CORNERS = (61, 291)
"""Outer mouth corners, image left then image right."""
INNER_LIPS = (13, 14)
"""Middle of the upper and of the lower lip's inner edge: apart when the mouth is open."""
INNER_CORNERS = (78, 308)


@dataclass(frozen=True)
class Roi:
    """A rotated square in the frame: centre, side (pixels) and angle (radians, the eye line's)."""

    cx: float
    cy: float
    side: float
    angle: float

    def to_crop(self, size: int) -> np.ndarray:
        """The 2x3 affine map from frame pixels to a ``size`` x ``size`` crop (the README's recipe)."""
        cos, sin, h = math.cos(self.angle), math.sin(self.angle), self.side / 2

        def corner(u: float, v: float) -> tuple[float, float]:
            return self.cx + u * cos - v * sin, self.cy + u * sin + v * cos

        import cv2  # here and in run, not at the top: naming the mesh's helpers must not load OpenCV (issue 28)

        source = np.float32([corner(-h, -h), corner(h, -h), corner(-h, h)])
        return cv2.getAffineTransform(source, np.float32([[0, 0], [size, 0], [0, size]]))

    def to_frame(self, crop_points: np.ndarray, size: int) -> np.ndarray:
        """(n, 3) crop points (x, y, z in crop pixels) back to frame pixels; z on the same scale."""
        u = (crop_points[:, 0] / size - 0.5) * self.side
        v = (crop_points[:, 1] / size - 0.5) * self.side
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        return np.stack([self.cx + u * cos - v * sin, self.cy + u * sin + v * cos,
                         crop_points[:, 2] / size * self.side], axis=1).astype(np.float32)


def roi_from_face(face: Face) -> Roi:
    """Pass 1: the detector's box, rotated by its eye keypoints (image-left eye first)."""
    x1, y1, x2, y2 = (float(v) for v in face.box)
    (ex1, ey1), (ex2, ey2) = face.landmarks[0], face.landmarks[1]
    return Roi((x1 + x2) / 2, (y1 + y2) / 2, ROI_SCALE * max(x2 - x1, y2 - y1),
               math.atan2(float(ey2 - ey1), float(ex2 - ex1)))


def roi_from_points(points: np.ndarray) -> Roi:
    """Pass 2: the box of the mesh points, rotated by the eye corners 33 -> 263."""
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    dx, dy = points[263, :2] - points[33, :2]
    return Roi(float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2,
               ROI_SCALE * float(max(high - low)), math.atan2(float(dy), float(dx)))


def _still_on(roi: Roi, face: Face) -> bool:
    """Whether a crop's centre lies in the middle half of the detector's box and its size is within 20%."""
    x1, y1, x2, y2 = (float(v) for v in face.box)
    width, height = x2 - x1, y2 - y1
    centred = abs(roi.cx - (x1 + x2) / 2) < width / 4 and abs(roi.cy - (y1 + y2) / 2) < height / 4
    expected = ROI_SCALE * max(width, height)
    return centred and 0.8 < roi.side / expected < 1.25


@dataclass(frozen=True)
class Mesh:
    """One face's 468 points in frame pixels (x, y, and z on the same scale, negative towards the camera)."""

    points: np.ndarray
    presence: float
    """Face-presence probability of the crop the points came from, 0..1."""
    roi: Roi

    @cached_property
    def five(self) -> np.ndarray:
        """Eye centres, nose tip and mouth corners, in the detectors' 5-landmark order (image left first).

        The eye centre is the mean of its corners and mid-lids, so it stays put
        while the eye blinks.
        """
        right, left = (self.points[list(eye), :2].mean(axis=0) for eye in (RIGHT_EYE, LEFT_EYE))
        return np.float32([right, left, self.points[NOSE_TIP, :2],
                           self.points[MOUTH_CORNERS[0], :2], self.points[MOUTH_CORNERS[1], :2]])

    @property
    def eye_distance(self) -> float:
        """Pixels between the two eye centres."""
        return float(np.linalg.norm(self.five[1] - self.five[0])) or 1.0


class FaceMesh:
    """The mesh model in one onnxruntime session (thread-safe for one caller at a time per frame)."""

    def __init__(self, model: bytes, *, name: str = MESH_FILE, pack: str = "") -> None:
        self.name, self.pack = name, pack
        self._session = create_session(model, name=name, pack=pack)
        self._input = self._session.get_inputs()[0].name
        outputs = [o.name for o in self._session.get_outputs()]
        shapes = {o.name: o.shape for o in self._session.get_outputs()}
        self._points = next(n for n in outputs if shapes[n][-1] == 1404)
        self._presence = next(n for n in outputs if n != self._points)

    def run(self, image: np.ndarray, roi: Roi) -> Mesh:
        """One pass on the crop ``roi`` of a BGR frame."""
        import cv2

        crop = cv2.warpAffine(image, roi.to_crop(INPUT_SIDE), (INPUT_SIDE, INPUT_SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        tensor = (cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)[None]
        with engine_errors(self.name, self.pack):
            points, logit = self._session.run([self._points, self._presence], {self._input: tensor})
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(logit.reshape(-1)[0], -60.0, 60.0))))
        return Mesh(roi.to_frame(points.reshape(468, 3), INPUT_SIDE), presence, roi)

    def fit(self, image: np.ndarray, face: Face, previous: Mesh | None = None) -> Mesh | None:
        """The mesh of a detected face, or None when the crop holds no face (presence < 0.5).

        With the previous frame's mesh of the same track (``previous``) whose
        crop still sits on this frame's detection, one pass on the crop those
        points give replaces both passes: it is the crop the second pass would
        use, one frame older, as MediaPipe tracks on video (half the mesh time).
        When the face moved off it or the pass finds no face, the two passes run.
        """
        if previous is not None:
            roi = roi_from_points(previous.points)
            tracked = self.run(image, roi) if _still_on(roi, face) else None
            if tracked is not None and tracked.presence >= MIN_PRESENCE:
                return tracked
        first = self.run(image, roi_from_face(face))
        if first.presence < MIN_PRESENCE:
            return None
        second = self.run(image, roi_from_points(first.points))
        return second if second.presence >= MIN_PRESENCE else None


_MODELS: dict[tuple[str, str], object] = {}
_MODELS_LOCK = threading.Lock()


def load_model(pack: str, file: str, build: Callable[[bytes, str], T]) -> T:
    """``build(bytes, pack)`` over pack ``pack``'s file ``file``, sha256-checked against the manifest.

    Built once per process and models folder: a session takes a while to build and is safe to share.
    """
    info = pack_info(pack)
    spec = next((f for f in info.files if f.name == file), None)
    if spec is None or not info.installed:
        raise PackNotInstalled(f"model pack '{pack}' has no {file} installed; "
                               f"run 'faceseal models install {pack}' (offline: add --from DIR_OR_ZIP)")
    key = (str(info.location / file), spec.sha256)
    with _MODELS_LOCK:
        if key not in _MODELS:
            _MODELS[key] = build(read_verified(info.location / file, spec.sha256, spec.size, pack=pack), pack)
        return _MODELS[key]  # type: ignore[return-value]


def load_mesh(pack: str) -> FaceMesh:
    """The mesh model of installed pack ``pack``, sha256-checked against the manifest, built once per process."""
    return load_model(pack, MESH_FILE, lambda model, name: FaceMesh(model, pack=name))


def features_hidden(pack: str) -> Callable[[np.ndarray, Face], bool]:
    """Whether a detected face's features are hidden (the mesh of pack ``pack`` finds no face on it: a mask).

    What enrolment and a capture without liveness pass to ``collect_samples(covered=)``, so a masked face is
    told why it is not taken instead of "not clearly visible" (issue 33).
    """
    mesh = load_mesh(pack)
    return lambda image, face: mesh.fit(image, face) is None
