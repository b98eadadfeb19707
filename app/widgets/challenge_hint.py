"""A small animated face showing the movement asked for: eyes closing, the mouth opening, the head turning.

Words alone ("Blink") are easy to misread at arm's length from a camera, and
a person who does not read the prompt's language still sees the movement.
The face is drawn with QPainter from a few numbers (``Pose``), so it is as
sharp at any scale and costs nothing to animate; a screen reader gets the
same movement in words (the accessible description). Hints are keyed by the
challenge's stable code (``Challenge.code``): a challenge without a drawing
shows the face still, and its words still come from the prompt beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

SIDE = 64
PERIOD_SECONDS = 1.6
"""One full movement and back, slow enough to follow."""
TICK_MS = 50


@dataclass(frozen=True)
class Pose:
    """The drawn face at one moment: 1.0 open eyes, 0.0 closed mouth, no turn, natural size."""

    eyes_open: float = 1.0
    mouth_open: float = 0.0
    smile: float = 0.0
    turn: float = 0.0
    """-1 (features moved to the picture's left) .. 1 (to its right): the head turning."""
    nod: float = 0.0
    """-1 (features up: looking up) .. 1 (down)."""
    scale: float = 1.0


def _swing(phase: float) -> float:
    """0 -> 1 -> 0 over one period, easing in and out."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * phase)


HINTS: dict[str, tuple[str, Callable[[float], Pose]]] = {
    "blink": ("eyes closing and opening again", lambda p: Pose(eyes_open=1 - _swing(p))),
    "open_mouth": ("the mouth opening and closing", lambda p: Pose(mouth_open=_swing(p))),
    "smile": ("the mouth widening into a smile", lambda p: Pose(smile=_swing(p))),
    "turn_left": ("the head turning to the person's left", lambda p: Pose(turn=_swing(p))),
    "turn_right": ("the head turning to the person's right", lambda p: Pose(turn=-_swing(p))),
    "look_up": ("the head tilting up", lambda p: Pose(nod=-_swing(p))),
    "look_down": ("the head tilting down", lambda p: Pose(nod=_swing(p))),
    "come_closer": ("the face growing larger as it comes closer", lambda p: Pose(scale=1 + 0.3 * _swing(p))),
}
"""Challenge code -> (the movement in words, the face at each phase 0..1). Turning to the person's left
moves the face to the picture's right, as the camera sees it (not mirrored)."""


class ChallengeHint(QWidget):
    """The animated face; ``show_challenge(code)`` picks the movement, None shows a still face."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Movement hint")
        self.setFixedSize(QSize(SIDE, SIDE))
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._code: str | None = None
        self._phase = 0.0
        self._started = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self.show_challenge(None)

    @property
    def code(self) -> str | None:
        return self._code

    def animated(self) -> bool:
        """Whether the face is moving now (a known movement, and the hint is shown)."""
        return self._timer.isActive()

    def description(self) -> str:
        words = HINTS[self._code][0] if self._code in HINTS else None
        return f"Animation: {words}" if words else "A face looking straight ahead"

    def show_challenge(self, code: str | None) -> None:
        """Animate the movement of challenge ``code`` (a ``Challenge.code``); None or unknown: a still face."""
        if code != self._code:
            self._code, self._started = code, time.monotonic()
            self.set_phase(0.0)
        self.setAccessibleDescription(self.description())
        self.setToolTip(self.description())
        self._run()

    def pose(self) -> Pose:
        """The face as it is drawn now."""
        return HINTS[self._code][1](self._phase) if self._code in HINTS else Pose()

    def set_phase(self, phase: float) -> None:
        """Draw the movement at ``phase`` (0..1 of one period); the timer sets it while animating."""
        self._phase = phase % 1.0
        self.update()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._run()

    def hideEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._timer.stop()  # nothing to animate for nobody: no wake-ups while hidden

    def _run(self) -> None:
        if self._code in HINTS and self.isVisible():
            self._timer.start()
        else:
            self._timer.stop()

    def _tick(self) -> None:
        self.set_phase((time.monotonic() - self._started) / PERIOD_SECONDS)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        pose = self.pose()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ink = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setPen(QPen(ink, 2.0))
        centre = QPointF(self.width() / 2, self.height() / 2)
        radius = 0.36 * min(self.width(), self.height()) * pose.scale
        painter.drawEllipse(centre, radius * 0.85, radius)
        # The features slide across the head's outline as it turns or nods: that is what reads as 3-D.
        fx = centre.x() + 0.35 * radius * pose.turn
        fy = centre.y() + 0.25 * radius * pose.nod
        eye_dx, eye_y, eye_w = 0.32 * radius, fy - 0.2 * radius, 0.13 * radius
        eye_h = max(0.02, pose.eyes_open) * 0.11 * radius
        painter.setBrush(ink)
        for side in (-1, 1):
            painter.drawEllipse(QPointF(fx + side * eye_dx, eye_y), eye_w, eye_h)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        mouth_y, half = fy + 0.4 * radius, (0.25 + 0.1 * pose.smile) * radius
        if pose.mouth_open > 0.05:
            painter.drawEllipse(QRectF(fx - half * 0.8, mouth_y - 0.05 * radius, 1.6 * half * 0.8,
                                       (0.1 + 0.35 * pose.mouth_open) * radius))
        else:
            lift = 0.12 * radius * pose.smile
            path = QPainterPath(QPointF(fx - half, mouth_y - lift))
            path.quadTo(QPointF(fx, mouth_y + lift), QPointF(fx + half, mouth_y - lift))
            painter.drawPath(path)
