"""The build refuses a bundle whose libraries would search for others outside it, and removes such search paths.

The build machine's Python (pyenv's, under /root or a user's home) leaves its ``lib`` folder as RUNPATH in
libpython and its extension modules: on a target machine that folder is one a user could create. The libraries
here are compiled with the real ``gcc`` and given their search paths with the real ``patchelf``, on copies, as the
build machine's toolchain would have.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from runpath_check import RunpathError, check_runpaths, inside, outside_entries, search_path
from slim import confine_runpaths


def _library(folder: Path, name: str, *needs: Path) -> Path:
    """A small shared library linked the usual way (non-executable stack), needing ``needs`` by soname."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{name}.c"
    source.write_text(f"int {name.split('.')[0].removeprefix('lib')}_answer(void) {{ return 42; }}\n")
    library = folder / name
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), f"-Wl,-soname,{name}", str(source),
                    *(str(need) for need in needs)], check=True)
    source.unlink()
    return library


def _patch(library: Path, runpath: str, *, rpath: bool = False) -> Path:
    subprocess.run(["patchelf", *(["--force-rpath"] if rpath else []), "--set-rpath", runpath, str(library)],
                   check=True)
    return library


def test_a_search_path_leaving_the_bundle_is_refused_by_name(tmp_path: Path) -> None:
    bundle = tmp_path / "faceseal"
    sound = _library(bundle / "_internal", "libsound.so")
    (bundle / "_internal" / "sub").mkdir()
    own = _patch(shutil.copy(sound, bundle / "_internal" / "sub" / "libown.so"), "$ORIGIN/..:${ORIGIN}/../numpy.libs")
    assert check_runpaths(bundle) == 2  # $ORIGIN-relative folders inside the bundle pass, and both files were read
    home = _patch(shutil.copy(sound, bundle / "_internal" / "libpython3.11.so.1.0"), "/home/builder/.pyenv/lib")
    climbing = _patch(shutil.copy(sound, bundle / "_internal" / "libclimb.so"), "$ORIGIN/../..", rpath=True)
    empty = _patch(shutil.copy(sound, bundle / "_internal" / "libempty.so"), "$ORIGIN:")
    assert search_path(home) == ("RUNPATH", ["/home/builder/.pyenv/lib"])
    assert search_path(climbing) == ("RPATH", ["$ORIGIN/../.."])
    assert search_path(sound) is None and search_path(own) == ("RUNPATH", ["$ORIGIN/..", "${ORIGIN}/../numpy.libs"])
    with pytest.raises(RunpathError) as refused:
        check_runpaths(bundle)
    message = str(refused.value)
    assert "_internal/libpython3.11.so.1.0 (RUNPATH /home/builder/.pyenv/lib)" in message
    assert "_internal/libclimb.so (RPATH $ORIGIN/../..)" in message
    assert "_internal/libempty.so (RUNPATH )" in message  # an empty entry is the current folder
    assert "libown.so" not in message and "libsound.so" not in message


@pytest.mark.parametrize(("entry", "kept"), [
    ("$ORIGIN", True), ("$ORIGIN/../numpy.libs", True), ("${ORIGIN}/sub", True), ("$ORIGIN/../../..", False),
    ("$ORIGINAL/x", False), ("$ORIGIN/$LIB", False), ("/opt/faceseal/_internal", False), ("lib", False), ("", False),
])
def test_only_origin_relative_folders_inside_the_bundle_count_as_inside(tmp_path: Path, entry: str, kept: bool) -> None:
    """An absolute folder is outside even when it is where the package installs: the bundle is unpacked and run
    elsewhere too (package-check, the tests), and only ``$ORIGIN`` moves with it."""
    assert inside(entry, tmp_path / "faceseal" / "_internal" / "libx.so", tmp_path / "faceseal") is kept


def test_the_build_removes_what_leaves_the_bundle_and_the_libraries_still_load(tmp_path: Path) -> None:
    bundle = tmp_path / "faceseal"
    grafted = _library(bundle / "_internal" / "numpy.libs", "libgrafted.so")
    user = _library(bundle / "_internal" / "numpy", "libuser.so", grafted)
    _patch(user, "/home/builder/.pyenv/lib:$ORIGIN/../numpy.libs", rpath=True)
    python = _patch(_library(bundle / "_internal", "libpython3.11.so.1.0"), "/home/builder/.pyenv/lib")
    with pytest.raises(RunpathError):
        check_runpaths(bundle)
    assert sorted(confine_runpaths(bundle)) == sorted([user, python])
    assert search_path(user) == ("RPATH", ["$ORIGIN/../numpy.libs"])  # the kind kept, the inside folder kept
    assert search_path(python) is None
    assert check_runpaths(bundle) == 3
    assert ctypes.CDLL(str(user)).user_answer() == 42  # it still finds its grafted library through $ORIGIN
    assert ctypes.CDLL(str(python)).python3_answer() == 42


def test_the_build_pythons_own_library_is_confined_on_a_copy(tmp_path: Path) -> None:
    """The real case: this Python's libpython as the build bundles it (pyenv's carries RUNPATH to its own lib)."""
    name = sysconfig.get_config_var("LDLIBRARY")
    real = Path(sysconfig.get_config_var("LIBDIR") or "") / name
    if not real.is_file() or search_path(real) is None:
        pytest.skip(f"this Python's {name} has no search path to confine")
    bundle = tmp_path / "faceseal" / "_internal"
    bundle.mkdir(parents=True)
    copy = Path(shutil.copy(real, bundle / name))
    assert outside_entries(bundle.parent)  # pyenv's folder is outside any bundle
    confine_runpaths(bundle.parent)
    assert check_runpaths(bundle.parent) == 1
    resolved = subprocess.run(["ldd", str(copy)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in resolved  # what it needs is the system's: the build machine's folder was never needed
