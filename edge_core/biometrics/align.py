"""Alignment of a face onto the standard ArcFace 112x112 template.

Both recognizers were trained on crops made this way, so the transform is the
one InsightFace's ``norm_crop`` computes: the least-squares similarity
(rotation, uniform scale, translation) taking the 5 landmarks onto the
template (Umeyama 1991), then one ``cv2.warpAffine``. It is written here with
NumPy so the run-time pipeline needs neither insightface nor scikit-image;
tests/biometrics/test_reference.py checks the crops against ``norm_crop``.
"""

from __future__ import annotations

import numpy as np

ALIGNED_SIZE = 112

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)
"""Where the 5 landmarks of a frontal face sit in a 112x112 ArcFace crop."""


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity matrix that best maps ``source`` points onto ``target`` (Umeyama, with scale).

    Least squares over all points: a detector's noisy landmark moves the crop a
    little instead of skewing it, which an exact affine fit on 3 points would.
    """
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(covariance) < 0:
        reflection[1, 1] = -1.0
    rotation = u @ reflection @ vt
    variance = src_c.var(axis=0).sum()
    scale = float((singular * np.diag(reflection)).sum() / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 BGR crop of the face whose 5 landmarks are given (black outside the image)."""
    import cv2  # here, not at the top: the pipeline that names this function must not load OpenCV (issue 28)

    matrix = similarity(landmarks, ARCFACE_TEMPLATE)
    return cv2.warpAffine(image, matrix, (ALIGNED_SIZE, ALIGNED_SIZE), borderValue=0.0)


def to_template(landmarks: np.ndarray) -> np.ndarray:
    """The 5 landmarks mapped into the 112x112 template frame by the alignment transform.

    Rotation and scale are removed, so what remains (nose off-centre, mouth too
    close to the eyes) measures yaw and pitch independently of roll and distance.
    """
    matrix = similarity(landmarks, ARCFACE_TEMPLATE)
    points = np.hstack([np.asarray(landmarks, np.float64), np.ones((5, 1))])
    return points @ matrix.T


def template() -> np.ndarray:
    """A copy of the ArcFace 112x112 landmark template."""
    return ARCFACE_TEMPLATE.copy()
