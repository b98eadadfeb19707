"""Eyes and mouth from the face mesh: what the blink, open-mouth and smile challenges measure.

* **Eye aspect ratio** (Soukupova and Cech, 2016) of each eye on the
  documented 6-point eye sets, as the iris model refines them (``eyes``).
  Open eyes measured 0.16 to 0.35 on the 88 shared photos; it falls towards 0
  as the lids close. Because people's eyes differ (a squint is 0.16), a blink
  is judged against the person's own open-eye value from the first frames of
  the session.
* **Mouth opening**: the gap between the inner edges of the lips (13, 14) over
  the inner mouth width (78, 308): about 0 with the lips together.
* **Mouth width**: the outer mouth corners' distance (61, 291) over the eye
  distance: grows when the person smiles, and not when the face comes closer
  (both grow alike).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_core.liveness.eyes import Openness
from edge_core.liveness.mesh import INNER_CORNERS, INNER_LIPS, MOUTH_CORNERS, Mesh


@dataclass(frozen=True)
class Expression:
    """Eyes and mouth of one face in one frame."""

    right_eye: float
    """EAR of the subject's right eye (image left)."""
    left_eye: float
    mouth_open: float
    mouth_width: float

    def eyes_closed(self, baseline: Expression, ratio: float) -> bool:
        """Both eyes at or below ``ratio`` of their open value in ``baseline`` (a wink is not a blink)."""
        return self.right_eye <= ratio * baseline.right_eye and self.left_eye <= ratio * baseline.left_eye

    def eyes_open(self, baseline: Expression, ratio: float) -> bool:
        """Both eyes back to at least ``ratio`` of their open value."""
        return self.right_eye >= ratio * baseline.right_eye and self.left_eye >= ratio * baseline.left_eye


def _distance(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a, :2] - points[b, :2]))


def measure(mesh: Mesh, eyes: Openness) -> Expression:
    points = mesh.points
    inner_width = _distance(points, *INNER_CORNERS) or 1.0
    return Expression(
        right_eye=eyes.right,
        left_eye=eyes.left,
        mouth_open=_distance(points, *INNER_LIPS) / inner_width,
        mouth_width=_distance(points, *MOUTH_CORNERS) / mesh.eye_distance,
    )


def baseline(expressions: list[Expression]) -> Expression:
    """The person's resting face: the median of each measure over the first frames."""
    return Expression(*(float(np.median([getattr(e, f) for e in expressions]))
                        for f in ("right_eye", "left_eye", "mouth_open", "mouth_width")))
