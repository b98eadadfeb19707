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

``--roots bookworm trixie`` (what ``make package-check`` passes, as root): the
.deb is installed with apt into a bare root of each suite (packaging/roots.py),
as README tells users to; there, as an ordinary user, ``--version``,
``self-test`` and the window on Xvfb, whose screen must show it (its screenshot
is kept), then ``key move-to-tpm`` into a software TPM and the vault opened
through it with the bundle's TPM stack; the AppStream metainfo is validated by
that release's appstreamcli; then ``apt-get purge`` and ``autoremove`` must
leave no file of FaceSeal and remove or change nothing that was there before.

Usage: python packaging/check.py [--dist DIR] [--public-key FILE] [--roots SUITE...] [--screenshots DIR];
exit 0 when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import roots  # packaging/*.py, beside this script
from release import SUMS, ReleaseError, verify
from soft_tpm import SoftTpmError, software_tpm

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


Start = Callable[..., subprocess.CompletedProcess]
"""``start(*args)`` runs the installed ``faceseal ARGS`` as its user would, each time with the same home."""


def smoke_test(start: Start, label: str) -> str:
    """``--version`` and ``self-test`` of an installed program; returns the first line of ``--version``."""
    version = start("--version")
    if version.returncode != 0:
        raise CheckError(f"{label} --version failed: {version.stderr.strip()[-300:]}")
    fields = dict(line.split(": ", 1) for line in version.stdout.splitlines()[1:] if ": " in line)
    pack = fields.get("model pack", "")
    if pack.endswith("(not installed)"):
        # A bundled pack whose licence notice asks for consent counts only once accepted (the installer never
        # accepts for the user): the builder accepts it in this throw-away home so the self-test runs the models.
        start("models", "install", pack.split()[0], "--accept-licence", "--json")
    selftest = start("self-test", "--json")
    try:
        result = json.loads(selftest.stdout).get("result")
    except json.JSONDecodeError:
        result = None
    if selftest.returncode != 0 or result != "passed":
        raise CheckError(f"{label} self-test did not pass: {(selftest.stderr or selftest.stdout).strip()[-300:]}")
    return version.stdout.splitlines()[0]


def listed_packages(dist: Path) -> list[Path]:
    """The installers ``SHA256SUMS`` lists in ``dist``: a .deb and an .rpm, both there."""
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
    return packages


def check_linux(dist: Path, public_key: Path | None) -> list[str]:
    packages = listed_packages(dist)
    report = [_check_sums(dist / SUMS, public_key)]
    with tempfile.TemporaryDirectory(prefix="faceseal-check-") as scratch:
        for package in packages:
            root = unpack(package, Path(scratch) / package.suffix[1:])
            program, home = root / "opt" / "faceseal" / "faceseal", Path(scratch) / f"home-{package.suffix[1:]}"
            first = smoke_test(lambda *args: run_installed(program, home, *args), str(program))
            page = root / "usr" / "share" / "man" / "man1" / "faceseal.1.gz"
            rendered = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                                      env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
            if rendered.returncode != 0 or "faceseal" not in rendered.stdout:
                raise CheckError(f"man -l cannot render the man page of {package.name}")
            report.append(f"{package.name}: unpacked; '{first}'; self-test passed; man page renders")
            shutil.rmtree(root)
    return report


VOLATILE = ("/proc", "/dev", "/sys", "/run", "/tmp", "/var/tmp", "/var/cache", "/var/log", "/var/lib/apt",
            "/var/lib/dpkg/statoverride", "/var/lib/dpkg/statoverride-old", f"/home/{roots.USER}")
"""What is left out when a root's files are compared before installing and after purging: what apt and dpkg keep
of their own work (dbus's postinst has dpkg record its helper's mode), and the user's home (the window wrote the
user's data there, which no purge touches)."""
WINDOW_TIMEOUT_S = 90


