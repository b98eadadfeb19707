"""Presentation attacks made from real photos must fail; the same people answering the asked challenges pass.

The media are tests/liveness/media's (the sets the accuracy benchmark
measures), for two people, each asked the first sequences ``sets.seeds``
gives (look down, blink, look up; open mouth, turn left). Sessions run
through ``check_liveness`` with FACESEAL_LIVENESS_SEED, exactly as the CLI
runs a video file; one pass and one replay also go through the real CLI,
vault and audit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge_core.biometrics import VideoFile
from edge_core.liveness import Challenge, LivenessResult, draw_sequence, run_session
from edge_core.liveness.challenges import Timeline
from edge_core.liveness.check import SEED_VARIABLE, check_liveness
from tests.conftest import SHARED, cli_json, run_cli

from .media import sets

PEOPLE = sets.PEOPLE[:2]
REPLAYS = sets.ATTACKS
"""Every replay: still, in a moving hand, zoomed, bent, on a screen, a recording of the right answers on a
screen, the recording asked another order, another person answering."""


@pytest.fixture(scope="module")
def media(pipeline, face_mesh, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[sets.Case]]:
    return sets.build(pipeline, face_mesh, tmp_path_factory.mktemp("attacks"), PEOPLE)


def judged(pipeline, case: sets.Case, monkeypatch: pytest.MonkeyPatch) -> LivenessResult:
    monkeypatch.setenv(SEED_VARIABLE, str(case.seed))
    frames = VideoFile(case.video)
    return check_liveness(pipeline, frames, video=True, fps=frames.fps)


def test_each_person_answering_the_asked_challenges_passes(pipeline, media, monkeypatch) -> None:
    for case in media[sets.GENUINE]:
        result = judged(pipeline, case, monkeypatch)
        assert result.passed and result.embedding is not None, (case.video.name, result.reason)
        assert result.completed == len(result.challenges)


SWAPPED = {Challenge.BLINK: Challenge.OPEN_MOUTH, Challenge.OPEN_MOUTH: Challenge.BLINK,
           Challenge.TURN_LEFT: Challenge.TURN_RIGHT, Challenge.TURN_RIGHT: Challenge.TURN_LEFT,
           Challenge.LOOK_UP: Challenge.LOOK_DOWN, Challenge.LOOK_DOWN: Challenge.LOOK_UP,
           Challenge.SMILE: Challenge.BLINK, Challenge.COME_CLOSER: Challenge.TURN_LEFT}


def test_each_answer_fails_when_a_different_movement_was_asked(pipeline, media) -> None:
    """The same videos, asked the same sequence with one movement exchanged (a blink for an open mouth, left for
    right): the movement asked for is never made, the one made was not asked."""
    for case in media[sets.GENUINE]:
        answered = draw_sequence(case.seed)
        for i, challenge in enumerate(answered):
            if SWAPPED[challenge] in answered:
                continue  # the exchanged movement is asked later anyway
            asked = (*answered[:i], SWAPPED[challenge], *answered[i + 1:])
            frames = VideoFile(case.video)
            result = run_session(pipeline, frames, asked, Timeline(frames.fps))
            assert not result.passed and result.embedding is None, (case.video.name, asked, result.reason)
            assert result.completed == i, (asked, result.reason)


@pytest.mark.parametrize("attack", REPLAYS)
def test_every_replay_fails(pipeline, media, monkeypatch, attack: str) -> None:
    assert len(media[attack]) == len(PEOPLE)
    for case in media[attack]:
        result = judged(pipeline, case, monkeypatch)
        assert not result.passed and result.embedding is None, (attack, case.video.name, result.reason)
        assert result.refusal is not None and result.reason


def test_the_cli_passes_the_person_and_refuses_a_bent_print_and_a_screen(models_env, media) -> None:
    cli_json("enroll", "--consent", "alice", "--image", str(SHARED / "faces" / PEOPLE[0]))
    live, bent = media[sets.GENUINE][0], media["bent"][0]
    passed = run_cli("verify", "alice", "--video", str(live.video), "--liveness", "--json",
                     extra_env={SEED_VARIABLE: str(live.seed)})
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["liveness"]["passed"] is True
    refused = run_cli("verify", "alice", "--video", str(bent.video), "--liveness", "--json",
                      extra_env={SEED_VARIABLE: str(bent.seed)})
    answer = json.loads(refused.stdout)
    assert refused.returncode == 11 and answer["match"] is False and answer["liveness"]["passed"] is False
    events = [e for e in cli_json("audit", "list") if e["kind"] == "verification"]
    assert [e["liveness"] for e in events] == ["passed", "failed"]

    screen = media["screen_recording"][0]  # identify goes through the same check
    identified = run_cli("identify", "--video", str(live.video), "--liveness", "--json",
                         extra_env={SEED_VARIABLE: str(live.seed)})
    assert identified.returncode == 0 and json.loads(identified.stdout)["name"] == "alice", identified.stderr
    replayed = run_cli("identify", "--video", str(screen.video), "--liveness", "--json",
                       extra_env={SEED_VARIABLE: str(screen.seed)})
    assert replayed.returncode == 11 and json.loads(replayed.stdout)["match"] is False


def test_the_sets_are_one_video_per_person_and_are_real_video_files(media) -> None:
    for name, cases in media.items():
        assert len(cases) == len(PEOPLE), name
        for case in cases:
            assert isinstance(case.video, Path) and VideoFile(case.video).fps > 0
