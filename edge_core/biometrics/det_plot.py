"""The DET curve (false rejects against false accepts, both on log axes) as a PNG.

Drawn with matplotlib's object API on an Agg canvas, never ``pyplot``: no
global figure state and no GUI backend, so the window can draw it on a worker
thread and the command line on a machine without a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from edge_core.biometrics.evaluation import PairScores, det_points


def write_det_png(
    curves: Mapping[str, PairScores],
    path: Path,
    *,
    marks: Sequence[tuple[str, float, float]] = (),
    title: str = "DET curve",
) -> Path:
    """Draw one curve per label (and labelled points ``(label, far, frr)``) into ``path``; return it.

    A rate of 0 cannot sit on a log axis: it is drawn at half of one pair
    (``0.5 / pairs``), the resolution of the data, and the axes say so.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    floor_far = floor_frr = 1.0
    for label, scores in curves.items():
        far, frr = det_points(scores)
        lowest_far, lowest_frr = 0.5 / max(1, len(scores.impostor)), 0.5 / max(1, len(scores.genuine))
        floor_far, floor_frr = min(floor_far, lowest_far), min(floor_frr, lowest_frr)
        axes.step(np.maximum(far, lowest_far), np.maximum(frr, lowest_frr), where="post", label=label)
    for index, (label, far, frr) in enumerate(marks):
        point = (max(far, floor_far), max(frr, floor_frr))
        axes.plot(*point, "o", color="black", markersize=4)
        axes.annotate(label, point, textcoords="offset points", xytext=(5, 6 + 14 * index), fontsize=8,
                      arrowprops={"arrowstyle": "-", "alpha": 0.4})
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(floor_far * 0.8, 1.0)
    axes.set_ylim(floor_frr * 0.8, 1.0)
    axes.set_xlabel("false accept rate (0 drawn at half a pair)")
    axes.set_ylabel("false reject rate (0 drawn at half a pair)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, format="png")
    return path
