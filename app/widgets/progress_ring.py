"""A progress ring: how far a liveness check has come, at a glance beside its prompt.

A ring rather than a bar because it sits next to the prompt and the face, where
the eye already is; it paints ``Progress.fraction`` and nothing else. A screen
reader gets the same as words ("step 2 of 4, 40 % done") in the accessible
description, and ``text()`` gives the same words to a caller.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIDE = 64
PEN = 6.0


class ProgressRing(QWidget):
    """Paints a fraction 0..1 as an arc clockwise from the top, with the percentage inside."""

    def __init__(self, name: str = "Liveness progress") -> None:
        super().__init__()
        self.setAccessibleName(name)
        self.setFixedSize(QSize(SIDE, SIDE))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._fraction = 0.0
        self._text = ""
        self.set_progress(0.0, "not started")

    def fraction(self) -> float:
        return self._fraction

    def text(self) -> str:
        """What the ring shows, in words."""
        return self._text

    def set_progress(self, fraction: float, words: str) -> None:
        """Show ``fraction`` (clamped to 0..1); ``words`` say where it stands ("step 2 of 4")."""
        self._fraction = min(1.0, max(0.0, fraction))
        self._text = f"{words}, {round(100 * self._fraction)} % done"
        self.setAccessibleDescription(self._text)
        self.setToolTip(self._text)
        self.update()

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(PEN, PEN, -PEN, -PEN)
        palette = self.palette()
        track = QPen(palette.color(QPalette.ColorRole.Mid), PEN)
        painter.setPen(track)
        painter.drawEllipse(box)
        arc = QPen(palette.color(QPalette.ColorRole.Highlight), PEN)
        arc.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(arc)
        painter.drawArc(box, 90 * 16, -round(self._fraction * 360 * 16))  # from 12 o'clock, clockwise
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, f"{round(100 * self._fraction)} %")
