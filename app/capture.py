"""Frames to embeddings off the UI thread, with the preview, face boxes and hints the window shows.

Every capture goes through edge_core's ``collect_samples`` (the same quality
gates as the CLI); this module only adds what a window needs around it:

* a live source (a camera, or a video file standing in for one) is read by its
  own grabber thread that previews *every* frame, while the gates judge only
  the newest one whenever they are free: the preview stays smooth however long
  detection takes;
* a file source (photos, a video to enrol from) is judged frame by frame, each
  frame shown while it is judged;
* the faces the detector found are reported for drawing by wrapping the
  pipeline's detector, so nothing is detected twice;
* a liveness session (``liveness_session``) runs through edge_core's
  ``check_liveness``, exactly as ``faceseal verify --liveness`` does;
* :func:`source_of` names the source as ``edge_core.ops`` knows it: a video
  file standing in for the camera is a video, never a camera.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.preferences import CaptureSettings
from app.workers import Cancelled, Reporter
from edge_core.biometrics import (
    CANDIDATES_PER_SAMPLE,
    VIDEO_LOOKS_PER_SAMPLE,
    Camera,
    Face,
    Frame,
    ImageFiles,
    Pipeline,
    Reason,
    VideoFile,
    collect_from_video,
    collect_samples,
    load_pack,
    read_image,
    shortfall,
)
from edge_core.biometrics.errors import CameraUnavailable, NoFaceFound, NotEnoughSamples
from edge_core.errors import FaceSealError
from edge_core.liveness import LivenessResult, RiskBands
from edge_core.liveness.check import check_liveness
from edge_core.liveness.mesh import features_hidden, load_mesh
from edge_core.liveness.passive import AttackModel
from edge_core.ops import Source

if TYPE_CHECKING:
    from app.widgets.mesh_overlay import MeshFeed

STAND_IN_FPS = 25.0
"""Pace of a video file standing in for a camera: real time, as a camera would deliver it."""
CAMERA_FRAMES = 900
"""A live capture gives up after this many frames (about 30 s) rather than run forever."""
FILE_WORDS = {
    Reason.NO_FACE: "no face in this frame",
    Reason.MANY_FACES: "more than one face (tick 'use the largest' to take the biggest)",
    Reason.TOO_SMALL: "the face is too small",
    Reason.LOW_SCORE: "the face is not clearly visible",
    Reason.BLURRY: "too blurry",
    Reason.POSE: "the face is turned away",
    Reason.COVERED: "the lower face is covered (a mask?)",
}
"""Why a frame of a file was not used: edge_core's hints speak to someone at a camera, a file cannot move."""


def file_words(reason: Reason, kind: str) -> str:
    """Why a frame of a file was not used, in words for that file: a photo is a photo, not a frame."""
    text = FILE_WORDS.get(reason, reason.message)
    return text.replace("this frame", "this photo") if kind == "photos" else text


@dataclass(frozen=True)
class SourceChoice:
    """Where frames come from: ``camera`` (live), or ``photos`` / ``video`` files judged frame by frame."""

    kind: str
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _ReportingDetector:
    """The pack's detector, also reporting every result so the preview can draw it."""

    inner: Any
    report: Callable[[list[Face]], None]

    def detect(self, image: np.ndarray) -> list[Face]:
        faces = self.inner.detect(image)
        self.report(faces)
        return faces


def _watched(pipeline: Pipeline, reporter: Reporter) -> Pipeline:
    return dataclasses.replace(pipeline, detector=_ReportingDetector(pipeline.detector, reporter.faces))


class _Previewed:
    """A file source whose every frame is shown before it is judged."""

    def __init__(self, source: Any, reporter: Reporter) -> None:
        self.description = getattr(source, "description", "the frames")
        self._source = source
        self._reporter = reporter

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._source:
            if self._reporter.cancelled:
                raise Cancelled()
            self._reporter.frame(frame.image)
            yield frame


class LiveFeed:
    """A live source read by a grabber thread; iterating yields only the newest frame, never a backlog."""

    def __init__(self, source: Any, reporter: Reporter, pace_fps: float | None) -> None:
        self.description = getattr(source, "description", "the camera")
        self._source = source
        self._reporter = reporter
        self._interval = 1.0 / pace_fps if pace_fps else 0.0
        self._ready = threading.Condition()
        self._latest: Frame | None = None
        self._serial = 0
        self._ended = False
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._grab, name="faceseal-grabber", daemon=True)

    def __enter__(self) -> LiveFeed:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _grab(self) -> None:
        next_due = time.monotonic()
        try:
            for frame in self._source:
                if self._stop.is_set() or self._reporter.cancelled:
                    break
                self._reporter.frame(frame.image)
                with self._ready:
                    self._latest, self._serial = frame, self._serial + 1
                    self._ready.notify_all()
                if self._interval:
                    next_due += self._interval
                    time.sleep(max(0.0, next_due - time.monotonic()))
        except BaseException as error:  # noqa: BLE001 - handed to the analysing thread, which reports it
            self._error = error
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def __iter__(self) -> Iterator[Frame]:
        seen = 0
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._serial != seen or self._ended)
                if self._serial == seen:
                    break
                frame, seen = self._latest, self._serial
            if self._reporter.cancelled:
                raise Cancelled()
            assert frame is not None
            yield frame
        if self._reporter.cancelled:
            raise Cancelled()
        if self._error is not None:
            raise self._error


