"""Per-frame picture cues of a screen or a print: moire in the face, and a sharp frame around it.

* **Moire** (``moire``): a screen's pixel grid, filmed by a camera's pixel
  grid, beats into fine periodic stripes over the face. In the spectrum of
  the face (a 64x64 window of native frame pixels at the face's centre, Hann
  windowed, FFT) they are isolated peaks at high spatial frequencies, while a
  real face's spectrum falls off smoothly. The cue is the largest *peak
  prominence* in the band above 0.3 of the Nyquist frequency: the log power
  minus its 5x5 median, in natural-log units. Camera frames of real-looking
  faces (with sensor noise and JPEG) measured 2.0 to 2.6; a photo resampled
  through a simulated screen grid 3.6 to 5.4, except a grid whose beat
  aliased below the band (2.1 to 2.9): this cue catches a screen filmed
  close, not every screen.
* **Border** (``border``): a phone, a tablet or a printed photo held to the
  camera shows straight, sharp edges around the face: its bezel or its
  paper edge. The cue is how many sides of the face (left, right, above,
  below) have a long straight edge (at least the face's height, found by
  Canny and a probabilistic Hough transform) that runs beside the face
  without crossing it, 0 to 4, looked for on the frame scaled to 320
  pixels wide. Rooms have straight edges too (door frames, shelves), so on
  its own this cue only ever asks for one more challenge (``passive``),
  never refuses.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge_core.biometrics import Face

MOIRE_WINDOW = 64
MOIRE_BAND = 0.3
BORDER_WIDTH = 320
"""Frames wider than this are looked at for straight edges at this width."""
"""The lowest spatial frequency looked at, as a share of the Nyquist frequency."""


def moire(image: np.ndarray, face: Face) -> float:
    """The largest spectral peak prominence over the face's centre (see the module docstring)."""
    x1, y1, x2, y2 = (float(v) for v in face.box)
    half = MOIRE_WINDOW / 2
    shift = np.float32([[1, 0, half - (x1 + x2) / 2], [0, 1, half - (y1 + y2) / 2]])
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    window = cv2.warpAffine(grey, shift, (MOIRE_WINDOW, MOIRE_WINDOW), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_REFLECT)
    window -= window.mean()
    hann = np.outer(np.hanning(MOIRE_WINDOW), np.hanning(MOIRE_WINDOW))
    power = np.log(np.abs(np.fft.fftshift(np.fft.fft2(window * hann))) ** 2 + 1e-3).astype(np.float32)
    prominence = power - cv2.medianBlur(power, 5)
    ys, xs = np.mgrid[-half:half, -half:half]
    band = np.hypot(xs, ys) / half > MOIRE_BAND
    return float(prominence[band].max())


def border(image: np.ndarray, face: Face) -> int:
    """How many sides of the face have a long straight edge beside it, 0 to 4 (see the module docstring)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = BORDER_WIDTH / grey.shape[1] if grey.shape[1] > BORDER_WIDTH else 1.0
    if scale < 1.0:  # a bezel is a long edge: half a VGA frame shows it, at a quarter of the cost
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    x1, y1, x2, y2 = (float(v) * scale for v in face.box)
    height = y2 - y1
    edges = cv2.Canny(cv2.GaussianBlur(grey, (3, 3), 0), 60, 160)
    lines = cv2.HoughLinesP(edges, 1, math.pi / 180, threshold=int(0.6 * height),
                            minLineLength=int(height), maxLineGap=4)
    if lines is None:
        return 0
    margin = 0.15 * height
    sides: set[str] = set()
    for ax, ay, bx, by in lines.reshape(-1, 4).astype(float):
        if max(ax, bx) < x1 - margin:
            sides.add("left")
        elif min(ax, bx) > x2 + margin:
            sides.add("right")
        elif max(ay, by) < y1 - margin:
            sides.add("above")
        elif min(ay, by) > y2 + margin:
            sides.add("below")
    return len(sides)
