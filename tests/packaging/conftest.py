"""The installers as a user gets them: built ONCE per test session (the real ``packaging/build.py``,
what ``make package`` runs), then each unpacked the way its package manager would.

The build bundles the open pack from ../shared/models when that folder is there
and signs SHA256SUMS with a throw-away minisign key made for the session.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED

sys.path.insert(0, str(REPO / "packaging"))  # the packaging modules import each other by name

TOOLS = ("dpkg-deb", "ldd", "rpmbuild", "rpm2cpio", "cpio", "minisign", "icupkg", "genccode", "strip", "ld", "gcc",
         "man")


@dataclass(frozen=True)
class Built:
    dist: Path
    deb: Path
    rpm: Path
    sums: Path
    signature: Path
    public_key: Path
    bundled_models: bool


@dataclass(frozen=True)
class Installed:
    package: Path
    root: Path
    bundled_models: bool

    @property
    def program(self) -> Path:
        return self.root / "opt" / "faceseal" / "faceseal"


def _cannot_build() -> str | None:
    """Why the installers cannot be built here, or None."""
    if not sys.platform.startswith("linux"):
        return f"the .deb and .rpm are built on Linux only (this is {sys.platform})"
    from slim import tool as build_tool  # as the build looks for them: /usr/sbin too

    for tool in TOOLS:
        if build_tool(tool) is None:
            return f"{tool} is not installed (scripts/system-deps.sh installs it), so the installers cannot be built"
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return f"PyInstaller is not installed in {sys.executable} ('make package' installs it)"
    return None


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    scratch = tmp_path_factory.mktemp("package")
    subprocess.run(["minisign", "-G", "-W", "-p", str(scratch / "release.pub"), "-s", str(scratch / "release.key")],
                   check=True, capture_output=True)
    models = SHARED / "models"
    command = [sys.executable, str(REPO / "packaging" / "build.py"), "--dist", str(scratch / "dist"),
               "--work", str(scratch / "work"), "--signing-key", str(scratch / "release.key"),
               "--fast-compression"]  # the same files; xz -9 would add minutes to every test session
    if models.is_dir():
        command += ["--models", str(models)]
    build = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=2400)
    assert build.returncode == 0, build.stderr[-4000:]
    artefacts = [Path(line) for line in build.stdout.strip().splitlines()[-5:]]
    by_name = {path.suffix or path.name: path for path in artefacts}
    shutil.rmtree(scratch / "work", ignore_errors=True)
    shutil.rmtree(scratch / "dist" / "faceseal", ignore_errors=True)  # the unpacked packages are what the tests use
    return Built(dist=scratch / "dist", deb=by_name[".deb"], rpm=by_name[".rpm"], sums=by_name["SHA256SUMS"],
                 signature=by_name[".minisig"], public_key=scratch / "release.pub",
                 bundled_models=models.is_dir())


@pytest.fixture(scope="session", params=["deb", "rpm"])
def installed(request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    from check import unpack

    package = built.deb if request.param == "deb" else built.rpm
    root = unpack(package, tmp_path_factory.mktemp(f"root-{request.param}"))
    return Installed(package, root, built.bundled_models)
