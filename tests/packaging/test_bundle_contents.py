"""The bundle carries its Python whatever Python builds it.

Built with Debian's own python3, libpython and the standard library's extension
modules (``_ssl``, ``_ctypes``, ``_hashlib``) live under /usr/lib beside the
system's libraries, nothing links them (the bootloader opens libpython, Python
imports the modules), and the pruning dropped them as unused system libraries:
the bundle could not start ("Failed to load Python shared library"). Our
machines build with a Python outside /usr/lib, so it never showed. Here the
pruning is run on the real files of this machine's distribution Python, with
the real ``ldd``, and its roots as that Python itself reports them.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bundle_contents import prune_binaries
from tests.conftest import REPO

DISTRIBUTION_PYTHON = Path("/usr/bin/python3")


def ldd(path: str) -> set[str]:
    """As the spec's: the file names a binary loads, resolved by the dynamic linker."""
    out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
    return {Path(m).name for m in re.findall(r"=> (/\S+) \(", out)} | set(re.findall(r"^\s*(\S+) =>", out, re.M))


@pytest.mark.skipif(not DISTRIBUTION_PYTHON.exists(), reason="no distribution python3 at /usr/bin/python3")
def test_the_distribution_pythons_own_libraries_are_never_pruned() -> None:
    asked = subprocess.run([str(DISTRIBUTION_PYTHON), "-c", (
        "import json, sys, sysconfig; sys.path.insert(0, 'packaging'); import bundle_contents; "
        "print(json.dumps({'roots': bundle_contents.python_roots(), 'dynload': sysconfig.get_config_var('DESTSHARED'),"
        " 'libdir': sysconfig.get_config_var('LIBDIR'), 'ldlibrary': sysconfig.get_config_var('INSTSONAME')}))")],
        capture_output=True, text=True, cwd=REPO, check=True)
    python = json.loads(asked.stdout)
    if not python["dynload"].startswith("/usr/lib"):
        pytest.skip(f"{DISTRIBUTION_PYTHON} keeps its modules in {python['dynload']}, not under /usr/lib")
    modules = {name: next(Path(python["dynload"]).glob(f"{name}.cpython-*.so"), None)
               for name in ("_ssl", "_ctypes", "_hashlib")}
    libpython = Path(python["libdir"]) / python["ldlibrary"]
    assert libpython.exists() and all(modules.values()), (libpython, modules)
    binaries = [
        (libpython.name, str(libpython), "BINARY"),
        *((f"lib-dynload/{path.name}", str(path), "EXTENSION") for path in modules.values()),
        ("libssl.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3", "BINARY"),  # the system's, a Depends
    ]
    kept = prune_binaries(binaries, ldd, tuple(python["roots"]))
    assert [entry[0] for entry in kept] == [entry[0] for entry in binaries[:4]]  # the Python's own, in order
    # Without the Python's roots its modules go, as every unlinked /usr/lib library does: the bundle that failed.
    assert [entry[0] for entry in prune_binaries(binaries, ldd, ())] == [libpython.name]


def test_the_building_pythons_roots_never_hold_its_packages() -> None:
    """A venv's platstdlib is the venv's lib/pythonX.Y, with site-packages inside: taken for the Python's own,
    it kept every Qt plugin and GTK with it (a bundle 'that ships libgtk-3' was how it showed)."""
    import sysconfig

    from bundle_contents import python_roots

    roots = python_roots()
    for packages in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        assert not (packages.rstrip("/") + "/").startswith(roots), (packages, roots)
    kept = prune_binaries([("PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                            sysconfig.get_paths()["platlib"] + "/PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                            "BINARY")], lambda path: set())
    assert kept == []  # an unused plugin under site-packages is still dropped
