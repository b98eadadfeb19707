"""Alignment of a face onto the standard ArcFace 112x112 template.

Both recognizers were trained on crops made this way, so the transform must be
exactly InsightFace's: a 5-point similarity fit (``face_align.norm_crop``). We
call it rather than re-deriving it, and keep the template here only to measure
head pose in template coordinates (see ``quality``).
"""

from __future__ import annotations

import warnings

import numpy as np

ALIGNED_SIZE = 112


def align(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 BGR crop of the face whose 5 landmarks are given."""
    from insightface.utils import face_align

    with warnings.catch_warnings():
        # scikit-image >= 0.26 flags SimilarityTransform.estimate() as deprecated;
        # insightface 2.1 still calls it and the result is unchanged.
        warnings.simplefilter("ignore", FutureWarning)
        return face_align.norm_crop(image, landmark=np.asarray(landmarks, np.float32), image_size=ALIGNED_SIZE)


def to_template(landmarks: np.ndarray) -> np.ndarray:
    """The 5 landmarks mapped into the 112x112 template frame by the alignment transform.

    Rotation and scale are removed, so what remains (nose off-centre, mouth too
    close to the eyes) measures yaw and pitch independently of roll and distance.
    """
    from insightface.utils import face_align

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        matrix = face_align.estimate_norm(np.asarray(landmarks, np.float32), ALIGNED_SIZE)
    points = np.hstack([landmarks, np.ones((5, 1), np.float32)])
    return points @ matrix.T


def template() -> np.ndarray:
    """The ArcFace 112x112 landmark template, as InsightFace defines it."""
    from insightface.utils import face_align

    return face_align.arcface_dst.copy()
