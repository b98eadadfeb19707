"""Facial movements made by moving a real photo's 468 face-mesh points: a blink, an open mouth, a smile.

Each movement is a function from the mesh found on the neutral photo and a
degree (0 neutral .. 1 fullest) to where the points go; ``render`` then warps
the photo along them (``warp.piecewise_affine``). A photo has no pixels
for what a movement uncovers or covers, so ``render`` paints them: the
skin of lids closing over the eye (inpainted from the skin around, with a
lash line), the dark inside of an open mouth. Measured with the real
models (tests/liveness/test_media_generators.py): a full blink brings the
iris model's eye aspect ratio to 0.37-0.64 of the open eye's on the six
photos of ``sets.PEOPLE``, the face mesh's alone only to 0.71-0.87. Index sets are MediaPipe Face Mesh's (../shared/models/README.md
section 5 gives the eye lids; the lips are the mesh's lip contours).
"""

from __future__ import annotations

import cv2
import numpy as np

from .warp import frame_anchors, piecewise_affine, triangulate

UPPER_LIDS = ((246, 161, 160, 159, 158, 157, 173), (466, 388, 387, 386, 385, 384, 398))
"""The upper lid margins, outer corner to inner, of the subject's right eye (33/133) and left eye (263/362)."""
LOWER_LIDS = ((7, 163, 144, 145, 153, 154, 155), (249, 390, 373, 374, 380, 381, 382))
"""The lower lid margins in the same order: point i lies below upper point i."""
EYE_CORNERS = ((33, 133), (263, 362))
"""(outer, inner) corner of each eye."""
ABOVE_LIDS = ((247, 30, 29, 27, 28, 56, 190), (467, 260, 259, 257, 258, 286, 414))
"""The ring of points just above each upper lid (the lid's skin), in the same order."""
BELOW_LIDS = ((130, 25, 110, 24, 23, 22, 26), (359, 255, 339, 254, 253, 252, 256))
"""The ring just below each lower lid."""
LID_MEET = 0.3
"""Where closed lids meet, from the lower lid (0) to the upper (1): the upper lid does most of a blink."""

INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
MOUTH_CORNERS = (61, 291, 78, 308)
MOUTH_INSIDE = (38, 24, 40)
"""BGR of the open mouth's inside, a dark red."""


def _mouth_width(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[291, :2] - points[61, :2]))


def blink(points: np.ndarray, degree: float) -> np.ndarray:
    """Both eyes closed by ``degree``: each upper lid point moves towards its lower partner, which rises a little.

    The skin above the upper lid follows it by 60 % and the skin below the
    lower lid by 40 %: the lid slides down over the eye rather than the eye's
    own pixels being squeezed into a line.
    """
    source = np.float32(points[:, :2])
    moved = source.copy()
    for upper, lower, above, below in zip(UPPER_LIDS, LOWER_LIDS, ABOVE_LIDS, BELOW_LIDS):
        top, bottom = source[list(upper)], source[list(lower)]
        meet = bottom + LID_MEET * (top - bottom)
        moved[list(upper)] = top + degree * (meet - top)
        moved[list(lower)] = bottom + degree * (meet - bottom)
        moved[list(above)] += 0.6 * degree * (meet - top)
        moved[list(below)] += 0.4 * degree * (meet - bottom)
    return moved


def open_mouth(points: np.ndarray, degree: float, drop: float = 0.45) -> np.ndarray:
    """The jaw dropped by ``degree`` x ``drop`` mouth widths: the lower lip and the chin move down.

    Points of the lower lip, and points below its outer contour, move the
    full way near the middle and less towards the sides (a jaw hinges at the
    ears); the mouth corners move a quarter of it.
    """
    moved = np.float32(points[:, :2]).copy()
    width = _mouth_width(points)
    middle = moved[list(MOUTH_CORNERS[:2])].mean(axis=0)
    lip = moved[list(OUTER_LOWER_LIP)]
    order = np.argsort(lip[:, 0])
    below = moved[:, 1] > np.interp(moved[:, 0], lip[order, 0], lip[order, 1])
    jaw = below | np.isin(np.arange(len(moved)), INNER_LOWER_LIP + OUTER_LOWER_LIP)
    side = np.clip(1 - ((moved[:, 0] - middle[0]) / (1.4 * width)) ** 2, 0, 1)
    shift = degree * drop * width * side * jaw
    shift[list(MOUTH_CORNERS)] = degree * drop * width * 0.25
    moved[:, 1] += shift
    return moved


