"""Bare Debian systems to try FaceSeal in, as a new user's machine would be.

Our build and CI machines carry years of installed packages, so a .deb that
depends on a package they happen to have, or a bundle that needs a newer glibc
behaviour, looks fine there (issue 36: the window never started on Debian 13).
A root made with ``debootstrap --variant=minbase`` has only Debian's required
packages and apt: what it installs is what the package asks for.

A root is made once per suite from the mirror apt on this machine already uses
and cached under ``~/.cache/faceseal/roots/<suite>`` (``$XDG_CACHE_HOME``;
about a minute and 210 MB each); every check works in a throw-away copy of it,
so the cache stays bare. Making, entering and mounting roots needs root
(``chroot``, ``mount``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SUITES = {"bookworm": "Debian 12", "trixie": "Debian 13"}
"""The Debian releases FaceSeal's .deb is for: the oldest supported (where releases are built) and the current."""

DEFAULT_MIRROR = "http://deb.debian.org/debian"
TOOL_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER = "tester"
"""The ordinary user (no sudo unless a check grants it) the checks run FaceSeal as."""


class RootError(Exception):
    """A root could not be made or a command in it failed; the message says which and why."""


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "faceseal" / "roots"


def mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (deb822 ``.sources`` or one-line ``.list``), else deb.debian.org."""
    files = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        for uri in re.findall(r"^\s*(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", text, re.M):
            if re.fullmatch(r"https?://\S+/debian/?", uri):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def cached_root(suite: str) -> Path:
    """The bare root of ``suite``, made with debootstrap the first time (a half-made one is never used)."""
    if suite not in SUITES:
        raise RootError(f"unknown suite {suite!r}: one of {', '.join(SUITES)}")
    root = cache_folder() / suite
    if root.is_dir():
        return root
    debootstrap = shutil.which("debootstrap", path=TOOL_PATH)
    if debootstrap is None:
        raise RootError("debootstrap is not installed (apt-get install debootstrap)")
    partial = root.with_name(f"{suite}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["nice", "-n", "10", debootstrap, "--variant=minbase", suite, str(partial), mirror()],
                          capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise RootError(f"debootstrap {suite} failed: {(made.stderr or made.stdout).strip().splitlines()[-1:]}")
    partial.rename(root)
    return root


class Root:
    """A throw-away copy of a bare root, with /proc and /dev mounted, that commands run in through ``chroot``."""

    def __init__(self, path: Path, suite: str) -> None:
        self.path = path
        self.suite = suite

    def run(self, *command: str, user: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the root (as ``user``, or root) with a clean environment plus ``env``."""
        home = f"/home/{user}" if user else "/root"
        variables = {"PATH": TOOL_PATH, "HOME": home, "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
                     **({"USER": user, "LOGNAME": user} if user else {}), **(env or {})}
        spec = ["--userspec", f"{user}:{user}"] if user else []
        result = subprocess.run(["chroot", *spec, str(self.path), "/usr/bin/env", "-i",
                                 *(f"{k}={v}" for k, v in variables.items()), *command],
                                capture_output=True, text=True, timeout=timeout, cwd="/")
        if check and result.returncode != 0:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
            raise RootError(f"{SUITES[self.suite]}: '{' '.join(command)}' failed ({result.returncode}): "
                            f"{' / '.join(said)}")
        return result

    def start(self, *command: str, user: str | None = None, env: dict[str, str] | None = None,
              output: IO[str] | None = None) -> subprocess.Popen:
        """Start ``command`` in the root in the background, its output into ``output`` (else discarded)."""
        variables = {"PATH": TOOL_PATH, "HOME": f"/home/{user}" if user else "/root", **(env or {})}
        spec = ["--userspec", f"{user}:{user}"] if user else []
        return subprocess.Popen(["chroot", *spec, str(self.path), "/usr/bin/env", "-i",
                                 *(f"{k}={v}" for k, v in variables.items()), *command],
                                stdout=output or subprocess.DEVNULL, stderr=subprocess.STDOUT if output else
                                subprocess.DEVNULL, cwd="/")

    def apt_install(self, *packages: str) -> None:
        """``apt-get install`` without recommends, as a minimal system's administrator would."""
        self.run("apt-get", "install", "-y", "-q", "--no-install-recommends", *packages)

    def add_user(self, name: str = USER) -> str:
        self.run("useradd", "--create-home", "--shell", "/bin/bash", name)
        return name

    def packages(self) -> dict[str, str]:
        """Installed package -> version."""
        shown = self.run("dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n").stdout
        return {fields[1]: fields[2] for fields in (line.split() for line in shown.splitlines())
                if len(fields) == 3 and fields[0] == "ii"}

    def files(self, skip: tuple[str, ...]) -> set[str]:
        """Every path in the root (as seen from inside), except the files and folders in ``skip`` and what they hold."""
        found = set()
        for folder, dirs, names in os.walk(self.path):
            inside = "/" + os.path.relpath(folder, self.path).removeprefix(".").lstrip("/")
            dirs[:] = [d for d in dirs if os.path.join(inside, d) not in skip]
            found.update(path for path in (os.path.join(inside, name) for name in dirs + names) if path not in skip)
        return found


@contextlib.contextmanager
def scratch_root(suite: str) -> Iterator[Root]:
    """A copy of the cached bare root of ``suite`` with apt's lists fetched; unmounted and deleted afterwards."""
    if os.geteuid() != 0:
        raise RootError("trying the packages in bare Debian roots needs root (debootstrap, chroot, mount): "
                        "run it with sudo")
    bare = cached_root(suite)
    scratch = Path(tempfile.mkdtemp(prefix=f"faceseal-{suite}-", dir="/var/tmp"))
    path = scratch / "root"
    mounted: list[Path] = []
    try:
        copied = subprocess.run(["cp", "-a", "--reflink=auto", str(bare), str(path)], capture_output=True, text=True)
        if copied.returncode != 0:
            raise RootError(f"cannot copy {bare}: {copied.stderr.strip()}")
        shutil.copyfile("/etc/resolv.conf", path / "etc" / "resolv.conf")  # apt resolves the mirror's name
        (path / "etc" / "apt" / "sources.list").write_text(
            f"deb {mirror()} {suite} main\ndeb {mirror()} {suite}-updates main\n")
        for name, how in (("proc", ["-t", "proc", "proc"]), ("dev", ["--rbind", "/dev"])):
            subprocess.run(["mount", *how, str(path / name)], check=True, capture_output=True)
            mounted.append(path / name)
        subprocess.run(["mount", "--make-rslave", str(path / "dev")], check=True, capture_output=True)
        root = Root(path, suite)
        root.run("apt-get", "update", "-q")
        yield root
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-R", "--lazy", str(target)], capture_output=True)
        # --one-file-system: whatever happened above, never delete through a mount into the machine's own /dev
        subprocess.run(["rm", "-rf", "--one-file-system", str(scratch)], capture_output=True)
