"""What an IR camera would see: a near-infrared picture of a live head, of a print, and of a screen (issue 27).

An IR camera lights the scene with its own 850/940 nm emitter and records one
channel. Modelled here, from a colour frame:

* **skin and paper** (:func:`ir_like`): near-infrared reflectance follows the
  red channel far more than the blue (melanin absorbs little at 850 nm, so
  skin looks brighter and smoother), and the emitter is a point source beside
  the lens, so the picture falls off from its centre. A print reflects the
  emitter like a face does: a print in IR is :func:`ir_like` of the print.
* **a screen** (:func:`ir_screen`): LCD and OLED panels emit (next to) nothing
  at 850 nm and their glass reflects the emitter as a spot: the lit area is a
  dark panel with a bright reflection, whatever picture it shows.

These are assumptions drawn from how IR cameras work (Windows Hello's and
Howdy's reasoning), not measured here: no IR camera, no IR recording of a face
or a screen is available on this machine. What the tests and
``benchmarks/bench_infrared.py`` measure is what FaceSeal makes of such frames.
"""

from __future__ import annotations

import cv2
import numpy as np

from tests.liveness.media import attacks

REFLECTANCE = (0.1, 0.25, 0.65)
"""Blue, green, red weights of a near-infrared picture of skin (red-like, as melanin absorbs little there)."""
FALLOFF = 0.35
"""How much darker the corners are than the centre under the camera's own emitter."""
PANEL_LEVEL = 12.0
"""A screen's panel seen in near-infrared: dark, whatever it shows."""


def _lit(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = ((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2
    return 1.0 - FALLOFF * np.clip(distance / 0.5, 0.0, 1.0)


def ir_like(frame: np.ndarray) -> np.ndarray:
    """A colour frame as an IR camera would record the same scene: one channel, 8 bits."""
    grey = frame.astype(np.float32) @ np.array(REFLECTANCE, np.float32)
    return np.clip(grey * 1.1 * _lit(*frame.shape[:2]), 0, 255).astype(np.uint8)


def ir_screen(frame: np.ndarray, seed: int, coverage: float = 0.8, bezel: int = 16) -> np.ndarray:
    """A phone or tablet showing ``frame``, held to an IR camera: the room around it, its bezel, and a panel that
    shows nothing but the emitter's reflection."""
    rng = np.random.default_rng(seed)
    height, width = frame.shape[:2]
    out = ir_like(cv2.GaussianBlur(frame, (0, 0), 9)).astype(np.float32) * 0.55
    lit_w, lit_h = int(width * coverage), int(height * coverage)
    left, top = (width - lit_w) // 2, (height - lit_h) // 2
    cv2.rectangle(out, (left - bezel, top - bezel), (left + lit_w + bezel, top + lit_h + bezel), 20.0, -1)
    y, x = np.mgrid[0:lit_h, 0:lit_w].astype(np.float32)
    spot_x, spot_y = rng.uniform(0.3, 0.7) * lit_w, rng.uniform(0.3, 0.7) * lit_h
    spot = 200.0 * np.exp(-((x - spot_x) ** 2 + (y - spot_y) ** 2) / (2 * (0.06 * lit_w) ** 2))
    out[top:top + lit_h, left:left + lit_w] = PANEL_LEVEL + spot
    return np.clip(out, 0, 255).astype(np.uint8)


def ir_on_screen(frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """A recording (or a photo) replayed on a screen held in a moving hand, as an IR camera sees it."""
    motion = attacks.hand_motion(len(frames), seed, 5.0, 15.0)
    return [attacks.moved(ir_screen(frame, seed), a, s, z) for frame, (a, s, z) in zip(frames, motion)]


def write_grey(path, frames: list[np.ndarray], fps: float, seed: int = 0, noise: float = 2.0):
    """An MJPG .avi of single-channel frames (a grey JPEG each: decoded, its three channels are equal), with a
    sensor's noise."""
    rng = np.random.default_rng(seed)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height), isColor=False)
    try:
        for frame in frames:
            writer.write(np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8))
    finally:
        writer.release()
    return path
