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

from bundle_contents import needs, prune_binaries, tcti_modules
from tests.conftest import REPO

DISTRIBUTION_PYTHON = Path("/usr/bin/python3")


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
    kept = prune_binaries(binaries, needs, tuple(python["roots"]))
    assert [entry[0] for entry in kept] == [entry[0] for entry in binaries[:4]]  # the Python's own, in order
    # Without the Python's roots its modules go, as every unlinked /usr/lib library does: the bundle that failed.
    assert [entry[0] for entry in prune_binaries(binaries, needs, ())] == [libpython.name]


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


def test_the_tpm_stack_goes_in_with_its_transports_and_what_its_fapi_loads_stays_out() -> None:
    """tpm2-pytss's extension names the TPM Software Stack (libtss2-*), whose FAPI loads libcurl, GnuTLS, OpenLDAP
    and more: PyInstaller collects them all (about 8 MB, over the size goal). The stack goes in, built for this
    extension, with the transport modules its loader opens by name; libcurl, json-c and what they load stay the
    system's."""
    import tpm2_pytss

    extension = next(Path(tpm2_pytss.__file__).parent.glob("_libtpm2_pytss*.so"))
    collected = [(f"tpm2_pytss/{extension.name}", str(extension), "EXTENSION")]
    for line in subprocess.run(["ldd", str(extension)], capture_output=True, text=True, check=True).stdout.splitlines():
        found = re.match(r"\s*(\S+) => (/\S+) \(", line)
        if found and not found.group(1).startswith(("libc.so", "libm.so")):
            collected.append((found.group(1), found.group(2), "BINARY"))  # as PyInstaller collects them
    names = {entry[0] for entry in collected}
    assert {"libtss2-esys.so.0", "libtss2-fapi.so.1", "libcurl.so.4", "libjson-c.so.5"} <= names, names
    assert len([name for name in names if name.startswith(("libldap", "libgnutls", "libssh2", "libnghttp2"))]) >= 3
    kept = {entry[0] for entry in prune_binaries(collected + tcti_modules(collected), needs, ())}
    stack = {f"libtss2-{name}.so.{major}" for name, major in (
        ("esys", 0), ("fapi", 1), ("mu", 0), ("rc", 0), ("sys", 1), ("tctildr", 0))}
    transports = {f"libtss2-tcti-{name}.so.0" for name in ("device", "swtpm", "mssim", "tabrmd")}
    assert kept == {collected[0][0]} | stack | transports, kept


def test_a_missing_transport_module_stops_the_build_naming_its_package(tmp_path: Path) -> None:
    """Without the module the default TCTI names, the installed TPM root could reach no TPM: the build says so."""
    for name in ("tctildr", "tcti-swtpm", "tcti-mssim", "tcti-tabrmd"):
        (tmp_path / f"libtss2-{name}.so.0").write_bytes(b"")
    with pytest.raises(SystemExit, match=r"libtss2-tcti-device\.so\.0.*libtss2-tcti-device0"):
        tcti_modules([("libtss2-tctildr.so.0", str(tmp_path / "libtss2-tctildr.so.0"), "BINARY")])
    assert tcti_modules([("libQt6Core.so.6", "/usr/lib/x86_64-linux-gnu/libQt6Core.so.6", "BINARY")]) == []
