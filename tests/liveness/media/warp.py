"""Piecewise affine warping between two landmark sets: how a face's eyelids or mouth are moved.

The source landmarks (plus the frame's corners and edge midpoints, which stay
put, so the whole frame is covered) are triangulated once with OpenCV's
Delaunay subdivision (``cv2.Subdiv2D``); each triangle is mapped onto the
same triangle over the destination landmarks with its own affine transform
(``cv2.warpAffine`` on the triangle's bounding box, pasted through a mask).
A point that does not move keeps its pixels exactly, so only the region
around the moved landmarks changes.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_AREA = 0.5
"""Pixels: a destination triangle smaller than this is collapsed (a closed eyelid) and paints nothing."""


def frame_anchors(width: int, height: int) -> np.ndarray:
    """Corners and edge midpoints of the frame: fixed points so the triangulation covers all of it."""
    w, h = width - 1, height - 1
    return np.float32([[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h], [w / 2, h], [0, h], [0, h / 2]])


def triangulate(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Delaunay triangles over ``points`` (n, 2) as (m, 3) indices; points outside the frame are left out."""
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    index: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(np.float32(points)):
        if 0 <= x < width and 0 <= y < height and (float(x), float(y)) not in index:
            index[(float(x), float(y))] = i
            subdiv.insert((float(x), float(y)))
    triangles = []
    for x1, y1, x2, y2, x3, y3 in subdiv.getTriangleList():
        corners = [(float(np.float32(x1)), float(np.float32(y1))), (float(np.float32(x2)), float(np.float32(y2))),
                   (float(np.float32(x3)), float(np.float32(y3)))]
        if all(c in index for c in corners):  # triangles touching Subdiv2D's outer virtual vertices are dropped
            triangles.append([index[c] for c in corners])
    return np.int32(triangles).reshape(-1, 3)


def _paste_triangle(image: np.ndarray, out: np.ndarray, source: np.ndarray, target: np.ndarray) -> None:
    """Map the ``source`` triangle of ``image`` onto the ``target`` triangle of ``out``, in place."""
    height, width = out.shape[:2]
    x, y, w, h = cv2.boundingRect(np.float32(target))
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return
    matrix = cv2.getAffineTransform(np.float32(source), np.float32(target - [x0, y0]))
    patch = cv2.warpAffine(image, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.int32(np.round((target - [x0, y0]) * 16)), 255, cv2.LINE_8, 4)
    region = out[y0:y1, x0:x1]
    region[mask > 0] = patch[mask > 0]


def piecewise_affine(image: np.ndarray, source: np.ndarray, target: np.ndarray,
                     triangles: np.ndarray | None = None) -> np.ndarray:
    """``image`` with each landmark moved from ``source`` to ``target`` ((n, 2) arrays, frame pixels).

    ``triangles`` (indices into ``source`` followed by the frame anchors) may
    be given to reuse one triangulation over many frames; by default the
    source points are triangulated. Triangles are painted smallest target
    area first, so where a closing eyelid folds over the shrinking eye, the
    stretched lid is what stays on top.
    """
    height, width = image.shape[:2]
    anchors = frame_anchors(width, height)
    source_all = np.vstack([np.float32(source)[:, :2], anchors])
    target_all = np.vstack([np.float32(target)[:, :2], anchors])
    if triangles is None:
        triangles = triangulate(source_all, width, height)
    out = image.copy()
    moved = np.linalg.norm(source_all - target_all, axis=1) > 1e-3
    areas = []
    for tri in triangles:
        if not moved[tri].any():
            continue  # an unmoved triangle keeps its pixels as they are
        a, b, c = target_all[tri]
        (ux, uy), (vx, vy) = b - a, c - a
        areas.append((abs(float(ux * vy - uy * vx)) / 2, tri))
    for area, tri in sorted(areas, key=lambda item: item[0]):
        if area >= MIN_AREA:
            _paste_triangle(image, out, source_all[tri], target_all[tri])
    return out