def source_of(choice: SourceChoice, settings: CaptureSettings) -> Source:
    """The source as edge_core.ops knows it: a video standing in for the camera is a video, not a camera."""
    if choice.kind == "camera":
        return Source.CAMERA if settings.camera_video is None else Source.VIDEO
    return Source.VIDEO if choice.kind == "video" else Source.PHOTO


def open_camera(settings: CaptureSettings) -> tuple[Any, float | None]:
    """The camera (or the video standing in for it) and the pace to read it at; opened now.

    edge_core's message names the CLI's flags; the window names its own way out.
    """
    if settings.camera_video is not None:
        return VideoFile(settings.camera_video), STAND_IN_FPS
    try:
        return Camera(settings.camera_index, max_frames=CAMERA_FRAMES), None
    except CameraUnavailable:
        raise CameraUnavailable(
            f"no camera answers at index {settings.camera_index}: connect one or choose another in Settings, "
            "or enrol and verify from photos or a video file"
        ) from None


def camera_problem(settings: CaptureSettings) -> str | None:
    """Why the camera (or its stand-in) cannot be opened now, or None when it answers (Home's camera line)."""
    try:
        source, _pace = open_camera(settings)
    except FaceSealError as error:
        return str(error)
    source.close()
    return None


def frame_total(path: Path) -> int:
    """How many frames the video file declares (0 when it declares none), for "reading frame N of TOTAL"."""
    capture = cv2.VideoCapture(str(path))
    try:
        return max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) if capture.isOpened() else 0
    finally:
        capture.release()


def file_hint(choice: SourceChoice, frame: Frame, text: str, total: int) -> str:
    """What is being read and what became of it: "reading frame 12 of 3000: no face in this frame"."""
    if choice.kind == "video":
        return f"reading {frame.label} of {total}: {text}" if total else f"reading {frame.label}: {text}"
    return f"{frame.label}: {text}"


def _open(choice: SourceChoice, settings: CaptureSettings,
          samples: int) -> tuple[Iterable[Frame], bool, float | None]:
    """(frames, live, pace): the source the choice names, opened now so a missing camera shows at once."""
    if choice.kind == "photos":
        return ImageFiles(list(choice.files)), False, None
    if choice.kind == "video":
        return VideoFile(choice.files[0]), False, None  # opened now; read by collect_from_video
    camera, pace = open_camera(settings)
    return camera, True, pace


def capture_samples(choice: SourceChoice, settings: CaptureSettings, samples: int, reporter: Reporter,
                    largest: bool = False) -> tuple[Pipeline, np.ndarray]:
    """The pack's pipeline and ``samples`` embeddings (k, d) of frames that passed the quality gates.

    ``largest`` takes the biggest face of a frame that shows several (a photo
    with people in the background) instead of refusing the frame.
    """
    pipeline = load_pack(settings.pack)
    covered = features_hidden(pipeline.pack)  # a masked face is told so, not "not clearly visible"
    source, live, pace = _open(choice, settings, samples)
    total = frame_total(choice.files[0]) if choice.kind == "video" else len(choice.files)
    # As on the command line (edge_core.biometrics.collect_samples): from a camera twice as many good frames
    # as samples are looked at and the best of each stretch is kept; from a video file, frames spread over
    # its whole length (enrolment_video); every chosen photo is one sample.
    candidates = {"photos": 1, "video": VIDEO_LOOKS_PER_SAMPLE}.get(choice.kind, CANDIDATES_PER_SAMPLE)
    wanted = samples * candidates
    accepted = looked = 0
    spread = choice.kind == "video"

    def every_frame() -> None:
        """The spread frames held too few good faces: every frame of the video now, counted afresh."""
        nonlocal accepted, looked, candidates, wanted, spread
        accepted = looked = 0
        candidates, spread = CANDIDATES_PER_SAMPLE, False
        wanted = samples * candidates

    def on_frame(frame: Frame, reason: Reason | None) -> None:
        nonlocal accepted, looked
        if reporter.cancelled:
            raise Cancelled()
        accepted += reason is None
        looked += 1
        if reason is None:
            text = f"good sample {accepted} of {samples}" if candidates == 1 else \
                f"good frame {accepted} (of {wanted} frames spread over the video, the best of each stretch " \
                "is kept)" if spread else \
                f"good frame {accepted} of {wanted} (the best of every {candidates} is kept)"
        else:
            text = reason.message if live else file_words(reason, choice.kind)
        reporter.hint(text if live else file_hint(choice, frame, text, total))
        done = looked if spread else accepted
        reporter.progress(min(done, wanted), wanted)

    watched = _watched(pipeline, reporter)
    if live:
        with LiveFeed(source, reporter, pace) as feed:
            return pipeline, collect_samples(watched, feed, samples, largest=largest, on_frame=on_frame,
                                             candidates_per_sample=candidates, covered=covered).embeddings
    try:
        if choice.kind == "video":
            source.close()  # it proved the file opens; collect_from_video reads it, spread then whole
            return pipeline, collect_from_video(watched, choice.files[0], samples, largest=largest,
                                                on_frame=on_frame, wrap=lambda frames: _Previewed(frames, reporter),
                                                on_every_frame=every_frame, covered=covered).embeddings
        return pipeline, collect_samples(watched, _Previewed(source, reporter), samples, largest=largest,
                                         on_frame=on_frame, candidates_per_sample=candidates,
                                         covered=covered).embeddings
    except NotEnoughSamples as short:
        raise _in_file_words(short, source.description, accepted, samples, choice.kind) from None


