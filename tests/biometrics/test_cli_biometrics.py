"""The biometric commands as a person runs them: photos, video, camera, packs; bad input leaves the vault alone."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from edge_core.biometrics import default_pack_name, pack_info
from tests.conftest import cli_json, run_cli, tree_snapshot

from .conftest import SHARED_FACES, SHARED_MODELS

OBAMA = [SHARED_FACES / "face_recognition" / f for f in ("obama.jpg", "obama1.jpg", "obama2.jpg")]
OBAMA_PROBE = SHARED_FACES / "face_recognition" / "obama3.jpg"
BIDEN = SHARED_FACES / "face_recognition" / "biden.jpg"
BIDEN_PROBE = SHARED_FACES / "face_recognition" / "biden2.jpg"
GROUP = SHARED_FACES / "multi_face" / "two_people.jpg"


@pytest.fixture
def enrolled(models_env):
    cli_json("enroll", "--consent", "obama", "--image", *map(str, OBAMA))
    cli_json("enroll", "--consent", "biden", "--image", str(BIDEN))


def test_enrol_from_photos_then_verify_and_identify(enrolled):
    same = cli_json("verify", "obama", "--image", str(OBAMA_PROBE))
    default = pack_info(default_pack_name())
    assert same["match"] is True and same["pack"] == default.name == "yunet512"
    assert same["threshold"] == default.default_threshold
    # BIDEN_PROBE shows three people, Biden the largest: verify takes one face, or the largest when asked
    assert run_cli("verify", "obama", "--image", str(BIDEN_PROBE)).returncode == 2
    other = cli_json("verify", "obama", "--image", str(BIDEN_PROBE), "--largest", code=10)
    assert other["match"] is False and other["score"] is None  # no score on a no-match: nothing to hill-climb
    shown = cli_json("verify", "obama", "--image", str(BIDEN_PROBE), "--largest", "--show-score", code=10)
    assert shown["score"] < shown["threshold"]
    who = cli_json("identify", "--image", str(BIDEN_PROBE))
    assert (who["name"], who["match"]) == ("biden", True)
    listed = cli_json("list")
    assert [(i["name"], i["samples"], i["pack"]) for i in listed] == [("biden", 1, "yunet512"), ("obama", 3, "yunet512")]


def test_repeating_image_enrols_every_photo(models_env):
    """``--image A --image B`` once kept only B, silently: a person enrolled from fewer photos than they gave."""
    result = cli_json("enroll", "--consent", "obama", "--image", str(OBAMA[0]), "--image", str(OBAMA[1]), str(OBAMA[2]))
    assert result["samples"] == 3
    assert [i["samples"] for i in cli_json("list")] == [3]


def test_a_group_photo_is_identified_face_by_face(enrolled):
    result = cli_json("identify", "--image", str(GROUP))
    faces = sorted(result["faces"], key=lambda f: f["box"][0])
    assert [(f["name"], f["match"]) for f in faces] == [("obama", True), ("biden", True)]


def _letterbox(image: np.ndarray, width: int = 640, height: int = 480) -> np.ndarray:
    scale = min(width / image.shape[1], height / image.shape[0])
    frame = np.zeros((height, width, 3), np.uint8)
    small = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    frame[: small.shape[0], : small.shape[1]] = small
    return frame


def test_enrol_from_a_video_file(models_env, tmp_path):
    video = tmp_path / "obama.avi"
    frames = [_letterbox(cv2.imread(str(p))) for p in OBAMA]  # as a camera frames a face: not squashed
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for frame in frames * 3:
        writer.write(frame)
    writer.release()
    assert cli_json("enroll", "--consent", "obama", "--video", str(video), "--samples", "5")["samples"] == 5
    assert cli_json("verify", "obama", "--image", str(OBAMA_PROBE))["match"] is True
    short = run_cli("enroll", "--consent", "again", "--video", str(video), "--samples", "50", "--yes")
    assert short.returncode == 2 and "ended with" in short.stderr
    assert [i["name"] for i in cli_json("list")] == ["obama"]


def test_no_camera_is_a_clear_message(models_env):
    result = run_cli("enroll", "--consent", "someone", "--camera", "7")
    assert result.returncode == 1 and "camera" in result.stderr.lower()


def test_templates_of_another_pack_are_refused_with_the_way_out(enrolled):
    result = run_cli("verify", "obama", "--pack", "scrfd", "--image", str(OBAMA_PROBE))
    assert result.returncode == 2 and "not comparable" in result.stderr and "again with 'scrfd'" in result.stderr


def test_embed_reports_boxes_landmarks_and_unit_embeddings(models_env):
    report = cli_json("embed", str(GROUP))
    assert len(report["faces"]) == 2
    for face in report["faces"]:
        assert len(face["box"]) == 4 and len(face["landmarks"]) == 5
        assert abs(np.linalg.norm(face["embedding"]) - 1) < 1e-4


@pytest.mark.parametrize("bad", ["truncated", "noface", "garbage", "missing"])
def test_bad_images_leave_the_vault_untouched(enrolled, isolated, tmp_path, bad):
    path = tmp_path / "bad.jpg"
    if bad == "truncated":
        path.write_bytes(OBAMA_PROBE.read_bytes()[:4000])
    elif bad == "noface":
        gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
        cv2.imwrite(str(path), cv2.merge([gradient, gradient, gradient]))
    elif bad == "garbage":
        path.write_bytes(b"\x00not an image" * 100)
    before = tree_snapshot(isolated)
    for args in (("enroll", "--consent", "new", "--image", str(path)), ("verify", "obama", "--image", str(path)),
                 ("identify", "--image", str(path))):
        result = run_cli(*args)
        assert result.returncode == 2, (bad, args, result.stderr)
    assert tree_snapshot(isolated)["faceseal.db"] == before["faceseal.db"]
    assert len(cli_json("list")) == 2


def test_model_packs_install_from_a_folder_and_refuse_a_swapped_file(empty_models, tmp_path):
    assert cli_json("models", "list")[0] == {**cli_json("models", "list")[0], "name": "open", "installed": False}
    swapped = tmp_path / "swapped"
    shutil.copytree(SHARED_MODELS, swapped, copy_function=shutil.copyfile)  # writable files, whoever runs the tests
    shutil.copyfile(SHARED_MODELS / "faceplugin_fr_feature.onnx", swapped / "mobilefacenet_foamliu.onnx")
    refused = run_cli("models", "install", "open", "--from", str(swapped))
    assert refused.returncode == 5 and "sha256" in refused.stderr.lower()
    assert not any(empty_models.glob("open*"))
    missing = run_cli("enroll", "--consent", "x", "--image", str(BIDEN))
    assert missing.returncode == 5 and "faceseal models install yunet512" in missing.stderr
    assert run_cli("enroll", "--consent", "x", "--pack", "open", "--image", str(BIDEN)).returncode == 5
    assert cli_json("models", "install", "open", "--from", str(SHARED_MODELS))["status"] == "installed"
    consent = run_cli("models", "install", "scrfd", "--from", str(SHARED_MODELS))
    assert consent.returncode == 2 and "NON-COMMERCIAL" in consent.stderr and "--accept-licence" in consent.stderr
    assert cli_json("models", "install", "scrfd", "--from", str(SHARED_MODELS), "--accept-licence")["pack"] == "scrfd"
    # the default pack's recognizer has undocumented provenance: installing it asks too
    unverified = run_cli("models", "install", "yunet512", "--from", str(SHARED_MODELS))
    assert unverified.returncode == 2 and "UNVERIFIED" in unverified.stderr and "--accept-licence" in unverified.stderr
