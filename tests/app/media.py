"""Real photos from ../shared/faces by identity, and a video made of them to stand in for a camera.

Used by the app tests and by ``scripts/screenshots.py`` (which renders the
pages with the same real data); nothing here is copied into the repository.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[3] / "shared"
FACES = SHARED / "faces"
MODELS = SHARED / "models"
VIDEO_SIZE = (640, 480)


def photos_by_identity() -> dict[str, list[Path]]:
    """{identity: [photo paths]} from labels.csv, in file order."""
    people: dict[str, list[Path]] = defaultdict(list)
    with open(FACES / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            people[row["identity"]].append(FACES / row["file"])
    return dict(people)


def _letterboxed(photo: Path) -> np.ndarray:
    """The photo scaled into a 640x480 frame, as a webcam would deliver it."""
    image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    width, height = VIDEO_SIZE
    scale = min(width / image.shape[1], height / image.shape[0])
    small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    frame = np.zeros((height, width, 3), np.uint8)
    top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    frame[top:top + small.shape[0], left:left + small.shape[1]] = small
    return frame


def write_video(photos: list[Path], path: Path, frames_each: int = 25) -> Path:
    """An MJPG .avi showing each photo for ``frames_each`` frames (1 s at 25 fps)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, VIDEO_SIZE)
    try:
        for photo in photos:
            frame = _letterboxed(photo)
            for _ in range(frames_each):
                writer.write(frame)
    finally:
        writer.release()
    return path
