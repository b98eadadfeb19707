"""Packaging benchmark: the installed bundle's size and its start time to the first window.

Figures, each measured on the built bundle (``make package`` first):

* size: the onedir bundle on disk, the .deb and .rpm, and the bundle by component;
* identify from the unpacked package (issue 28, goal 4: within 1.5x the source tree): warm identify
  at 100k templates with the package's own modules (its NumPy has no BLAS, packaging/numpy_noblas.py;
  the product runs in its onnxruntime) against the source tree's, on one vault, alternately;
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
    ("the TPM root: tpm2-pytss and the TPM stack", ("tpm2_pytss", "libtss2-")),
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
import sys
sys.path[:0] = sys.argv[2:]  # the package's own modules, before this tree's (which still gives `benchmarks`)
import json, os, time
from pathlib import Path
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
import numpy as np
import edge_core
from benchmarks.bench_vault import DIM, _paired
from edge_core import ops
probe = np.random.default_rng(2).normal(size=DIM).astype(np.float32)
probe /= np.linalg.norm(probe)
def cpu(action, repeats=15):
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return round(best * 1000, 2)
with ops.open_vault(Path(sys.argv[1])) as vault:
    result = vault.identify(probe, "external", 0.45)
    matrix = np.ascontiguousarray(vault.gallery("external").matrix.copy())
    ours, bare = (lambda: vault.identify(probe, "external", 0.45)), (lambda: int(np.argmax(matrix @ probe)))
    warm, bare_warm = _paired(ours, bare)
    print(json.dumps({"edge_core": edge_core.__file__, "blas": np.__config__.CONFIG["Build Dependencies"]["blas"]["name"],
                      "warm_ms": round(warm * 1000, 2), "numpy_matvec_ms": round(bare_warm * 1000, 2),
                      "warm_cpu_ms": cpu(ours), "numpy_matvec_cpu_ms": cpu(bare),
                      "name": result.name, "score": result.score}))
"""


def unpacked_modules(bundle: Path, work: Path) -> Path:
    """The package's modules as its program imports them, for a plain ``python``: the bundle's ``_internal``
    (hard links, nothing copied) with every module of its PYZ archive (edge_core, NumPy's and onnxruntime's Python
    halves) written beside its binaries as a sourceless ``.pyc``."""
    import importlib.util
    import marshal

    from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader

    modules = work / "modules"
    subprocess.run(["cp", "-al", str(bundle / "_internal"), str(modules)], check=True)
    archive = CArchiveReader(str(bundle / "faceseal"))
    pyz = work / "PYZ.pyz"
    pyz.write_bytes(archive.extract(next(name for name in archive.toc if name.endswith(".pyz"))))
    reader = ZlibArchiveReader(str(pyz))
    for name, (kind, *_rest) in reader.toc.items():
        code = reader.extract(name)
        if code is None:
            continue
        parts = name.split(".")
        target = modules.joinpath(*parts, "__init__.pyc") if kind in (1, 3) else modules.joinpath(
            *parts[:-1], parts[-1] + ".pyc")  # 1, 3: a package, a namespace package
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:  # "x": never write through a hard link into the bundle
            handle.write(importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
    return modules


def identify_installed(bundle: Path, identities: int = 10_000, rounds: int = 2) -> dict[str, Any]:
    """Warm identify at 100k templates (10 per identity) from the unpacked package against the source tree, on one vault.

    The package's run imports only what the package holds (its edge_core, its NumPy without BLAS, its
    onnxruntime) into this machine's Python of the same version (``-S``: no site-packages); the source tree's
    runs this tree on the venv. Rounds alternate so both see the same load; each reports the bare
    ``matrix @ probe`` of its own NumPy too, and the CPU time of both (all threads; what a loaded machine
    disturbs least).
    """
    from benchmarks.bench_vault import _fresh_vault, _populate

    with tempfile.TemporaryDirectory(prefix="faceseal-bench-installed-") as folder:
        work = Path(folder)
        package = work / "package"
        package.mkdir()
        debs = sorted(bundle.parent.glob("faceseal_*.deb"))
        if debs:  # the installed tree itself, as dpkg would lay it out
            subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(package / "root")], check=True)
            bundle = package / "root" / "opt" / "faceseal"
        modules = unpacked_modules(bundle, package)
        vault = _fresh_vault(work, "vault")
        _populate(vault, identities, 10)
        vault.close()
        runs: dict[str, list[dict]] = {"source": [], "package": []}
        for _ in range(rounds):
            for label in runs:
                env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
                command = [sys.executable, "-c", _IDENTIFY, str(work / "vault")]
                if label == "package":
                    env["LD_LIBRARY_PATH"] = str(modules)  # as the package's launcher sets it
                    command = [sys.executable, "-S", "-c", _IDENTIFY, str(work / "vault"), str(modules)]
                out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=True).stdout
                runs[label].append(json.loads(out.strip().splitlines()[-1]))
    best = {label: min(run["warm_ms"] for run in results) for label, results in runs.items()}
    cpu = {label: min(run["warm_cpu_ms"] for run in results) for label, results in runs.items()}
    return {"templates": identities * 10, "runs": runs, "best_warm_ms": best,
            "package_over_source": round(best["package"] / best["source"], 2), "best_warm_cpu_ms": cpu,
            "package_over_source_cpu": round(cpu["package"] / cpu["source"], 2),
            "same_decision": len({(run["name"], round(run["score"], 5)) for results in runs.values()
                                  for run in results}) == 1}


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
        "identify_installed": identify_installed(bundle),
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
