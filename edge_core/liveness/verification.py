"""A verification with its liveness outcome: the vault's decision, the lockout and the audit log.

Every verification the CLI (and the window) makes goes through here so the
audit log says, for each attempt, whether the face was shown live:
``verification`` events carry the identity's random id (never a name), the
match, ``live``, the source and the liveness outcome. A failed liveness
attempt is a failed verification for the lockout (``edge_core.lockout``):
trying photo after photo at the camera locks the identity like trying faces.

Only a camera can be live. A video file can run the same challenge session
(that is how the session is tested), but its result stays ``live: false``.
``check_liveness`` is how the CLI and the window both run that session, so
the test seed and the clock are chosen the same way for both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from edge_core import audit, lockout
from edge_core.biometrics import Frame, Pipeline
from edge_core.errors import UsageError
from edge_core.matching import MatchResult

from .challenges import Timeline, draw_sequence
from .result import LivenessResult, Progress
from .session import run_session

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
                   on_progress: Callable[[Progress], None] | None = None) -> LivenessResult:
    """Run a challenge session over a camera, or over a video file (``video``) at its frame rate ``fps``.

    A camera draws its challenges from ``secrets`` and times them on the wall
    clock. A video file's frames are its clock (limits become frame budgets,
    however fast it is decoded) and FACESEAL_LIVENESS_SEED may fix its order,
    so a test video can answer one known sequence.
    """
    seed = _video_seed() if video else None
    timeline = Timeline(fps or VIDEO_FPS) if video else Timeline()
    return run_session(pipeline, frames, draw_sequence(seed), timeline, on_progress=on_progress)


def identity_id(vault: Any, name: str, check_lockout: bool = True) -> str:
    """The identity's random id; refuses an unknown name, and one locked out (checked before a camera opens)."""
    identity = vault.identity_id(name)
    if check_lockout:
        lockout.check(vault, identity)
    return identity


def _audit(vault: Any, identity: str, match: bool, live: bool, source: str, liveness: LivenessResult | None) -> None:
    detail: dict[str, Any] = {"identity": identity, "match": match, "live": live, "source": source,
                              "liveness": "not_checked" if liveness is None else
                              "passed" if liveness.passed else "failed"}
    if liveness is not None:
        detail["risk"] = round(liveness.risk, 3)
        if liveness.refusal is not None:
            detail["refusal"] = liveness.refusal.code
    with vault.writing() as tx:
        audit.append(tx, "verification", **detail)


def verify_not_live(vault: Any, name: str, embedding: np.ndarray, pack: str, threshold: float,
                    source: str) -> dict[str, Any]:
    """A photo, a video frame or a ready embedding: matched as before, marked not live."""
    result: MatchResult = vault.verify(name, embedding, pack, threshold)
    _audit(vault, identity_id(vault, name, check_lockout=False), result.match, False, source, None)
    return {**result.as_dict(), "live": False}


def verify_after_liveness(vault: Any, name: str, liveness: LivenessResult, pack: str, threshold: float,
                          source: str) -> dict[str, Any]:
    """Match the session's start face if the session passed; a failed session counts towards the lockout."""
    identity = identity_id(vault, name)
    if not liveness.passed or liveness.embedding is None:
        lockout.record(vault, identity, matched=False)
        _audit(vault, identity, False, False, source, liveness)
        return {"name": name, "match": False, "live": False, "pack": pack, "threshold": threshold,
                "score": None, "liveness": liveness.as_dict()}
    result = vault.verify(name, liveness.embedding, pack, threshold)
    live = source == "camera"
    _audit(vault, identity, result.match, live, source, liveness)
    return {**result.as_dict(), "live": live, "liveness": liveness.as_dict()}

