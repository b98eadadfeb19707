"""Which licence text each bundled model file needs, and a build that cannot ship one stops (no build needed)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from edge_core.biometrics import default_pack_name, pack_info
from tests.conftest import SHARED


def test_every_file_of_the_default_pack_has_its_licence_text_in_the_models_folder(tmp_path: Path) -> None:
    from model_licences import copy_texts

    licences = SHARED / "models" / "licenses"
    if not licences.is_dir():
        pytest.skip(f"{licences} is absent")
    files = [spec.name for spec in pack_info(default_pack_name()).files]
    needed = copy_texts(SHARED / "models", files, tmp_path / "doc")
    assert set(needed) == set(files)
    assert needed["face_landmark_mediapipe.onnx"] == needed["iris_landmark_mediapipe.onnx"] == "mediapipe-LICENSE"
    for text in set(needed.values()):
        assert (tmp_path / "doc" / text).read_bytes() == (licences / text).read_bytes()


def test_a_missing_or_unknown_licence_text_stops_the_build_with_one_line(tmp_path: Path) -> None:
    from model_licences import LicenceError, copy_texts

    (tmp_path / "models" / "licenses").mkdir(parents=True)
    with pytest.raises(LicenceError, match="holds no licenses/mediapipe-LICENSE"):
        copy_texts(tmp_path / "models", ["face_landmark_mediapipe.onnx"], tmp_path / "doc")
    with pytest.raises(LicenceError, match="no licence text is known for the bundled model file mystery.onnx"):
        copy_texts(tmp_path / "models", ["mystery.onnx"], tmp_path / "doc")


def test_texts_are_read_from_a_models_zip_too(tmp_path: Path) -> None:
    from model_licences import copy_texts

    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("models/licenses/YUNET-LICENSE-MIT.txt", "MIT License\n")
    copy_texts(archive, ["face_detection_yunet_2026may.onnx"], tmp_path / "doc")
    assert (tmp_path / "doc" / "YUNET-LICENSE-MIT.txt").read_text() == "MIT License\n"
