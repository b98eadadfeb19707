"""The Linux .deb: the PyInstaller bundle under /opt/faceseal plus what a desktop needs to show it.

Layout (what ``dpkg -c`` lists):

* /opt/faceseal/           the onedir bundle (``faceseal`` and ``_internal/``)
* /usr/bin/faceseal        a two-line launcher exec'ing /opt/faceseal/faceseal
* /usr/share/applications/faceseal.desktop
* /usr/share/icons/hicolor/<n>x<n>/apps/faceseal.png and scalable/apps/faceseal.svg
* /usr/share/metainfo/faceseal.metainfo.xml (AppStream: software centres list it)
* /usr/share/doc/faceseal/copyright

``Depends`` is what the bundle links to but does not carry: every library
``ldd`` resolves outside the bundle, mapped to its package with ``dpkg -S``
(as dpkg-shlibdeps would), plus the libraries Qt's xcb platform plugin loads
on a desktop even when the build machine lacks them.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

QT_DESKTOP_DEPENDS = ("libegl1", "libgl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libdbus-1-3", "libfontconfig1")
"""Needed by the xcb platform plugin and the Secret Service client on any desktop (Qt 6.5+ needs xcb-cursor)."""

MAINTAINER = "FaceSeal team <faceseal@localhost>"

LAUNCHER = '#!/bin/sh\n# FaceSeal lives in /opt/faceseal (a self-contained bundle); this puts it on PATH.\nexec /opt/faceseal/faceseal "$@"\n'

DESCRIPTION = """\
Face templates captured on this machine, sealed under keys you own
 FaceSeal finds and embeds faces with ONNX models run on this machine, and keeps
 every biometric template encrypted at rest (SQLCipher, AES-256-GCM) under a key
 hierarchy whose root stays in the OS keychain, a hardware token or your hands.
 Nothing leaves the machine unless you opt in."""


class DebError(Exception):
    """The .deb could not be built; the message says why."""


def build_deb(bundle: Path, dist: Path, root: Path, version: str, *, bundled_models: bool) -> Path:
    """Lay out ``root`` from ``bundle`` and pack it as ``dist/faceseal_<version>_<arch>.deb``."""
    arch = _run("dpkg", "--print-architecture").strip()
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / "opt" / "faceseal", symlinks=True)
    _write(root / "usr" / "bin" / "faceseal", LAUNCHER, 0o755)
    share = root / "usr" / "share"
    _copy(REPO / "resources" / "faceseal.desktop", share / "applications" / "faceseal.desktop")
    for size in ICON_SIZES:
        _copy(REPO / "resources" / "icons" / f"faceseal-{size}.png",
              share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "faceseal.png")
    _copy(REPO / "resources" / "faceseal.svg", share / "icons" / "hicolor" / "scalable" / "apps" / "faceseal.svg")
    _copy(REPO / "packaging" / "linux" / "faceseal.metainfo.xml", share / "metainfo" / "faceseal.metainfo.xml")
    _write(share / "doc" / "faceseal" / "copyright", _copyright(bundled_models), 0o644)
    _write_gzip(share / "doc" / "faceseal" / "changelog.gz", _changelog(version))
    _normalise_modes(root)
    depends = sorted(set(QT_DESKTOP_DEPENDS) | _linked_packages(root / "opt" / "faceseal"))
    control = {
        "Package": "faceseal",
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(_kib(root)),
        "Depends": ", ".join(depends),
        "Section": "utils",
        "Priority": "optional",
        "Description": DESCRIPTION,
    }
    _write(root / "DEBIAN" / "control", "".join(f"{k}: {v}\n" for k, v in control.items()), 0o644)
    out = dist / f"faceseal_{version}_{arch}.deb"
    # xz -1: every dpkg and lintian accept it; a minute on 2 cores, 17% smaller than zstd (xz -6: > 5 minutes)
    _run("dpkg-deb", "--build", "--root-owner-group", "-Zxz", "-z1", str(root), str(out))
    return out


def _copyright(bundled_models: bool) -> str:
    """FaceSeal's licence, plus each bundled model file's licence and notice from the manifest."""
    import json

    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
            "Upstream-Name: faceseal\n\nFiles: *\nCopyright: FaceSeal team\nLicense: Apache-2.0\n")
    if bundled_models:
        manifest = json.loads((REPO / "models" / "packs.json").read_text("utf-8"))
        pack = manifest["packs"][manifest["default_pack"]]
        for spec in pack["files"]:
            text += f"\nFiles: opt/faceseal/_internal/models/bundled/*/{spec['name']}\nLicense: {spec['licence']}\n"
        text += "Comment: " + pack["licence_notice"] + "\n"
    return text


def _changelog(version: str) -> str:
    """A native package's changelog (Debian policy asks for one); the release notes live in git."""
    return (f"faceseal ({version}) unstable; urgency=medium\n\n  * Release {version}; see the git history.\n\n"
            f" -- {MAINTAINER}  {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(_build_time()))}\n")


def _build_time() -> float:
    """SOURCE_DATE_EPOCH when the build sets it (reproducible builds), else now."""
    return float(os.environ.get("SOURCE_DATE_EPOCH", time.time()))


def _write_gzip(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(text.encode())


def _linked_packages(bundle: Path) -> set[str]:
    """Packages owning the system libraries the bundle's ELF files load (what dpkg-shlibdeps finds)."""
    runtime = dict(os.environ, LD_LIBRARY_PATH=str(bundle / "_internal"))  # as the bootloader sets it
    libraries: set[str] = set()
    for path in bundle.rglob("*"):
        if not (path.is_file() and not path.is_symlink() and _is_elf(path)):
            continue
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=runtime)
        for match in re.finditer(r"=> (/\S+) \(", result.stdout):
            library = Path(match.group(1))
            if bundle not in library.parents:  # dpkg knows a file by one of its paths (merged /usr)
                libraries |= {str(library), str(library.resolve())}
    if not libraries:
        return set()
    found = subprocess.run(["dpkg", "-S", *sorted(libraries)], capture_output=True, text=True).stdout
    return {line.split(":", 1)[0].split(",")[0].strip() for line in found.splitlines() if ":" in line}


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def _normalise_modes(root: Path) -> None:
    """Directories and programs 0755, other files (shared libraries too) 0644: readable by every user.

    The bundled model pack was installed 0700 like any private models folder; in /opt it must not be.
    """
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        program = path.stat().st_mode & 0o111 and ".so" not in path.name
        path.chmod(0o755 if path.is_dir() or program else 0o644)


def _kib(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024 + 1


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    path.chmod(mode)


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise DebError(f"{command[0]} failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
    return result.stdout
