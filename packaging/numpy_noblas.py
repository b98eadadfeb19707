"""The bundle's NumPy: the release the build's Python has, built from its source without BLAS (Linux).

NumPy's wheel carries OpenBLAS, 25 MB of kernels for every x86 family plus a 3 MB
Fortran runtime: more than a twelfth of the installed app, for the products of a
probe with the enrolled templates and the 3 x 3 SVD of the face alignment. Built
with ``-Dblas=none -Dlapack=none``, NumPy does these with its own loops and its
bundled LAPACK subset (``lapack_lite``); the cost is measured in
docs/PERFORMANCE.md (a probe against 100,000 templates: tens of milliseconds).
OpenCV's linear algebra goes to the system's LAPACK instead (slim.share_blas).

The wheel is built once per NumPy version and Python, about five minutes on two
cores, and kept in the user's cache (:func:`wheel_cache`), not in the clone: a fresh clone, another
worktree or ``make clean`` finds it there instead of building it again (the test suite builds the
installers in every session). PyInstaller finds it first on ``PYTHONPATH``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SETUP_ARGS = ("-Dblas=none", "-Dlapack=none", "-Dallow-noblas=true",
              *(("-Dcpu-dispatch=X86_V3",) if platform.machine() == "x86_64" else ()))
"""meson options of NumPy's build: no BLAS or LAPACK library, and no error for the lack of one; on x86-64,
loops for AVX2/FMA3 processors (X86_V3, 2013 on) beside the X86_V2 baseline, not also the AVX-512 ones
(2.8 MB; FaceSeal's array work is small, docs/PERFORMANCE.md measures the difference)."""

_PROBE = """
import sys, numpy
blas = numpy.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
print(numpy.__version__, blas, numpy.__file__.startswith(sys.argv[1]))
"""


class NumpyError(Exception):
    """The NumPy without BLAS could not be built or does not load; the message says why in one line."""


def unpacked(work: Path, cache: Path) -> Path:
    """A folder holding NumPy without BLAS, of the version this Python has, to put first on ``PYTHONPATH``."""
    version = importlib.metadata.version("numpy")
    wheel = _wheel(cache, version)
    folder = work / "numpy-noblas"
    shutil.rmtree(folder, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(folder)), cwd=work)
    if probe.stdout.split() != [version, "none", "True"]:
        raise NumpyError(f"the NumPy built without BLAS ({wheel.name}) does not load as one: "
                         f"{(probe.stderr.strip().splitlines() or [probe.stdout.strip()])[-1]}")
    return folder


def wheel_cache() -> Path:
    """The build's wheel cache: ``$XDG_CACHE_HOME/faceseal-build/wheels`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "faceseal-build" / "wheels"


def cached_wheels(cache: Path) -> Path:
    """Where wheels built with :data:`SETUP_ARGS` are kept: other options, another folder."""
    return cache / f"numpy-{hashlib.sha256(' '.join(SETUP_ARGS).encode()).hexdigest()[:12]}"


def _wheel(cache: Path, version: str) -> Path:
    """The cached wheel, built first if this version and Python have none."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    folder = cached_wheels(cache)
    found = sorted(folder.glob(f"numpy-{version}-{tag}-*.whl"))
    if found:
        return found[0]
    print(f"building NumPy {version} without OpenBLAS (once per version, about 5 minutes)", flush=True)
    with tempfile.TemporaryDirectory(prefix="faceseal-numpy-") as scratch:
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir",
                   "--no-binary", "numpy", f"numpy=={version}", "--wheel-dir", scratch,
                   *(f"--config-settings=setup-args={arg}" for arg in SETUP_ARGS)]
        built = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(scratch).glob(f"numpy-{version}-{tag}-*.whl"))
        if built.returncode != 0 or not wheels:
            last = (built.stderr.strip().splitlines() or ["pip made no wheel"])[-1]
            raise NumpyError(f"cannot build NumPy {version} without BLAS (pip wheel): {last}")
        kept = folder / wheels[0].name
        # a build killed while copying leaves no wheel; two builds at once (two clones) each copy their own
        partial = kept.with_name(f".partial-{os.getpid()}-{kept.name}")
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheels[0], partial)
        os.replace(partial, kept)
        return kept
