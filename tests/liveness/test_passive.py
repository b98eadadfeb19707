"""The passive signals beyond the original four, on real frames through the real track (detector, mesh, iris,
recognizer), and the step-up: a risk in the middle band asks for exactly one more challenge."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_core.biometrics import Face, VideoFile
from edge_core.liveness import Challenge, Refusal, RiskBands, draw_sequence, enforce, run_session
from edge_core.liveness import passive, texture
from edge_core.liveness.challenges import Timeline, draw_extra
from edge_core.liveness.eyes import load_eyes
from edge_core.liveness.tracking import Track

from . import synthetic
from .synthetic import PERSON


@pytest.fixture(scope="module")
def framed(pipeline):
    return synthetic.framed(PERSON, pipeline)


def _camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a webcam delivers: sensor noise, then JPEG."""
    noisy = np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])[1], cv2.IMREAD_COLOR)


def _on_screen(frame: np.ndarray, pitch: float = 2.4, angle: float = 3.0, depth: float = 0.3) -> np.ndarray:
    """The frame shown on a screen whose pixel grid (``pitch`` camera half-pixels, turned ``angle`` degrees) the
    camera samples: the grid beats into moire."""
    height, width = frame.shape[:2]
    big = cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    ys, xs = np.mgrid[0:2 * height, 0:2 * width].astype(np.float32)
    turn = np.radians(angle)
    u, v = xs * np.cos(turn) + ys * np.sin(turn), -xs * np.sin(turn) + ys * np.cos(turn)
    grid = (1 - depth * (0.5 + 0.5 * np.cos(2 * np.pi * u / pitch))) * (1 - depth * (0.5 + 0.5 * np.cos(2 * np.pi * v / pitch)))
    shown = np.clip(big * grid[..., None] * 1.2, 0, 255).astype(np.uint8)
    return cv2.resize(shown, (width, height), interpolation=cv2.INTER_LINEAR)


def _in_a_phone(frame: np.ndarray) -> np.ndarray:
    """The frame shrunk onto a phone with a black bezel, held in front of a plain wall."""
    height, width = frame.shape[:2]
    wall = np.empty_like(frame)
    wall[:] = (120, 140, 160)
    small = cv2.resize(frame, (int(width * 0.6), int(height * 0.6)), interpolation=cv2.INTER_AREA)
    cv2.rectangle(wall, (70, 40), (70 + small.shape[1] + 30, 40 + small.shape[0] + 30), (20, 20, 20), -1)
    wall[55:55 + small.shape[0], 85:85 + small.shape[1]] = small
    return wall


def test_moire_of_a_screen_is_far_above_a_camera_frame_of_a_face(pipeline, framed) -> None:
    frame, landmarks = framed
    rng = np.random.default_rng(1)
    live = [_camera(frame, rng), _camera(synthetic.turned_head(frame, landmarks, 0.3), rng)]
    screens = [_camera(_on_screen(frame), rng), _camera(_on_screen(frame, 2.7, 8.0, 0.15), rng)]

    def measured(image: np.ndarray) -> float:
        return texture.moire(image, pipeline.detect(image)[0])

    low, high = passive.MOIRE_PROMINENCE
    assert max(measured(i) for i in live) < low  # scores 0
    assert min(measured(i) for i in screens) > (low + high) / 2  # scores more than 0.5: at least the middle band


def test_a_bezel_around_the_face_is_found_on_several_sides_and_a_room_without_one_is_not(pipeline, framed) -> None:
    frame, landmarks = framed
    phone = _in_a_phone(frame)
    assert texture.border(phone, pipeline.detect(phone)[0]) >= passive.BORDER_SIDES
    head = synthetic.turned_head(frame, landmarks, 0.3)
    assert texture.border(frame, pipeline.detect(frame)[0]) == 0
    assert texture.border(head, pipeline.detect(head)[0]) == 0


def _track(pipeline, face_mesh, frames: list[np.ndarray], fps: float = 10.0) -> list:
    track = Track(pipeline, face_mesh, load_eyes(pipeline.pack))
    points = [track.follow(i, i / fps, image) for i, image in enumerate(frames)]
    assert all(p is not None and not isinstance(p, Refusal) for p in points)
    return points


