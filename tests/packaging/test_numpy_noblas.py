"""packaging/numpy_noblas.py: the bundle's NumPy is this Python's release, built without OpenBLAS, or the
build stops with one line."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy_noblas  # packaging/, on the path (conftest.py)
import pytest


def test_a_release_pip_cannot_build_stops_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(numpy_noblas.NumpyError, match=r"^cannot build NumPy 0\.0\.0 without BLAS \(pip wheel\): ") as error:
        numpy_noblas._wheel(tmp_path / "cache", "0.0.0")
    assert "\n" not in str(error.value)
    assert not list((tmp_path / "cache").rglob("*.whl")), "nothing half-built is kept"


def test_numpys_own_wheel_in_the_cache_is_refused(tmp_path: Path) -> None:
    """A cached wheel that carries OpenBLAS (PyPI's own, put there by hand or by an older build) never
    reaches the bundle."""
    version = importlib.metadata.version("numpy")
    download = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                               f"numpy=={version}", "--dest", str(tmp_path / "pypi")], capture_output=True, text=True)
    assert download.returncode == 0, download.stderr
    wheel = next((tmp_path / "pypi").glob("numpy-*.whl"))
    cached = numpy_noblas.cached_wheels(tmp_path / "cache")
    cached.mkdir(parents=True)
    wheel.rename(cached / wheel.name)
    (tmp_path / "work").mkdir()
    with pytest.raises(numpy_noblas.NumpyError, match="does not load as one"):
        numpy_noblas.unpacked(tmp_path / "work", tmp_path / "cache")
