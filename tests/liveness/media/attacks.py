"""Presentation attacks made from one frame: a print slid, rotated, zoomed or bent, and a screen replay.

Each function takes the frame a camera would see of the real face and
returns what it sees of the *attack* instead; sequences over time (a hand
moving the print) come from calling them with changing arguments
(``hand_motion``). All randomness (glare position, the hand's tremor) comes
from a seed, so the same call makes the same pixels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def moved(image: np.ndarray, angle_deg: float = 0.0, shift: tuple[float, float] = (0.0, 0.0),
          zoom: float = 1.0) -> np.ndarray:
    """A print held flat to the camera: rotated in its plane about the frame's centre, slid, scaled."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, zoom)
    matrix[:, 2] += shift
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def bent(image: np.ndarray, curvature: float, turn: float = 0.0, distance: float = 2.0) -> np.ndarray:
    """A print bent around a vertical axis (a cylinder), optionally turned about that axis, in perspective.

    ``curvature`` is the frame's width over the cylinder's radius (0 is flat,
    1.5 a strongly bent sheet; positive bulges the middle towards the
    camera); ``turn`` radians rotate the bent sheet about the vertical axis
    through its centre; ``distance`` is the camera's distance in frame widths.
    Output pixels are mapped back to the print's arc length through a dense,
    monotonic forward table (``np.interp``).
    """
    height, width = image.shape[:2]
    cx, cy = (width - 1) / 2, (height - 1) / 2
    camera = distance * width
    arc = np.linspace(-0.75 * width, 0.75 * width, 4 * width)
    if abs(curvature) < 1e-6:
        x, z = arc, np.zeros_like(arc)
    else:
        radius = width / curvature
        x, z = radius * np.sin(arc / radius), radius * (1 - np.cos(arc / radius))
    x, z = x * math.cos(turn) + z * math.sin(turn), z * math.cos(turn) - x * math.sin(turn)
    scale = camera / (camera + z)
    seen_x = x * scale
    order = np.argsort(seen_x)
    out_x = np.arange(width, dtype=np.float64) - cx
    column_arc = np.interp(out_x, seen_x[order], arc[order])
    column_scale = np.interp(out_x, seen_x[order], scale[order])
    map_x = np.broadcast_to((column_arc + cx)[None, :], (height, width)).astype(np.float32)
    rows = (np.arange(height, dtype=np.float64) - cy)[:, None] / column_scale[None, :] + cy
    return cv2.remap(image, map_x, rows.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


LENS_BLUR = 0.6
"""Camera pixels: the blur of a webcam's lens, which softens the screen's grid before the sensor samples it."""
SUBPIXELS = (2, 1, 0)
"""A screen's stripes left to right, as BGR channel indices: red, green, blue."""


def screen(image: np.ndarray, seed: int, pitch: float = 0.7, angle_deg: float = 2.5, coverage: float = 0.8,
           bezel: int = 16, gamma: float = 0.85, glare: float = 0.25, oversample: int = 4) -> np.ndarray:
    """The frame shown on a phone or tablet screen held to the camera.

    The picture is resampled to the screen's own pixels (``pitch`` camera
    pixels each), every screen pixel drawn as red, green and blue stripes
    with a dark gap; that grid, tilted by ``angle_deg``, is rendered
    ``oversample`` times finer than the camera, blurred by the lens and
    averaged down to camera pixels: the grid beating against the sensor's is
    the moire. Around the lit area (``coverage``
    of the frame) a dark bezel ``bezel`` pixels wide, then the room (the frame
    blurred and dimmed). The display's ``gamma`` and a raised black level, and
    a soft reflection (``glare`` of full white) at a seeded place.
    """
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    lit_w, lit_h = int(width * coverage), int(height * coverage)
    left, top = (width - lit_w) // 2, (height - lit_h) // 2
    content = cv2.resize(image, (max(1, int(lit_w / pitch)), max(1, int(lit_h / pitch))), interpolation=cv2.INTER_AREA)
    content = 255.0 * (content / 255.0) ** gamma * 0.92 + 14.0  # display gamma, black level

    fine_w, fine_h = lit_w * oversample, lit_h * oversample
    v, u = np.mgrid[0:fine_h, 0:fine_w].astype(np.float32)
    u, v = u / oversample - lit_w / 2, v / oversample - lit_h / 2
    angle = math.radians(angle_deg)
    su = (u * math.cos(angle) + v * math.sin(angle) + lit_w / 2) / pitch
    sv = (v * math.cos(angle) - u * math.sin(angle) + lit_h / 2) / pitch
    col = np.clip(np.floor(su).astype(np.int32), 0, content.shape[1] - 1)
    row = np.clip(np.floor(sv).astype(np.int32), 0, content.shape[0] - 1)
    stripe = np.clip(np.floor((su - np.floor(su)) * 3).astype(np.int32), 0, 2)
    lit = (sv - np.floor(sv)) < 0.8
    fine = np.zeros((fine_h, fine_w, 3), np.float32)
    for position, channel in enumerate(SUBPIXELS):
        on = (stripe == position) & lit
        fine[..., channel][on] = content[row[on], col[on], channel] * (3 / 0.8)
    fine = cv2.GaussianBlur(fine, (0, 0), LENS_BLUR * oversample)  # the camera lens, before its sensor samples
    shown = cv2.resize(fine, (lit_w, lit_h), interpolation=cv2.INTER_AREA)

    gy, gx = np.mgrid[0:lit_h, 0:lit_w].astype(np.float32)
    spot_x, spot_y = rng.uniform(0.15, 0.85) * lit_w, rng.uniform(0.1, 0.5) * lit_h
    spread = 0.25 * lit_w
    shown += 255 * glare * np.exp(-((gx - spot_x) ** 2 + (gy - spot_y) ** 2) / (2 * spread ** 2))[..., None]

    out = cv2.GaussianBlur(image, (0, 0), 9).astype(np.float32) * 0.55
    cv2.rectangle(out, (left - bezel, top - bezel), (left + lit_w + bezel, top + lit_h + bezel), (22, 22, 24), -1)
    out[top:top + lit_h, left:left + lit_w] = shown
    return np.clip(out, 0, 255).astype(np.uint8)


def hand_motion(frames: int, seed: int, angle_deg: float = 8.0, shift: float = 25.0,
                zoom: float = 0.0) -> list[tuple[float, tuple[float, float], float]]:
    """(angle, shift, zoom) per frame of a hand holding a picture: slow sways plus a small tremor."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * math.pi, 4)
    motions = []
    for i in range(frames):
        t = i / 6
        tremor = rng.normal(0, 0.6, 2)
        motions.append((angle_deg * math.sin(t + phase[0]),
                        (shift * math.sin(0.8 * t + phase[1]) + tremor[0], 0.4 * shift * math.cos(0.7 * t + phase[2])
                         + tremor[1]),
                        1.0 + zoom * (0.5 - 0.5 * math.cos(0.5 * t + phase[3]))))
    return motions


HALFTONE_ANGLES = (15.0, 75.0, 0.0)
"""Screen angles of the cyan, magenta and yellow dots (degrees), as offset presses set them apart."""
PAPER = np.array([220.0, 230.0, 236.0])
"""Paper white, BGR: a little warm, never the full 255 of a screen."""


def printed(image: np.ndarray, seed: int, pitch: float = 4.0, ink_spread: float = 0.6) -> np.ndarray:
    """The picture printed on paper: a halftone dot screen per ink, ink spreading into the paper, paper texture.

    Each of cyan, magenta and yellow is laid as dots on its own rotated grid of ``pitch`` pixels (a dot's area
    is the ink's coverage); black comes from their overlap. The ink bleeds by ``ink_spread`` pixels, and the
    paper's fibres (low-pass noise) and its warm white show through where there is no ink.
    """
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    coverage = 1.0 - image.astype(np.float32) / 255.0  # BGR -> ink of the complementary colour (Y, M, C)
    out = np.empty_like(coverage)
    for channel, angle in zip((2, 1, 0), HALFTONE_ANGLES):  # R's complement is cyan, G's magenta, B's yellow
        a = math.radians(angle)
        u = (x * math.cos(a) + y * math.sin(a)) * (2 * math.pi / pitch)
        v = (-x * math.sin(a) + y * math.cos(a)) * (2 * math.pi / pitch)
        screen = (np.cos(u) + np.cos(v)) / 4.0 + 0.5  # 0..1 over a cell, highest at the dot's centre
        out[..., channel] = (coverage[..., channel] > 1.0 - screen).astype(np.float32)
    inked = cv2.GaussianBlur(out, (0, 0), ink_spread)
    fibres = cv2.GaussianBlur(rng.normal(0.0, 1.0, (h, w)).astype(np.float32), (0, 0), 1.5)
    paper = PAPER[None, None, :] * (1.0 + 0.03 * np.clip(fibres / (fibres.std() or 1.0), -2.0, 2.0))[..., None]
    return np.clip(paper * (1.0 - 0.92 * inked), 0, 255).astype(np.uint8)


def pixel_grid(image: np.ndarray, pitch: int = 4, gap: float = 0.45, gamma: float = 0.7) -> np.ndarray:
    """A screen filmed close enough that its pixel grid shows, with its tone curve off (``gamma``).

    The picture is resampled to a screen of ``pitch``-pixel cells, each cell's last row and column darkened
    to ``gap`` of its value (the black matrix between pixels), and the tones bent by ``gamma`` (a screen's
    gamma and a camera's do not cancel). No lens blur: the grid stays visible.
    """
    h, w = image.shape[:2]
    small = cv2.resize(image, (w // pitch, h // pitch), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, ((w // pitch) * pitch, (h // pitch) * pitch), interpolation=cv2.INTER_NEAREST)
    shade = np.ones((pitch, pitch), np.float32)
    shade[-1, :] = shade[:, -1] = gap
    grid = np.tile(shade, (h // pitch, w // pitch))[..., None]
    toned = 255.0 * (big.astype(np.float32) * grid / 255.0) ** gamma
    out = np.zeros_like(image)
    out[:big.shape[0], :big.shape[1]] = np.clip(toned, 0, 255).astype(np.uint8)
    return out


def eye_holes(shape: tuple[int, ...], eyes: np.ndarray, radius: float) -> np.ndarray:
    """A float mask, 1 inside an ellipse round each eye centre (``eyes``: 2 x 2 pixels), soft-edged by 1 px."""
    mask = np.zeros(shape[:2], np.float32)
    for cx, cy in eyes:
        cv2.ellipse(mask, (int(round(cx)), int(round(cy))), (int(round(radius)), int(round(radius * 0.6))), 0, 0,
                    360, 1.0, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), 1.0)


def cut_eyes(photo: np.ndarray, behind: np.ndarray, eyes: np.ndarray, radius: float) -> np.ndarray:
    """A print of ``photo`` with its eyes cut out, held over ``behind`` (a live face): its eyes show through.

    The paper's cut edge is a thin dark rim (the paper's thickness in shadow).
    """
    hole = eye_holes(photo.shape, eyes, radius)[..., None]
    rim = np.clip(eye_holes(photo.shape, eyes, radius + 2.0)[..., None] - hole, 0.0, 1.0)
    paper = photo.astype(np.float32) * (1.0 - 0.6 * rim)
    return np.clip(paper * (1.0 - hole) + behind.astype(np.float32) * hole, 0, 255).astype(np.uint8)
