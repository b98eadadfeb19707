"""Frame sources, enrolment through the quality gates, and every kind of bad input.

Each failure must be one typed FaceSealError with a one-line message, never a
traceback: unreadable or truncated images, a picture without a face, a video that
ends too early, a broken video file, no camera.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_core.biometrics import (
    Camera,
    Frame,
    ImageFiles,
    QualityGates,
    Reason,
    VideoFile,
    collect_samples,
    load_pack,
    read_image,
)
from edge_core.biometrics.align import template
from edge_core.biometrics.detectors import Face
from edge_core.biometrics.errors import (
    CameraUnavailable,
    ImageUnreadable,
    MultipleFaces,
    NoFaceFound,
    NotEnoughSamples,
    VideoUnreadable,
)
from edge_core.biometrics.quality import head_pose
from edge_core.errors import FaceSealError

from .conftest import SHARED_FACES

PERSON = ["deepface/img1.jpg", "deepface/img2.jpg", "deepface/img4.jpg", "deepface/img5.jpg",
          "deepface/img6.jpg", "deepface/img7.jpg"]
HELD_OUT = "deepface/img10.jpg"  # same person, not in the video
STRANGER = "deepface/img3.jpg"
GROUP = SHARED_FACES / "multi_face/two_people.jpg"


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert isinstance(error.value, FaceSealError) and message and "\n" not in message
    return message


def _frame(image: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """The image letterboxed into a camera-sized frame."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (int(image.shape[1] * scale), int(image.shape[0] * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    frame = np.zeros((height, width, 3), np.uint8)
    frame[: resized.shape[0], : resized.shape[1]] = resized
    return frame


def _write_video(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def _gradient() -> np.ndarray:
    ramp = np.linspace(0, 255, 640, dtype=np.uint8)
    return np.dstack([np.tile(ramp, (480, 1))] * 3)


# --- images -----------------------------------------------------------------


def test_truncated_jpeg_is_refused(tmp_path):
    data = (SHARED_FACES / PERSON[0]).read_bytes()
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageUnreadable) as error:
        read_image(truncated)
    assert "truncated" in _one_line(error)


@pytest.mark.parametrize("content", [b"", b"hello, not a picture", b"\x89PNG\r\n\x1a\n broken"])
def test_unreadable_images_are_refused(tmp_path, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageUnreadable) as error:
        read_image(path)
    assert "not an image" in _one_line(error)


def test_missing_image_and_folder(tmp_path):
    with pytest.raises(ImageUnreadable) as error:
        read_image(tmp_path / "absent.jpg")
    assert "does not exist" in _one_line(error)
    with pytest.raises(ImageUnreadable):
        read_image(tmp_path)
    with pytest.raises(ImageUnreadable):
        ImageFiles([SHARED_FACES / PERSON[0], tmp_path / "absent.jpg"])


def test_image_without_a_face(models_env, tmp_path):
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), _gradient())
    pipeline = load_pack("open")
    assert pipeline.detect(read_image(path)) == []
    for call in (pipeline.embed_one, pipeline.embed_report):
        with pytest.raises(NoFaceFound) as error:
            call(read_image(path))
        assert "no face" in _one_line(error)


def test_not_an_image_array_is_a_usage_error(models_env):
    pipeline = load_pack("open")  # a grey (IR) frame is an image: tests/liveness/test_infrared.py
    for bad in (np.zeros((480, 640, 4), np.uint8), np.zeros((480, 640), np.float32), np.zeros((480, 640, 3), np.float32),
                np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8)):
        with pytest.raises(ImageUnreadable):
            pipeline.detect(bad)


# --- embed --json and probes -----------------------------------------------------


