"""Where frames come from (images, a video file, a camera) and turning them into enrolment samples.

Sources are plain iterables of ``Frame`` so the CLI, the benchmarks and later
the Qt UI consume them the same way. Each opens its device or file eagerly, so
"no camera" or "no such video" is reported before anything else happens, and
each failure is a typed error with a sentence, never an OpenCV traceback.
OpenCV is imported by the functions that decode or open something, not with
the module: naming a source or a camera (the command line's options) does not
load it (issue 28).
"""

from __future__ import annotations

import collections
import os
import re
import stat
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from edge_core.biometrics.errors import (
    CameraIndexInvalid,
    CameraUnavailable,
    ImageUnreadable,
    NotEnoughSamples,
    VideoUnreadable,
)
from edge_core.biometrics.faces import Face
from edge_core.biometrics.infrared import as_bgr, fourcc_text
from edge_core.biometrics.pipeline import Pipeline
from edge_core.biometrics.quality import QualityGates, Reason
from edge_core.biometrics.runtime import quiet_opencv
from edge_core.support.inputs import read_regular, regular_file, size_text

if TYPE_CHECKING:
    import cv2

Covered = Callable[[np.ndarray, Face], bool]
"""Whether a detected face's features are hidden in the frame (a mask): the liveness face mesh finds none."""

CANDIDATES_PER_SAMPLE = 2
"""Good frames the command line looks at per sample kept from a camera: it keeps the better half."""
VIDEO_LOOKS_PER_SAMPLE = 6
"""Frames looked at per sample kept when enrolling from a video file: spread evenly over the whole video
(``VideoFile(spread=)``), so the samples come from its whole length (other moments, other poses), never
from one second of near-copies; the best frame of each stretch of the video is kept."""
_JPEG_TAIL = 4096
"""How close to the end a JPEG's end-of-image marker must be (some cameras append a few bytes)."""


class Frame(NamedTuple):
    """One picture to consider, with a label a person recognises ("B.jpg", "frame 12")."""

    label: str
    image: np.ndarray


MAX_IMAGE_BYTES = 50 * 2**20
"""The largest image file FaceSeal reads (a phone's photo is a few MB)."""
MAX_PIXELS = 50 * 1000 * 1000
"""The most pixels an image or a video frame may have, checked in its header before anything is decoded."""
MAX_CAMERA_INDEX = 63
"""Cameras are numbered 0 to 63; OpenCV crashes on some numbers outside that (-1 among them)."""
FORMATS = "JPEG, PNG, BMP, WebP or TIFF"

_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD9)}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's first frame header (SOFn), walking the marker segments."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_STANDALONE:
            at += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        (length,) = struct.unpack_from(">H", data, at + 2)
        if marker in _JPEG_FRAMES:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, at + 5)
            return (width, height) if width and height else None
        at += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a TIFF's first image directory (tags 256 and 257)."""
    order = "<" if data[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, offset)
        found: dict[int, int] = {}
        for entry in range(count):
            tag, kind, _n = struct.unpack_from(order + "HHI", data, offset + 2 + 12 * entry)
            if tag in (256, 257):
                value_format = order + ("H" if kind == 3 else "I")
                found[tag] = struct.unpack_from(value_format, data, offset + 2 + 12 * entry + 8)[0]
    except struct.error:
        return None
    return (found[256], found[257]) if 256 in found and 257 in found else None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) an image's header claims, read without decoding; None for a format FaceSeal does not read.

    The formats are those FaceSeal accepts (JPEG, PNG, BMP, WebP, TIFF); each
    header is read only as far as its dimensions.
    """
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            return struct.unpack_from(">II", data, 16)
        if data[:3] == b"\xff\xd8\xff":
            return _jpeg_size(data)
        if data[:2] == b"BM":
            if struct.unpack_from("<I", data, 14)[0] == 12:  # OS/2 bitmap header
                return struct.unpack_from("<HH", data, 18)
            width, height = struct.unpack_from("<ii", data, 18)
            return abs(width), abs(height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
                width, height = struct.unpack_from("<HH", data, 26)
                return width & 0x3FFF, height & 0x3FFF
            if chunk == b"VP8L" and data[20] == 0x2F:
                (bits,) = struct.unpack_from("<I", data, 21)
                return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if chunk == b"VP8X":
                return (int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
            return None
        if data[:4] in (b"II*\0", b"MM\0*"):
            return _tiff_size(data)
    except (struct.error, IndexError):
        return None
    return None


def check_pixels(width: int, height: int, label: str) -> None:
    """Refuse a picture of more than :data:`MAX_PIXELS` pixels (decoding it would take gigabytes)."""
    if width * height > MAX_PIXELS:
        raise ImageUnreadable(f"{label} is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                              f"FaceSeal reads pictures of at most {MAX_PIXELS // 1000000} megapixels")


def decode_image(data: bytes, label: str) -> np.ndarray:
    """Decode image bytes to BGR, refusing what would exhaust memory or silently decode wrong.

    The file's size and the pixel count its header claims are checked before
    anything is decoded (a small file can claim 25000x25000 pixels). libjpeg
    fills a cut-off JPEG with grey and only prints a warning, which would give
    a silently wrong embedding; a JPEG without its end-of-image marker near
    the end is therefore refused before decoding.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageUnreadable(f"{label} is {size_text(len(data))}; FaceSeal reads images of at most "
                              f"{size_text(MAX_IMAGE_BYTES)}")
    size = image_size(data) if data else None
    if size is None:
        raise ImageUnreadable(f"{label} is not an image FaceSeal can read ({FORMATS})")
    check_pixels(*size, label)
    if data[:3] == b"\xff\xd8\xff" and data.rfind(b"\xff\xd9", max(0, len(data) - _JPEG_TAIL)) < 0:
        raise ImageUnreadable(f"{label} is a truncated JPEG (its end is missing)")
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageUnreadable(f"{label} is not an image FaceSeal can read ({FORMATS})")
    return image


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
"""The file names read as still images when a folder is walked (calibration, pad-eval); anything else is a video."""


