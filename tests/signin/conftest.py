"""Face sign-in end to end: a real user account, the real agent running as that user, a real PAM stack.

CI runs as root, so the suite makes a user of its own (removed at the end), a
runtime folder for it as ``/run/user/<uid>`` would be, a PAM service file per
test module under /etc/pam.d (``faceseal-test-*``, removed at the end) and asks
it with ``pamtester``: the same path sudo takes. A generated video stands in for
the camera (``FACESEAL_AGENT_TEST_CAMERA``, honoured only in a test run).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO

USER_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
"""The Python the test user runs FaceSeal with: the suite's own may live in root's home, which no one else may
enter. The same minor version reads the same site-packages (PYTHONPATH below)."""
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)))
from tests.liveness.conftest import pipeline, videos  # noqa: F401 (the generated live and attack videos)


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("face sign-in tests make a user account and a PAM service file: they run as root (CI does)")
    for tool in ("pamtester", "useradd"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: 'make test' installs it (scripts/system-deps.sh)")


@dataclass
class SignInUser:
    """A user of the machine, with a FaceSeal data folder and a runtime folder of its own."""

    name: str
    uid: int
    gid: int
    base: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return self.base / "home"

    @property
    def runtime_base(self) -> Path:
        return self.base / "run"

    @property
    def socket(self) -> Path:
        return self.runtime_base / str(self.uid) / "faceseal" / "agent.sock"

    def env(self, **extra: str) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{SITE_PACKAGES}:{REPO}", "FACESEAL_HOME": str(self.home), "FACESEAL_MODELS": str(self.base / "models"),
                "XDG_RUNTIME_DIR": str(self.runtime_base / str(self.uid)), "XDG_CONFIG_HOME": str(self.base / "config"),
                "XDG_STATE_HOME": str(self.base / "state"),
                "HOME": str(self.base), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "LANG": "C.UTF-8",
                "QT_QPA_PLATFORM": "offscreen", **extra}

    def run(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        """``faceseal ARGS`` as this user."""
        return subprocess.run([str(USER_PYTHON), "-m", "app.launcher", *args], capture_output=True, text=True,
                              env=self.env(**extra), cwd=REPO, user=self.uid, group=self.gid, extra_groups=[],
                              timeout=300)

    def start_agent(self, video: Path | None, seed: int | None = None, *args: str,
                    bus: str | None = None) -> subprocess.Popen:
        """``faceseal agent run ARGS`` as this user, the video (if any) standing in for the camera, on the session
        bus at ``bus`` if given; returns once it listens."""
        extra = {"FACESEAL_TEST_RUN": "1"}
        if bus is not None:
            extra["DBUS_SESSION_BUS_ADDRESS"] = bus
        if video is not None:
            readable = self.base / video.name  # the session's media folder is root's alone
            shutil.copyfile(video, readable)
            os.chmod(readable, 0o644)
            extra["FACESEAL_AGENT_TEST_CAMERA"] = str(readable)
        if seed is not None:
            extra["FACESEAL_LIVENESS_SEED"] = str(seed)
        proc = subprocess.Popen([str(USER_PYTHON), "-m", "app.launcher", "agent", "run", *args],
                                env=self.env(**extra), cwd=REPO, user=self.uid, group=self.gid, extra_groups=[],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(proc)
        line = proc.stderr.readline()
        assert "listening at" in line, line + proc.stderr.read()
        return proc

    def stop_agents(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.processes.clear()


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in files:
            os.chown(os.path.join(root, name), uid, gid)


def _check_reachable(user: SignInUser) -> None:
    """The test user must be able to run FaceSeal from this checkout: say plainly when it cannot."""
    if not USER_PYTHON.exists():
        pytest.skip(f"{USER_PYTHON} is missing (Debian's python3): the test user needs a Python of its own")
    probe = subprocess.run([str(USER_PYTHON), "-c", "import numpy, onnxruntime, sqlcipher3, edge_core.cli.main"],
                           env=user.env(), cwd=REPO, user=user.uid, group=user.gid, extra_groups=[],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"another user cannot run FaceSeal from {REPO} and {SITE_PACKAGES} (a folder on the way is "
                    f"private?): {probe.stderr.strip().splitlines()[-1:]}")


@pytest.fixture(scope="session")
def signin_user(installed_models: Path) -> Iterator[SignInUser]:
    _need_root()
    name = f"fstest{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    entry = pwd.getpwnam(name)
    base = Path(tempfile.mkdtemp(prefix="faceseal-signin-"))
    os.chmod(base, 0o755)
    user = SignInUser(name, entry.pw_uid, entry.pw_gid, base)
    shutil.copytree(installed_models, base / "models")
    for folder in (base / "home", base / "config", base / "state", base / "run" / str(user.uid)):
        folder.mkdir(parents=True, mode=0o700)
    os.chmod(base / "run", 0o755)
    _chown_tree(base / "models", user.uid, user.gid)
    for folder in (base / "home", base / "config", base / "state", base / "run" / str(user.uid)):
        os.chown(folder, user.uid, user.gid)
    try:
        _check_reachable(user)
        yield user
    finally:
        user.stop_agents()
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def agent_user(signin_user: SignInUser) -> Iterator[SignInUser]:
    """The session's user with a fresh, empty data folder, a private runtime folder and no agent, for one test."""
    shutil.rmtree(signin_user.home, ignore_errors=True)
    shutil.rmtree(signin_user.socket.parent, ignore_errors=True)
    os.chmod(signin_user.socket.parent.parent, 0o700)
    signin_user.home.mkdir(mode=0o700)
    os.chown(signin_user.home, signin_user.uid, signin_user.gid)
    try:
        yield signin_user
    finally:
        signin_user.stop_agents()