def smile(points: np.ndarray, degree: float, widen: float = 0.14, lift: float = 0.1) -> np.ndarray:
    """The mouth corners pulled out by ``widen`` and up by ``lift`` mouth widths each, the cheeks along.

    Every point moves with its corner by a Gaussian weight of its distance to
    it (a quarter of the mouth width), so the lips curve into the smile.
    """
    moved = np.float32(points[:, :2]).copy()
    width = _mouth_width(points)
    middle = moved[[61, 291]].mean(axis=0)
    total = np.zeros_like(moved)
    for corner in (61, 291):
        outward = np.sign(moved[corner, 0] - middle[0])
        pull = np.float32([outward * widen * width, -lift * width])
        weight = np.exp(-np.sum((moved - moved[corner]) ** 2, axis=1) / (2 * (0.25 * width) ** 2))
        total += weight[:, None] * pull
    return moved + degree * total


def _paint_mouth_inside(image: np.ndarray, target: np.ndarray) -> None:
    """Fill the gap between the inner lips (an open mouth) with the mouth's dark inside, edges softened."""
    outline = np.vstack([target[list(INNER_UPPER_LIP)], target[list(INNER_LOWER_LIP[::-1])]])
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.int32(np.round(outline * 16))], 255, cv2.LINE_AA, 4)
    alpha = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] / 255
    image[:] = np.round(alpha * np.float32(MOUTH_INSIDE) + (1 - alpha) * image).astype(np.uint8)


LASHES = (40, 36, 38)
"""BGR of a closed eye's lash line."""


def _eye_opening(points: np.ndarray, eye: int) -> np.ndarray:
    """The polygon between the lid margins of one eye (0: subject's right, 1: left)."""
    outer, inner = EYE_CORNERS[eye]
    return points[[outer, *UPPER_LIDS[eye], inner, *LOWER_LIDS[eye][::-1]]]


def _paint_lids(image: np.ndarray, source: np.ndarray, target: np.ndarray) -> None:
    """Where a lid now covers what was the open eye, show skin, and draw the lashes along the closing lid.

    A photo has no pixels of the lid's skin in front of the eyeball, so the
    covered part (the eye's opening in the photo, a little widened, less the
    opening that is left) is filled in from the skin around it
    (``cv2.inpaint``); the lash line follows the upper lid.
    """
    for eye in (0, 1):
        covered = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(covered, [np.int32(np.round(_eye_opening(source, eye)))], 255)
        covered = cv2.dilate(covered, np.ones((5, 5), np.uint8))
        cv2.fillPoly(covered, [np.int32(np.round(_eye_opening(target, eye)))], 0)
        image[:] = cv2.inpaint(image, covered, 3, cv2.INPAINT_TELEA)
        outer, inner = EYE_CORNERS[eye]
        lid = target[[outer, *UPPER_LIDS[eye], inner]]
        cv2.polylines(image, [np.int32(np.round(lid * 16))], False, LASHES, 2, cv2.LINE_AA, 4)


class Face:
    """One neutral photo frame and its mesh, ready to render movements (the triangulation is made once)."""

    def __init__(self, frame: np.ndarray, mesh: np.ndarray) -> None:
        self.frame = frame
        self.mesh = np.float32(mesh[:, :2])
        height, width = frame.shape[:2]
        self.triangles = triangulate(np.vstack([self.mesh, frame_anchors(width, height)]), width, height)

    def render(self, target: np.ndarray) -> np.ndarray:
        """The photo warped so the mesh lands on ``target``; closing lids get skin, an opened mouth its dark inside."""
        out = piecewise_affine(self.frame, self.mesh, target, self.triangles)
        lids = list(UPPER_LIDS[0] + UPPER_LIDS[1])
        if np.abs(target[lids] - self.mesh[lids]).max() > 0.5:
            _paint_lids(out, self.mesh, target)
        gap = np.linalg.norm(target[13] - target[14]) - np.linalg.norm(self.mesh[13] - self.mesh[14])
        if gap > 1.0:
            _paint_mouth_inside(out, target)
        return out
