"""Where frames come from (images, a video file, a camera) and turning them into enrolment samples.

Sources are plain iterables of ``Frame`` so the CLI, the benchmarks and later
the Qt UI consume them the same way. Each opens its device or file eagerly, so
"no camera" or "no such video" is reported before anything else happens, and
each failure is a typed error with a sentence, never an OpenCV traceback.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from edge_core.biometrics.errors import CameraUnavailable, ImageUnreadable, NotEnoughSamples, VideoUnreadable
from edge_core.biometrics.pipeline import Pipeline
from edge_core.biometrics.quality import QualityGates, Reason
from edge_core.biometrics.runtime import quiet_opencv

_JPEG_TAIL = 4096
"""How close to the end a JPEG's end-of-image marker must be (some cameras append a few bytes)."""


class Frame(NamedTuple):
    """One picture to consider, with a label a person recognises ("B.jpg", "frame 12")."""

    label: str
    image: np.ndarray


def decode_image(data: bytes, label: str) -> np.ndarray:
    """Decode image bytes to BGR, refusing truncated JPEGs that OpenCV would half-decode.

    libjpeg fills a cut-off JPEG with grey and only prints a warning, which
    would give a silently wrong embedding; a JPEG without its end-of-image
    marker near the end is therefore refused before decoding.
    """
    if data[:3] == b"\xff\xd8\xff" and data.rfind(b"\xff\xd9", max(0, len(data) - _JPEG_TAIL)) < 0:
        raise ImageUnreadable(f"{label} is a truncated JPEG (its end is missing)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ImageUnreadable(f"{label} is not an image FaceSeal can read (JPEG, PNG, BMP, WebP or TIFF)")
    return image


def read_image(path: Path | str) -> np.ndarray:
    """Read an image file as BGR uint8 (EXIF orientation applied), or raise ImageUnreadable."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageUnreadable(f"{path} does not exist") from None
    except OSError as error:
        raise ImageUnreadable(f"{path} cannot be read ({error.strerror})") from None
    return decode_image(data, str(path))


class ImageFiles:
    """Frames from image files, in the order given; a missing file is reported at once."""

    description = "the images"

    def __init__(self, paths: Sequence[Path | str]) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ImageUnreadable("no image was given")
        for path in self.paths:
            if not path.is_file():
                raise ImageUnreadable(f"{path} does not exist")

    def __iter__(self) -> Iterator[Frame]:
        for path in self.paths:
            yield Frame(path.name, read_image(path))


class _Capture:
    """An opened ``cv2.VideoCapture`` read frame by frame, released on exit."""

    description = "the capture"

    def __init__(self, capture: cv2.VideoCapture, max_frames: int | None) -> None:
        self._capture = capture
        self._max_frames = max_frames

    def __enter__(self) -> _Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the device or file (also done when iteration ends)."""
        self._capture.release()

    @property
    def fps(self) -> float | None:
        """Frames per second the file or device declares, None when it declares none.

        A video file's rate turns a liveness time limit into a frame budget, so
        the same file is judged the same way however fast it is decoded.
        """
        fps = float(self._capture.get(cv2.CAP_PROP_FPS)) if self._capture.isOpened() else 0.0
        return fps if fps > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        count = 0
        try:
            while self._max_frames is None or count < self._max_frames:
                ok, image = self._capture.read()
                if not ok or image is None:
                    break
                count += 1
                yield Frame(f"frame {count}", image)
        finally:
            self.close()
        if count == 0:
            self._no_frames()

    def _no_frames(self) -> None:
        """Called when not a single frame could be read."""


class VideoFile(_Capture):
    """Frames of a video file, decoded by OpenCV's FFmpeg backend."""

    description = "the video"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise VideoUnreadable(f"{self.path} does not exist")
        with quiet_opencv():
            capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise VideoUnreadable(f"{self.path} is not a video FaceSeal can read")
        super().__init__(capture, None)

    def _no_frames(self) -> None:
        raise VideoUnreadable(f"{self.path} has no readable frames")


class Camera(_Capture):
    """Frames from a camera by index, at most ``max_frames`` (so enrolment cannot run forever).

    Having no camera is normal on servers and many desktops: it is a
    ``CameraUnavailable`` error with a hint, not a crash.
    """

    description = "the camera"

    def __init__(self, index: int = 0, max_frames: int = 300) -> None:
        self.index = index
        with quiet_opencv():
            capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(
                f"no camera found at index {index}; connect one or choose another with --camera N, "
                "or use --image / --video instead"
            )
        super().__init__(capture, max_frames)

    def _no_frames(self) -> None:
        raise CameraUnavailable(f"the camera at index {self.index} gave no picture; is another program using it?")


@dataclass(frozen=True)
class Rejection:
    """A frame that was not used, and why (the UI shows ``reason.message``)."""

    label: str
    reason: Reason


@dataclass(frozen=True)
class Enrolment:
    """The accepted samples: ``embeddings`` is (k, d) float32, one unit row per sample."""

    embeddings: np.ndarray
    accepted: tuple[str, ...]
    rejections: tuple[Rejection, ...] = field(default=())


def collect_samples(
    pipeline: Pipeline,
    frames: Iterable[Frame],
    samples: int = 5,
    *,
    largest: bool = False,
    gates: QualityGates | None = None,
    on_frame: Callable[[Frame, Reason | None], None] | None = None,
) -> Enrolment:
    """Take frames until ``samples`` of them pass the quality gates; return their embeddings.

    Every rejected frame is recorded with its reason, and ``on_frame`` (if
    given) hears about each frame as it is judged, so a live UI can show
    "move closer" while the person is still in front of the camera. When the
    source runs out first, ``NotEnoughSamples`` says how many were found and
    the most frequent problem.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    gates = gates or QualityGates.for_pipeline(pipeline)
    embeddings: list[np.ndarray] = []
    accepted: list[str] = []
    rejections: list[Rejection] = []
    for frame in frames:
        choice = gates.select(pipeline.detect(frame.image), largest)
        reason = choice if isinstance(choice, Reason) else None
        if reason is None:
            aligned = pipeline.align(frame.image, choice)
            reason = gates.check(choice, aligned)
            if reason is None:
                embeddings.append(pipeline.embedder.embed(aligned))
                accepted.append(frame.label)
        if reason is not None:
            rejections.append(Rejection(frame.label, reason))
        if on_frame is not None:
            on_frame(frame, reason)
        if len(embeddings) == samples:
            if isinstance(frames, _Capture):
                frames.close()
            return Enrolment(np.stack(embeddings), tuple(accepted), tuple(rejections))
    source = getattr(frames, "description", "the frames")
    message = f"{source} ended with {len(embeddings)} of the {samples} good samples needed"
    if rejections:
        common, _ = collections.Counter(r.reason for r in rejections).most_common(1)[0]
        message += f"; most frequent problem: {common.message}"
    raise NotEnoughSamples(message, tuple(rejections))
