"""Shared fixtures: every test gets its own data directory and, by default, no keychain.

Tests that need the OS keychain ask for ``secret_service``: a real
gnome-keyring-daemon on a private D-Bus session bus, unlocked with a known
password, with its own XDG data folder. Nothing touches the developer's keyring.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KEYRING_PASSWORD = "faceseal-test-password"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private data directory and no keychain unless a test asks for one."""
    home = tmp_path / "faceseal-home"
    monkeypatch.setenv("FACESEAL_HOME", str(home))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("FACESEAL_ROOT_KEY", "FACESEAL_CRASH_AT", "FACESEAL_CRASH_TRACE", "FACESEAL_MODELS"):
        monkeypatch.delenv(name, raising=False)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    return home


@dataclass
class SecretServiceDaemon:
    bus_address: str
    processes: list[subprocess.Popen]


@pytest.fixture(scope="session")
def secret_service_daemon() -> Iterator[SecretServiceDaemon]:
    """A real Secret Service: dbus-daemon + gnome-keyring-daemon, private to this test run."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run 'make test', which installs it (scripts/system-deps.sh)")
    root = Path(tempfile.mkdtemp(prefix="faceseal-keyring-"))
    env = dict(os.environ, HOME=str(root), XDG_DATA_HOME=str(root / "data"), XDG_RUNTIME_DIR=str(root / "run"),
               XDG_CONFIG_HOME=str(root / "config"))
    for sub in ("data", "run", "config"):
        (root / sub).mkdir(mode=0o700)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    address = bus.stdout.readline().strip()
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    daemon.stdin.write(KEYRING_PASSWORD.encode())
    daemon.stdin.close()
    _wait_for_secret_service(address)
    yield SecretServiceDaemon(address, [daemon, bus])
    for proc in (daemon, bus):
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _wait_for_secret_service(address: str) -> None:
    import time

    import secretstorage

    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    deadline = time.monotonic() + 20
    while True:
        try:
            with secretstorage.dbus_init() as conn:
                collection = secretstorage.get_default_collection(conn)
                if not collection.is_locked():
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


@pytest.fixture
def secret_service(secret_service_daemon: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretServiceDaemon]:
    """Make the real Secret Service the keychain for this test (and its subprocesses)."""
    from keyring.backends import SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_daemon.bus_address)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.set_keyring(SecretService.Keyring())
    yield secret_service_daemon
    keychain_items(delete=True)


def keychain_items(delete: bool = False) -> dict[str, str]:
    """Every FaceSeal entry in the Secret Service, read with secretstorage directly (not via FaceSeal)."""
    import secretstorage

    found = {}
    with secretstorage.dbus_init() as conn:
        for item in secretstorage.get_default_collection(conn).search_items({"service": "faceseal"}):
            found[item.get_attributes()["username"]] = item.get_secret().decode()
            if delete:
                item.delete()
    return found


def run_cli(*args: str, input: str | None = None, extra_env: dict[str, str] | None = None,
            check_clean: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``faceseal`` command in a subprocess with the test's environment."""
    env = dict(os.environ, **(extra_env or {}))
    result = subprocess.run([sys.executable, "-m", "app.launcher", *args], capture_output=True, text=True,
                            input=input, env=env, cwd=REPO, timeout=300)
    if check_clean:
        assert "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) <= 1, result.stderr
    return result


def cli_json(*args: str, code: int = 0) -> dict:
    """Run ``faceseal ... --json``, check its exit code, and return the parsed answer."""
    result = run_cli(*args, "--json")
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout)


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes: to prove nothing was changed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def installed_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The open and scrfd packs, installed once per session from ../shared/models as an offline machine would."""
    from edge_core.biometrics import install_pack

    source = shared_or_skip("models")
    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(root))
        for name in ("open", "scrfd"):
            install_pack(name, source)
    return root


@pytest.fixture
def models_env(installed_models: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FACESEAL_MODELS at the session's installed packs for one test."""
    monkeypatch.setenv("FACESEAL_MODELS", str(installed_models))
    return installed_models


@pytest.fixture
def empty_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models folder of this test's own: no pack is installed."""
    root = tmp_path / "models"
    monkeypatch.setenv("FACESEAL_MODELS", str(root))
    return root


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared models and photos live beside the repository in ../shared")
    return path
