"""``make package MODELS=DIR`` with a wrong DIR: one line, non-zero, before any slow build step."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_or_skip


@pytest.mark.parametrize("models", ["missing", "photos"])
def test_a_wrong_models_folder_stops_the_build_with_one_line(models: str, tmp_path: Path) -> None:
    source = tmp_path / "missing" if models == "missing" else shared_or_skip("faces")
    result = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py"), "--models", str(source),
                             "--work", str(tmp_path / "work"), "--dist", str(tmp_path / "dist")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("make package: error: cannot bundle the model pack") and result.stderr.count("\n") == 1
    assert not (tmp_path / "dist").exists()