def check_in_root(deb: Path, suite: str, shots: Path) -> str:
    """Install ``deb`` with apt into a bare root of ``suite``; as an ordinary user run ``--version``, ``self-test``
    and the window on Xvfb (its screenshot goes into ``shots``), then move the root into a TPM
    (:func:`root_into_tpm`); purge it and check the root is as it was."""
    name = roots.SUITES[suite]
    with roots.scratch_root(suite) as root:
        # the screen, as a desktop has one, and the release's own AppStream validator: there before FaceSeal comes
        root.apt_install("xvfb", "appstream")
        user = root.add_user()
        packages, files = root.packages(), root.files(VOLATILE)
        shutil.copyfile(deb, root.path / "tmp" / deb.name)
        root.run("apt-get", "install", "-y", "-q", f"/tmp/{deb.name}")  # as README says: apt pulls what it needs
        pulled = len(root.packages()) - len(packages) - 1
        metainfo = root.run("appstreamcli", "validate", "--no-net", "/usr/share/metainfo/faceseal.metainfo.xml",
                            check=False)
        if metainfo.returncode != 0:
            raise CheckError(f"{name}: appstreamcli validate refuses the metainfo: {metainfo.stdout.strip()[-300:]}")
        with root.screen() as desktop:
            first = smoke_test(lambda *args: root.run("faceseal", *args, user=user, env=desktop, check=False),
                               f"{name}: faceseal")
            colours = root.window_shown(["faceseal"], user, desktop, shots / f"{suite}.png", WINDOW_TIMEOUT_S)
            # last: the window above opens the vault with the root this system offers, not a TPM
            tpm = root_into_tpm(lambda *args, **env: root.run("faceseal", *args, user=user, env=desktop | env,
                                                              check=False), name, "/opt/faceseal/_internal")
        root.run("apt-get", "purge", "-y", "-q", "faceseal")
        root.run("apt-get", "autoremove", "--purge", "-y", "-q")  # what apt pulled in for it, as a user would
        kept = _same_system(root, packages, files)
    return (f"{deb.name} on bare {name}: apt installed it and {pulled} packages it needs; metainfo valid; "
            f"as user {user} '{first}', self-test passed, the window drew {colours} colours "
            f"({shots / f'{suite}.png'}); {tpm}; "
            "purged and autoremoved: nothing of FaceSeal left, nothing else removed"
            + (f" (apt kept {', '.join(kept)}: the system's own packages recommend them)" if kept else ""))


def root_into_tpm(start: Start, label: str, internal: str) -> str:
    """As a user whose machine has a TPM: ``--version`` names tpm2-pytss, ``key move-to-tpm`` moves the root into a
    software TPM (:func:`soft_tpm.software_tpm`) and the vault opens through it, with the TPM stack and the transport
    module of the bundle's ``internal`` folder (read from the loader's ``LD_DEBUG`` trace), not a system copy."""
    try:
        with software_tpm() as tcti:
            reach = {"FACESEAL_TPM_TCTI": tcti}
            version = start("--version")
            if "\ntpm2-pytss: " not in version.stdout:
                raise CheckError(f"{label} --version names no tpm2-pytss: the TPM root is not in the package")
            start("status", "--json")  # the vault, made with the root this system offers first
            moved = start("key", "move-to-tpm", "--json", **reach)
            if moved.returncode != 0:
                raise CheckError(f"{label} key move-to-tpm failed: {moved.stderr.strip()[-300:]}")
            opened = start("status", "--json", **reach, LD_DEBUG="files")
            try:
                store = json.loads(opened.stdout)["root_key"]["store"]
            except (json.JSONDecodeError, KeyError):
                store = None
            if opened.returncode != 0 or store != "tpm":
                raise CheckError(f"{label} status after the move: root in {store}: {opened.stderr.strip()[-300:]}")
    except SoftTpmError as error:
        raise CheckError(str(error)) from None
    loaded = sorted(set(re.findall(r"(/\S*libtss2-[\w-]+\.so[.\d]*)", opened.stderr)))
    if f"{internal}/libtss2-tcti-swtpm.so.0" not in loaded or any(not p.startswith(f"{internal}/") for p in loaded):
        raise CheckError(f"{label} loaded a TPM stack other than the bundle's: {', '.join(loaded) or 'none'}")
    return (f"the root moved into a software TPM and the vault opened through it "
            f"({len(loaded)} libtss2 files of the bundle)")


