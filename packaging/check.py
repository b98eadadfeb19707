"""``make package-check``: smoke-test what ``make package`` built, as a user would get it.

Linux: ``SHA256SUMS`` matches the installers (and its minisign signature, when
there is one, matches ``--public-key`` or else the ``faceseal-release.pub``
written beside it); the .deb is unpacked with ``dpkg-deb -x`` and the .rpm with
``rpm2cpio | cpio``; from each tree ``faceseal --version`` and ``faceseal
self-test`` must pass and ``man -l`` must render the man page.

macOS: ``codesign --verify`` when the .app is signed (said so when it is not),
then ``--version`` and ``self-test`` from ``FaceSeal.app/Contents/MacOS``.

The program runs with a throw-away HOME, no keychain and an empty models
folder, so whatever it finds it found inside the package.
Usage: python packaging/check.py [--dist DIR] [--public-key FILE]; exit 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from release import SUMS, ReleaseError, verify  # packaging/release.py, beside this script

REPO = Path(__file__).resolve().parents[1]


class CheckError(Exception):
    """A check failed; the message says which and why."""


def unpack(package: Path, dest: Path) -> Path:
    """Unpack a .deb or .rpm into ``dest`` as the package manager would install it; returns ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if package.suffix == ".deb":
        _run(["dpkg-deb", "-x", str(package), str(dest)])
    elif package.suffix == ".rpm":
        archive = subprocess.run(["rpm2cpio", str(package)], capture_output=True, check=False)
        if archive.returncode != 0:
            raise CheckError(f"rpm2cpio cannot read {package.name}")
        unpacked = subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], input=archive.stdout,
                                  cwd=dest, capture_output=True)
        if unpacked.returncode != 0:
            raise CheckError(f"cpio cannot unpack {package.name}: {unpacked.stderr.decode(errors='replace').strip()}")
    else:
        raise CheckError(f"{package.name} is neither a .deb nor an .rpm")
    return dest


def run_installed(program: Path, home: Path, *args: str,
                  extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Start the installed program as a user with an empty home would, without a screen."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FACESEAL_", "QT_", "PYTHON", "DISPLAY", "WAYLAND"))}
    env.update(HOME=str(home), FACESEAL_HOME=str(home / "faceseal"), FACESEAL_MODELS=str(home / "no-models"),
               XDG_DATA_HOME=str(home / "data"), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               **(extra_env or {}))
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(program), *args], capture_output=True, text=True, env=env, cwd=home, timeout=300)


def smoke_test(program: Path, scratch: Path) -> str:
    """``--version`` and ``self-test`` of an installed program; returns the first line of ``--version``."""
    version = run_installed(program, scratch / "home-version", "--version")
    if version.returncode != 0:
        raise CheckError(f"{program} --version failed: {version.stderr.strip()[-300:]}")
    fields = dict(line.split(": ", 1) for line in version.stdout.splitlines()[1:] if ": " in line)
    pack = fields.get("model pack", "")
    if pack.endswith("(not installed)"):
        # A bundled pack whose licence notice asks for consent counts only once accepted (the installer never
        # accepts for the user): the builder accepts it in this throw-away home so the self-test runs the models.
        run_installed(program, scratch / "home-selftest", "models", "install", pack.split()[0], "--accept-licence",
                      "--json")
    selftest = run_installed(program, scratch / "home-selftest", "self-test", "--json")
    try:
        result = json.loads(selftest.stdout).get("result")
    except json.JSONDecodeError:
        result = None
    if selftest.returncode != 0 or result != "passed":
        raise CheckError(f"{program} self-test did not pass: {(selftest.stderr or selftest.stdout).strip()[-300:]}")
    return version.stdout.splitlines()[0]


