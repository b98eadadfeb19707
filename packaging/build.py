"""``make package``: build FaceSeal's installer for the machine this runs on.

Linux: a PyInstaller onedir bundle, then ``dist/faceseal_<version>_<arch>.deb``.
macOS: the same bundle as ``dist/FaceSeal.app``.

``--models DIR`` bundles the default pack, read from DIR and checked against
``models/packs.json`` by the same code that installs packs (a wrong or missing
file stops the build), so the installed app works offline from its first start.

Usage: python packaging/build.py [--models DIR] [--dist DIR] [--work DIR]
Prints the path of the installer on its last line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deb import DebError, build_deb  # packaging/deb.py, beside this script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_core import __version__
from edge_core.biometrics import synthetic_face
from edge_core.errors import FaceSealError


class BuildError(Exception):
    """The build cannot go on; the message says why in one line."""


def stage(work: Path, models: Path | None) -> Path:
    """Fill the folder the spec reads: the self-test image, bundled packs, the macOS icon set."""
    folder = work / "stage"
    shutil.rmtree(folder, ignore_errors=True)
    synthetic_face.write(folder / "selftest")
    if models is not None:
        bundle_default_pack(models, folder / "models" / "bundled")
    if sys.platform == "darwin":
        from macos_icns import build_icns  # packaging/macos_icns.py

        build_icns(REPO / "resources", folder / "FaceSeal.icns")
    return folder


def bundle_default_pack(source: Path, target: Path) -> None:
    """Install the default pack from ``source`` into ``target`` with every sha256 checked."""
    from edge_core.biometrics import default_pack_name, install_pack

    saved = os.environ.get("FACESEAL_MODELS")
    os.environ["FACESEAL_MODELS"] = str(target)
    try:
        info = install_pack(default_pack_name(), source)
    except FaceSealError as error:
        raise BuildError(f"cannot bundle the model pack from {source}: {error}") from None
    finally:
        os.environ.pop("FACESEAL_MODELS")
        if saved is not None:
            os.environ["FACESEAL_MODELS"] = saved
    print(f"bundled model pack '{info.name}' ({len(info.files)} files, sha256 checked)", flush=True)


def pyinstaller(staged: Path, dist: Path, work: Path) -> Path:
    """Run the spec; returns the onedir bundle (or the .app on macOS)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed in this Python; 'make package' installs it") from None
    env = dict(os.environ, FACESEAL_STAGE=str(staged), FACESEAL_VERSION=__version__)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work / "pyinstaller"), str(REPO / "packaging" / "faceseal.spec")]
    if subprocess.run(command, env=env, cwd=REPO).returncode != 0:
        raise BuildError("PyInstaller failed (its messages are above)")
    return dist / ("FaceSeal.app" if sys.platform == "darwin" else "faceseal")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="bundle the default model pack from this folder or .zip")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the installer goes (default dist/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "package", help="scratch folder")
    args = parser.parse_args(argv)
    try:
        if sys.platform not in ("linux", "darwin"):
            raise BuildError(f"packages are built on Linux (.deb) or macOS (.app), not on {sys.platform}")
        staged = stage(args.work, args.models)
        bundle = pyinstaller(staged, args.dist, args.work)
        if sys.platform == "linux":
            bundle = build_deb(bundle, args.dist, args.work / "deb-root", __version__, bundled_models=args.models is not None)
    except (BuildError, DebError) as error:
        print(f"make package: error: {error}", file=sys.stderr)
        return 1
    print(bundle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
