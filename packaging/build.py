"""``make package``: build FaceSeal's installers for the machine this runs on.

Linux: a PyInstaller onedir bundle with a NumPy built without OpenBLAS
(packaging/numpy_noblas.py), slimmed (packaging/slim.py), laid out once
(packaging/layout.py) and packed twice: ``dist/faceseal_<version>_<arch>.deb``
and ``dist/faceseal-<version>-1.<arch>.rpm``; then ``dist/SHA256SUMS`` for both,
signed with ``--signing-key`` when one is given (packaging/release.py).
macOS: the same bundle as ``dist/FaceSeal.app``.

``--models DIR`` bundles the default pack, read from DIR and checked against
``models/packs.json`` by the same code that installs packs (a wrong or missing
file stops the build), so the installed app works offline from its first start;
the licence texts its files need (DIR/licenses/) go into the package's doc folder.

Usage: python packaging/build.py [--models DIR] [--dist DIR] [--work DIR] [--signing-key FILE] [--fast-compression]
Prints the path of each artefact, one per line, at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import layout  # packaging/*.py, beside this script
import manpage
import metadata
import model_licences
import numpy_noblas
from deb import DebError, build_deb
from release import ReleaseError, sign, write_sums
from rpm import RpmError, build_rpm
from slim import SlimError, slim

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge_core import __version__
from edge_core.biometrics import synthetic_face
from edge_core.errors import FaceSealError


class BuildError(Exception):
    """The build cannot go on; the message says why in one line."""


def stage(work: Path, models: Path | None) -> Path:
    """Fill the folder the spec reads: the self-test image, bundled packs (and, beside the folder the spec
    reads, their licence texts in ``licences/``), the macOS icon set."""
    folder = work / "stage"
    shutil.rmtree(folder, ignore_errors=True)
    synthetic_face.write(folder / "selftest")
    if models is not None:
        files = bundle_default_pack(models, folder / "models" / "bundled")
        try:
            model_licences.copy_texts(models, files, folder / "licences")
        except model_licences.LicenceError as error:
            raise BuildError(str(error)) from None
    if sys.platform == "darwin":
        from macos_icns import build_icns  # packaging/macos_icns.py

        build_icns(REPO / "resources", folder / "FaceSeal.icns")
    return folder


def bundle_default_pack(source: Path, target: Path) -> list[str]:
    """Install the default pack from ``source`` into ``target`` with every sha256 checked; returns its file names."""
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
    return [spec.name for spec in info.files]


def pyinstaller(staged: Path, dist: Path, work: Path, first_on_path: Path | None = None) -> Path:
    """Run the spec (with ``first_on_path`` ahead of this Python's packages); returns the onedir bundle
    (or the .app on macOS)."""
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise BuildError("PyInstaller is not installed in this Python; 'make package' installs it") from None
    env = dict(os.environ, FACESEAL_STAGE=str(staged), FACESEAL_VERSION=__version__)
    if first_on_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(first_on_path), *filter(None, [os.environ.get("PYTHONPATH")])])
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work / "pyinstaller"), str(REPO / "packaging" / "faceseal.spec")]
    if subprocess.run(command, env=env, cwd=REPO).returncode != 0:
        raise BuildError("PyInstaller failed (its messages are above)")
    return dist / ("FaceSeal.app" if sys.platform == "darwin" else "faceseal")


def linux_packages(bundle: Path, dist: Path, work: Path, *, model_licences: Path | None,
                   compression: str) -> list[Path]:
    """Slim the bundle, lay it out once, pack it as a .deb and an .rpm."""
    meta = metadata.read()
    if meta.version != __version__:
        raise BuildError(f"pyproject.toml says {meta.version} but edge_core says {__version__}")
    slim(bundle, sys.executable)
    from app.launcher import EXTRA
    from edge_core.cli.main import build_parser

    page = manpage.render(build_parser(EXTRA), meta.version, layout.build_time())
    root = layout.lay_out(bundle, work / "root", meta, model_licences=model_licences, man_page=page)
    libraries = layout.system_libraries(bundle)
    for old in [*dist.glob("faceseal_*.deb"), *dist.glob("faceseal-*.rpm"), *dist.glob("SHA256SUMS*"),
                *dist.glob("faceseal-release.pub")]:
        old.unlink()  # SHA256SUMS lists exactly this build's installers, signed by this build or not at all
    packages = [build_deb(root, dist, meta, libraries, compression),
                build_rpm(root, dist, work, meta, libraries, compression)]
    shutil.rmtree(root)
    return packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/build.py", description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, help="bundle the default model pack from this folder or .zip")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the installers go (default dist/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "package", help="scratch folder")
    parser.add_argument("--signing-key", type=Path, help="minisign secret key that signs SHA256SUMS (Linux)")
    parser.add_argument("--fast-compression", action="store_const", const="fast", default="release",
                        dest="compression", help="gzip -1 instead of xz -9: minutes faster, packages about "
                        "a third larger; for builds that are tested, not published (Linux)")
    args = parser.parse_args(argv)
    try:
        if sys.platform not in ("linux", "darwin"):
            raise BuildError(f"packages are built on Linux (.deb, .rpm) or macOS (.app), not on {sys.platform}")
        if args.signing_key is not None and not args.signing_key.is_file():
            raise BuildError(f"the signing key {args.signing_key} does not exist")
        staged = stage(args.work, args.models)
        # Linux: NumPy without its OpenBLAS (macOS wheels use the system's Accelerate, nothing to cut)
        numpy = numpy_noblas.unpacked(args.work, numpy_noblas.wheel_cache()) if sys.platform == "linux" else None
        bundle = pyinstaller(staged, args.dist, args.work, first_on_path=numpy)
        artefacts = [bundle]
        if sys.platform == "linux":
            licences = staged / "licences" if args.models is not None else None
            artefacts = linux_packages(bundle, args.dist, args.work, model_licences=licences,
                                       compression=args.compression)
            artefacts.append(write_sums(artefacts))
            if args.signing_key is not None:
                artefacts += sign(artefacts[-1], args.signing_key)
    except (BuildError, DebError, RpmError, SlimError, ReleaseError, metadata.MetadataError,
            numpy_noblas.NumpyError) as error:
        print(f"make package: error: {error}", file=sys.stderr)
        return 1
    for path in artefacts:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