def read_image(path: Path | str) -> np.ndarray:
    """Read an image file as BGR uint8 (EXIF orientation applied), or raise ImageUnreadable.

    Only a regular file of at most :data:`MAX_IMAGE_BYTES` is read: it is opened
    without blocking (a FIFO would wait for a writer forever) and checked with
    ``fstat`` on the opened descriptor, so what is read is what was checked.
    """
    path = Path(path)
    data = read_regular(path, MAX_IMAGE_BYTES, ImageUnreadable, "an image FaceSeal reads")
    return decode_image(data, str(path))


class ImageFiles:
    """Frames from image files, in the order given; a missing file is reported at once."""

    description = "the images"
    live = False

    def __init__(self, paths: Sequence[Path | str]) -> None:
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ImageUnreadable("no image was given")
        for path in self.paths:
            regular_file(path, ImageUnreadable)

    def __iter__(self) -> Iterator[Frame]:
        for path in self.paths:
            yield Frame(path.name, read_image(path))


class _Capture:
    """An opened ``cv2.VideoCapture`` read frame by frame, released on exit."""

    description = "the capture"
    live = False
    """Whether a person is in front of it now (a camera), so a hint can ask them to do something."""
    pixel_format = ""
    """A camera's V4L2 pixel format (``GREY``, ``YUYV``, ``MJPG``...) as OpenCV reports it; "" for a file, whose
    frames alone say whether it is grey (:mod:`edge_core.biometrics.infrared`)."""

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
        import cv2

        fps = float(self._capture.get(cv2.CAP_PROP_FPS)) if self._capture.isOpened() else 0.0
        return fps if fps > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        return self._read(None)

    def _read(self, wanted: set[int] | None) -> Iterator[Frame]:
        """Every frame, or only those whose index is in ``wanted`` (the others skipped undecoded), released at
        the end; labelled by their place in the source ("frame 12")."""
        count = index = 0
        last = max(wanted) if wanted else None
        try:
            while (self._max_frames is None or count < self._max_frames) and (last is None or index <= last):
                index += 1
                if wanted is not None and index - 1 not in wanted:
                    if not self._capture.grab():
                        break
                    continue
                ok, image = self._capture.read()
                if not ok or image is None:
                    break
                count += 1
                yield Frame(f"frame {index}", image)
        finally:
            self.close()
        if count == 0:
            self._no_frames()

    def _no_frames(self) -> None:
        """Called when not a single frame could be read."""


