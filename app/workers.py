"""Running edge_core calls off the UI thread, and turning their failures into sentences.

Every action of the window (a vault call, a pack install, a capture) runs as a
:class:`Task` on a thread pool so the window never freezes. A task never emits
a Qt signal: PySide6 6.12.0 loses a reference to ``True`` (and, across threads,
to ``None``) on every ``Signal.emit()`` made from Python, and a capture that
emitted per frame aborted the interpreter after about 1,800 frames ("Fatal
Python error: none_dealloc"). Instead the task writes what it has to say into
a lock-protected :class:`Mailbox` (the newest frame, faces and progress; the
hints and liveness steps in order; then its outcome), and the UI thread pulls
it on a :class:`QTimer` (a signal emitted by Qt itself, which loses nothing),
builds the preview's QImage there and calls the connected :class:`Channel`
receivers. The task function gets a :class:`Reporter` for progress, preview
frames and hints.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QSize, QThreadPool, QTimer
from PySide6.QtGui import QImage

from edge_core.errors import FaceSealError, VerificationLockedOut
from edge_core.support import database

if TYPE_CHECKING:
    from edge_core.liveness import Progress

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 960
"""Frames are shrunk to this on the task's thread: a 12 MP photo would stall painting."""
PULL_MS = 30
"""How often the UI thread pulls what running tasks reported (about 33 times a second, a smooth preview)."""
QUEUED = 256
"""Hints and liveness steps kept for the UI between two pulls; older ones are dropped, never piled up."""


class Cancelled(Exception):
    """The person stopped the task; nothing was saved."""


def local_time(iso: str) -> str:
    """A UTC time as a person reads it here: "14:05:09 local time" (with its date when not today)."""
    try:
        moment = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    same_day = moment.date() == datetime.now().astimezone().date()
    return moment.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S") + " local time"


def describe(error: BaseException) -> str:
    """The sentence to show for ``error``: edge_core's own message, never a traceback.

    edge_core guarantees its messages carry no secret; anything else is an
    internal error, named only by its type (its text might hold anything).
    """
    if isinstance(error, Cancelled):
        return "Stopped; nothing was saved."
    if isinstance(error, database.Error):
        error = database.translate(error)
    if isinstance(error, FaceSealError):
        text = str(error).strip()
        if isinstance(error, VerificationLockedOut) and error.until:
            text = text.replace(error.until, local_time(error.until))
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
    return f"Unexpected internal error ({type(error).__name__}); please report it."