@pytest.mark.parametrize("pack", ["open", "scrfd"])
def test_embed_report_is_the_documented_json(pack, models_env):
    pipeline = load_pack(pack)
    report = json.loads(json.dumps(pipeline.embed_report(read_image(GROUP))))
    assert report["pack"] == pack and len(report["faces"]) == 2
    for face in report["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert x2 > x1 and y2 > y1 and 0 < face["score"] <= 1
        assert len(face["landmarks"]) == 5 and all(len(point) == 2 for point in face["landmarks"])
        assert len(face["embedding"]) == pipeline.embedding_size
        assert np.linalg.norm(face["embedding"]) == pytest.approx(1.0, abs=1e-4)


def test_probe_with_several_faces_needs_largest(models_env):
    pipeline = load_pack("open")
    with pytest.raises(MultipleFaces) as error:
        pipeline.embed_one(read_image(GROUP))
    assert "--largest" in _one_line(error)
    face, _ = pipeline.embed_one(read_image(GROUP), largest=True)
    assert face.area == max(f.area for f in pipeline.detect(read_image(GROUP)))


# --- enrolment ---------------------------------------------------------------


@pytest.mark.parametrize("pack", ["open", "scrfd"])
def test_enrol_five_samples_from_a_video_file(pack, models_env, tmp_path):
    frames = [_frame(read_image(SHARED_FACES / name)) for name in PERSON for _ in range(2)]
    video = _write_video(tmp_path / "person.avi", frames)
    pipeline = load_pack(pack)
    seen: list[Reason | None] = []
    with VideoFile(video) as source:
        enrolment = collect_samples(pipeline, source, samples=5, on_frame=lambda frame, reason: seen.append(reason),
                                    candidates_per_sample=2)
    assert enrolment.embeddings.shape == (5, pipeline.embedding_size)
    assert enrolment.embeddings.dtype == np.float32
    assert np.allclose(np.linalg.norm(enrolment.embeddings, axis=1), 1.0, atol=1e-5)
    # every frame was judged; twice as many good ones were looked at as kept (the best by quality)
    assert seen.count(None) == 2 * len(enrolment.accepted) and len(seen) - seen.count(None) == len(enrolment.rejections)
    def best_score(photo: str) -> float:
        probe = pipeline.embed_one(read_image(SHARED_FACES / photo), largest=True)[1]
        return float((enrolment.embeddings @ probe).max())

    assert best_score(HELD_OUT) >= pipeline.threshold > best_score(STRANGER)


def test_video_ending_early_is_a_clear_error(models_env, tmp_path):
    video = _write_video(tmp_path / "short.avi", [_frame(read_image(SHARED_FACES / PERSON[0]))] * 2)
    with pytest.raises(NotEnoughSamples) as error:
        collect_samples(load_pack("open"), VideoFile(video), samples=5)
    assert "the video ended with 2 good frames, fewer than the 5 needed" in _one_line(error)


def test_rejected_frames_carry_human_reasons(models_env, tmp_path):
    sharp = _frame(read_image(SHARED_FACES / PERSON[0]))
    frames = [_gradient(), cv2.GaussianBlur(sharp, (0, 0), 4), _frame(read_image(GROUP)), sharp]
    video = _write_video(tmp_path / "mixed.avi", frames)
    enrolment = collect_samples(load_pack("open"), VideoFile(video), samples=1)
    assert [r.reason for r in enrolment.rejections] == [Reason.NO_FACE, Reason.BLURRY, Reason.MANY_FACES]
    assert enrolment.accepted == ("frame 4",)
    assert Reason.BLURRY.message == "too blurry: hold still"


def test_largest_face_option_and_too_small_faces(models_env):
    pipeline = load_pack("open")
    assert collect_samples(pipeline, ImageFiles([GROUP]), samples=1, largest=True).embeddings.shape == (1, 128)
    far_away = np.zeros((480, 640, 3), np.uint8)
    far_away[:120, :160] = _frame(read_image(SHARED_FACES / PERSON[0]), size=(160, 120))
    with pytest.raises(NotEnoughSamples) as error:
        collect_samples(pipeline, [Frame("far away", far_away)], samples=1)
    assert error.value.rejections[0].reason is Reason.TOO_SMALL
    assert "face too small" in str(error.value) and "move closer" not in str(error.value)  # frames, not a camera


def test_images_source_enrols_every_good_photo(models_env):
    enrolment = collect_samples(load_pack("scrfd"), ImageFiles([SHARED_FACES / p for p in PERSON[:3]]), samples=3)
    assert enrolment.accepted == ("img1.jpg", "img2.jpg", "img4.jpg")


def test_pose_gate_uses_the_landmarks():
    frontal = template()
    assert np.allclose(head_pose(frontal), (0.0, 0.0), atol=1e-4)
    turned = frontal.copy()
    turned[2, 0] += 0.5 * (frontal[1, 0] - frontal[0, 0])  # nose half an eye distance aside
    nodding = frontal.copy()
    nodding[2, 1] -= 15  # nose up near the eyes
    crop = np.zeros((112, 112, 3), np.uint8)
    box = np.array([0, 0, 112, 112], np.float32)
    gates = QualityGates(min_score=0.5, min_face_size=10, min_sharpness=0)
    for landmarks in (turned, nodding):
        assert gates.check(Face(box, 0.9, landmarks), crop) is Reason.POSE
    assert gates.check(Face(box, 0.9, frontal), crop) is None
    assert QualityGates().check(Face(box, 0.9, frontal), crop) is Reason.BLURRY  # flat crop


# --- broken sources -----------------------------------------------------------


def test_broken_video_files(tmp_path):
    with pytest.raises(VideoUnreadable) as error:
        VideoFile(tmp_path / "absent.avi")
    assert "does not exist" in _one_line(error)
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"RIFF not really a video" * 10)
    with pytest.raises(VideoUnreadable):
        list(VideoFile(garbage))


def test_no_camera_is_a_clear_error():
    with pytest.raises(CameraUnavailable) as error:
        Camera(7)
    assert "no camera found at index 7" in _one_line(error)


def test_enrolment_keeps_the_best_samples_by_quality(models_env, tmp_path):
    # Four good photos of one person, two of them softened (still above the blur gate):
    # asked for two samples, enrolment keeps the sharper of each pair of neighbours.
    from edge_core.biometrics.quality import QualityGates, sharpness

    pipeline = load_pack("open")
    source = read_image(SHARED_FACES / "face_recognition" / "obama.jpg")
    face = pipeline.embed_one(source)[0]
    gates = QualityGates.for_pipeline(pipeline)
    paths = []
    for name, sigma in (("soft1.png", 2.0), ("sharp1.png", 0), ("soft2.png", 2.5), ("sharp2.png", 0)):
        image = cv2.GaussianBlur(source, (0, 0), sigma) if sigma else source
        assert gates.check(face, pipeline.align(image, face)) is None, f"{name} must pass the gates"
        if sigma:
            assert sharpness(pipeline.align(image, face)) < sharpness(pipeline.align(source, face))
        cv2.imwrite(str(tmp_path / name), image)
        paths.append(tmp_path / name)
    enrolment = collect_samples(pipeline, ImageFiles(paths), samples=2, candidates_per_sample=2)
    assert enrolment.accepted == ("sharp1.png", "sharp2.png")
    assert enrolment.embeddings.shape == (2, pipeline.embedding_size)