class VideoFile(_Capture):
    """Frames of a video file, decoded by OpenCV's FFmpeg backend."""

    description = "the video"

    def __init__(self, path: Path | str, spread: int | None = None) -> None:
        """``spread``: yield only that many frames, evenly spaced from the first to the last (enrolment)."""
        self.path = Path(path)
        self.spread = spread
        regular_file(self.path, VideoUnreadable)
        import cv2

        with quiet_opencv():
            capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise VideoUnreadable(f"{self.path} is not a video FaceSeal can read")
        width, height = (int(capture.get(prop)) for prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > MAX_PIXELS:
            capture.release()
            raise VideoUnreadable(f"{self.path} has frames of {width}x{height} pixels; FaceSeal reads pictures "
                                  f"of at most {MAX_PIXELS // 1000000} megapixels")
        self.frame_count = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        """How many frames the file declares (0 when it declares none): "frame 12 of 3000"."""
        super().__init__(capture, None)

    def _no_frames(self) -> None:
        raise VideoUnreadable(f"{self.path} has no readable frames")

    def __iter__(self) -> Iterator[Frame]:
        total = self.frame_count if self._capture.isOpened() else 0
        if self.spread is None or total <= self.spread:
            return self._read(None)
        return self._read(set(np.linspace(0, total - 1, self.spread).round().astype(int).tolist()))


def collect_from_video(pipeline: Pipeline, path: Path | str, samples: int, *, largest: bool = False,
                       on_frame: Callable[[Frame, Reason | None], None] | None = None,
                       wrap: Callable[[Iterable[Frame]], Iterable[Frame]] = lambda frames: frames,
                       on_every_frame: Callable[[], None] | None = None,
                       covered: Covered | None = None) -> Enrolment:
    """``samples`` from a video file: from frames spread over its whole length (:func:`enrolment_video`); when
    those hold too few good faces (a face in a short part of it only), from every frame, as the camera's rule
    takes them (``on_every_frame`` hears of that second pass first). ``wrap`` wraps each pass's frames (a
    preview); ``covered`` as for :func:`collect_samples`."""
    spread, looks = enrolment_video(path, samples)
    try:
        return collect_samples(pipeline, wrap(spread), samples, largest=largest, on_frame=on_frame,
                               candidates_per_sample=looks, covered=covered)
    except NotEnoughSamples:
        if on_every_frame is not None:
            on_every_frame()
        return collect_samples(pipeline, wrap(VideoFile(path)), samples, largest=largest, on_frame=on_frame,
                               candidates_per_sample=CANDIDATES_PER_SAMPLE, covered=covered)


def enrolment_video(path: Path | str, samples: int) -> tuple[VideoFile, int]:
    """A video to enrol ``samples`` from: its frames spread over the whole video, and the candidates per sample.

    Every spread frame is looked at (``collect_samples`` stops only when all
    of them are good), then the best of each of ``samples`` stretches is kept.
    """
    return VideoFile(path, spread=samples * VIDEO_LOOKS_PER_SAMPLE), VIDEO_LOOKS_PER_SAMPLE


def camera_index(spec: str, sysfs: Path = Path("/sys/class/video4linux"), dev: Path = Path("/dev")) -> int:
    """The OpenCV index of a camera named as people know it: ``2``, ``/dev/video2``, a stable link to it
    (``/dev/v4l/by-id/usb-Logitech…``), or its V4L2 name as ``v4l2-ctl --list-devices`` shows it ("Integrated
    Camera"). A name several device nodes share (a camera's metadata node) is its lowest node, the capture one."""
    text = spec.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)  # the range is the camera's to check, in its own words
    if text.startswith("/"):
        real = Path(os.path.realpath(text))
        match = re.fullmatch(r"video(\d+)", real.name)
        try:
            device = real.parent == dev and match is not None and stat.S_ISCHR(os.stat(real).st_mode)
        except OSError:
            device = False
        if not device:
            raise CameraIndexInvalid(f"{text} is not a camera's device (/dev/videoN, or a link to one)")
        return int(match.group(1))
    named = sorted(int(node.name[5:]) for node in sysfs.glob("video*")
                   if node.name[5:].isdigit() and _read_name(node) == text)
    if not named:
        known = sorted({name for node in sysfs.glob("video*") if (name := _read_name(node))})
        listed = "; cameras here: " + ", ".join(known) if known else "; no camera is connected"
        raise CameraIndexInvalid(f"no camera is named '{text}'{listed}")
    return named[0]


def _read_name(node: Path) -> str:
    try:
        return (node / "name").read_text(errors="replace").strip()
    except OSError:
        return ""