def check_linux(dist: Path, public_key: Path | None) -> list[str]:
    sums = dist / SUMS
    if not sums.is_file():
        raise CheckError(f"{sums} is missing; run 'make package' first")
    listed = [line.split("  ", 1)[1] for line in sums.read_text("ascii").splitlines()]
    packages = [dist / name for name in listed]
    if not [p for p in packages if p.suffix == ".deb"] or not [p for p in packages if p.suffix == ".rpm"]:
        raise CheckError(f"{SUMS} lists no .deb or no .rpm: {', '.join(listed)}")
    missing = [p.name for p in packages if not p.is_file()]
    if missing:
        raise CheckError(f"{SUMS} lists {', '.join(missing)}, which {dist} does not hold")
    report = [_check_sums(sums, public_key)]
    with tempfile.TemporaryDirectory(prefix="faceseal-check-") as scratch:
        for package in packages:
            root = unpack(package, Path(scratch) / package.suffix[1:])
            first = smoke_test(root / "opt" / "faceseal" / "faceseal", Path(scratch) / f"run-{package.suffix[1:]}")
            page = root / "usr" / "share" / "man" / "man1" / "faceseal.1.gz"
            rendered = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                                      env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
            if rendered.returncode != 0 or "faceseal" not in rendered.stdout:
                raise CheckError(f"man -l cannot render the man page of {package.name}")
            report.append(f"{package.name}: unpacked; '{first}'; self-test passed; man page renders")
            shutil.rmtree(root)
    return report


def _check_sums(sums: Path, public_key: Path | None) -> str:
    signature = sums.with_name(sums.name + ".minisig")
    if not signature.is_file():
        _verify_digests(sums)
        return f"{SUMS}: every installer matches (not signed: make package SIGNING_KEY=... signs it)"
    key = public_key or sums.parent / "faceseal-release.pub"
    try:
        verify(sums, key)
    except ReleaseError as error:
        raise CheckError(str(error)) from None
    source = "the given public key" if public_key else f"{key.name} written by the build (compare it with the published key)"
    return f"{SUMS}: signature good for {source}; every installer matches"


def _verify_digests(sums: Path) -> None:
    result = subprocess.run(["sha256sum", "--check", "--quiet", sums.name], cwd=sums.parent,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckError(f"{SUMS} does not match: {result.stdout.strip() or result.stderr.strip()}")


def check_macos(dist: Path) -> list[str]:
    app = dist / "FaceSeal.app"
    program = app / "Contents" / "MacOS" / "faceseal"
    if not program.is_file():
        raise CheckError(f"{program} is missing; run 'make package' first")
    signed = subprocess.run(["codesign", "--display", str(app)], capture_output=True, text=True).returncode == 0
    report = []
    if signed:
        verified = subprocess.run(["codesign", "--verify", "--deep", "--strict", str(app)], capture_output=True, text=True)
        if verified.returncode != 0:
            raise CheckError(f"codesign --verify failed: {verified.stderr.strip()}")
        report.append("FaceSeal.app: code signature valid")
    else:
        report.append("FaceSeal.app: not code-signed (Gatekeeper will ask; right-click > Open the first time)")
    with tempfile.TemporaryDirectory(prefix="faceseal-check-") as scratch:
        first = smoke_test(program, Path(scratch))
    report.append(f"FaceSeal.app: '{first}'; self-test passed")
    return report


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CheckError(f"{command[0]} failed: {result.stderr.strip()[-300:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/check.py", description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="what make package built (default dist/)")
    parser.add_argument("--public-key", type=Path, help="the release's minisign public key (Linux)")
    args = parser.parse_args(argv)
    try:
        if sys.platform == "darwin":
            report = check_macos(args.dist)
        elif sys.platform == "linux":
            report = check_linux(args.dist, args.public_key)
        else:
            raise CheckError(f"installers are checked on Linux or macOS, not on {sys.platform}")
    except CheckError as error:
        print(f"make package-check: error: {error}", file=sys.stderr)
        return 1
    for line in report:
        print(f"ok  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