def shrink(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A BGR frame at preview size (a copy the task may not change), with the original (width, height).

    Run on the task's thread, so the UI thread only wraps the small copy.
    """
    height, width = image.shape[:2]
    scale = min(1.0, PREVIEW_MAX_SIDE / max(height, width))
    small = cv2.resize(image, (round(width * scale), round(height * scale))) if scale < 1 else image.copy()
    return np.ascontiguousarray(small), (width, height)


def to_qimage(small: np.ndarray) -> QImage:
    """A shrunk BGR frame as a QImage (on the UI thread; the QImage owns its pixels)."""
    return QImage(small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_BGR888).copy()


class Channel:
    """Receivers called on the UI thread when a task reports something: a signal with no emission from Python.

    ``connect`` takes what ``Signal.connect`` takes (a function or a bound
    method), so widgets follow a task as they would follow a Qt signal.
    """

    def __init__(self) -> None:
        self._receivers: list[Callable[..., Any]] = []

    def connect(self, receiver: Callable[..., Any]) -> None:
        self._receivers.append(receiver)

    def deliver(self, *args: Any) -> None:
        for receiver in list(self._receivers):
            receiver(*args)


class TaskSignals:
    """What a running task can tell the window; receivers run on the UI thread, in the order reported."""

    def __init__(self) -> None:
        self.done = Channel()
        self.failed = Channel()
        """The failure as a sentence (``describe``)."""
        self.progress = Channel()
        """(done, total); total 0 while unknown; the newest only."""
        self.frame = Channel()
        """A frame to preview (QImage) and the QSize of the original it was shrunk from; the newest only."""
        self.faces = Channel()
        """Faces found in the latest analysed frame, as (box, landmarks) in original pixels."""
        self.hint = Channel()
        self.liveness = Channel()
        """A liveness session's ``Progress`` (prompt, step, fraction), every step in order."""


class Mailbox:
    """What a task reported since the UI thread last looked: written by the task, taken by the UI thread.

    A frame, faces and progress replace the previous ones (the preview wants
    the newest, never a backlog); hints and liveness steps queue up in order,
    bounded by :data:`QUEUED`. The lock is held only to swap references.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.frame: tuple[np.ndarray, tuple[int, int]] | None = None
        self.faces: list | None = None
        self.progress: tuple[int, int] | None = None
        self.hints: deque[str] = deque(maxlen=QUEUED)
        self.liveness: deque[Progress] = deque(maxlen=QUEUED)
        self.outcome: tuple[bool, Any] | None = None
        """(succeeded, result or sentence), set once when the task ends."""

    def put(self, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self, name, value)

    def queue(self, name: str, item: Any) -> None:
        with self._lock:
            getattr(self, name).append(item)

    def take(self) -> dict[str, Any]:
        """Everything reported since the last take, and forget it (the outcome last, once)."""
        with self._lock:
            taken = {"frame": self.frame, "faces": self.faces, "progress": self.progress,
                     "hints": list(self.hints), "liveness": list(self.liveness), "outcome": self.outcome}
            self.frame = self.faces = self.progress = self.outcome = None
            self.hints.clear()
            self.liveness.clear()
        return taken


class Reporter:
    """Handed to a task function: how it reports back and learns it was cancelled."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def progress(self, done: int, total: int | None) -> None:
        self._mailbox.put(progress=(int(done), int(total or 0)))

    def frame(self, image: np.ndarray) -> None:
        self._mailbox.put(frame=shrink(image))

    def faces(self, faces: list) -> None:
        marks = [(tuple(map(float, f.box)), [tuple(map(float, p)) for p in f.landmarks]) for f in faces]
        self._mailbox.put(faces=marks)

    def hint(self, text: str) -> None:
        self._mailbox.queue("hints", text)

    def liveness(self, progress: Progress) -> None:
        self._mailbox.queue("liveness", progress)


class Task(QRunnable):
    """One function run on the pool; its result or failure reaches the UI thread at the next pull."""

    def __init__(self, fn: Callable[[Reporter], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self.mailbox = Mailbox()
        self.reporter = Reporter(self.mailbox)
        self.finished = False
        """Whether its outcome was taken (and handed to ``done`` or ``failed``)."""
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn(self.reporter)
        except BaseException as error:  # noqa: BLE001 - every failure becomes a sentence in the window
            if not isinstance(error, (FaceSealError, Cancelled, database.Error)):
                log.error("task failed with %s", type(error).__name__, exc_info=error)
            self.mailbox.put(outcome=(False, describe(error)))
        else:
            self.mailbox.put(outcome=(True, result))

    def cancel(self) -> None:
        self.reporter.cancel()

    def deliver(self) -> None:
        """On the UI thread: hand what the task reported to its receivers, its outcome once (``finished``)."""
        taken = self.mailbox.take()
        if taken["frame"] is not None:
            small, (width, height) = taken["frame"]
            self.signals.frame.deliver(to_qimage(small), QSize(width, height))
        if taken["faces"] is not None:
            self.signals.faces.deliver(taken["faces"])
        for text in taken["hints"]:
            self.signals.hint.deliver(text)
        if taken["progress"] is not None:
            self.signals.progress.deliver(*taken["progress"])
        for progress in taken["liveness"]:
            self.signals.liveness.deliver(progress)
        if taken["outcome"] is not None:
            self.finished = True
            succeeded, value = taken["outcome"]
            (self.signals.done if succeeded else self.signals.failed).deliver(value)


_running: list[Task] = []
_calls: deque[Callable[[], None]] = deque()
"""Calls a task asked to be made on the UI thread (:func:`on_ui_thread`), in order."""
_puller: QTimer | None = None


def _pull() -> None:
    """The UI thread's pull: queued calls, then every running task's reports (and outcomes, once)."""
    while _calls:
        _calls.popleft()()
    for task in list(_running):
        try:
            task.deliver()
        finally:
            if task.finished and task in _running:
                _running.remove(task)
    if not _running and not _calls and _puller is not None:
        _puller.stop()


def _ensure_pulling() -> None:
    """Start the pull timer (from the UI thread) while there is anything to pull."""
    global _puller
    if _puller is None:
        _puller = QTimer()
        _puller.setInterval(PULL_MS)
        _puller.timeout.connect(_pull)
    if not _puller.isActive():
        _puller.start()


def _on_ui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and app.thread().isCurrentThread()


def on_ui_thread(call: Callable[[], None]) -> None:
    """Run ``call`` on the UI thread: now when already there, else at the next pull (no signal is emitted).

    Called from a task, whose pull timer is running until it ends.
    """
    if _on_ui_thread():
        call()
    else:
        _calls.append(call)


def pool() -> QThreadPool:
    """The pool every task runs on: a capture, its preview and a vault call can run side by side."""
    shared = QThreadPool.globalInstance()
    shared.setMaxThreadCount(max(4, shared.maxThreadCount()))
    return shared


def _while_alive(owner: QObject | None, callback: Callable[[Any], None]) -> Callable[[Any], None]:
    """``callback``, skipped once ``owner`` (the page that asked) was destroyed with its window."""
    def deliver(value: Any) -> None:
        if owner is None or shiboken6.isValid(owner):
            callback(value)

    return deliver


def start(fn: Callable[[Reporter], Any], done: Callable[[Any], None] | None = None,
          failed: Callable[[str], None] | None = None, owner: QObject | None = None,
          watch: Callable[[Task], None] | None = None) -> Task:
    """Run ``fn(reporter)`` off the UI thread; ``done``/``failed`` are called on the UI thread.

    ``watch(task)`` runs before the task starts, so a preview or a progress
    dialog connected there misses none of its reports, however quick it is.
    The task is kept referenced until its outcome was delivered, so it
    outlives a page that started it and then went away; the callbacks are
    then skipped. Called on the UI thread.
    """
    task = Task(fn)
    if done is not None:
        task.signals.done.connect(_while_alive(owner, done))
    if failed is not None:
        task.signals.failed.connect(_while_alive(owner, failed))
    if watch is not None:
        watch(task)
    _running.append(task)
    _ensure_pulling()
    pool().start(task)
    return task


def stop_all(timeout_ms: int = 30000) -> bool:
    """Cancel every task and wait for the pool (closing the window must not cut a rotation short)."""
    for task in list(_running):
        task.cancel()
    return pool().waitForDone(timeout_ms)
