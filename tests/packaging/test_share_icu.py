"""One ICU in the bundle: Qt's calls go to the ICU PyICU links, through a bridge under Qt's ICU sonames.

Built here from the real files: this .venv's PySide6 (Qt's libQt6Core and its ICU) and the system's ICU that
PyICU was built against, copied into a bundle laid out as PyInstaller lays it out. The bridge is checked by the build
itself (Qt's answers in linux/icu_check.py must not change); here, that it is what replaced Qt's ICU and that the
window's library loads on it alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from slim import SlimError, _defined, _undefined, share_icu


def _bundle(tmp_path: Path) -> tuple[Path, Path]:
    """``_internal`` with Qt's core library and ICU where PyInstaller puts them, and PyICU's ICU at its top."""
    import icu
    import PySide6

    qt_lib = Path(PySide6.__file__).parent / "Qt" / "lib"
    internal = tmp_path / "faceseal" / "_internal"
    qt = internal / "PySide6" / "Qt" / "lib"
    qt.mkdir(parents=True)
    for path in [qt_lib / "libQt6Core.so.6", *qt_lib.glob("libicu*.so.*")]:
        shutil.copyfile(path, qt / path.name)
    linked = subprocess.run(["ldd", icu._icu_.__file__], capture_output=True, text=True, check=True).stdout
    for line in linked.splitlines():
        if line.strip().startswith(("libicuuc.so", "libicui18n.so", "libicudata.so")):
            name, _, path = line.split()[:3]
            shutil.copyfile(path, internal / name)
    return internal, qt


def test_qt_runs_on_pyicus_icu_and_its_own_goes(tmp_path: Path) -> None:
    internal, qt = _bundle(tmp_path)
    qt_icu = sorted(p.name for p in qt.glob("libicu*"))
    major = next(internal.glob("libicuuc.so.*")).name.split(".so.")[1]
    if qt_icu[0].endswith(f".so.{major}"):
        pytest.skip(f"PyICU links the same ICU release as Qt ({major}): nothing to share")
    bridge = share_icu(internal, sys.executable)
    assert sorted(p.name for p in bridge) == qt_icu  # the same sonames, so Qt's core library is untouched
    assert all(p.stat().st_size < 100_000 for p in bridge)  # from about 7 MB of code and 32 MB of data
    uc = qt / next(name for name in qt_icu if name.startswith("libicuuc"))
    imported = {name for name in _undefined(qt / "libQt6Core.so.6") if name.startswith(("u", "U"))}
    assert imported & set(_defined(uc)) == {name for name in imported if name.endswith(qt_icu[0].rsplit(".", 1)[1])}
    # as the bundle runs: PyInstaller's bootloader puts _internal on LD_LIBRARY_PATH, Qt finds its own by $ORIGIN
    loaded = subprocess.run(["ldd", "-r", str(qt / "libQt6Core.so.6")], capture_output=True, text=True,
                            env=dict(os.environ, LD_LIBRARY_PATH=str(internal)))
    assert loaded.returncode == 0 and "undefined symbol" not in loaded.stdout + loaded.stderr
    resolved = dict(line.split()[:3:2] for line in loaded.stdout.splitlines() if " => " in line)
    assert {name: resolved[name] for name in resolved if name.startswith("libicu")} == {
        **{name: str(qt / name) for name in qt_icu}, **{p.name: str(p) for p in internal.glob("libicu*")}}


def test_a_function_the_other_icu_lacks_stops_the_build_by_name(tmp_path: Path) -> None:
    """A bridge cannot be made for a function ICU dropped: the build says which, rather than ship a Qt that fails to
    load. Stood for by a user of the bundle asking Qt's ICU for a function only that release exports."""
    internal, qt = _bundle(tmp_path)
    uc = next(qt.glob("libicuuc.so.*"))
    qt_major = uc.name.split(".so.")[1]
    if next(internal.glob("libicuuc.so.*")).name.endswith(f".so.{qt_major}"):
        pytest.skip("PyICU links the same ICU release as Qt: nothing to share")
    only_qt = f"ufaceseal_only_in_qt_{qt_major}"
    (tmp_path / "lib.c").write_text(f"void {only_qt}(void) {{}}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libnew.so"), str(tmp_path / "lib.c")], check=True)
    shutil.copyfile(tmp_path / "libnew.so", qt / f"libicutu.so.{qt_major}")  # provided by "Qt's ICU"
    (tmp_path / "user.c").write_text(f"void {only_qt}(void); void call(void) {{ {only_qt}(); }}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(qt / "libQt6Extra.so.6"), str(tmp_path / "user.c")],
                   check=True)
    with pytest.raises(SlimError, match=only_qt):
        share_icu(internal, sys.executable)
    assert uc.stat().st_size > 1_000_000  # Qt's own ICU left in place
