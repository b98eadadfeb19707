"""Webcam-like copies of photos: what a laptop camera makes of a face, for measuring on degraded probes.

A press photo has the eyes 100-400 px apart, sharp and well lit; a webcam
frame at arm's length has them about 40 px apart, a little soft, darker, noisy
and JPEG-compressed. :func:`webcam_like` makes that copy in memory, and
deterministically: the same photo, eye distance and seed give the same bytes,
so a benchmark on degraded probes can be run again and compared.

The steps, in order: downscale (area interpolation) so the eyes are
``EYE_DISTANCE`` px apart (never enlarged), Gaussian blur of ``BLUR_SIGMA`` px,
a darker gamma (``GAMMA`` > 1 on values in [0, 1]), Gaussian sensor noise of
``NOISE_SIGMA`` grey levels from a seeded generator, and a JPEG round trip at
quality ``JPEG_QUALITY``. Each step is a function of its own (``tone``,
``sensor_noise``, ``jpeg``), so the liveness tests' camera model
(tests/liveness/media/camera.py) films generated media through the same ones.
"""

from __future__ import annotations

import cv2
import numpy as np

EYE_DISTANCE = 40.0
BLUR_SIGMA = 0.8
GAMMA = 1.6
NOISE_SIGMA = 2.0
JPEG_QUALITY = 60
SEED = 34


def eye_distance(landmarks: np.ndarray) -> float:
    """Pixels between the two eyes of a face's five landmarks (eyes first, as every detector here gives them)."""
    return float(np.linalg.norm(np.asarray(landmarks[0], dtype=np.float64) - np.asarray(landmarks[1], dtype=np.float64)))


def tone(image: np.ndarray, gamma: float) -> np.ndarray:
    """``image`` (uint8) through the curve ``v ** gamma`` on values in [0, 1]: > 1 darkens the mid-tones."""
    lut = np.clip(np.round(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)
    return cv2.LUT(image, lut)


def sensor_noise(image: np.ndarray, rng: np.random.Generator, sigma: float, shot: float = 0.0) -> np.ndarray:
    """``image`` (uint8) with a sensor's noise: read noise of ``sigma`` grey levels and, with ``shot`` > 0, photon
    noise growing with the light (variance ``shot`` times the level), drawn from ``rng``."""
    level = image.astype(np.float64)
    spread = np.sqrt(sigma ** 2 + shot * level) if shot else sigma
    return np.clip(level + rng.normal(0.0, 1.0, image.shape) * spread, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` after a JPEG round trip at ``quality``: the blocks and ringing a camera's stream carries."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the degraded copy could not be encoded as JPEG")
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def webcam_like(image: np.ndarray, eyes: float, *, key: int = 0, seed: int = SEED) -> np.ndarray:
    """A degraded copy of BGR uint8 ``image`` whose face has its eyes ``eyes`` px apart.

    ``key`` (e.g. the photo's index) and ``seed`` choose the noise; the same
    arguments always give the same picture.
    """
    scale = min(1.0, EYE_DISTANCE / eyes) if eyes > 0 else 1.0
    height, width = image.shape[:2]
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1.0 else image.copy()
    soft = cv2.GaussianBlur(small, (0, 0), BLUR_SIGMA)
    noisy = sensor_noise(tone(soft, GAMMA), np.random.default_rng([seed, key]), NOISE_SIGMA)
    return jpeg(noisy, JPEG_QUALITY)
