"""The capture preview: the frame, the faces found in it, and how many frames a second are shown."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

Faces = list[tuple[tuple[float, float, float, float], list[tuple[float, float]]]]


class Preview(QWidget):
    """Paints the latest frame scaled to fit, with each face box and its five landmarks.

    Frames and faces arrive separately (a live source previews every frame but
    detection runs on the newest one only), so the overlay is the latest
    detection drawn on the latest frame, both in the original frame's pixels.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Camera preview")
        self.setMinimumSize(QSize(320, 240))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._source = QSize()
        self._faces: Faces = []
        self._shown: deque[float] = deque(maxlen=60)
        self.frames_shown = 0
        self.frames_shown_since_clear = 0
        self.placeholder = "No picture yet"

    def clear(self, placeholder: str = "No picture yet") -> None:
        self._image, self._faces, self.placeholder = None, [], placeholder
        self._shown.clear()
        self.frames_shown_since_clear = 0
        self.update()

    def show_frame(self, image: QImage, source: QSize) -> None:
        self._image, self._source = image, source
        self._shown.append(time.monotonic())
        self.frames_shown += 1
        self.frames_shown_since_clear += 1
        self.update()

    def show_faces(self, faces: Faces) -> None:
        self._faces = faces
        self.update()

    @property
    def faces(self) -> Faces:
        return list(self._faces)

    def fps(self) -> float:
        """Frames shown per second over the last few dozen frames (painted in the corner)."""
        if len(self._shown) < 2 or self._shown[-1] == self._shown[0]:
            return 0.0
        return (len(self._shown) - 1) / (self._shown[-1] - self._shown[0])

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#101418"))
        if self._image is None:
            painter.setPen(QColor("#c8d0d8"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        scaled = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF((self.width() - scaled.width()) / 2, (self.height() - scaled.height()) / 2,
                        scaled.width(), scaled.height())
        painter.drawImage(target, self._image)
        sx = target.width() / max(1, self._source.width())
        sy = target.height() / max(1, self._source.height())
        box_pen = QPen(QColor("#38d39f"), 2.5)
        for (x1, y1, x2, y2), landmarks in self._faces:
            painter.setPen(box_pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(target.x() + x1 * sx, target.y() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#ffd23f"))
            for x, y in landmarks:
                painter.drawEllipse(QPointF(target.x() + x * sx, target.y() + y * sy), 3.0, 3.0)
        fps = self.fps()
        if fps:
            painter.setPen(QColor("#ffffff"))
            corner = Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight
            painter.drawText(self.rect().adjusted(8, 6, -8, -6), corner,
                             f"{fps:.0f} fps")
