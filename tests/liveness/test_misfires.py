"""The passive signals' misfires on live people that issue 33 measured on real recordings, reproduced on real
photos through the real track (detector, mesh, iris, recognizer), each fixed.

* identity fell to 0.26 through motion blur and a fast turn: a motion-blurred pair of frames;
* size read a phone front camera's close-up (eyes 114 px apart in a 368 px frame) as 0.18 m away;
* a hand making a V sign beside the face scored 0.61 at the detector and ended the session as a second face:
  a detection the mesh does not confirm beside the face (a face whose features are covered);
* a face in a KF94 mask was detected on every frame and never tracked, with no word why;
* flat/depth scored 0.54/0.37 on a live man sitting nearly still: a head turning by 1.7 degrees and swaying by
  6 pixels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_core.biometrics import VideoFile
from edge_core.liveness import Band, Refusal, RiskBands, draw_sequence, passive, run_session
from edge_core.liveness.challenges import Timeline
from edge_core.liveness.check import passive_check
from edge_core.liveness.eyes import load_eyes
from edge_core.liveness.tracking import Track, TrackPoint
from tests.conftest import cli_fails, run_cli

from . import synthetic
from .media import attacks, sequences, sets
from .synthetic import OTHER_PERSON


@pytest.fixture(scope="module")
def person(pipeline, face_mesh) -> sequences.Person:
    return sequences.Person.from_photo(sets.SHARED / "faces" / sets.PEOPLE[0], pipeline, face_mesh)


def _camera(image: np.ndarray, seed: int) -> np.ndarray:
    """A camera's sensor noise over the picture."""
    noise = np.random.default_rng(seed).normal(0, synthetic.NOISE, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _follow(pipeline, face_mesh, frames: list[np.ndarray]) -> list:
    track = Track(pipeline, face_mesh, load_eyes(pipeline.pack))
    return [track.follow(i, i / synthetic.FPS, _camera(image, i)) for i, image in enumerate(frames)]


def _motion_blur(image: np.ndarray, length: int = 31) -> np.ndarray:
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1 / length
    return cv2.filter2D(image, -1, kernel)


def test_identity_is_judged_across_sharp_frames_only(pipeline, face_mesh, person) -> None:
    """A fast turn blurred over two frames embeds as nobody in particular; the sharp frames around it agree."""
    f, landmarks = person.frame, person.landmarks
    turning = [f, f, synthetic.turned_head(f, landmarks, 0.2), _motion_blur(synthetic.turned_head(f, landmarks, 0.35)),
               _motion_blur(f), f, f]
    points = _follow(pipeline, face_mesh, turning)
    assert all(isinstance(p, TrackPoint) for p in points)
    consecutive = min(float(a.embedding @ b.embedding) for a, b in zip(points, points[1:]))
    assert consecutive < passive.IDENTITY_COSINE[0]  # what the signal used to score 1 on
    assert passive.identity(points).score == 0.0
    other, _ = synthetic.framed(OTHER_PERSON, pipeline)
    swapped = _follow(pipeline, face_mesh, [f, f, _motion_blur(f), other, other])
    assert passive.identity([p for p in swapped if isinstance(p, TrackPoint)]).score == 1.0  # across the blur


def _phone_close_up(person: sequences.Person, eye_distance: float = 114, width: int = 368) -> np.ndarray:
    """The person's face with the eyes ``eye_distance`` pixels apart in a portrait frame ``width`` wide."""
    scale = eye_distance / float(np.linalg.norm(person.landmarks[1] - person.landmarks[0]))
    big = cv2.resize(person.frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    cx, cy = (person.landmarks[:2].mean(axis=0) * scale).astype(int)
    return np.ascontiguousarray(big[max(0, cy - 200):cy + 290, cx - width // 2:cx + width // 2])


def test_a_close_face_through_an_unknown_field_of_view_is_never_too_large(pipeline, face_mesh, person) -> None:
    points = _follow(pipeline, face_mesh, [_phone_close_up(person)] * 4)
    assert all(isinstance(p, TrackPoint) for p in points)
    assert points[0].pose.eye_distance > 95 and points[0].frame_width == 368
    assert passive.size(points).score == 0.0
    # a face too small for a head at any usual distance, even through a 90-degree camera, still scores
    eye = float(np.linalg.norm(person.landmarks[1] - person.landmarks[0]))
    small = cv2.resize(person.frame, None, fx=20 / eye, fy=20 / eye, interpolation=cv2.INTER_AREA)
    far = np.zeros((720, 1280, 3), np.uint8)
    far[:] = person.frame[0, 0]
    far[300:300 + small.shape[0], 600:600 + small.shape[1]] = small
    distant = _follow(pipeline, face_mesh, [far] * 3)
    assert all(isinstance(p, TrackPoint) for p in distant)
    assert passive.size(distant).score == 1.0


def _beside(frame: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """``frame`` widened to the right, with ``patch`` there on the frame's edge colour."""
    height, width = frame.shape[:2]
    wide = np.zeros((height, width + patch.shape[1] + 20, 3), np.uint8)
    wide[:, :width] = frame
    wide[:, width:] = frame[:, -1:].mean(axis=0).astype(np.uint8)
    wide[30:30 + patch.shape[0], width + 10:width + 10 + patch.shape[1]] = patch[:height - 30]
    return wide


def _covered(frame: np.ndarray, pipeline, top: float = 0.35) -> np.ndarray:
    """The face's lower part, from ``top`` of its box's height down to the chin, behind a white mask."""
    x1, y1, x2, y2 = (int(v) for v in pipeline.detect(frame)[0].box)
    out = frame.copy()
    cv2.rectangle(out, (x1 - 5, int(y1 + top * (y2 - y1))), (x2 + 5, int(y2 + 0.15 * (y2 - y1))), (235, 230, 225), -1)
    return out


def _face_crop(frame: np.ndarray, pipeline, scale: float) -> np.ndarray:
    x1, y1, x2, y2 = (int(v) for v in pipeline.detect(frame)[0].box)
    margin = (y2 - y1) // 4
    crop = frame[max(0, y1 - margin):y2 + margin, max(0, x1 - margin):x2 + margin]
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def test_a_second_face_counts_only_when_the_mesh_confirms_it_and_its_size_is_plausible(pipeline, face_mesh,
                                                                                      person) -> None:
    f = person.frame
    unconfirmed = _beside(f, _face_crop(_covered(f, pipeline), pipeline, 0.9))
    assert len(pipeline.detect(unconfirmed)) == 2  # the detector sees two faces, the mesh only one
    assert all(isinstance(p, TrackPoint) for p in _follow(pipeline, face_mesh, [unconfirmed] * 3))
    far_behind = _beside(f, _face_crop(f, pipeline, 0.3))
    assert len(pipeline.detect(far_behind)) == 2
    assert all(isinstance(p, TrackPoint) for p in _follow(pipeline, face_mesh, [far_behind] * 3))
    other, _ = synthetic.framed(OTHER_PERSON, pipeline)
    two = _beside(f, _face_crop(other, pipeline, 0.9))
    assert _follow(pipeline, face_mesh, [two])[0] is Refusal.MANY_FACES


def test_a_masked_face_is_told_why_it_is_not_tracked(pipeline, face_mesh, person, tmp_path: Path) -> None:
    masked = _covered(person.frame, pipeline)
    assert pipeline.detect(masked) and face_mesh.fit(masked, pipeline.detect(masked)[0]) is None
    video = synthetic.write(tmp_path / "masked.avi", [masked] * 30)
    frames = VideoFile(video)
    result = run_session(pipeline, frames, draw_sequence(0), Timeline(frames.fps))
    assert not result.passed and result.refusal is Refusal.FACE_COVERED
    assert "the lower face is covered (a mask?)" in result.reason
    long = synthetic.write(tmp_path / "masked-long.avi", [masked] * 60)  # past the 5 s to find a face
    frames = VideoFile(long)
    assert run_session(pipeline, frames, draw_sequence(0), Timeline(frames.fps)).refusal is Refusal.FACE_COVERED
    judged = passive_check(pipeline, VideoFile(video), fps=synthetic.FPS, mesh=face_mesh)
    assert judged.tracked == 0 and judged.stopped is Refusal.FACE_COVERED


def test_a_masked_face_is_told_why_at_enrolment(models_env, pipeline, person, tmp_path: Path) -> None:
    masked = tmp_path / "masked.png"
    cv2.imwrite(str(masked), _covered(person.frame, pipeline))
    cli_fails(2, "the lower face is covered (a mask?)", "enroll", "--consent", "alice", "--image", str(masked))
    video = synthetic.write(tmp_path / "masked.avi", [_covered(person.frame, pipeline)] * 12)
    cli_fails(2, "the lower face is covered (a mask?)", "enroll", "--consent", "alice", "--video", str(video), "--samples", "2")
    bare = tmp_path / "bare.png"
    cv2.imwrite(str(bare), person.frame)
    assert run_cli("enroll", "--consent", "alice", "--image", str(bare)).returncode == 0


def _nearly_still(person: sequences.Person, frames: int = 40) -> list[np.ndarray]:
    """The person sitting nearly still: the head turning by +-1.7 degrees and swaying by +-6 pixels."""
    return [attacks.moved(synthetic.turned_head(person.frame, person.landmarks, np.radians(1.7) * np.sin(i / 3)),
                          shift=(6 * np.sin(i / 4), 3 * np.cos(i / 5)))
            for i in range(frames)]


def test_flat_and_depth_are_not_judged_on_a_nearly_still_head(pipeline, face_mesh, person, tmp_path: Path) -> None:
    """Without a turn the mesh's jitter is all the parallax there is: no evidence either way, so no refusal."""
    video = synthetic.write(tmp_path / "still-head.avi", _nearly_still(person))
    judged = passive_check(pipeline, VideoFile(video), fps=synthetic.FPS, mesh=face_mesh)
    assert judged.tracked == judged.frames == 40 and judged.stopped is None
    signals = {s.name: s for s in judged.assessment.signals}
    for name in ("flat", "depth"):
        assert signals[name].score == 0.0 and signals[name].note == passive.NOT_TURNED, signals[name]
        assert signals[name].value < passive.ROTATED_DEGREES  # the largest turn seen, in degrees
    assert judged.assessment.band(RiskBands()) is Band.LOW  # was high (risk 0.73 to 0.84): a live person refused
    # a head that did turn is judged over its turned frames, and shows its depth
    f, landmarks = person.frame, person.landmarks
    turning = _follow(pipeline, face_mesh, [synthetic.turned_head(f, landmarks, 0.5 * np.sin(i / 3)) for i in range(12)])
    for signal in (passive.flat(turning), passive.depth(turning)):
        assert signal.score == 0.0 and not signal.note and signal.measured in ("parallax", "depth_parallax")


def test_a_nearly_still_live_person_who_misses_a_challenge_is_told_so_not_called_a_flat_picture(
        pipeline, person, tmp_path: Path) -> None:
    """In a session a high risk is reported before a missed challenge: the still head's jitter used to make that
    "moves like a flat picture"; now the person hears which movement was not done in time."""
    video = synthetic.write(tmp_path / "still-head.avi", _nearly_still(person, frames=70))
    seed = sets.seeds(1)[0]
    frames = VideoFile(video)
    result = run_session(pipeline, frames, draw_sequence(seed), Timeline(frames.fps), seed=seed)
    assert not result.passed and result.refusal is Refusal.TIMEOUT, result.reason
    assert draw_sequence(seed)[0].value in result.reason and result.band == "low"
