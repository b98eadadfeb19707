"""What the package managers read: the .deb's control fields and the .rpm's header, both from pyproject."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edge_core import __version__
from tests.packaging.conftest import Built

pytestmark = pytest.mark.slow

QT_DESKTOP = {"libEGL.so.1", "libGL.so.1", "libxkbcommon-x11.so.0", "libxcb-cursor.so.0", "libdbus-1.so.3",
              "libfontconfig.so.1"}


def _unpacked_kib(deb: Path, tmp_path: Path) -> int:
    from check import unpack

    root = unpack(deb, tmp_path / "deb")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024


def _maintainer() -> str:
    import metadata

    return metadata.read().maintainer


def test_deb_control_fields_and_ownership(built: Built, tmp_path: Path) -> None:
    field = lambda name: subprocess.run(["dpkg-deb", "-f", str(built.deb), name],  # noqa: E731
                                        capture_output=True, text=True, check=True).stdout.strip()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert field("Package") == "faceseal" and field("Version") == __version__ and field("Architecture") == arch
    assert field("Maintainer") == _maintainer() and "@" in field("Maintainer")
    # A .deb built on Debian 13 or Ubuntu 24.04 names the 64-bit-time renames (libssl3t64, libglib2.0-0t64);
    # the library is the same, so either name counts (releases are built on Debian 12: docs/PACKAGING.md).
    depends = {d.strip().removesuffix("t64") for d in field("Depends").split(",")}
    assert {"libegl1", "libgl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libdbus-1-3", "libfontconfig1",
            "libssl3", "libglib2.0-0", "libstdc++6",  # no longer bundled
            "liblapack3", "libblas3", "libreadline8",  # OpenCV's linear algebra, the prompts' editing
            "libcurl4", "libjson-c5"} <= depends  # what the bundled TPM stack's FAPI names
    # The TPM stack is bundled (Debian 13 renamed libtss2-mu0 for an ABI change), and what libcurl loads in turn is
    # libcurl's package's business (libldap-2.5-0, read transitively, is a name Debian 13 lacks).
    assert not [d for d in depends if d.startswith(("libtss2", "libldap", "libgnutls", "libssh2"))], depends
    assert field("Suggests") == "tpm-udev"  # /dev/tpmrm0 for the tss group
    assert abs(int(field("Installed-Size")) - _unpacked_kib(built.deb, tmp_path)) <= 2  # what apt shows before installing
    listing = subprocess.run(["dpkg-deb", "-c", str(built.deb)], capture_output=True, text=True).stdout
    lines = listing.splitlines()
    assert lines and all(" root/root " in line for line in lines)
    assert not [line for line in lines if line.startswith("drwx------")], "a folder other users cannot read"
    assert "./usr/share/man/man1/faceseal.1.gz" in listing and "./DEBIAN" not in listing


def test_rpm_header_files_and_requires(built: Built) -> None:
    query = lambda fmt: subprocess.run(["rpm", "-qp", "--nosignature", "--qf", fmt, str(built.rpm)],  # noqa: E731
                                       capture_output=True, text=True, check=True).stdout
    assert query("%{NAME} %{VERSION} %{ARCH}") == f"faceseal {__version__} x86_64"
    assert query("%{PACKAGER}") == _maintainer() and query("%{LICENSE}") == "Apache-2.0"
    requires = set(subprocess.run(["rpm", "-qp", "--nosignature", "--requires", str(built.rpm)],
                                  capture_output=True, text=True, check=True).stdout.split("\n"))
    assert {f"{name}()(64bit)" for name in QT_DESKTOP | {"libcrypto.so.3", "libglib-2.0.so.0", "liblapack.so.3",
                                                         "libblas.so.3", "libreadline.so.8"}} <= requires
    assert not [r for r in requires if "libQt6" in r or "libpython" in r or "libtss2" in r], \
        "the bundle's own libraries are required"
    assert {"libcurl.so.4()(64bit)", "libjson-c.so.5()(64bit)"} <= requires
    assert not [r for r in requires if r.startswith(("libldap", "libgnutls", "libssh2"))], requires
    files = subprocess.run(["rpm", "-qlp", "--nosignature", str(built.rpm)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for path in ("/usr/bin/faceseal", "/usr/bin/faceseal-pam", "/usr/lib/systemd/user/faceseal-agent.service",
                 "/opt/faceseal/faceseal", "/usr/share/applications/faceseal.desktop",
                 "/usr/share/metainfo/faceseal.metainfo.xml", "/usr/share/man/man1/faceseal.1.gz",
                 "/usr/share/icons/hicolor/scalable/apps/faceseal.svg"):
        assert path in files
    assert "/usr/share/icons/hicolor" not in files, "the icon theme's folders belong to the theme package"
    owners = subprocess.run(["rpm", "-qp", "--nosignature", "--qf", "[%{FILEUSERNAME}:%{FILEGROUPNAME}\n]",
                             str(built.rpm)], capture_output=True, text=True, check=True).stdout.split()
    assert set(owners) == {"root:root"}


def test_both_packages_carry_the_same_bundle(built: Built, tmp_path: Path) -> None:
    """One tree packed twice: the same files with the same bytes under /opt/faceseal."""
    from check import unpack

    digests = {}
    for package in (built.deb, built.rpm):
        root = unpack(package, tmp_path / package.suffix[1:])
        digests[package.suffix] = subprocess.run(
            "find opt -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum", shell=True, cwd=root,
            capture_output=True, text=True, check=True).stdout
    assert digests[".deb"] == digests[".rpm"]


def test_depends_are_read_from_dpkg_s_as_debian_13_prints_it() -> None:
    """What ``dpkg -S`` printed for the bundle's libraries in a bare Debian 13 root: the loader's path comes with
    its merged-/usr diversion, which once went into Depends as a package ("diversion by libc6 from")."""
    from deb import owners

    listing = ("libc6:amd64: /usr/lib/x86_64-linux-gnu/libc.so.6\n"
               "diversion by libc6 from: /lib64/ld-linux-x86-64.so.2\n"
               "diversion by libc6 to: /lib64/ld-linux-x86-64.so.2.usr-is-merged\n"
               "libc6:amd64: /usr/lib64/ld-linux-x86-64.so.2\n"
               "libssl3t64:amd64, libssl-dev:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3\n")
    assert owners(listing) == {"libc6", "libssl3t64"}
