"""Generated media filmed through a camera model: what a real webcam would deliver of the same scene.

Every liveness threshold was first set on generated frames, sharp and clean
but for a little Gaussian noise; real cameras blur, resample, mosaic, add
noise that grows with the light, bend the tones, compress, and read their
rows one after another while the head moves (issue 33: real screens through
real cameras showed none of the moire our simulated screens did). ``film``
re-renders a sequence of generated frames (a live head, a print in a hand, a
screen) through ``Camera``, in the order a camera works:

1. **rolling shutter**: the rows are read top to bottom over ``readout`` of
   the frame interval, so each row shows the scene as it was that much
   earlier: the frame is displaced row by row along the motion (dense
   Farneback optical flow from the previous frame), and a moving head leans;
2. **defocus**: a disc (pillbox) of ``defocus`` pixels' radius, the blur of a
   lens focused a little off the face;
3. **resampling** onto the sensor: ``sensor`` times the frame's size, area
   averaged (detail finer than the sensor is lost or aliases);
4. a **Bayer mosaic** (one colour per photosite, BGGR), **sensor noise** on
   it (read noise plus photon noise growing with the light,
   ``degrade.sensor_noise``), then **demosaicing** (``cv2.cvtColor``);
5. the camera's **tone curve** (``degrade.tone``, ``gamma``);
6. **scaling** back to the frame's size (bilinear), as the driver delivers it;
7. **JPEG** at ``jpeg_quality`` (``degrade.jpeg``), as a webcam's MJPG stream.

A step is left out when its parameter is 0 or None (tests check each one). The
same frames, camera and seed always give the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from edge_core.biometrics.degrade import jpeg, sensor_noise, tone


@dataclass(frozen=True)
class Camera:
    """A laptop webcam's defects; the defaults are a middling one filming at arm's length."""

    readout: float = 0.3
    """Fraction of the frame interval the rows take to read (30 ms of a 10 fps frame's 100 ms); 0: a global shutter."""
    defocus: float = 1.2
    """Radius in pixels of the defocus disc; 0: in focus."""
    sensor: float = 0.75
    """The sensor's resolution over the frame's: the picture is delivered scaled up from it; 1: none."""
    read_noise: float = 2.0
    """Grey levels of read noise on the raw mosaic."""
    shot_noise: float = 0.05
    """Photon noise: variance per grey level of light (about 3.6 levels at mid grey with the read noise)."""
    bayer: bool = True
    """Whether colour comes from a mosaic that is demosaiced (False: every pixel sees every colour)."""
    gamma: float = 1.15
    """The camera's tone curve on values in [0, 1]: > 1 darkens the mid-tones (an underexposed room)."""
    jpeg_quality: int | None = 75
    """The stream's JPEG quality; None: uncompressed."""


POOR = Camera(readout=0.5, defocus=2.0, sensor=0.5, read_noise=4.0, shot_noise=0.1, gamma=1.4, jpeg_quality=50)
"""The harsh end: a cheap sensor of half the frame's resolution, focus well off, a dim room (more noise, darker
mid-tones), a slow readout and a heavily compressed stream."""
PLAIN = Camera(readout=0.0, defocus=0.0, sensor=1.0, read_noise=0.0, shot_noise=0.0, bayer=False, gamma=1.0,
               jpeg_quality=None)
"""A camera with every step left out: the frames pass unchanged (the generated media as they were)."""


def rolling_shutter(previous: np.ndarray, frame: np.ndarray, readout: float) -> np.ndarray:
    """``frame`` as a rolling shutter reads it: row y shows the scene ``readout * (1 - y / height)`` frame
    intervals earlier, found by following the motion from ``previous`` (dense optical flow) back that far."""
    grey_before, grey_now = (cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in (previous, frame))
    flow = cv2.calcOpticalFlowFarneback(grey_before, grey_now, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    height, width = frame.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    lag = (readout * (1.0 - ys / max(height - 1, 1)))
    return cv2.remap(frame, xs + flow[..., 0] * lag, ys + flow[..., 1] * lag, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def defocused(image: np.ndarray, radius: float) -> np.ndarray:
    """``image`` through a lens focused off the subject: the average over a disc of ``radius`` pixels."""
    size = 2 * int(np.ceil(radius)) + 1
    ys, xs = np.mgrid[0:size, 0:size] - size // 2
    disc = (np.hypot(xs, ys) <= radius).astype(np.float32)
    return cv2.filter2D(image, -1, disc / disc.sum(), borderType=cv2.BORDER_REPLICATE)


def _sensed(image: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """The sensor's reading of ``image``: a Bayer mosaic with its noise, demosaiced (or noise on every colour)."""
    if not camera.bayer:
        return sensor_noise(image, rng, camera.read_noise, camera.shot_noise)
    height, width = image.shape[:2]
    height, width = height - height % 2, width - width % 2  # the mosaic's 2x2 cells
    image = image[:height, :width]
    raw = np.empty((height, width), np.uint8)  # BGGR: blue, green / green, red
    raw[0::2, 0::2], raw[0::2, 1::2] = image[0::2, 0::2, 0], image[0::2, 1::2, 1]
    raw[1::2, 0::2], raw[1::2, 1::2] = image[1::2, 0::2, 1], image[1::2, 1::2, 2]
    return cv2.cvtColor(sensor_noise(raw, rng, camera.read_noise, camera.shot_noise), cv2.COLOR_BayerRG2BGR)


def shoot(image: np.ndarray, camera: Camera, rng: np.random.Generator) -> np.ndarray:
    """One frame (already through the shutter) through the lens, the sensor, the tone curve and the stream."""
    height, width = image.shape[:2]
    out = defocused(image, camera.defocus) if camera.defocus else image
    if camera.sensor != 1.0:
        size = (max(8, round(width * camera.sensor)), max(8, round(height * camera.sensor)))
        out = cv2.resize(out, size, interpolation=cv2.INTER_AREA)
    out = _sensed(out, camera, rng)
    if camera.gamma != 1.0:
        out = tone(out, camera.gamma)
    if out.shape[:2] != (height, width):
        out = cv2.resize(out, (width, height), interpolation=cv2.INTER_LINEAR)
    return jpeg(out, camera.jpeg_quality) if camera.jpeg_quality is not None else out


def film(frames: Sequence[np.ndarray], seed: int, camera: Camera = Camera()) -> list[np.ndarray]:
    """``frames`` (a generated scene, frame by frame) as ``camera`` films them; the noise drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    filmed, previous = [], None
    for frame in frames:
        scene = rolling_shutter(previous, frame, camera.readout) if previous is not None and camera.readout else frame
        filmed.append(shoot(scene, camera, rng))
        previous = frame
    return filmed