@dataclass
class PamService:
    name: str
    file: Path

    def authenticate(self, user: str, *items: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """``pamtester SERVICE USER authenticate`` (``items``: ``rhost=…``, ``tty=…``), as sudo would."""
        args = ["pamtester", "-v"] + [x for item in items for x in ("-I", item)] + [self.name, user, "authenticate"]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def pam_service_with(helper: str) -> Iterator[PamService]:
    """A PAM service file of one test running ``helper`` (the command ``faceseal-pam`` is) ``sufficient``, then a
    refusal where a password would be asked; removed afterwards."""
    name = f"faceseal-test-{uuid.uuid4().hex[:8]}"
    file = Path("/etc/pam.d") / name
    file.write_text(f"auth sufficient pam_exec.so quiet stdout {helper}\nauth requisite pam_deny.so\n"
                    "account required pam_permit.so\n")
    try:
        yield PamService(name, file)
    finally:
        file.unlink(missing_ok=True)


@pytest.fixture
def pam_service(signin_user: SignInUser) -> Iterator[PamService]:
    """A PAM service of this test whose helper runs as root (sudo's case)."""
    yield from pam_service_with(f"{sys.executable} -m edge_core.agent.pam --runtime-base {signin_user.runtime_base} "
                                "--timeout 60")


def wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture
def user_bus(agent_user: SignInUser) -> Iterator[str]:
    """The test user's session bus: a real dbus-daemon running as that user. Unlike a desktop's, it lets any uid
    connect, so that another user reaching the agent is refused by the agent itself, not by the bus."""
    from tests.conftest import start_session_bus

    config = agent_user.base / "bus.conf"
    config.write_text(BUS_CONFIG.format(path=agent_user.runtime_base / str(agent_user.uid) / "bus"))
    bus, address = start_session_bus(agent_user.env(), config, user=agent_user.uid, group=agent_user.gid,
                                     extra_groups=[])
    try:
        assert address.startswith("unix:"), "dbus-daemon did not start"
        yield address
    finally:
        bus.terminate()
        bus.wait(timeout=10)
