"""Packs built into an installer: found beside the manifest, used in place, never written to."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_core.biometrics import install_pack, load_pack, pack_info, packs
from tests.conftest import shared_or_skip, tree_snapshot


def _bundle(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A 'bundled packs' folder holding pack ``name``, as ``make package MODELS=...`` makes it; the user's own
    models folder is empty."""
    folder = tmp_path / "bundled"
    monkeypatch.setenv("FACESEAL_MODELS", str(folder))
    install_pack(name, shared_or_skip("models"))
    monkeypatch.setenv("FACESEAL_MODELS", str(tmp_path / "user-models"))
    monkeypatch.setattr(packs, "BUNDLED_DIR", folder)
    return folder


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installer that carries the open pack (no licence question)."""
    return _bundle("open", tmp_path, monkeypatch)


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


@pytest.fixture
def bundled_consent_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installer that carries yunet512, whose licence notice asks for consent."""
    return _bundle("yunet512", tmp_path, monkeypatch)


def test_a_bundled_pack_that_asks_for_consent_counts_only_once_this_user_accepted(
        bundled_consent_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from edge_core.biometrics.errors import PackNotInstalled
    from edge_core.cli.main import main as cli_main

    assert pack_info("yunet512").requires_consent
    assert not pack_info("yunet512").installed, "shipping the files is not the user's consent"
    with pytest.raises(PackNotInstalled):
        load_pack("yunet512")

    assert cli_main(["models", "install", "yunet512", "--json"]) != 0  # no terminal, no --accept-licence
    capsys.readouterr()
    assert not pack_info("yunet512").installed

    before = tree_snapshot(bundled_consent_pack)
    assert cli_main(["models", "install", "yunet512", "--accept-licence", "--json"]) == 0
    info = pack_info("yunet512")
    assert info.installed and info.location == bundled_consent_pack / "yunet512", "used in place, nothing copied"
    assert not (tmp_path / "user-models" / "yunet512").exists()
    assert load_pack("yunet512").embedding_size == 512
    assert tree_snapshot(bundled_consent_pack) == before


def test_consent_given_for_other_files_does_not_carry_over(bundled_consent_pack: Path, tmp_path: Path) -> None:
    record = tmp_path / "user-models" / packs.ACCEPTED.format(name="yunet512")
    record.parent.mkdir(parents=True)
    record.write_text('{"pack": "yunet512", "fingerprint": "another set of files"}')
    assert not pack_info("yunet512").installed
