"""Packs built into an installer: found beside the manifest, used in place, never written to."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_core.biometrics import install_pack, load_pack, pack_info, packs
from tests.conftest import shared_or_skip, tree_snapshot


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 'bundled packs' folder holding the open pack, as ``make package MODELS=...`` makes it."""
    folder = tmp_path / "bundled"
    monkeypatch.setenv("FACESEAL_MODELS", str(folder))
    install_pack("open", shared_or_skip("models"))
    monkeypatch.setenv("FACESEAL_MODELS", str(tmp_path / "user-models"))
    monkeypatch.setattr(packs, "BUNDLED_DIR", folder)
    return folder


def test_a_bundled_pack_counts_as_installed_and_loads(bundled: Path) -> None:
    info = pack_info("open")
    assert info.installed and info.location == bundled / "open"
    assert load_pack("open").embedding_size == 128
    assert not pack_info("scrfd").installed  # only what was bundled


def test_installing_over_a_bundled_pack_goes_to_the_user_models_folder(bundled: Path, tmp_path: Path) -> None:
    before = tree_snapshot(bundled)
    info = install_pack("open", shared_or_skip("models"))
    assert info.location == tmp_path / "user-models" / "open"
    assert pack_info("open").location == info.location  # the user's copy wins from now on
    assert tree_snapshot(bundled) == before


def test_a_tampered_bundled_file_is_refused_at_load(bundled: Path) -> None:
    from edge_core.biometrics.errors import ModelIntegrityError

    detector = bundled / "open" / pack_info("open").detector.file
    detector.write_bytes(detector.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelIntegrityError):
        load_pack("open")
