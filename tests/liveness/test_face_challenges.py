"""Blink, open mouth and smile: measured by the real mesh and iris models on videos of real photos whose eyes
and mouth were made to move (``synthetic.close_eyes``, ``synthetic.move_mouth``); each passes when asked and
fails when another challenge was asked instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_core.biometrics import VideoFile
from edge_core.liveness import Challenge, Refusal, Timing, run_session
from edge_core.liveness.challenges import Timeline

from . import synthetic
from .synthetic import OTHER_PERSON, PERSON

SEQUENCES = {
    "blink": (Challenge.BLINK, Challenge.TURN_RIGHT),
    "mouth": (Challenge.OPEN_MOUTH, Challenge.LOOK_DOWN),
    "smile": (Challenge.SMILE, Challenge.BLINK, Challenge.TURN_LEFT),
}
INSTEAD = {
    "blink": (Challenge.OPEN_MOUTH, Challenge.TURN_RIGHT),
    "mouth": (Challenge.BLINK, Challenge.LOOK_DOWN),
    "smile": (Challenge.OPEN_MOUTH, Challenge.BLINK, Challenge.TURN_LEFT),
}


@pytest.fixture(scope="module")
def face_videos(pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("face-challenges")
    made = {}
    for photo in (PERSON, OTHER_PERSON):
        frame, landmarks = synthetic.framed(photo, pipeline)
        for name, sequence in SEQUENCES.items():
            made[(photo.stem, name)] = synthetic.write(folder / f"{photo.stem}-{name}.avi",
                                                       synthetic.answering(frame, landmarks, sequence))
    return made


def _run(pipeline, video: Path, sequence, timing: Timing = Timing()):
    frames = VideoFile(video)
    return run_session(pipeline, frames, sequence, Timeline(frames.fps), timing=timing)


@pytest.mark.parametrize("photo", [PERSON.stem, OTHER_PERSON.stem])
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_the_face_movement_asked_for_passes(pipeline, face_videos, photo, name) -> None:
    result = _run(pipeline, face_videos[(photo, name)], SEQUENCES[name])
    assert result.passed, result.reason
    assert result.completed == len(SEQUENCES[name]) and result.band == "low" and not result.stepped_up


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_the_same_video_fails_when_another_face_movement_was_asked(pipeline, face_videos, name) -> None:
    result = _run(pipeline, face_videos[(PERSON.stem, name)], INSTEAD[name])
    assert not result.passed and result.embedding is None
    assert result.refusal in (Refusal.TIMEOUT, Refusal.WRONG_MOVE, Refusal.SOURCE_ENDED), result.reason
    assert result.completed == 0 and INSTEAD[name][0].value in result.reason


def test_eyes_kept_shut_longer_than_a_blink_are_not_a_blink(pipeline, face_videos, tmp_path) -> None:
    frame, landmarks = synthetic.framed(PERSON, pipeline)
    shut = synthetic.close_eyes(frame, synthetic.mesh_points(frame, landmarks), 1.0)
    video = synthetic.write(tmp_path / "shut.avi", [frame] * 4 + [shut] * 15 + [frame] * 12)
    result = _run(pipeline, video, (Challenge.BLINK, Challenge.TURN_LEFT))
    assert not result.passed and result.completed == 0
    assert result.refusal in (Refusal.TIMEOUT, Refusal.SOURCE_ENDED)
    # the very same closing, quick enough, is a blink
    assert _run(pipeline, video, (Challenge.BLINK, Challenge.TURN_LEFT), Timing(blink_seconds=2.0)).completed == 1
