"""What ``make package-check`` and ``make check-fresh`` rely on to judge a bare Debian root (packaging/roots.py),
without making one (that needs root, the network and minutes: the checks themselves do it).

The window's check reads Xvfb's own screen: an empty screen must read as empty and one with a window as drawn, or
a window that never opens would pass. Here a real Xvfb shows a real Qt window.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roots import DEFAULT_MIRROR, MIN_COLOURS, mirror, save_screen, screen_colours


def test_the_roots_come_from_the_mirror_apt_already_uses(tmp_path: Path) -> None:
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    assert mirror(apt) == DEFAULT_MIRROR  # nothing configured
    (apt / "sources.list.d" / "a-security.sources").write_text(
        "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\n")
    (apt / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.org/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n")
    assert mirror(apt) == "http://mirror.example.org/debian"  # not the security archive, which has no suites
    (apt / "sources.list").write_text("# deb http://old.example.org/debian bookworm main\n"
                                      "deb [signed-by=/usr/share/keyrings/k.gpg] https://ftp.example.net/debian bookworm main\n")
    assert mirror(apt) == "https://ftp.example.net/debian"  # the one-line format, read first as apt does


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="xvfb is not installed (scripts/system-deps.sh installs it)")
def test_an_empty_screen_reads_empty_and_a_window_reads_drawn(tmp_path: Path) -> None:
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-fbdir",
                               str(tmp_path), "-nolisten", "tcp", "-br"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        display = f":{os.read(read, 16).decode().strip()}"
        screen = tmp_path / "Xvfb_screen0"
        assert screen_colours(screen.read_bytes()) == 1
        window = subprocess.Popen([sys.executable, "-c", (
            "from PySide6.QtWidgets import QApplication, QLabel; app = QApplication([]); "
            "label = QLabel('FaceSeal, drawn on Xvfb'); label.resize(400, 120); label.show(); app.exec()")],
            env={**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"})
        try:
            colours, deadline = 0, time.monotonic() + 60
            while colours < MIN_COLOURS and window.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
                colours = screen_colours(screen.read_bytes())
            assert colours >= MIN_COLOURS, f"a Qt window on the screen read as {colours} colours"
            save_screen(screen.read_bytes(), tmp_path / "shot.png")
            from PIL import Image

            with Image.open(tmp_path / "shot.png") as shot:
                assert shot.size == (640, 480) and len(shot.getcolors(1 << 16) or []) >= MIN_COLOURS
        finally:
            window.kill()
            window.wait()
    finally:
        os.close(read)
        server.terminate()
        server.wait()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to become another user")
@pytest.mark.parametrize("script", ["check.py", "fresh.py"])
def test_an_ordinary_user_is_told_in_one_line_that_roots_need_root(script: str, tmp_path: Path) -> None:
    """Both checks make, enter and mount roots; as an ordinary user they say so before doing anything."""
    from tests.conftest import REPO

    tmp_path.chmod(0o777)
    result = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable,
                             str(REPO / "packaging" / script), *(["--roots", "trixie"] if script == "check.py" else []),
                             *(["--dist", str(tmp_path)] if script == "check.py" else ["--out", str(tmp_path)])],
                            capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "needs Linux and root" in result.stderr and "sudo make" in result.stderr


@pytest.mark.skipif(not Path("/var/lib/dpkg/info/ca-certificates.postinst").exists(),
                    reason="needs Debian's ca-certificates installed")
def test_the_purge_check_counts_what_a_kept_packages_scripts_made_as_that_packages(tmp_path: Path) -> None:
    """libcurl (the TPM stack's) recommends ca-certificates, which apt keeps after the purge because the system's
    appstream recommends it too: its certificate links, its conf file and dpkg's record of its triggers are its own
    (read here from this machine's real ca-certificates scripts), never a pass for FaceSeal's files."""
    from check import _made_by_kept
    from roots import Root

    info = tmp_path / "var" / "lib" / "dpkg" / "info"
    info.mkdir(parents=True)
    for script in Path("/var/lib/dpkg/info").glob("ca-certificates.*"):
        shutil.copyfile(script, info / script.name)
    (tmp_path / "etc" / "ssl" / "certs").mkdir(parents=True)
    theirs = _made_by_kept(Root(tmp_path, "bookworm"), ["ca-certificates"], {"/etc/ssl/certs"})
    for made in ("/etc/ssl/certs/002c0b4f.0", "/etc/ca-certificates.conf",
                 "/var/lib/dpkg/triggers/update-ca-certificates",
                 "/var/lib/dpkg/triggers/update-ca-certificates-fresh"):
        assert made.startswith(theirs), made
    for faceseal in ("/opt/faceseal/faceseal", "/etc/faceseal.conf", "/usr/share/doc/faceseal/copyright",
                     "/var/lib/dpkg/triggers/faceseal"):
        assert not faceseal.startswith(theirs), faceseal