class Camera(_Capture):
    """Frames from a camera by index, at most ``max_frames`` (so enrolment cannot run forever).

    Having no camera is normal on servers and many desktops: it is a
    ``CameraUnavailable`` error with a hint, not a crash.
    """

    description = "the camera"
    live = True

    def __init__(self, index: int = 0, max_frames: int = 300) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_CAMERA_INDEX:
            raise CameraIndexInvalid(f"camera index {index} is out of range: cameras are numbered "
                                     f"0 to {MAX_CAMERA_INDEX}")
        self.index = index
        import cv2

        with quiet_opencv():
            capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            capture.release()
            raise CameraUnavailable(
                f"no camera found at index {index}; connect one or choose another with --camera N, "
                "or use --image / --video instead"
            )
        self.pixel_format = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
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


def shortfall(source: str, good: int, samples: int, unit: str = "frame") -> str:
    """Why a capture ended without enough, counted in the unit its progress counted in (good frames of a video
    or a camera, good photos of photos)."""
    return (f"{source} ended with {good} good {unit}{'' if good == 1 else 's'}, fewer than the {samples} needed "
            f"(one per sample)")


def collect_samples(
    pipeline: Pipeline,
    frames: Iterable[Frame],
    samples: int = 5,
    *,
    largest: bool = False,
    gates: QualityGates | None = None,
    on_frame: Callable[[Frame, Reason | None], None] | None = None,
    candidates_per_sample: int = 1,
    covered: Covered | None = None,
) -> Enrolment:
    """Take frames until enough pass the quality gates; return the embeddings of the best ``samples``.

    It keeps looking until it has ``candidates_per_sample`` times as many good
    frames as it needs (or the source ends), splits them into ``samples`` stretches
    of consecutive frames and keeps the one with the highest ``QualityGates.score``
    (size, sharpness, pose) of each; the command line asks for
    ``CANDIDATES_PER_SAMPLE``. A list of more photos than samples is treated the same way. Every rejected frame
    is recorded with its reason, and ``on_frame`` (if given) hears about each
    frame as it is judged, so a live UI can show "move closer" while the person
    is still in front of the camera. When the source runs out with fewer good
    frames than ``samples``, ``NotEnoughSamples`` says how many were found and
    the most frequent problem. ``covered`` (the liveness face mesh's
    ``features_hidden``) tells a face whose features are hidden (a mask) from one
    that is merely unclear: a frame that passes the gates, or fails only the
    detection score, is rejected as ``Reason.COVERED`` when it says so.
    """
    if samples < 1:
        raise ValueError("samples must be at least 1")
    gates = gates or QualityGates.for_pipeline(pipeline)
    candidates: list[tuple[float, str, np.ndarray]] = []
    rejections: list[Rejection] = []
    for frame in frames:
        image = as_bgr(frame.image)
        choice = gates.select(pipeline.detect(image), largest)
        reason = choice if isinstance(choice, Reason) else None
        if reason is None:
            aligned = pipeline.align(image, choice)
            reason = gates.check(choice, aligned)
            if reason in (None, Reason.LOW_SCORE) and covered is not None and covered(image, choice):
                reason = Reason.COVERED
            if reason is None:
                candidates.append((gates.score(choice, aligned), frame.label, aligned))
        if reason is not None:
            rejections.append(Rejection(frame.label, reason))
        if on_frame is not None:
            on_frame(frame, reason)
        if len(candidates) == samples * max(1, candidates_per_sample):
            break
    if len(candidates) >= samples:
        if isinstance(frames, _Capture):
            frames.close()
        # The best of each stretch of consecutive good frames, not the best overall: neighbouring
        # frames of a video are near copies, and five copies of one moment make a poor template.
        stretches = np.array_split(np.arange(len(candidates)), samples)
        best = [max((candidates[i] for i in stretch), key=lambda candidate: candidate[0]) for stretch in stretches]
        embeddings = np.stack([pipeline.embedder.embed(aligned) for _score, _label, aligned in best])
        return Enrolment(embeddings, tuple(label for _score, label, _aligned in best), tuple(rejections))
    message = shortfall(getattr(frames, "description", "the frames"), len(candidates), samples,
                        "photo" if isinstance(frames, ImageFiles) else "frame")
    if rejections:
        common, _ = collections.Counter(r.reason for r in rejections).most_common(1)[0]
        message += f"; most frequent problem: {common.said(getattr(frames, 'live', False))}"
    raise NotEnoughSamples(message, tuple(rejections))
