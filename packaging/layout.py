"""The installed file tree, laid out once and packed by both the .deb and the .rpm.

Layout (what ``dpkg -c`` and ``rpm -qlp`` list):

* /opt/faceseal/           the onedir bundle (``faceseal`` and ``_internal/``)
* /usr/bin/faceseal        a two-line launcher exec'ing /opt/faceseal/faceseal
* /usr/bin/faceseal-pam    the same for the PAM helper (``faceseal pam-helper``: no vault, key or model loaded)
* /usr/lib/systemd/user/faceseal-agent.service: the sign-in agent, enabled by the user, never by the package
* /usr/share/applications/faceseal.desktop
* /usr/share/icons/hicolor/<n>x<n>/apps/faceseal.png and scalable/apps/faceseal.svg
* /usr/share/metainfo/faceseal.metainfo.xml (AppStream: software centres list it)
* /usr/share/man/man1/faceseal.1.gz (generated from the argparse parser)
* /usr/share/doc/faceseal/copyright and changelog.gz
* /usr/share/doc/faceseal/models/: the licence texts of the bundled model files (packaging/model_licences.py)

:func:`system_libraries` is what the bundle links to but does not carry; each
format names it its own way (Debian packages, RPM sonames).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from bundle_contents import needs  # packaging/*.py, beside this module
from metadata import Metadata
from model_licences import licence_of

REPO = Path(__file__).resolve().parents[1]
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

LAUNCHER = '#!/bin/sh\n# FaceSeal lives in /opt/faceseal (a self-contained bundle); this puts it on PATH.\nexec /opt/faceseal/faceseal "$@"\n'
PAM_LAUNCHER = ('#!/bin/sh\n# What pam_exec.so runs for face sign-in (docs/SIGNIN.md): the bundle\'s light PAM helper.\n'
                'exec /opt/faceseal/faceseal pam-helper "$@"\n')

QT_DESKTOP_LIBRARIES = ("libEGL.so.1", "libGL.so.1", "libxkbcommon-x11.so.0", "libxcb-cursor.so.0",
                        "libdbus-1.so.3", "libfontconfig.so.1")
"""Loaded by the xcb platform plugin and the Secret Service client on any desktop (Qt 6.5+ needs
xcb-cursor), even when the build machine lacks them, so ldd cannot find them all."""


def lay_out(bundle: Path, root: Path, meta: Metadata, *, model_licences: Path | None, man_page: str) -> Path:
    """Fill ``root`` with the installed tree; returns ``root``.

    ``model_licences`` is the folder of the bundled model files' licence texts, None when no pack is bundled.
    """
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / "opt" / "faceseal", symlinks=True)
    _write(root / "usr" / "bin" / "faceseal", LAUNCHER, 0o755)
    _write(root / "usr" / "bin" / "faceseal-pam", PAM_LAUNCHER, 0o755)
    _copy(REPO / "packaging" / "linux" / "faceseal-agent.service",
          root / "usr" / "lib" / "systemd" / "user" / "faceseal-agent.service")
    share = root / "usr" / "share"
    _copy(REPO / "resources" / "faceseal.desktop", share / "applications" / "faceseal.desktop")
    for size in ICON_SIZES:
        _copy(REPO / "resources" / "icons" / f"faceseal-{size}.png",
              share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "faceseal.png")
    _copy(REPO / "resources" / "faceseal.svg", share / "icons" / "hicolor" / "scalable" / "apps" / "faceseal.svg")
    _copy(REPO / "packaging" / "linux" / "faceseal.metainfo.xml", share / "metainfo" / "faceseal.metainfo.xml")
    _write_gzip(share / "man" / "man1" / "faceseal.1.gz", man_page)
    if model_licences is not None:
        shutil.copytree(model_licences, share / "doc" / "faceseal" / "models")
    _write(share / "doc" / "faceseal" / "copyright", _copyright(meta, model_licences is not None), 0o644)
    _write_gzip(share / "doc" / "faceseal" / "changelog.gz", _changelog(meta))
    _normalise_modes(root)
    return root


def system_libraries(bundle: Path) -> dict[str, Path]:
    """Soname -> path of every library a bundled ELF file names itself (``DT_NEEDED``) and the bundle does not
    carry, as dpkg-shlibdeps finds them: what the bundle needs from the system, not what those libraries need in
    turn (their own packages bring it). Read transitively, libcurl's OpenLDAP made the .deb depend on
    ``libldap-2.5-0``, a Debian 12 name Debian 13 does not provide."""
    runtime = dict(os.environ, LD_LIBRARY_PATH=str(bundle / "_internal"))  # as the bootloader sets it
    libraries: dict[str, Path] = {}
    for path in bundle.rglob("*"):
        if not (path.is_file() and not path.is_symlink() and _is_elf(path)):
            continue
        named = needs(str(path))
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=runtime)
        for match in re.finditer(r"^\s*(\S+) => (/\S+) \(", result.stdout, re.M):
            library = Path(match.group(2))
            if match.group(1) in named and bundle not in library.parents:
                libraries[match.group(1)] = library
    return libraries


def build_time() -> float:
    """SOURCE_DATE_EPOCH when the build sets it (reproducible builds), else now."""
    return float(os.environ.get("SOURCE_DATE_EPOCH", time.time()))


def installed_kib(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024 + 1


def _copyright(meta: Metadata, bundled_models: bool) -> str:
    """FaceSeal's licence, plus each bundled model file's licence, where its text is, and the pack's notice."""
    header = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
              f"Upstream-Name: {meta.name}\nUpstream-Contact: {meta.maintainer}\n")
    files = f"\nFiles: *\nCopyright: FaceSeal team\nLicense: {meta.licence}\n"
    if bundled_models:
        manifest = json.loads((REPO / "models" / "packs.json").read_text("utf-8"))
        pack = manifest["packs"][manifest["default_pack"]]
        header += "Comment: " + pack["licence_notice"] + "\n"
        for spec in pack["files"]:
            files += (f"\nFiles: opt/faceseal/_internal/models/bundled/*/{spec['name']}\nLicense: {spec['licence']}\n"
                      f"Comment: the licence text is /usr/share/doc/faceseal/models/{licence_of(spec['name'])}\n")
    return header + files


def _changelog(meta: Metadata) -> str:
    """A native package's changelog (Debian policy asks for one); the release notes live in git."""
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(build_time()))
    return (f"{meta.name} ({meta.version}) unstable; urgency=medium\n\n  * Release {meta.version}; see the git history.\n\n"
            f" -- {meta.maintainer}  {stamp}\n")


def _write_gzip(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(text.encode())


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


def _copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    path.chmod(mode)
