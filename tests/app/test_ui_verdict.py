"""What the Verify page says when the liveness check refuses: the failing signal in plain words, never a code."""

from __future__ import annotations

import numpy as np
import pytest

from app.verdict import verdict
from edge_core.liveness import Challenge, LivenessResult, Refusal
from edge_core.ops import Source
from edge_core.ops.results import Decision

ASKED = (Challenge.BLINK, Challenge.TURN_LEFT)


def decided(refusal: Refusal | None, signals: dict[str, float], *, stepped_up: bool = False,
            completed: int = 2) -> Decision:
    passed = refusal is None
    challenges = (*ASKED, Challenge.SMILE) if stepped_up else ASKED
    liveness = LivenessResult(
        passed=passed, refusal=refusal, reason="edge_core's own sentence" if refusal else "passed",
        risk=max(signals.values()), signals=signals, challenges=challenges, completed=completed, frames=40,
        embedding=np.ones(4, np.float32) / 2 if passed else None, band="middle" if stepped_up else "high",
        stepped_up=stepped_up)
    return Decision(name="Alice", score=0.8 if passed else None, threshold=0.45, match=passed, pack="open",
                    live=False, liveness=liveness)


QUIET = {"frozen": 0.0, "flat": 0.0, "depth": 0.0, "size": 0.0, "identity": 0.0, "moire": 0.0, "border": 0.0,
         "no_blink": 0.0}


@pytest.mark.parametrize(("refusal", "signal", "words"), [
    (Refusal.MOIRE, "moire", "The face showed the fine stripes of a screen's pixels (a phone or tablet screen?)."),
    (Refusal.BORDER, "border", "Straight edges framed the face, like a phone's bezel or the edge of a print."),
    (Refusal.FLAT_DEPTH, "depth", "The face had no depth of its own as it moved (a flat or bent photo?)."),
    (Refusal.NO_BLINK, "no_blink", "The eyes never blinked (a photo?)."),
    (Refusal.FROZEN, "frozen", "The picture did not change from one frame to the next (a still photo?)."),
    (Refusal.IDENTITY_JUMP, "identity", "The face turned into someone else's during the check (another person "
                                        "answering?)."),
])
def test_a_refusal_by_a_signal_names_it_in_plain_words(refusal: Refusal, signal: str, words: str) -> None:
    shown = verdict(decided(refusal, {**QUIET, signal: 1.0}), True, Source.CAMERA)
    assert shown.headline == "Refused: the liveness check failed" and shown.passed is False
    assert shown.details.startswith(words)
    assert refusal.code not in shown.details.split("(")[0] and "edge_core's own sentence" not in shown.details


def test_a_failed_step_up_names_the_signal_that_kept_the_risk_up() -> None:
    shown = verdict(decided(Refusal.STEP_UP_FAILED, {**QUIET, "moire": 0.35, "border": 0.15}, stepped_up=True),
                    True, Source.CAMERA)
    assert shown.details.startswith("One more movement was asked, and the picture still looked like a photo or a "
                                    "screen: the face showed a screen's pixel stripes.")
    assert "step_up" not in shown.details


def test_a_pass_after_a_step_up_says_why_one_more_movement_was_asked() -> None:
    shown = verdict(decided(None, {**QUIET, "border": 0.4}, stepped_up=True, completed=3), True, Source.VIDEO)
    assert shown.headline == "Match: this is Alice" and shown.passed is True
    assert "(one more movement was asked because straight edges framed the face)" in shown.details


def test_a_refusal_the_window_has_no_words_for_keeps_edge_cores_sentence() -> None:
    shown = verdict(decided(Refusal.MANY_FACES, QUIET), True, Source.CAMERA)
    assert shown.details.startswith("Edge_core's own sentence.")
