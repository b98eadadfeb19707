"""OpenCV without libaom and libvpx, checked: run by packaging/slim.py, first plainly, then with the stubs preloaded.

``codec_check.py write DIR`` (the real libraries) writes one small photo in every format
FaceSeal reads (JPEG, PNG, BMP, WebP, TIFF), one AVIF photo, and a VP8 and a VP9 video.
``codec_check.py read DIR`` (the stubs preloaded) reads them back: every promised photo
format must decode to the same pixels (lossless formats) or nearly (JPEG, WebP), both videos
frame for frame (FFmpeg's own VP8/VP9 decoders), and the AVIF photo must read as an empty
image, not crash; writing an AVIF must fail cleanly. Prints "ok" or the first failure.
"""

import sys
from pathlib import Path

import cv2
import numpy as np

PROMISED = {".png": 0, ".bmp": 0, ".tif": 0, ".jpg": 12, ".webp": 12}
"""Photo format -> largest mean absolute difference allowed (lossy formats lose a little)."""

VIDEOS = {"vp8.webm": "VP80", "vp9.webm": "VP90"}
FRAMES = 10


def sample() -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    return np.dstack([x * 4, y * 5, (x + y) * 2]).astype(np.uint8)


def frame(index: int) -> np.ndarray:
    return np.full((48, 64, 3), 20 + 20 * index, np.uint8)


def write(folder: Path) -> None:
    for suffix in (*PROMISED, ".avif"):
        if not cv2.imwrite(str(folder / f"sample{suffix}"), sample()):
            raise SystemExit(f"codec_check: OpenCV cannot write {suffix} even with libaom")
    for name, fourcc in VIDEOS.items():
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
        if not writer.isOpened():
            raise SystemExit(f"codec_check: OpenCV cannot write {name} even with libvpx")
        for index in range(FRAMES):
            writer.write(frame(index))
        writer.release()


def read(folder: Path) -> None:
    for suffix, tolerance in PROMISED.items():
        image = cv2.imread(str(folder / f"sample{suffix}"))
        if image is None or image.shape != sample().shape:
            raise SystemExit(f"codec_check: OpenCV no longer reads {suffix} photos")
        if np.abs(image.astype(int) - sample()).mean() > tolerance:
            raise SystemExit(f"codec_check: {suffix} photos decode to different pixels")
    for name in VIDEOS:
        capture = cv2.VideoCapture(str(folder / name))
        frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
        if len(frames) != FRAMES or any(abs(float(f.mean()) - float(frame(i).mean())) > 6 for i, f in enumerate(frames)):
            raise SystemExit(f"codec_check: the {name} video no longer decodes frame for frame ({len(frames)} frames)")
    if cv2.imread(str(folder / "sample.avif")) is not None:
        raise SystemExit("codec_check: an AVIF photo still decodes, so libaom was not replaced")
    try:
        written = cv2.imwrite(str(folder / "again.avif"), sample())
    except cv2.error:
        written = False
    if written:
        raise SystemExit("codec_check: OpenCV still writes AVIF, so libaom was not replaced")
    print("ok")


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](Path(sys.argv[2]))
