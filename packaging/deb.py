"""The Linux .deb: the laid-out tree (packaging/layout.py) plus Debian's control file.

``Depends`` is what the bundle links to but does not carry: every library a
bundled file names itself (``DT_NEEDED``) that ``ldd`` resolves outside the
bundle (layout.system_libraries), mapped to its package with ``dpkg -S`` (as
dpkg-shlibdeps would), plus the libraries Qt's xcb platform plugin loads on a
desktop even when the build machine lacks them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from layout import installed_kib  # packaging/layout.py, beside this module
from metadata import Metadata

QT_DESKTOP_DEPENDS = ("libegl1", "libgl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libdbus-1-3", "libfontconfig1")
"""Debian's packages for layout.QT_DESKTOP_LIBRARIES."""
RECOMMENDS = ("fonts-noto-color-emoji",)
"""Not needed to run: without a colour emoji font a flag in a name shows as an empty box (app/glyphs.py)."""
SUGGESTS = ("tpm-udev",)
"""For the TPM root only: Debian's udev rule that gives /dev/tpmrm0 to the ``tss`` group (the bundle carries the TPM
stack itself, so nothing pulls it in as the system's libtss2 packages did); docs/KEYS.md says to add the user."""


POSTRM = """#!/bin/sh
# dpkg deletes a folder it unpacked into once it is empty and no installed package ships it. No Debian package
# ships /opt (the system made it), so removing FaceSeal would take /opt itself away: put it back as it was.
set -e
if [ "$1" = remove ] || [ "$1" = purge ]; then
    [ -d /opt ] || install -d -m 0755 /opt
fi
"""
"""The maintainer script run after removal (``apt-get remove`` and ``purge``)."""


class DebError(Exception):
    """The .deb could not be built; the message says why."""


COMPRESSION = {"release": ("xz", "9"), "fast": ("gzip", "1")}
"""dpkg-deb's compressor and level: xz -9 for what users download (its 64 MiB window finds what the
big libraries share: 98.9 MB where dpkg's default -6 gives 101.3 MB, over the 100 MB goal); gzip -1
for builds that are only tested (the test session), which it packs in seconds instead of minutes."""


def build_deb(root: Path, dist: Path, meta: Metadata, system_libraries: dict[str, Path],
              compression: str = "release") -> Path:
    """Pack the laid-out ``root`` as ``dist/<name>_<version>_<arch>.deb``."""
    arch = _run("dpkg", "--print-architecture").strip()
    depends = sorted(set(QT_DESKTOP_DEPENDS) | _packages(system_libraries.values()))
    control = {
        "Package": meta.name,
        "Version": meta.version,
        "Architecture": arch,
        "Maintainer": meta.maintainer,
        "Installed-Size": str(installed_kib(root)),  # before DEBIAN/ exists
        "Depends": ", ".join(depends),
        "Recommends": ", ".join(RECOMMENDS),
        "Suggests": ", ".join(SUGGESTS),
        "Section": "utils",
        "Priority": "optional",
        "Description": f"{meta.summary}\n{_folded(meta.description)}",
    }
    debian = root / "DEBIAN"
    debian.mkdir(exist_ok=True)
    (debian / "control").write_text("".join(f"{k}: {v}\n" for k, v in control.items()), "utf-8")
    (debian / "control").chmod(0o644)
    (debian / "postrm").write_text(POSTRM, "utf-8")
    (debian / "postrm").chmod(0o755)
    debian.chmod(0o755)
    out = dist / f"{meta.name}_{meta.version}_{arch}.deb"
    compressor, level = COMPRESSION[compression]
    try:
        _run("dpkg-deb", "--build", "--root-owner-group", f"-Z{compressor}", f"-z{level}", str(root), str(out))
    finally:
        for path in debian.iterdir():
            path.unlink()
        debian.rmdir()  # the same tree is packed as an .rpm next
    return out


def _folded(text: str, width: int = 79) -> str:
    """The extended description: lines of at most ``width`` columns, each starting with a space."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width - 1:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(f" {each}" for each in [*lines, line])


def _packages(libraries) -> set[str]:
    """Debian packages owning these files; dpkg knows a file by one of its paths (merged /usr)."""
    paths = sorted({str(p) for library in libraries for p in (library, library.resolve())})
    if not paths:
        return set()
    return owners(subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout)


def owners(listing: str) -> set[str]:
    """The packages ``dpkg -S`` names (``libc6:amd64: /usr/lib/...``, ``a, b: /path``), without its
    ``diversion by libc6 from: ...`` lines: Debian 13 diverts the loader's pre-merged-/usr path, and taken for a
    package name, "diversion by libc6 from" made the Depends field one dpkg-deb refuses."""
    return {line.split(":", 1)[0].split(",")[0].strip() for line in listing.splitlines()
            if ":" in line and not line.startswith("diversion by ")}


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise DebError(f"{command[0]} failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
    return result.stdout
