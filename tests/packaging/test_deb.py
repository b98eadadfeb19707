"""The .deb as a user gets it: built once per session, unpacked with ``dpkg -x``, run from there.

The build is the real one (``packaging/build.py``, what ``make package`` runs),
with the open pack bundled from ../shared/models when that folder is there.
The installed program is started from the unpacked tree with a throw-away HOME
and an empty models folder, so whatever it finds it found inside the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge_core import __version__
from tests.conftest import REPO, SHARED

pytestmark = pytest.mark.slow

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


@dataclass(frozen=True)
class Installed:
    deb: Path
    root: Path
    bundled_models: bool

    @property
    def program(self) -> Path:
        return self.root / "opt" / "faceseal" / "faceseal"


def _cannot_build() -> str | None:
    """Why the .deb cannot be built here, or None."""
    if not sys.platform.startswith("linux"):
        return f"the .deb is built on Linux only (this is {sys.platform})"
    for tool in ("dpkg-deb", "ldd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed, so the .deb cannot be built"
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return f"PyInstaller is not installed in {sys.executable} ('make package' installs it)"
    return None


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    scratch = tmp_path_factory.mktemp("package")
    models = SHARED / "models"
    command = [sys.executable, str(REPO / "packaging" / "build.py"), "--dist", str(scratch / "dist"),
               "--work", str(scratch / "work")]
    if models.is_dir():
        command += ["--models", str(models)]
    build = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=1500)
    assert build.returncode == 0, build.stderr[-4000:]
    deb = Path(build.stdout.strip().splitlines()[-1])
    root = scratch / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    shutil.rmtree(scratch / "work", ignore_errors=True)  # the unpacked tree is what the tests use
    return Installed(deb, root, models.is_dir())


def _run(installed: Installed, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Start the installed program as a user with an empty home would, without a screen."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FACESEAL_", "QT_", "PYTHON", "DISPLAY", "WAYLAND"))}
    env.update(HOME=str(tmp_path / "home"), FACESEAL_HOME=str(tmp_path / "home" / "faceseal"),
               FACESEAL_MODELS=str(tmp_path / "no-models"), XDG_DATA_HOME=str(tmp_path / "home" / "data"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run([str(installed.program), *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_version_runs_from_the_installed_tree(installed: Installed, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"faceseal {__version__}"


def test_self_test_passes_from_the_installed_tree(installed: Installed, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "self-test", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["result"] == "passed" and report["frozen"] is True
    assert report["checks"]["vault"]["sealed_and_reopened"] is True
    assert report["checks"]["window"] | {"qt_messages": []} == {
        "status": "ok", "platform": "offscreen", "title": "FaceSeal", "visible": True, "session": "open",
        "qt_messages": []}
    models = report["checks"]["models"]
    if installed.bundled_models:
        assert models["status"] == "ok", models
        assert Path(models["location"]).is_relative_to(installed.root / "opt" / "faceseal")
        assert models["faces"] == 1 and models["embedding_size"] == 128
    else:
        assert models["status"] == "skipped"
    assert not (tmp_path / "home" / "faceseal").exists(), "the self-test wrote into the user's data directory"


def test_bundled_pack_is_listed_as_installed(installed: Installed, tmp_path: Path) -> None:
    if not installed.bundled_models:
        pytest.skip(f"{SHARED / 'models'} is absent, so no pack was bundled")
    result = _run(installed, tmp_path, "models", "list", "--json")
    assert result.returncode == 0, result.stderr
    states = {pack["name"]: pack["installed"] for pack in json.loads(result.stdout)}
    assert states["open"] is True and states["scrfd"] is False


def test_bad_input_is_one_line_and_an_exit_code(installed: Installed, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "models", "install", "open", "--from", str(tmp_path / "nowhere"))
    assert result.returncode == 5  # a model problem (README's exit codes)
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_desktop_entry_icons_and_metainfo_are_in_place(installed: Installed) -> None:
    share = installed.root / "usr" / "share"
    desktop = (share / "applications" / "faceseal.desktop").read_text()
    assert "\nExec=faceseal\n" in desktop and "\nIcon=faceseal\n" in desktop
    for size in ICON_SIZES:
        png = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "faceseal.png"
        assert _png_size(png) == (size, size), png
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "faceseal.svg").is_file()
    metainfo = share / "metainfo" / "faceseal.metainfo.xml"
    assert f'<release version="{__version__}"' in metainfo.read_text()
    if shutil.which("appstreamcli"):
        check = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout
    launcher = installed.root / "usr" / "bin" / "faceseal"
    assert os.access(launcher, os.X_OK)
    assert launcher.read_text().splitlines()[-1] == 'exec /opt/faceseal/faceseal "$@"'


def test_package_metadata_and_ownership(installed: Installed) -> None:
    field = lambda name: subprocess.run(["dpkg-deb", "-f", str(installed.deb), name],  # noqa: E731
                                        capture_output=True, text=True, check=True).stdout.strip()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert field("Package") == "faceseal" and field("Version") == __version__ and field("Architecture") == arch
    depends = {d.strip() for d in field("Depends").split(",")}
    assert {"libegl1", "libgl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libdbus-1-3", "libfontconfig1"} <= depends
    listing = subprocess.run(["dpkg-deb", "-c", str(installed.deb)], capture_output=True, text=True).stdout
    lines = listing.splitlines()
    assert lines and all(" root/root " in line for line in lines)
    assert not [line for line in lines if line.startswith("drwx------")], "a folder other users cannot read"


def test_bundle_leaves_out_unused_qt_and_ships_no_photo(installed: Installed) -> None:
    internal = installed.root / "opt" / "faceseal" / "_internal"
    names = {p.name for p in internal.rglob("*")}
    for unused in ("libQt6WebEngineCore.so.6", "libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6Multimedia.so.6",
                   "libQt63DCore.so.6", "libgtk-3.so.0", "QtNetwork.abi3.so"):
        assert unused not in names
    faces = SHARED / "faces"
    if faces.is_dir():
        photos = {_sha256(p) for p in faces.rglob("*") if p.is_file()}
        shipped = [p for p in internal.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        assert not [p for p in shipped if _sha256(p) in photos]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])
