"""Running edge_core calls off the UI thread, and turning their failures into sentences.

Every action of the window (a vault call, a pack install, a capture) runs as a
:class:`Task` on a thread pool so the window never freezes. A task talks back
only through Qt signals, which Qt delivers on the UI thread; the task function
gets a :class:`Reporter` for progress, preview frames and hints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QRunnable, QSize, QThreadPool, Signal
from PySide6.QtGui import QImage

from app.signals import emit
from edge_core.errors import FaceSealError
from edge_core.support import database

if TYPE_CHECKING:
    from edge_core.liveness import Progress

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 960
"""Frames are shrunk to this before crossing to the UI thread: a 12 MP photo would stall painting."""


class Cancelled(Exception):
    """The person stopped the task; nothing was saved."""


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
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
    return f"Unexpected internal error ({type(error).__name__}); please report it."


def to_qimage(image: np.ndarray) -> tuple[QImage, QSize]:
    """A BGR frame as a preview-sized QImage, with the original size to map face boxes onto it."""
    height, width = image.shape[:2]
    scale = min(1.0, PREVIEW_MAX_SIDE / max(height, width))
    small = cv2.resize(image, (round(width * scale), round(height * scale))) if scale < 1 else image
    small = np.ascontiguousarray(small)
    qimage = QImage(small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_BGR888)
    return qimage.copy(), QSize(width, height)


class TaskSignals(QObject):
    """What a running task can tell the window; connected receivers run on the UI thread."""

    done = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int)
    """(done, total); total 0 while unknown."""
    frame = Signal(QImage, QSize)
    """A frame to preview and the size of the original it was shrunk from."""
    faces = Signal(list)
    """Faces found in the latest analysed frame, as (box, landmarks) in original pixels."""
    hint = Signal(str)
    liveness = Signal(object)
    """A liveness session's ``Progress`` (prompt, step, fraction), once per judged frame."""


class Reporter:
    """Handed to a task function: how it reports back and learns it was cancelled."""

    def __init__(self, signals: TaskSignals) -> None:
        self._signals = signals
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def progress(self, done: int, total: int | None) -> None:
        emit(self._signals.progress, int(done), int(total or 0))

    def frame(self, image: np.ndarray) -> None:
        emit(self._signals.frame, *to_qimage(image))

    def faces(self, faces: list) -> None:
        marks = [(tuple(map(float, f.box)), [tuple(map(float, p)) for p in f.landmarks]) for f in faces]
        emit(self._signals.faces, marks)

    def hint(self, text: str) -> None:
        emit(self._signals.hint, text)

    def liveness(self, progress: Progress) -> None:
        emit(self._signals.liveness, progress)


class Task(QRunnable):
    """One function run on the pool; its result or failure arrives as a signal."""

    def __init__(self, fn: Callable[[Reporter], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self.reporter = Reporter(self.signals)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn(self.reporter)
        except BaseException as error:  # noqa: BLE001 - every failure becomes a sentence in the window
            if not isinstance(error, (FaceSealError, Cancelled, database.Error)):
                log.error("task failed with %s", type(error).__name__, exc_info=error)
            emit(self.signals.failed, describe(error))
        else:
            emit(self.signals.done, result)

    def cancel(self) -> None:
        self.reporter.cancel()


_running: set[Task] = set()


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
    dialog connected there misses none of its signals, however quick it is.
    The task is kept referenced until it finishes, so its signals outlive a
    page that started it and then went away; the callbacks are then skipped.
    """
    task = Task(fn)
    _running.add(task)
    if done is not None:
        task.signals.done.connect(_while_alive(owner, done))
    if failed is not None:
        task.signals.failed.connect(_while_alive(owner, failed))
    task.signals.done.connect(lambda _result: _running.discard(task))
    task.signals.failed.connect(lambda _message: _running.discard(task))
    if watch is not None:
        watch(task)
    pool().start(task)
    return task


def stop_all(timeout_ms: int = 30000) -> bool:
    """Cancel every task and wait for the pool (closing the window must not cut a rotation short)."""
    for task in list(_running):
        task.cancel()
    return pool().waitForDone(timeout_ms)
