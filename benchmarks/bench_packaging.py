"""Packaging benchmark: the installed bundle's size and its start time to the first window.

Figures, each measured on the built bundle (``make package`` first):

* size: the onedir bundle on disk, the .deb and .rpm, and the bundle by component;
* NumPy without BLAS (packaging/numpy_noblas.py): bench_vault's identify (a probe against
  1k / 10k / 100k templates, warm) run twice in one go, once on the wheel's NumPy with its
  OpenBLAS (the source tree's) and once on the bundle's, which has none;
* start: ``faceseal`` with no arguments until the main window is shown
  (``FACESEAL_EXIT_WHEN_SHOWN`` makes the app print a line at that moment and close),
  against the bare baseline of the same binary printing ``--version`` (the bootloader
  unpacking nothing, Python starting, the command line parsed) and the source tree's
  ``python -m app.launcher`` (the same `faceseal` path, unfrozen) to the same point.

Cold start: before the first run of each series the bundle's own files are
evicted from the page cache (``posix_fadvise(DONTNEED)``, file by file), so they
are read from disk as after a reboot; system libraries (libGL, libc) stay cached,
as they are on a running desktop. Dropping the whole cache would disturb everyone
else on a shared machine. The median of the next runs is the warm start.

Run: ``.venv/bin/python benchmarks/bench_packaging.py [BUNDLE_DIR]`` (default dist/faceseal).
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RUNS = 5
SHOWN = "faceseal: window shown"


def _env(home: Path) -> dict[str, str]:
    """A fresh data folder, a software root and no keychain: the benchmark touches nobody's vault."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FACESEAL_", "QT_QPA"))}
    env.update(FACESEAL_HOME=str(home / "data"), FACESEAL_ROOT_KEY=secrets.token_hex(32),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", FACESEAL_EXIT_WHEN_SHOWN="1")
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env.update(QT_QPA_PLATFORM="offscreen", DISPLAY=":faceseal-bench")  # `faceseal` needs a display to open
    return env


def _until(command: list[str], env: dict[str, str], marker: str | None) -> float:
    """Seconds from launch until ``marker`` is printed (or until exit when None)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
                               cwd=REPO)
    assert process.stdout is not None
    elapsed = None
    for line in process.stdout:
        if marker is not None and line.strip() == marker and elapsed is None:
            elapsed = time.perf_counter() - start
    process.wait(timeout=120)
    if marker is None:
        elapsed = time.perf_counter() - start
    if elapsed is None or process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} did not reach '{marker}' (exit {process.returncode})")
    return elapsed


def _evict(folder: Path) -> None:
    """Drop ``folder``'s files from the page cache, so the next start reads them from disk."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _series(command: list[str], marker: str | None, cold: Path) -> dict[str, float]:
    """A cold run (``cold`` evicted first), then the median of RUNS warm ones, each with a fresh data folder."""
    times = []
    _evict(cold)
    for _ in range(RUNS + 1):
        with tempfile.TemporaryDirectory(prefix="faceseal-bench-") as home:
            times.append(_until(command, _env(Path(home)), marker))
    return {"cold_s": round(times[0], 3), "warm_median_s": round(statistics.median(times[1:]), 3)}


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


COMPONENTS = (
    ("OpenCV (cv2, FFmpeg, image codecs)", ("cv2", "opencv_python_headless.libs")),
    ("onnxruntime", ("onnxruntime",)),
    ("NumPy (its OpenBLAS, if any)", ("numpy", "numpy.libs")),
    ("Qt: ICU", ("PySide6/Qt/lib/libicu",)),
    ("Qt and PySide6 (without ICU)", ("PySide6", "shiboken6")),
    ("SciPy, scikit-image, insightface, onnx", ("scipy", "scipy.libs", "skimage", "insightface", "onnx",
                                                "ml_dtypes")),
    ("cryptography, SQLCipher, PyNaCl, python-pkcs11", ("cryptography", "sqlcipher3", "nacl", "pkcs11")),
    ("Python runtime and pure-Python code", ("faceseal", "libpython", "python3", "base_library.zip")),
    ("the bundled model pack", ("models",)),
)
"""Where the bundle's bytes go, by prefix of the path below the bundle (``_internal/`` dropped); the first
match wins, and system libraries PyInstaller copied and everything else are counted apart."""


def components(bundle: Path) -> dict[str, float]:
    """MB per component of the bundle (files only, links not counted twice)."""
    totals = {name: 0 for name, _ in COMPONENTS} | {"system libraries": 0, "other": 0}
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(bundle).as_posix().removeprefix("_internal/")
        name = next((n for n, prefixes in COMPONENTS if relative.startswith(prefixes)), None)
        if name is None:
            name = "system libraries" if "/" not in relative and relative.startswith("lib") else "other"
        totals[name] += path.stat().st_size
    return {name: round(size / 1e6, 1) for name, size in totals.items()}


_IDENTIFY = """
import json, os, sys, tempfile
from pathlib import Path
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
import numpy
from benchmarks.bench_vault import bench_identify
with tempfile.TemporaryDirectory(prefix="faceseal-bench-numpy-") as scratch:
    blas = numpy.__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    print(json.dumps({"blas": blas, "identify": bench_identify(Path(scratch))}))
"""


def numpy_without_blas() -> dict[str, Any]:
    """Identify on the wheel's NumPy (OpenBLAS) and on the bundle's (none), one after the other."""
    sys.path.insert(0, str(REPO / "packaging"))
    import numpy_noblas

    with tempfile.TemporaryDirectory(prefix="faceseal-bench-noblas-") as work:
        bundled = numpy_noblas.unpacked(Path(work), numpy_noblas.wheel_cache())
        runs = {}
        for label, path in (("wheel", None), ("bundle", bundled)):
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            if path is not None:
                env["PYTHONPATH"] = str(path)
            out = subprocess.run([sys.executable, "-c", _IDENTIFY], capture_output=True, text=True, env=env,
                                 cwd=REPO, check=True).stdout
            runs[label] = json.loads(out.strip().splitlines()[-1])
    return {"blas": {label: run["blas"] for label, run in runs.items()},
            "identify_warm_ms": {total: {"wheel": runs["wheel"]["identify"][total]["warm_ms"],
                                         "bundle": runs["bundle"]["identify"][total]["warm_ms"]}
                                 for total in runs["wheel"]["identify"]},
            "bundle_over_wheel_at_100k": round(runs["bundle"]["identify"]["100000"]["warm_ms"]
                                               / runs["wheel"]["identify"]["100000"]["warm_ms"], 2)}


def run(bundle: Path = REPO / "dist" / "faceseal") -> dict[str, Any]:
    program = bundle / "faceseal"
    if not program.is_file():
        raise SystemExit(f"bench_packaging: {program} is missing; run 'make package' first")
    debs = sorted(bundle.parent.glob("faceseal_*.deb"))
    rpms = sorted(bundle.parent.glob("faceseal-*.rpm"))
    report: dict[str, Any] = {
        "bundle_mb": _size_mb(bundle),
        "deb_mb": _size_mb(debs[-1]) if debs else None,
        "rpm_mb": _size_mb(rpms[-1]) if rpms else None,
        "components_mb": components(bundle),
        "numpy_without_blas": numpy_without_blas(),
        "window_bundle": _series([str(program)], SHOWN, bundle),
        "version_bundle": _series([str(program), "--version"], None, bundle),
        "window_source": _series([sys.executable, "-m", "app.launcher"], SHOWN, Path(sys.prefix)),
    }
    report["window_over_version"] = round(
        report["window_bundle"]["warm_median_s"] / report["version_bundle"]["warm_median_s"], 2)
    return report


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "dist" / "faceseal"
    print(json.dumps(run(target), indent=1))