def test_depth_shows_a_turning_head_and_a_photo_moved_in_the_hand_is_not_judged(pipeline, face_mesh, framed) -> None:
    """flat and depth judge only frames where the head turned; a photo never turns it (its missed turn challenge
    refuses it), so on a photo they give no evidence rather than a guess."""
    frame, landmarks = framed
    head = _track(pipeline, face_mesh, [synthetic.turned_head(frame, landmarks, 0.5 * np.sin(i / 3)) for i in range(12)])
    slid = _track(pipeline, face_mesh, [synthetic.moved_photo(frame, 10 * np.sin(i / 3), (30 * np.sin(i / 4), 0))
                                        for i in range(12)])
    turned = _track(pipeline, face_mesh, [synthetic.moved_photo(frame, turn=0.5 * np.sin(i / 3)) for i in range(12)])
    judged = passive.depth(head)
    assert judged.score == 0.0 and judged.measured == "depth_parallax" and judged.value > passive.DEPTH_PARALLAX[1]
    for photo in (slid, turned):
        for signal in (passive.flat(photo), passive.depth(photo)):
            assert signal.score == 0.0 and signal.note == passive.NOT_TURNED
            assert signal.measured == "largest_rotation_degrees" and signal.value < passive.ROTATED_DEGREES


def test_a_face_that_never_blinks_for_long_raises_the_risk_only_into_the_middle_band(pipeline, face_mesh,
                                                                                      framed) -> None:
    frame, _ = framed
    rng = np.random.default_rng(2)
    stare = _track(pipeline, face_mesh, [_camera(frame, rng) for _ in range(12)], fps=0.5)  # 22 s without a blink
    signal = passive.no_blink(stare)
    assert signal.value >= 20.0 and signal.score == pytest.approx(passive.DOUBT_WEIGHT)
    assert RiskBands().band(signal.score).value == "middle"
    points = synthetic.mesh_points(frame, framed[1])
    shut = synthetic.close_eyes(frame, points, 1.0)
    blinking = _track(pipeline, face_mesh, [_camera(shut if i in (5, 6) else frame, rng) for i in range(12)], fps=0.5)
    assert passive.no_blink(blinking).score < signal.score


class _Doubt:
    """A presentation-attack model (the documented extension point) that is unsure: a fixed score."""

    name = "doubt"

    def __init__(self, score: float, frames: int = 10**9) -> None:
        self._score, self._frames, self.seen = score, frames, 0

    def observe(self, image: np.ndarray, face: Face) -> None:
        self.seen += 1

    def score(self) -> float:
        """``score`` until it has seen ``frames`` frames, then 0: a doubt the longer look settles."""
        return self._score if self.seen < self._frames else 0.0


def _stepped_frames(pipeline, seed: int) -> list[np.ndarray]:
    frame, landmarks = synthetic.framed(PERSON, pipeline)
    asked = draw_sequence(seed)
    # the asked sequence and its settle hold, then the extra challenge and the settle hold again
    return (synthetic.answering(frame, landmarks, asked)
            + synthetic.answering(frame, landmarks, (draw_extra(asked, seed),))[4:])


def _stepped_seed() -> int:
    return next(s for s in synthetic.answerable_seeds()
                if Challenge.COME_CLOSER not in draw_sequence(s) and len(draw_sequence(s)) == 2
                and draw_extra(draw_sequence(s), s) not in (Challenge.LOOK_UP, Challenge.LOOK_DOWN))


@pytest.fixture(scope="module")
def stepped(pipeline, tmp_path_factory):
    seed = _stepped_seed()
    return seed, synthetic.write(tmp_path_factory.mktemp("stepped") / f"stepped-{seed}.avi",
                                 _stepped_frames(pipeline, seed))


def _session(pipeline, video: Path, seed: int, model: _Doubt):
    frames = VideoFile(video)
    return run_session(pipeline, frames, draw_sequence(seed), Timeline(frames.fps), models=[model], seed=seed)


