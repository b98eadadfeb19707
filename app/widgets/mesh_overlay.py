"""The face mesh drawn over the camera preview, on request: what the liveness check is looking at.

The 468 points show a person (or a support engineer) whether the mesh sits on
the face: eyes and lips are where blinks and mouth movements are measured,
and a mesh that slips off explains a refused check. It is off by default (it
hides the face a person is trying to frame) and switched with its own check
box (``MeshToggle``). The overlay is a transparent layer on top of the
preview widget, sized with it, so the preview itself needs no change; it maps
frame pixels the way the preview scales its picture (kept aspect ratio,
centred). The points come from the liveness session's own mesh model,
wrapped by ``MeshFeed`` (no second model run): its ``found`` signal crosses
from the worker thread to the window by Qt's queued connection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QCheckBox, QWidget

from edge_core.biometrics import Face

COLOUR = QColor(80, 220, 255, 200)
DOT = 1.2
"""Radius in screen pixels: 468 points must not hide the face they sit on."""


def picture_rect(widget_size: QSize, source: QSize) -> QRectF:
    """Where a picture of ``source`` pixels lands in a widget: scaled to fit, aspect kept, centred."""
    scaled = source.scaled(widget_size, Qt.AspectRatioMode.KeepAspectRatio)
    return QRectF((widget_size.width() - scaled.width()) / 2, (widget_size.height() - scaled.height()) / 2,
                  scaled.width(), scaled.height())


def paint_mesh(painter: QPainter, points: np.ndarray, target: QRectF, source: QSize) -> int:
    """Paint ``points`` ((n, 2+) frame pixels of a ``source``-sized frame) into ``target``; how many were drawn."""
    sx, sy = target.width() / max(1, source.width()), target.height() / max(1, source.height())
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(COLOUR)
    drawn = 0
    for x, y in np.asarray(points, dtype=float)[:, :2]:
        if 0 <= x <= source.width() and 0 <= y <= source.height():
            painter.drawEllipse(QPointF(target.x() + x * sx, target.y() + y * sy), DOT, DOT)
            drawn += 1
    return drawn


class MeshOverlay(QWidget):
    """A transparent layer over ``preview`` painting the latest mesh while enabled."""

    def __init__(self, preview: QWidget) -> None:
        super().__init__(preview)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName("Face mesh")
        self._points: np.ndarray | None = None
        self._source = QSize()
        self.drawn = 0
        """Points painted by the last paint (0 when off or without a mesh)."""
        self.setGeometry(preview.rect())
        preview.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def set_enabled(self, on: bool) -> None:
        """Show or hide the mesh (the toggle's slot)."""
        self.setVisible(on)
        if on:
            self.raise_()

    def show_mesh(self, points: np.ndarray | None, source: QSize) -> None:
        """The mesh of the newest frame (``source`` is that frame's size); None: no face, nothing drawn."""
        self._points, self._source = points, source
        self.setAccessibleDescription("no face mesh" if points is None else f"{len(points)} mesh points")
        self.update()

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        self.drawn = 0
        if self._points is None or self._source.isEmpty():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.drawn = paint_mesh(painter, self._points, picture_rect(self.size(), self._source), self._source)


class MeshToggle(QCheckBox):
    """"Show the face mesh": switches a ``MeshOverlay`` on and off (off to start with)."""

    def __init__(self, overlay: MeshOverlay) -> None:
        super().__init__("Show the face mesh")
        self.setAccessibleName("Show the face mesh")
        self.setToolTip("Draw the 468 points the liveness check follows over the picture")
        self.toggled.connect(overlay.set_enabled)


class MeshFeed(QObject):
    """Hands the window each mesh a liveness session fits, as ``found(points or None, frame size)``.

    ``wrap(mesh_model)`` gives the session a model that fits exactly as the
    real one does (same object returned) and reports the points on the way;
    pass it as ``run_session(..., mesh=...)``. Emitted from the worker thread,
    received on the UI thread.
    """

    found = Signal(object, QSize)

    def wrap(self, inner: Any) -> _Reporting:
        return _Reporting(inner, self)


class _Reporting:
    """A face mesh model that reports every fit to a ``MeshFeed`` (everything else passes through)."""

    def __init__(self, inner: Any, feed: MeshFeed) -> None:
        self._inner, self._feed = inner, feed

    def fit(self, image: np.ndarray, face: Face, previous: Any = None) -> Any:
        mesh = self._inner.fit(image, face, previous)
        points = None if mesh is None else np.array(mesh.points[:, :2], dtype=np.float32)
        self._feed.found.emit(points, QSize(image.shape[1], image.shape[0]))
        return mesh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
