"""The .rpm for Fedora, openSUSE and the like: the same laid-out tree as the .deb, packed by ``rpmbuild``.

Nothing is rebuilt: the spec's %install copies the tree (packaging/layout.py),
and every rpmbuild step that would change a file (stripping, build-id links,
byte-compiling, debug packages) is off, so both packages install the same
bytes. ``Requires`` are sonames (``libEGL.so.1()(64bit)``), which every
RPM distribution resolves to its own package names, and RPM's automatic
dependency scan is off: it would list the bundle's private libraries too.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from layout import QT_DESKTOP_LIBRARIES, build_time  # packaging/layout.py, beside this module
from metadata import Metadata

_NOT_REQUIRED = ("ld-linux", "linux-vdso")
"""Part of every system, named by path or provided by the kernel: no package provides them as sonames."""


COMPRESSION = {"release": "w9T.xzdio", "fast": "w1.gzdio"}
"""The payload compressed as the .deb is (deb.COMPRESSION): xz -9 on every core, or gzip -1."""


class RpmError(Exception):
    """The .rpm could not be built; the message says why."""


def build_rpm(root: Path, dist: Path, work: Path, meta: Metadata, system_libraries: dict[str, Path],
              compression: str = "release") -> Path:
    """Pack the laid-out ``root`` as ``dist/<name>-<version>-1.<arch>.rpm``."""
    if shutil.which("rpmbuild") is None:
        raise RpmError("rpmbuild is not installed (Debian package 'rpm'; scripts/system-deps.sh installs it)")
    topdir = work / "rpmbuild"
    shutil.rmtree(topdir, ignore_errors=True)
    (topdir / "SPECS").mkdir(parents=True)
    spec = topdir / "SPECS" / f"{meta.name}.spec"
    spec.write_text(_spec(root, meta, system_libraries, COMPRESSION[compression]), "utf-8")
    command = ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {topdir}", str(spec)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
        raise RpmError(f"rpmbuild failed: {lines[-1]}")
    built = sorted((topdir / "RPMS").rglob("*.rpm"))
    if len(built) != 1:
        raise RpmError(f"rpmbuild made {len(built)} packages, expected one")
    out = dist / built[0].name
    shutil.move(built[0], out)
    return out


def requires(system_libraries: dict[str, Path]) -> list[str]:
    """RPM capabilities for the libraries the bundle loads from the system (64-bit sonames)."""
    names = set(QT_DESKTOP_LIBRARIES) | {name for name in system_libraries if not name.startswith(_NOT_REQUIRED)}
    return sorted(f"{name}()(64bit)" for name in names)


def _spec(root: Path, meta: Metadata, system_libraries: dict[str, Path], payload: str) -> str:
    share = "/usr/share"
    files = ["/opt/faceseal", "/usr/bin/faceseal", "/usr/bin/faceseal-pam",
             "/usr/lib/systemd/user/faceseal-agent.service", f"{share}/applications/faceseal.desktop",
             f"{share}/metainfo/faceseal.metainfo.xml", f"{share}/man/man1/faceseal.1.gz", f"{share}/doc/faceseal",
             *sorted(f"/{p.relative_to(root)}" for p in (root / "usr" / "share" / "icons").rglob("faceseal.*"))]
    stamp = time.strftime("%a %b %d %Y", time.gmtime(build_time()))
    lines = [
        # the bundle is shipped as built: no strip, no build-id links, no byte-compiling, no debuginfo
        "%global __os_install_post %{nil}",
        "%global debug_package %{nil}",
        "%global _build_id_links none",
        "%global __strip /bin/true",
        f"%global _binary_payload {payload}",
        f"Name: {meta.name}",
        f"Version: {meta.version}",
        "Release: 1",
        f"Summary: {meta.summary}",
        f"License: {meta.licence}",
        f"Packager: {meta.maintainer}",
        "AutoReqProv: no",
        *(f"Requires: {capability}" for capability in requires(system_libraries)),
        "Recommends: google-noto-emoji-color-fonts",  # a flag in a name is an empty box without it
        "",
        "%description",
        meta.description,
        "",
        "%install",
        f"cp -a {_quoted(root / 'opt')} {_quoted(root / 'usr')} %{{buildroot}}/",
        "",
        "%files",
        "%defattr(-,root,root,-)",
        *files,
        "",
        "%changelog",
        f"* {stamp} {meta.maintainer} - {meta.version}-1",
        f"- Release {meta.version}; see the git history.",
    ]
    return "\n".join(lines) + "\n"


def _quoted(path: Path) -> str:
    """A path for the spec's shell: rpmbuild does not quote, so refuse what would need it."""
    text = str(path)
    if any(c.isspace() or c in "'\"$`\\%" for c in text):
        raise RpmError(f"the build folder {text} contains characters rpmbuild cannot take; use a plain path")
    return text
