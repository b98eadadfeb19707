"""Running one liveness session over a camera or a video file, the same way for every front end.

``check_liveness`` is how the CLI and the window both run a session, so the
test seed and the clock are chosen the same way for both. What the outcome
means for a verification (lockout, audit, "live") is decided by the use cases
in :mod:`edge_core.ops`. Only a camera can be live: a video file runs the same
session (that is how it is tested), but its answer stays ``live: false``.

``passive_check`` runs the same track and passive assessment over a video or
a still without any challenge: what ``faceseal pad-eval`` judges labelled
recordings with (issue 33), so its figures are the session's own signals.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge_core.biometrics import Frame, Pipeline
from edge_core.biometrics.infrared import as_bgr
from edge_core.errors import UsageError
from edge_core.liveness.bands import RiskBands
from edge_core.liveness.challenges import Timeline, draw_sequence
from edge_core.liveness.mesh import FaceMesh, load_mesh
from edge_core.liveness.result import LivenessResult, Progress, Refusal

if TYPE_CHECKING:
    from edge_core.liveness.passive import Assessment, AttackModel

SEED_VARIABLE = "FACESEAL_LIVENESS_SEED"
VIDEO_FPS = 25.0
"""The timeline of a video file that declares no frame rate."""


def _video_seed() -> int | None:
    """The test seed: it fixes the challenge order of a video file (a camera never reads it)."""
    text = os.environ.get(SEED_VARIABLE)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{SEED_VARIABLE} must be a whole number") from None


def check_liveness(pipeline: Pipeline, frames: Iterable[Frame], *, video: bool, fps: float | None = None,
                   on_progress: Callable[[Progress], None] | None = None,
                   bands: RiskBands = RiskBands(), mesh: FaceMesh | None = None,
                   models: Sequence[AttackModel] = ()) -> LivenessResult:
    """Run a challenge session over a camera, or over a video file (``video``) at its frame rate ``fps``.

    A camera draws its challenges (and a step-up's extra one) from ``secrets``
    and times them on the wall clock. A video file's frames are its clock
    (limits become frame budgets, however fast it is decoded) and
    FACESEAL_LIVENESS_SEED may fix its order, so a test video can answer one
    known sequence. ``bands`` are the policy's risk bands
    (``ops.liveness_bands``); the use cases judge the result against the
    policy again, so other bands here can only make a session stricter in vain.
    ``mesh`` replaces the pack's face-mesh model (the window passes one that
    also reports each fit, to draw it over the preview). ``models`` are the attack models the policy adds to
    the risk (``ops.liveness_models``), fresh for this session.
    """
    from edge_core.liveness.session import run_session  # with OpenCV: only when a session runs (issue 28)

    seed = _video_seed() if video else None
    timeline = Timeline(fps or VIDEO_FPS) if video else Timeline()
    return run_session(pipeline, frames, draw_sequence(seed), timeline, on_progress=on_progress, bands=bands,
                       seed=seed, mesh=mesh, models=models)


@dataclass(frozen=True)
class PassiveCheck:
    """What the passive signals made of a recording, without challenges."""

    frames: int
    """Frames read."""
    tracked: int
    """Frames in which the session's single face was tracked (detected and confirmed by the mesh)."""
    assessment: Assessment
    """Every passive signal over the tracked frames, and their risk (no signal when none was tracked)."""
    stopped: Refusal | None
    """Why the track ended before the recording did (two faces, a jump), as it would end a session, or why
    it never began when the detector saw a face the mesh did not (covered: a mask?)."""


def passive_check(pipeline: Pipeline, frames: Iterable[Frame], *, fps: float | None = None,
                  models: Sequence[AttackModel] = (), mesh: FaceMesh | None = None) -> PassiveCheck:
    """Follow the one face of ``frames`` as a session does and weigh the passive signals over it.

    ``fps`` puts the frames on a video's timeline (the blink signal counts
    seconds); a still image is one frame. ``models`` are shown every tracked
    frame, as a session shows them.
    """
    from edge_core.liveness.eyes import load_eyes  # with OpenCV: only when a recording is judged (issue 28)
    from edge_core.liveness.passive import assess
    from edge_core.liveness.tracking import Track

    timeline = Timeline(fps or VIDEO_FPS)
    track = Track(pipeline, mesh or load_mesh(pipeline.pack), load_eyes(pipeline.pack))
    read, stopped = 0, None
    for frame in frames:
        image = as_bgr(frame.image)
        outcome = track.follow(read, timeline.now(read), image)
        read += 1
        if isinstance(outcome, Refusal):
            stopped = outcome
            break
        if outcome is not None:
            for model in models:
                model.observe(image, outcome.face)
    close = getattr(frames, "close", None)
    if callable(close):
        close()
    if not track.points and track.covered:
        stopped = Refusal.FACE_COVERED
    return PassiveCheck(read, len(track.points), assess(track.points, models), stopped)
