"""Challenge sessions over real video files made from real photos, with the real open pack.

Time limits come from each file's frame rate (frame budgets), so nothing here
depends on how fast the machine decodes or detects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_core.biometrics import VideoFile, read_image
from edge_core.liveness import Challenge, Refusal, draw_sequence, run_session
from edge_core.liveness.challenges import Timeline

from .synthetic import PERSON, SAME_PERSON, answerable_seeds, seed_with


def session(pipeline, video: Path, seed: int, progress: list | None = None):
    frames = VideoFile(video)
    return run_session(pipeline, frames, draw_sequence(seed), Timeline(frames.fps),
                       on_progress=None if progress is None else progress.append)


def test_a_head_answering_the_asked_sequence_passes_and_its_face_matches(pipeline, videos) -> None:
    seeds = answerable_seeds()[:3]
    for seed in seeds:
        result = session(pipeline, videos[f"live_{seed}"], seed)
        assert result.passed, (draw_sequence(seed), result.reason)
        assert result.completed == len(draw_sequence(seed)) and result.risk < 0.5
    enrolled = pipeline.embed_one(read_image(SAME_PERSON))[1]  # another photo of the same person
    assert float(result.embedding @ enrolled) >= pipeline.threshold


def test_the_same_video_fails_when_another_order_is_asked(pipeline, videos) -> None:
    seed = answerable_seeds()[0]
    others = [s for s in range(50) if draw_sequence(s) != draw_sequence(seed)][:4]
    for other in others:
        result = session(pipeline, videos[f"live_{seed}"], other)
        assert not result.passed and result.embedding is None
        assert result.refusal in (Refusal.WRONG_MOVE, Refusal.TIMEOUT, Refusal.SOURCE_ENDED), result.reason


@pytest.mark.parametrize("nod", [Challenge.LOOK_UP, Challenge.LOOK_DOWN], ids=lambda c: c.code)
def test_a_head_looking_up_or_down_as_asked_passes_and_fails_under_another_order(pipeline, videos, nod) -> None:
    """The nod is measured on the rendered frames by the real detector, like the turns."""
    seed = seed_with(nod)
    asked = draw_sequence(seed)
    result = session(pipeline, videos[f"live_{seed}"], seed)
    assert result.passed, (asked, result.reason)
    assert result.completed == len(asked) and result.risk < 0.5
    others = [s for s in range(50) if draw_sequence(s) != asked][:3]
    for other in others:
        replayed = session(pipeline, videos[f"live_{seed}"], other)
        assert not replayed.passed and replayed.embedding is None, (draw_sequence(other), replayed.reason)
        assert replayed.refusal in (Refusal.WRONG_MOVE, Refusal.TIMEOUT, Refusal.SOURCE_ENDED), replayed.reason


def test_a_recording_of_a_longer_sequence_fails_when_only_its_start_is_asked(pipeline, videos) -> None:
    """A video answering (A, B, C) must not pass when (A, B) is asked: at the end the session
    waits for the head to hold still facing the camera, and the recording moves on to C."""
    made = [*answerable_seeds()[:3], *(seed_with(c) for c in (Challenge.LOOK_UP, Challenge.LOOK_DOWN))]
    long_seed = next(s for s in made if len(draw_sequence(s)) == 3)
    recorded = draw_sequence(long_seed)
    prefix_seed = next(s for s in range(500) if draw_sequence(s) == recorded[:2])
    assert session(pipeline, videos[f"live_{long_seed}"], long_seed).passed
    replayed = session(pipeline, videos[f"live_{long_seed}"], prefix_seed)
    assert not replayed.passed and replayed.embedding is None
    assert replayed.refusal is Refusal.WRONG_MOVE and recorded[2].value in replayed.reason


def test_prompts_and_progress_follow_the_sequence(pipeline, videos) -> None:
    seed = answerable_seeds()[0]
    seen: list = []
    session(pipeline, videos[f"live_{seed}"], seed, seen)
    prompts = list(dict.fromkeys(p.prompt for p in seen))
    assert prompts == ["Look straight at the camera", *(c.prompt for c in draw_sequence(seed)),
                       "Look straight at the camera again"]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) or max(fractions) == 1.0
    assert seen[-1].fraction == 1.0


def test_a_still_photo_shown_frame_after_frame_is_refused_as_frozen(pipeline, videos) -> None:
    result = session(pipeline, videos["still"], answerable_seeds()[0])
    assert not result.passed and result.refusal is Refusal.FROZEN and result.signals["frozen"] == 1.0


def test_a_photo_slid_and_rotated_in_plane_is_refused_for_the_challenge_it_cannot_answer(pipeline, videos) -> None:
    """flat and depth judge only frames where the head turned: the photo never turns, so it is the missed
    challenge (here its first: open the mouth) that refuses it, not a guess from the parallax of a head that
    did not turn."""
    seed = answerable_seeds()[0]
    result = session(pipeline, videos["slid"], seed)
    assert not result.passed and result.refusal is Refusal.TIMEOUT, result.reason
    assert result.completed == 0 and draw_sequence(seed)[0].value in result.reason
    assert result.signals["flat"] == result.signals["depth"] == 0.0


def test_a_photo_turned_in_the_hand_cannot_answer_a_turn(pipeline, videos) -> None:
    result = session(pipeline, videos["turned_photo"], answerable_seeds()[0])
    assert not result.passed and result.completed == 0
    assert result.refusal in (Refusal.TIMEOUT, Refusal.FLAT), result.reason


def test_a_different_person_answering_the_challenges_is_refused(pipeline, videos) -> None:
    result = session(pipeline, videos["swapped"], answerable_seeds()[0])
    assert not result.passed
    assert result.refusal in (Refusal.IDENTITY_JUMP, Refusal.TRACK_BROKEN, Refusal.CHANGED_FACE), result.reason


def test_two_faces_in_view_are_refused(pipeline, tmp_path: Path) -> None:
    from . import synthetic

    frame, _ = synthetic.framed(PERSON, pipeline)
    pair = np.hstack([frame[:, 120:360], frame[:, 120:360]])
    result = session(pipeline, synthetic.write(tmp_path / "two.avi", [pair] * 6), 0)
    assert result.refusal is Refusal.MANY_FACES