def _in_file_words(short: NotEnoughSamples, source: str, accepted: int, samples: int,
                   kind: str) -> NotEnoughSamples:
    """edge_core's "ended with N of M good samples", its most frequent problem worded for a file."""
    common = Counter(rejection.reason for rejection in short.rejections).most_common(1)
    problem = f"; most frequent problem: {file_words(common[0][0], kind)}" if common else ""
    unit = "photo" if kind == "photos" else "frame"
    return NotEnoughSamples(shortfall(source, accepted, samples, unit) + problem, short.rejections)


def probe_photo(photo: Path, settings: CaptureSettings,
                reporter: Reporter) -> tuple[Pipeline, np.ndarray, tuple[tuple[list[float], np.ndarray], ...]]:
    """The faces of a probe photo, as the CLI takes them: the largest face, and every face with its box.

    Verify matches the largest face; identify names every face of a group photo.
    """
    pipeline = load_pack(settings.pack)
    image = read_image(photo)
    reporter.frame(image)
    found = _watched(pipeline, reporter).analyze(image)
    if not found:
        raise NoFaceFound(f"no face found in {photo.name}")
    _face, embedding = max(found, key=lambda item: item[0].area)
    reporter.hint(f"{photo.name}: {len(found)} faces found" if len(found) > 1 else f"{photo.name}: face found")
    return pipeline, embedding, tuple((list(map(float, face.box)), vector) for face, vector in found)


class _FrameFaces:
    """The pack's detector, reporting the faces of each judged frame once.

    The liveness tracker detects again on a crop around the face (for steady
    landmarks); those faces are in the crop's pixels, not the frame's, so only
    the first detection after a new frame is the one to draw.
    """

    def __init__(self, inner: Any, report: Callable[[list[Face]], None]) -> None:
        self.inner = inner
        self.report = report
        self._fresh = False

    def detect(self, image: np.ndarray) -> list[Face]:
        faces = self.inner.detect(image)
        if self._fresh:
            self._fresh = False
            self.report(faces)
        return faces

    def judged(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        for frame in frames:
            self._fresh = True
            yield frame


def liveness_session(settings: CaptureSettings, reporter: Reporter, bands: RiskBands,
                     mesh_feed: MeshFeed | None = None,
                     models: Sequence[AttackModel] = ()) -> tuple[Pipeline, LivenessResult]:
    """The pack's pipeline and a liveness session's outcome.

    A camera is read live (the newest frame, timed on the wall clock). A video
    standing in for the camera is judged frame by frame at its own frame rate,
    as ``faceseal verify --video --liveness`` judges it: its frames are its
    clock, so the outcome does not depend on how fast this machine decodes.
    ``bands`` are the policy's risk bands (``ops.liveness_bands``), so the
    step-up challenge is asked for exactly as the CLI asks for it; ``models`` the
    attack models the policy weighs (``ops.liveness_models``), fresh for this session.
    ``mesh_feed`` hears every face mesh the session fits (the preview draws it).
    """
    pipeline = load_pack(settings.pack)
    mesh = mesh_feed.wrap(load_mesh(settings.pack)) if mesh_feed is not None else None
    source, pace = open_camera(settings)
    detector = _FrameFaces(pipeline.detector, reporter.faces)
    watched = dataclasses.replace(pipeline, detector=detector)
    reporter.hint("Liveness check: follow the prompt above the picture")
    if settings.camera_video is not None:
        frames = detector.judged(_Previewed(source, reporter))
        return pipeline, check_liveness(watched, frames, video=True, fps=source.fps, on_progress=reporter.liveness,
                                        bands=bands, mesh=mesh, models=models)
    with LiveFeed(source, reporter, pace) as feed:
        result = check_liveness(watched, detector.judged(feed), video=False, on_progress=reporter.liveness,
                                bands=bands, mesh=mesh, models=models)
    return pipeline, result
