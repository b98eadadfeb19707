"""OpenCV's linear algebra in the bundle: the shim onto the system's LAPACK, and the check that guards it.

slim.share_blas puts linux/blas_shim.c in place of OpenCV's OpenBLAS and packs the bundle only if
linux/blas_check.py gets NumPy's answers through it. That check is worth something only if it reaches
every routine cv2 takes from BLAS/LAPACK: OpenCV does small matrices itself, and the check once used
6 x 6 matrices that reached none of them. Here each routine in turn is replaced by one that stops the
process, and the check must stop there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

from slim import _defined, _needed, _undefined, compile_blas_shim  # packaging/, on the path (conftest.py)

CHECK = REPO / "packaging" / "linux" / "blas_check.py"

UNREACHED = {"dgeev_": "imported by cv2, but no OpenCV function tried reaches it (eigenNonSymmetric, eigen, "
                       "PCA, solvePoly, calibration and pose solvers work on their own code)"}


def _opencv_blas() -> tuple[str, set[str]]:
    """The soname of the OpenBLAS cv2 links, and the routines it takes from it."""
    import cv2

    module = Path(cv2.__file__).parent / "cv2.abi3.so"
    if not module.is_file():
        module = next(Path(cv2.__file__).parent.glob("cv2*.so"))
    soname = next((n for n in _needed(module) if n.startswith("libopenblas")), None)
    if soname is None:
        pytest.skip("this OpenCV links no BLAS")
    library = next(p for p in (module.parent.parent / "opencv_python_headless.libs").glob(soname + "*"))
    return soname, set(_undefined(module)) & set(_defined(library))


def _check(tmp_path: Path, *preload: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, LD_PRELOAD=" ".join(str(p) for p in preload))
    return subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True, env=env, timeout=300)


def test_opencv_on_the_system_lapack_gives_numpys_answers(tmp_path: Path) -> None:
    soname, _ = _opencv_blas()
    shim = compile_blas_shim(soname, tmp_path)
    assert {"cblas_sgemm", "cblas_dgemm", "cblas_cgemm", "cblas_zgemm"} <= set(_defined(shim))
    result = _check(tmp_path, shim)
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


def test_the_check_reaches_every_routine_cv2_takes_from_blas(tmp_path: Path) -> None:
    soname, routines = _opencv_blas()
    assert {"cblas_sgemm", "dgesdd_", "dgetrf_"} <= routines, routines
    shim = compile_blas_shim(soname, tmp_path)
    unreached = []
    for routine in sorted(routines - UNREACHED.keys()):
        trap = tmp_path / f"trap-{routine}.so"
        source = tmp_path / f"trap-{routine}.c"
        source.write_text("#include <stdio.h>\n#include <stdlib.h>\n"
                          f'void {routine}(void) {{ fputs("reached {routine}\\n", stderr); _Exit(3); }}\n')
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(trap), str(source)], check=True)
        result = _check(tmp_path, trap, shim)
        if result.returncode != 3 or f"reached {routine}" not in result.stderr:
            unreached.append(routine)
    assert not unreached, f"linux/blas_check.py never calls {unreached}"


def test_a_machine_without_the_system_lapack_stops_the_build_with_one_line(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """ldconfig listing no LAPACK (the build machine lacks liblapack3): the error names the packages to install."""
    import slim

    listed = slim._system_libraries()
    monkeypatch.setattr(slim, "_system_libraries", lambda: {k: v for k, v in listed.items() if k != "liblapack.so.3"})
    with pytest.raises(slim.SlimError, match=r"^the system's liblapack\.so\.3 is not installed \(Debian packages "
                                             r"liblapack3 and libblas3; scripts/system-deps\.sh installs them\)$"):
        compile_blas_shim("libopenblas-test.so", tmp_path)
    assert not list(tmp_path.iterdir()), "nothing half-built is left"
