"""``make check-fresh``: README's two commands on a machine that has nothing, as a new contributor runs them.

Our machines already have what the set-up forgets (g++, python3-dev, a Python
outside /usr/lib, /usr/sbin on root's PATH), so a missing package or an
ordinary user's PATH never shows in ``make test`` there (issue 36). Here the
committed repository is cloned into a bare Debian root (packaging/roots.py),
with only what a person has who cloned it: git, make and sudo (their own
password asked by nobody: ``NOPASSWD``), and an X server standing in for their
desktop. As that ordinary user: ``make run`` must open the window (its
screenshot is kept), then ``make test`` must pass; each one's output is kept
beside the screenshot. The models and the labelled photos come from
``../shared`` as on our machines (``--shared ''``: none, as someone who has
neither; the tests that need them then skip).

Needs root (debootstrap, chroot, mount) and the network (apt, PyPI); the set-up
and then the whole suite, from nothing, on two cores: far too slow for every CI
run (docs/PACKAGING.md has the times measured). Run it before a release, and
after changing scripts/system-deps.sh, the Makefile's set-up or the supported
Debian releases (docs/PACKAGING.md).

Usage: python packaging/fresh.py [--suite SUITE] [--shared DIR] [--tests ARGS] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import roots  # packaging/*.py, beside this script

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 40 * 60  # packages, the venv and its wheels from PyPI, then the window
TEST_TIMEOUT_S = 4 * 60 * 60
CONTRIBUTOR = ("git", "make", "sudo", "ca-certificates")
"""What someone who cloned the repository has; everything else must come from README's two commands."""
SHARED = ("models", "faces")
"""What of ``../shared`` the set-up and the tests read: the model packs and the labelled photos."""


class FreshError(Exception):
    """A step failed on the fresh machine; the message says which and why."""


def check_fresh(suite: str, shared: Path | None, tests: str, out: Path) -> list[str]:
    """Clone the committed repository into a bare ``suite`` root and run ``make run`` and ``make test`` there as an
    ordinary user with sudo; returns what passed, one line each."""
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    commit = _git("rev-parse", "--short", "HEAD")
    report = []
    with roots.scratch_root(suite) as root:
        root.apt_install(*CONTRIBUTOR, "xvfb")  # xvfb: the desktop's X server
        user = root.add_user()
        (root.path / "etc" / "sudoers.d" / user).write_text(f"{user} ALL=(ALL) NOPASSWD: ALL\n")
        (root.path / "etc" / "sudoers.d" / user).chmod(0o440)
        home = root.path / "home" / user
        cloned = subprocess.run(["git", "clone", "--quiet", "--branch", branch, str(REPO), str(home / "faceseal")],
                                capture_output=True, text=True)
        if cloned.returncode != 0:
            raise FreshError(f"git clone failed: {cloned.stderr.strip()}")
        if shared is not None:
            (home / "shared").mkdir()
            for part in SHARED:
                if (shared / part).is_dir():
                    subprocess.run(["cp", "-a", str(shared / part), str(home / "shared" / part)], check=True)
        root.run("chown", "-R", f"{user}:{user}", f"/home/{user}")
        name = roots.SUITES[suite]
        # pip carries its own list of authorities: told to use the system's where this machine's pip is told so
        network = {"PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"} if os.environ.get("PIP_CERT") else {}
        began = time.monotonic()
        with root.screen() as desktop:
            colours = root.window_shown(["make", "-C", f"/home/{user}/faceseal", "run"], user, desktop | network,
                                        out / "make-run.png", RUN_TIMEOUT_S)
        report.append(f"{name}, {branch} at {commit}, user {user}: 'make run' opened the window in "
                      f"{time.monotonic() - began:.0f} s ({colours} colours, {out / 'make-run.png'})")
        began = time.monotonic()
        log = out / "make-test.log"
        with open(log, "w") as output:
            process = root.start("make", "-C", f"/home/{user}/faceseal", "test", *([f"TESTS={tests}"] if tests else []),
                                 user=user, env=network, output=output)
            try:
                process.wait(timeout=TEST_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                raise FreshError(f"{name}: 'make test' did not end within {TEST_TIMEOUT_S // 3600} h ({log})") from None
            finally:
                roots.stop(process)
        said = log.read_text(errors="replace").strip().splitlines()
        # pytest's last "==== 69 passed in 293.02s ====" line, else make's last word
        summary = next((line.strip("= ") for line in reversed(said) if re.fullmatch(r"=+ .* =+", line)),
                       said[-1] if said else "no output")
        if process.returncode != 0:
            raise FreshError(f"{name}: 'make test{f' TESTS={tests}' if tests else ''}' failed ({process.returncode}): "
                             f"{summary} ({log})")
        report.append(f"{name}: 'make test{f' TESTS={tests}' if tests else ''}' passed in "
                      f"{time.monotonic() - began:.0f} s: {summary} ({log})")
    return report


def _git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise FreshError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="packaging/fresh.py", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="trixie", choices=sorted(roots.SUITES), help="the Debian release "
                        "(default trixie, Debian 13)")
    shared = REPO.parent / "shared"
    parser.add_argument("--shared", type=lambda text: Path(text) if text else None,
                        default=shared if shared.is_dir() else None,
                        help="whose models/ and faces/ are copied beside the clone as ../shared ('' for none)")
    parser.add_argument("--tests", default="", help="what 'make test' runs instead of the whole suite (TESTS=)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "check-fresh",
                        help="where the screenshot and the logs go (default build/check-fresh/)")
    args = parser.parse_args(argv)
    try:
        if sys.platform != "linux" or os.geteuid() != 0:
            raise FreshError("a bare Debian root needs Linux and root (debootstrap, chroot, mount): "
                             "run 'sudo make check-fresh'")
        if args.shared is not None and not args.shared.is_dir():
            raise FreshError(f"the shared folder {args.shared} does not exist")
        args.out.mkdir(parents=True, exist_ok=True)
        for line in check_fresh(args.suite, args.shared, args.tests, args.out.resolve()):
            print(f"ok  {line}", flush=True)
    except (FreshError, roots.RootError) as error:
        print(f"make check-fresh: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