def test_a_middle_risk_asks_for_one_more_challenge_and_passes_when_the_doubt_is_settled(pipeline, stepped) -> None:
    seed, video = stepped
    doubt = _Doubt(0.4)
    # unsure over the frames answering the first sequence (and its settle hold), sure once the extra one is done
    first_part = len(synthetic.answering(*synthetic.framed(PERSON, pipeline), draw_sequence(seed)))
    result = _session(pipeline, video, seed, _Doubt(0.4, frames=first_part + 5))
    assert result.passed and result.stepped_up and result.band == "low", result.reason
    assert result.challenges == (*draw_sequence(seed), draw_extra(draw_sequence(seed), seed))
    assert result.completed == len(result.challenges)
    still_unsure = _session(pipeline, video, seed, doubt)
    assert not still_unsure.passed and still_unsure.stepped_up and still_unsure.band == "middle"
    assert still_unsure.refusal is Refusal.STEP_UP_FAILED and "presentation-attack detector" in still_unsure.reason


def test_a_high_risk_is_refused_without_a_step_up(pipeline, stepped) -> None:
    seed, video = stepped
    result = _session(pipeline, video, seed, _Doubt(0.7))
    assert not result.passed and not result.stepped_up and result.band == "high"
    assert result.challenges == draw_sequence(seed)


def test_the_policy_bands_are_enforced_on_a_result_that_passed_with_laxer_ones(pipeline, stepped) -> None:
    seed, video = stepped
    result = _session(pipeline, video, seed, _Doubt(0.2))
    assert result.passed and result.band == "low" and result.risk == pytest.approx(0.2, abs=0.05)
    strict = enforce(result, RiskBands(low=0.1, high=0.5))
    assert not strict.passed and strict.refusal is Refusal.RISK_ABOVE_POLICY and strict.embedding is None
    assert strict.band == "middle" and "0.1" in strict.reason
    assert enforce(result, RiskBands()) is result


def _signal(name: str, score: float, doubt: bool) -> passive.Signal:
    return passive.Signal(name, score, f"{name}_value", score, Refusal.ATTACK_MODEL, doubt)


def test_doubts_alone_only_ask_for_one_more_challenge_whatever_the_bands() -> None:
    """moire, border and no_blink did not separate live from attack on real recordings (issue 33)."""
    doubts = passive.Assessment(0.0, ()).signals + (_signal("moire", passive.DOUBT_WEIGHT, True),
                                                     _signal("border", passive.DOUBT_WEIGHT, True))
    alone = passive.Assessment(passive._combined(doubts), doubts)
    assert alone.risk == pytest.approx(passive.DOUBT_WEIGHT)  # several doubts are one reason to look again
    assert alone.band(RiskBands()).value == "middle"
    assert alone.band(RiskBands(low=0.1, high=0.3)).value == "middle"  # even where the policy's high is lower
    assert alone.settled.risk == 0.0
    firm = (*doubts, _signal("flat", 0.4, False))
    together = passive.Assessment(passive._combined(firm), firm)
    assert together.band(RiskBands()).value == "high"  # with a firm signal a doubt still refuses
    assert together.settled.risk == pytest.approx(0.4)


@pytest.fixture(scope="module")
def by_a_window(pipeline, tmp_path_factory):
    """The stepped answers in front of a window frame: straight edges on every side of the face."""
    seed = _stepped_seed()
    frames = _stepped_frames(pipeline, seed)
    height, width = frames[0].shape[:2]
    for image in frames:
        cv2.rectangle(image, (width // 2 - 150, 20), (width // 2 + 150, height - 20), (40, 40, 40), 6)
    return seed, synthetic.write(tmp_path_factory.mktemp("window") / "window.avi", frames)


def test_a_live_person_by_a_window_frame_is_asked_one_more_challenge_and_passes(pipeline, by_a_window) -> None:
    """The border doubt stays over the whole track; once the extra challenge is answered it no longer counts."""
    seed, video = by_a_window
    frames = VideoFile(video)
    result = run_session(pipeline, frames, draw_sequence(seed), Timeline(frames.fps), seed=seed)
    assert result.signals["border"] == pytest.approx(passive.DOUBT_WEIGHT)
    assert result.stepped_up and result.passed, result.reason
    assert result.band == "low" and result.risk < 0.3
    assert result.completed == len(result.challenges) == len(draw_sequence(seed)) + 1
