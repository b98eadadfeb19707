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
import signal
import socket
import struct
import subprocess
import tempfile
import time
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

    def _chroot(self, command: tuple[str, ...], user: str | None, env: dict[str, str] | None) -> list[str]:
        """``chroot`` into the root as ``user`` (or root), with a clean environment plus ``env``."""
        variables = {"PATH": TOOL_PATH, "HOME": f"/home/{user}" if user else "/root", "LANG": "C.UTF-8",
                     "DEBIAN_FRONTEND": "noninteractive", **({"USER": user, "LOGNAME": user} if user else {}),
                     **(env or {})}
        spec = ["--userspec", f"{user}:{user}"] if user else []
        return ["chroot", *spec, str(self.path), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in variables.items()),
                *command]

    def run(self, *command: str, user: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the root (as ``user``, or root); a failure is refused naming it, unless not ``check``."""
        result = subprocess.run(self._chroot(command, user, env), capture_output=True, text=True, timeout=timeout,
                                cwd="/")
        if check and result.returncode != 0:
            said = (result.stderr.strip() or result.stdout.strip()).splitlines()[-3:]
            raise RootError(f"{SUITES[self.suite]}: '{' '.join(command)}' failed ({result.returncode}): "
                            f"{' / '.join(said)}")
        return result

    def start(self, *command: str, user: str | None = None, env: dict[str, str] | None = None,
              output: IO[str] | None = None) -> subprocess.Popen:
        """Start ``command`` in the root in the background, its output into ``output`` (else discarded), in a
        process group of its own, which :func:`stop` ends whole."""
        return subprocess.Popen(self._chroot(command, user, env), stdout=output or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT if output else subprocess.DEVNULL, cwd="/",
                                start_new_session=True)

    @contextlib.contextmanager
    def screen(self) -> Iterator[dict[str, str]]:
        """An X server in the root, as a desktop has one (Xvfb); yields the environment that shows windows on it."""
        server = self.start("Xvfb", DISPLAY, "-screen", "0", SCREEN[0], "-fbdir", str(Path(SCREEN[1]).parent),
                            "-nolisten", "tcp", "-br")
        try:
            deadline = time.monotonic() + 30
            while not (self.path / SCREEN[1].lstrip("/")).exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RootError(f"{SUITES[self.suite]}: Xvfb did not start")
                time.sleep(0.2)
            yield {"DISPLAY": DISPLAY}
        finally:
            stop(server)

    def window_shown(self, command: list[str], user: str, desktop: dict[str, str], shot: Path,
                     timeout: float) -> int:
        """Run ``command`` as ``user`` on :meth:`screen` until a window shows, save the screen to ``shot`` (PNG),
        then stop it; returns how many colours the screen showed. A command that ends first, or a screen that
        stays empty, is refused with the end of its output."""
        shot.parent.mkdir(parents=True, exist_ok=True)
        log = shot.with_suffix(".log")
        with open(log, "w") as output:
            process = self.start(*command, user=user, env=desktop, output=output)
        colours, deadline = 0, time.monotonic() + timeout
        framebuffer = self.path / SCREEN[1].lstrip("/")
        try:
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(2)
                colours = screen_colours(framebuffer.read_bytes())
                if colours >= MIN_COLOURS:
                    time.sleep(3)  # let the first page finish drawing before the picture is kept
                    drawn = framebuffer.read_bytes()
                    save_screen(drawn, shot)
                    return screen_colours(drawn)
        finally:
            stop(process)
        said = " / ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        if process.returncode is not None and process.returncode > 0:
            raise RootError(f"{SUITES[self.suite]}: '{' '.join(command)}' exited with {process.returncode}: {said}")
        raise RootError(f"{SUITES[self.suite]}: '{' '.join(command)}' showed no window in {timeout:.0f} s "
                        f"({colours} colours on the screen): {said}")

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


def stop(process: subprocess.Popen) -> None:
    """End a process :meth:`Root.start` started, with every process it started (``make run`` starts the window)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # what it left running


DISPLAY = ":99"
SCREEN = ("1280x800x24", "/tmp/Xvfb_screen0")
"""Xvfb's screen, and where ``-fbdir /tmp`` keeps its pixels as an XWD image, so no screenshot tool is needed."""
MIN_COLOURS = 16
"""A screen with a window drawn on it has hundreds of colours (anti-aliased text, the icon); Xvfb's empty screen
with ``-br`` has one."""


def _xwd(image: bytes) -> tuple[int, int, int, memoryview]:
    """Width, height, bytes per line and pixels (32-bit) of the XWD image Xvfb keeps its screen in."""
    header = struct.unpack(">25I", image[:100])
    size, width, height, bits, per_line, colours = header[0], header[4], header[5], header[11], header[12], header[19]
    if bits != 32:
        raise RootError(f"Xvfb's screen has {bits} bits per pixel, not 32")
    start = size + 12 * colours
    return width, height, per_line, memoryview(image[start:start + per_line * height])


def screen_colours(image: bytes) -> int:
    """How many colours an XWD screen image shows, every other pixel of every other row (1 for an empty screen)."""
    width, height, per_line, pixels = _xwd(image)
    return len({colour for row in range(0, height, 2)
                for colour in pixels[row * per_line:row * per_line + 4 * width].cast("I")[::2]})


def save_screen(image: bytes, shot: Path) -> None:
    """An XWD screen image as a PNG."""
    from PIL import Image  # in the .venv that runs the checks (matplotlib's dependency)

    width, height, per_line, pixels = _xwd(image)
    Image.frombuffer("RGBX", (width, height), bytes(pixels), "raw", "BGRX", per_line, 1).convert("RGB").save(shot)


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
        # the certificate authorities this machine adds to its own (a proxy's that re-signs HTTPS): once the root's
        # ca-certificates is installed it trusts them too, or pip could not reach PyPI from it
        local = path / "usr" / "local" / "share" / "ca-certificates"
        for certificate in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt")):
            local.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(certificate, local / certificate.name)
        # the installer writes the machine's name there; without it sudo warns on every call
        (path / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {socket.gethostname()}\n")
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
