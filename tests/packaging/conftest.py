"""The installers as a user gets them: built ONCE per test run (the real ``packaging/build.py``, what ``make
package`` runs), in the background from the moment the tests are collected, by one process even when pytest-xdist
runs several; then each unpacked the way its package manager would.

The build bundles the open pack from ../shared/models when that folder is there
and signs SHA256SUMS with a throw-away minisign key made for the session.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED

sys.path.insert(0, str(REPO / "packaging"))  # the packaging modules import each other by name

TOOLS = ("dpkg-deb", "ldd", "rpmbuild", "rpm2cpio", "cpio", "minisign", "icupkg", "genccode", "strip", "ld", "gcc",
         "man", "patchelf")


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


def _run_folder(config: pytest.Config) -> Path:
    """This run's installers folder: with pytest-xdist, beside the workers' own temporary folders, so one for all."""
    base = config._tmp_path_factory.getbasetemp()  # what the tmp_path_factory fixture hands out
    folder = (base.parent if hasattr(config, "workerinput") else base) / "installers"
    folder.mkdir(exist_ok=True)
    return folder


class _Build:
    """The installers built once per run, under a lock beside them: the first process to take it builds (in a
    thread, while its tests go on), any other waits for the lock and reads what the build left."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.outcome = folder / "outcome.json"
        self.process: subprocess.Popen[str] | None = None
        self._lock = open(folder / "build.lock", "w")  # noqa: SIM115 - held while the build runs
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Build in the background if no other process builds or has built."""
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another worker builds
        self._thread = threading.Thread(target=self._build_then_unlock, name="installers", daemon=True)
        self._thread.start()

    def wait(self) -> dict:
        """What the build printed and its exit code, once it is done (built here if nobody started it)."""
        if self._thread is not None:
            self._thread.join()
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # returns once another worker's build has ended
        if not self.outcome.exists():
            self._build()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        return json.loads(self.outcome.read_text())

    def finish(self, interrupted: bool) -> None:
        """The session ends: a build cut short with the run is stopped, never left behind; otherwise it is waited
        for, as another worker may still need it."""
        if interrupted and self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self._thread is not None:
            self._thread.join()

    def _build_then_unlock(self) -> None:
        try:
            if not self.outcome.exists():
                self._build()
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def _build(self) -> None:
        """The real packaging/build.py, what ``make package`` runs; its exit code and output go to outcome.json."""
        scratch = self.folder
        subprocess.run(["minisign", "-G", "-W", "-p", str(scratch / "release.pub"), "-s",
                        str(scratch / "release.key")], check=True, capture_output=True)
        command = [sys.executable, str(REPO / "packaging" / "build.py"), "--dist", str(scratch / "dist"),
                   "--work", str(scratch / "work"), "--signing-key", str(scratch / "release.key"),
                   "--fast-compression"]  # the same files; xz -9 would add minutes to every test session
        if (SHARED / "models").is_dir():
            command += ["--models", str(SHARED / "models")]
        # as isolated as a test's own environment (tests/conftest.py): the build starts before any test does
        env = {name: value for name, value in os.environ.items() if not name.startswith("FACESEAL_")}
        env.update(FACESEAL_HOME=str(scratch / "home"), XDG_CONFIG_HOME=str(scratch / "config"),
                   XDG_STATE_HOME=str(scratch / "state"),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
        began = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        cwd=REPO, env=env)
        try:
            stdout, stderr = self.process.communicate(timeout=2400)
        except subprocess.TimeoutExpired:
            self.process.kill()
            stdout, stderr = self.process.communicate()
            stderr += "\nthe build did not finish within 40 minutes"
        shutil.rmtree(scratch / "work", ignore_errors=True)
        shutil.rmtree(scratch / "dist" / "faceseal", ignore_errors=True)  # the unpacked packages are what is tested
        said = {"returncode": self.process.returncode, "stdout": stdout, "stderr": stderr,
                "seconds": round(time.monotonic() - began)}  # what the build took, for docs/PERFORMANCE.md
        partial = self.outcome.with_suffix(".partial")
        partial.write_text(json.dumps(said))
        partial.replace(self.outcome)


_BUILD: _Build | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the tests are collected, start building the installers if any of them needs them: the build runs beside
    the tests that come first instead of holding up the first that needs it (with pytest-xdist, in the first worker
    to get here; the others wait for it, never build again)."""
    global _BUILD
    if session.config.option.collectonly:
        return
    if _cannot_build() is None and any("built" in getattr(item, "fixturenames", ()) for item in session.items):
        _BUILD = _Build(_run_folder(session.config))
        _BUILD.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _BUILD is not None:
        _BUILD.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)


@pytest.fixture(scope="session")
def built(pytestconfig: pytest.Config) -> Built:
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    build = _BUILD or _Build(_run_folder(pytestconfig))
    said = build.wait()
    assert said["returncode"] == 0, said["stderr"][-4000:]
    artefacts = [Path(line) for line in said["stdout"].strip().splitlines()[-5:]]
    by_name = {path.suffix or path.name: path for path in artefacts}
    return Built(dist=build.folder / "dist", deb=by_name[".deb"], rpm=by_name[".rpm"], sums=by_name["SHA256SUMS"],
                 signature=by_name[".minisig"], public_key=build.folder / "release.pub",
                 bundled_models=(SHARED / "models").is_dir())


@pytest.fixture(scope="session", params=["deb", "rpm"])
def installed(request: pytest.FixtureRequest, built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    from check import unpack

    package = built.deb if request.param == "deb" else built.rpm
    root = unpack(package, tmp_path_factory.mktemp(f"root-{request.param}"))
    return Installed(package, root, built.bundled_models)