def _same_system(root: roots.Root, packages: dict[str, str], files: set[str]) -> list[str]:
    """Refuse a purge that left FaceSeal's files behind or took away or changed what was there before; returns
    what apt kept of what it pulled in (packages the system's own recommend, which ``autoremove`` keeps)."""
    after = root.packages()
    changed = [f"package {p} {'removed' if p not in after else 'changed'}"
               for p in sorted(packages) if after.get(p) != packages[p]]
    kept = sorted(set(after) - set(packages))
    if "faceseal" in kept:
        raise CheckError(f"{roots.SUITES[root.suite]}: faceseal is still installed after 'apt-get purge faceseal'")
    owned = {path for package in kept for path in root.run("dpkg-query", "-L", package).stdout.splitlines()}
    now = root.files(VOLATILE)
    info = tuple(f"/var/lib/dpkg/info/{package}{sep}" for package in kept for sep in ".:")  # dpkg's record of them
    theirs = info + _made_by_kept(root, kept, owned - files)
    changed += [f"{path} left" for path in sorted(now - files - owned) if not path.startswith(theirs)]
    changed += [f"{path} removed" for path in sorted(files - now)]
    if changed:
        raise CheckError(f"{roots.SUITES[root.suite]}: after 'apt-get purge faceseal' the system is not as it was: "
                         f"{', '.join(changed[:12])}{' ...' if len(changed) > 12 else ''}")
    return kept


def _made_by_kept(root: roots.Root, kept: list[str], new_owned: set[str]) -> tuple[str, ...]:
    """What the kept packages' own scripts made when they were configured, which is theirs as their files are: the
    inside of a folder one of them brought (ca-certificates, which libcurl recommends, links every certificate into
    the /etc/ssl/certs it brings), the files their maintainer scripts name (its /etc/ca-certificates.conf) and dpkg's
    record of the triggers they are interested in (/var/lib/dpkg/triggers/update-ca-certificates)."""
    folders = tuple(f"{path}/" for path in new_owned if (root.path / path.lstrip("/")).is_dir())
    control = [script for package in kept for script in (root.path / "var/lib/dpkg/info").glob(f"{package}[.:]*")]
    scripts = "".join(script.read_text(errors="replace") for script in control
                      if script.suffix in (".postinst", ".config"))
    triggers = "".join(script.read_text(errors="replace") for script in control if script.suffix == ".triggers")
    named = re.findall(r"(/etc/[\w./-]+\w)", scripts)
    named += [f"/var/lib/dpkg/triggers/{name}" for name in re.findall(r"^\s*interest\S*\s+(\S+)", triggers, re.M)]
    return folders + tuple(named)


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
        first = smoke_test(lambda *args: run_installed(program, Path(scratch), *args), str(program))
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
    parser.add_argument("--roots", nargs="*", default=[], choices=sorted(roots.SUITES), metavar="SUITE",
                        help="also install the .deb with apt into bare roots of these Debian suites, as root "
                        f"({', '.join(f'{k}: {v}' for k, v in roots.SUITES.items())})")
    parser.add_argument("--screenshots", type=Path, default=REPO / "build" / "package-check",
                        help="where the window's screenshots from the roots go (default build/package-check/)")
    args = parser.parse_args(argv)
    try:
        if args.roots and (sys.platform != "linux" or os.geteuid() != 0):
            raise CheckError("installing the .deb into bare Debian roots needs Linux and root (debootstrap, chroot, "
                             "mount): run 'sudo make package-check', or 'make package-check ROOTS=' to skip it")
        if sys.platform == "darwin":
            report = check_macos(args.dist)
        elif sys.platform == "linux":
            report = check_linux(args.dist, args.public_key)
        else:
            raise CheckError(f"installers are checked on Linux or macOS, not on {sys.platform}")
        for line in report:
            print(f"ok  {line}", flush=True)
        for suite in args.roots:
            deb = next(p for p in listed_packages(args.dist) if p.suffix == ".deb")
            print(f"ok  {check_in_root(deb, suite, args.screenshots)}", flush=True)
    except (CheckError, roots.RootError) as error:
        print(f"make package-check: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
