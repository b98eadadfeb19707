"""A synthetic, face-like test image for ``faceseal self-test``: drawn, never photographed.

Installers must not ship anyone's photo, yet a self-test that only feeds noise
to the detector cannot tell a working model from a broken one. So the image is
drawn from ellipses and lines: a cartoon face that YuNet (the ``open`` pack's
detector) does find. Because the drawing is ours, we also know where its eyes,
nose tip and mouth corners are, and the self-test checks the detector's
landmarks against them.

The build renders it once into the bundle (``packaging/faceseal.spec``); a
source checkout renders it on the fly. Either way the pixels come from
:func:`render`, which is deterministic for a given OpenCV.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 480
"""Side of the square image in pixels."""

FILENAME = "synthetic-face.png"

_SKIN = (150, 175, 215)  # BGR
_HAIR = (30, 35, 45)


def landmarks(size: int = SIZE) -> np.ndarray:
    """Where the drawing puts left eye, right eye, nose tip, left and right mouth corner (x, y)."""
    cx, cy, fw, fh = _geometry(size)
    eye_y, eye_dx = cy - int(fh * 0.12), int(fw * 0.42)
    nose_y, mouth_y, mouth_dx = cy + int(fh * 0.18), cy + int(fh * 0.45), int(fw * 0.35)
    return np.array([
        [cx - eye_dx, eye_y], [cx + eye_dx, eye_y], [cx, nose_y],
        [cx - mouth_dx, mouth_y], [cx + mouth_dx, mouth_y],
    ], dtype=np.float32)


def _geometry(size: int) -> tuple[int, int, int, int]:
    """Face centre and half-axes: the one place the proportions live."""
    return size // 2, int(size * 0.52), int(size * 0.22), int(size * 0.30)


def render(size: int = SIZE) -> np.ndarray:
    """The test image as BGR uint8: background, hair, face, eyes, brows, nose, mouth, soft shading."""
    cx, cy, fw, fh = _geometry(size)
    points = landmarks(size).astype(int)
    image = np.full((size, size, 3), (200, 205, 210), np.uint8)
    darker = tuple(int(c * 0.85) for c in _SKIN)
    cv2.ellipse(image, (cx, cy - int(fh * 0.25)), (int(fw * 1.12), int(fh * 0.95)), 0, 180, 360, _HAIR, -1)
    cv2.rectangle(image, (cx - int(fw * 0.4), cy + int(fh * 0.7)), (cx + int(fw * 0.4), size), darker, -1)
    cv2.ellipse(image, (cx, cy), (fw, fh), 0, 0, 360, _SKIN, -1)
    for side in (-1, 1):
        cv2.ellipse(image, (cx + side * fw, cy), (int(fw * 0.12), int(fh * 0.18)), 0, 0, 360, _SKIN, -1)
    for x, y in points[:2]:
        cv2.ellipse(image, (x, y - int(fh * 0.16)), (int(fw * 0.28), int(fh * 0.04)), 0, 180, 360, (40, 45, 55), -1)
        cv2.ellipse(image, (x, y), (int(fw * 0.22), int(fh * 0.08)), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(image, (x, y), int(fh * 0.065), (60, 70, 90), -1)
        cv2.circle(image, (x, y), int(fh * 0.03), (10, 10, 10), -1)
    nose_x, nose_y = points[2]
    triangle = np.array([[cx, points[0][1] + 10], [cx - int(fw * 0.14), nose_y], [cx + int(fw * 0.14), nose_y]])
    cv2.fillPoly(image, [triangle.astype(np.int32)], darker)
    for side in (-1, 1):
        cv2.circle(image, (nose_x + side * int(fw * 0.08), nose_y), int(fw * 0.04), (70, 90, 120), -1)
    (left_x, mouth_y), (right_x, _) = points[3], points[4]
    cv2.ellipse(image, (cx, mouth_y), ((right_x - left_x) // 2, int(fh * 0.07)), 0, 0, 180, (80, 80, 170), -1)
    cv2.line(image, (left_x, mouth_y), (right_x, mouth_y), (50, 50, 120), 2)
    shade = np.zeros((size, size), np.float32)
    cv2.ellipse(shade, (cx, cy), (fw, fh), 0, 0, 360, 1.0, -1)
    shade = cv2.GaussianBlur(shade, (0, 0), fw * 0.25)
    shaded = (image.astype(np.float32) * (0.8 + 0.2 * shade[..., None])).clip(0, 255).astype(np.uint8)
    return cv2.GaussianBlur(shaded, (0, 0), 1.2)


def write(folder: Path) -> Path:
    """Render into ``folder`` as a PNG (what the bundle carries) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    if not cv2.imwrite(str(path), render()):
        raise OSError(f"could not write {path}")
    return path
