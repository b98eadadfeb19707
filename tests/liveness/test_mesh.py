"""The mesh stage on real photos from ../shared/faces with the real mesh model of the installed open pack."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from edge_core.biometrics import Face, read_image
from edge_core.liveness.mesh import MIN_PRESENCE, Roi, load_mesh
from tests.conftest import SHARED


@pytest.fixture
def mesh(face_mesh):
    return face_mesh


def _photos() -> list[str]:
    with open(SHARED / "faces" / "labels.csv", encoding="utf-8") as handle:
        return [row["file"] for row in csv.DictReader(handle)]


def test_the_mesh_lands_on_every_photos_face(pipeline, mesh) -> None:
    """Its eye centres and nose tip sit on the detector's eye and nose keypoints (within a quarter eye distance)."""
    worst_eye, worst_nose = 0.0, 0.0
    for name in _photos():
        image = read_image(SHARED / "faces" / name)
        face, _ = pipeline.embed_one(image, largest=True)
        found = mesh.fit(image, face)
        assert found is not None and found.presence > 0.99, name
        assert found.points.shape == (468, 3)
        eyes = float(np.linalg.norm(face.landmarks[1] - face.landmarks[0]))
        worst_eye = max(worst_eye, float(np.linalg.norm(found.five[:2] - face.landmarks[:2], axis=1).max()) / eyes)
        worst_nose = max(worst_nose, float(np.linalg.norm(found.five[2] - face.landmarks[2])) / eyes)
        assert abs(found.eye_distance / eyes - 1) < 0.2, name
    assert worst_eye < 0.25 and worst_nose < 0.35, (worst_eye, worst_nose)


def test_a_crop_without_a_face_gets_a_low_presence_and_no_points(mesh) -> None:
    photo = read_image(SHARED / "faces" / "deepface" / "img1.jpg")
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    corner = Roi(40.0, 40.0, 80.0, 0.0)
    assert mesh.run(photo, corner).presence < MIN_PRESENCE
    assert mesh.run(noise, Roi(150.0, 150.0, 200.0, 0.0)).presence < MIN_PRESENCE
    fake = Face(np.float32([100, 100, 200, 200]), 0.9, np.float32([[130, 130], [170, 130], [150, 150], [135, 175], [165, 175]]))
    assert mesh.fit(noise, fake) is None


def test_the_mesh_file_is_part_of_every_pack_and_checked() -> None:
    from edge_core.biometrics import list_packs
    from edge_core.liveness.mesh import MESH_FILE

    for pack in list_packs():
        assert MESH_FILE in {f.name for f in pack.files}, pack.name


def test_a_replaced_mesh_file_is_refused(installed_models, tmp_path, monkeypatch) -> None:
    import shutil

    from edge_core.biometrics.errors import ModelIntegrityError
    from edge_core.liveness.mesh import MESH_FILE

    shutil.copytree(installed_models / "open", tmp_path / "open")
    (tmp_path / "open" / MESH_FILE).write_bytes((installed_models / "open" / MESH_FILE).read_bytes()[:-1] + b"\0")
    monkeypatch.setenv("FACESEAL_MODELS", str(tmp_path))
    with pytest.raises(ModelIntegrityError):
        load_mesh("open")


def test_a_mesh_followed_from_the_previous_frame_lands_where_two_passes_land(pipeline, mesh) -> None:
    """One pass seeded by the last frame's points (the face moved a little) matches a fresh two-pass fit."""
    import cv2

    photo = read_image(SHARED / "faces" / "deepface" / "img1.jpg")
    face, _ = pipeline.embed_one(photo, largest=True)
    previous = mesh.fit(photo, face)
    moved = cv2.warpAffine(photo, np.float32([[1, 0, 6], [0, 1, 4]]), (photo.shape[1], photo.shape[0]))
    moved_face, _ = pipeline.embed_one(moved, largest=True)
    followed, fresh = mesh.fit(moved, moved_face, previous), mesh.fit(moved, moved_face)
    assert followed is not None and fresh is not None and followed.presence > 0.99
    gap = float(np.linalg.norm(followed.five - fresh.five, axis=1).max()) / fresh.eye_distance
    assert gap < 0.05, gap


def test_a_previous_mesh_elsewhere_or_over_no_face_is_not_followed(pipeline, mesh) -> None:
    """The last frame's crop is used only while it sits on this frame's face, and a faceless crop still finds none."""
    photo = read_image(SHARED / "faces" / "deepface" / "img1.jpg")
    face, _ = pipeline.embed_one(photo, largest=True)
    previous = mesh.fit(photo, face)
    wide = np.zeros((photo.shape[0], photo.shape[1] * 3, 3), np.uint8)
    wide[:, -photo.shape[1]:] = photo
    far_face, _ = pipeline.embed_one(wide, largest=True)
    found = mesh.fit(wide, far_face, previous)
    assert found is not None and abs(found.roi.cx - float(far_face.box[0] + far_face.box[2]) / 2) < found.roi.side / 4
    noise = np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    assert mesh.fit(noise, face, previous) is None
