"""``faceseal self-test`` from the source tree: what it checks, and that it leaves the user's data alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, shared_or_skip


def _self_test(models: Path) -> dict:
    result = run_cli("self-test", "--json", extra_env={"QT_QPA_PLATFORM": "offscreen", "FACESEAL_MODELS": str(models)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_self_test_runs_the_models_on_the_drawn_face(isolated: Path, tmp_path: Path) -> None:
    from edge_core.biometrics import default_pack_name, install_pack, pack_info

    models = tmp_path / "models"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(models))
        install_pack(default_pack_name(), shared_or_skip("models"))
    report = _self_test(models)
    assert report["result"] == "passed"
    assert report["checks"]["models"]["status"] == "ok"
    assert report["checks"]["models"]["faces"] >= 1
    assert report["checks"]["models"]["embedding_size"] == pack_info(default_pack_name()).embedding_size
    assert report["checks"]["vault"] == {"status": "ok", "sealed_and_reopened": True, "score": 1.0,
                                         "plaintext_on_disk": False, "root": "environment"}
    assert report["checks"]["window"]["session"] == "open"
    assert not isolated.exists(), "the self-test wrote into the user's data directory"
    assert not (tmp_path / "state").exists(), "the self-test left a rollback anchor in the user's state folder"


def test_self_test_without_models_says_so_and_still_passes(isolated: Path, tmp_path: Path) -> None:
    from edge_core.biometrics import default_pack_name

    report = _self_test(tmp_path / "no-models")
    assert report["checks"]["models"] == {"status": "skipped",
                                          "reason": f"model pack '{default_pack_name()}' is neither installed nor bundled"}
    assert report["checks"]["window"]["visible"] is True
    assert not isolated.exists()
    assert not (tmp_path / "no-models").exists(), "the self-test created the user's models folder"
