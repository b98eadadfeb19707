"""Shared fixtures: every test gets its own data directory and, by default, no keychain.

Tests that need the OS keychain ask for ``secret_service``: a real
gnome-keyring-daemon on a private D-Bus session bus, unlocked with a known
password, with its own XDG data folder. Nothing touches the developer's keyring.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _packaging_module(name: str):
    """A module of packaging/ (they import each other by name, outside any package), loaded once under its name."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "packaging" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
KEYRING_PASSWORD = "faceseal-test-password"
COMPILED = ("edge_core", "app", "faceseal_collector", "tests")
"""The packages every ``faceseal`` (or helper) subprocess of the tests imports from this tree."""


def pytest_configure(config: pytest.Config) -> None:
    """Write the tree's bytecode once, before any test starts a ``faceseal`` subprocess (issue 28).

    With ``PYTHONDONTWRITEBYTECODE`` set, as it is on this project's machines, Python never caches the
    tree's modules, so each of the suite's thousands of subprocesses compiled all of FaceSeal from source again:
    a quarter of a second of CPU per start, a third of its import time. ``compileall`` writes the caches whatever
    that variable says; a module changed later is compiled afresh as usual (its cache no longer matches the
    source). Done by the controlling process only: pytest-xdist's workers start after it.
    """
    if hasattr(config, "workerinput"):
        return
    import compileall

    for package in COMPILED:
        compileall.compile_dir(REPO / package, quiet=1)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private data directory and no keychain unless a test asks for one."""
    home = tmp_path / "faceseal-home"
    monkeypatch.setenv("FACESEAL_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # FaceSeal's trusted-module list lives there
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the rollback anchors of files-rooted vaults
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for name in ("FACESEAL_ROOT_KEY", "FACESEAL_CRASH_AT", "FACESEAL_CRASH_TRACE", "FACESEAL_MODELS", "FACESEAL_TPM_TCTI",
                 "FACESEAL_TPM_PIN"):
        monkeypatch.delenv(name, raising=False)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    return home


@dataclass
class SecretServiceDaemon:
    bus_address: str
    processes: list[subprocess.Popen]
    root: Path

    def stop(self) -> None:
        for proc in self.processes:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class SecretServiceNotReady(Exception):
    """The daemon came up without an unlocked default collection; carries what it printed."""


@pytest.fixture(scope="session")
def secret_service_daemon() -> Iterator[SecretServiceDaemon]:
    """A real Secret Service: dbus-daemon + gnome-keyring-daemon, private to this test run.

    One CI run saw gnome-keyring-daemon come up on the bus without the login
    collection its ``--unlock`` should have created (the default alias pointed
    at nothing), so every keychain test failed. Such a start is thrown away and
    a fresh daemon started, at most three times; what the daemon printed is kept
    and shown if it never comes up.
    """
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run 'make test', which installs it (scripts/system-deps.sh)")
    failures = []
    for _ in range(3):
        daemon = _start_secret_service()
        try:
            _wait_for_secret_service(daemon)
        except SecretServiceNotReady as exc:
            failures.append(str(exc))
            daemon.stop()
            continue
        if failures:  # shown in pytest's warnings summary, so a flaky start is seen, not hidden
            warnings.warn(f"Secret Service needed {len(failures) + 1} starts; the failed ones said: "
                          + " | ".join(failures), stacklevel=1)
        yield daemon
        daemon.stop()
        return
    pytest.fail("gnome-keyring-daemon never offered an unlocked default collection:\n" + "\n".join(failures))


def _start_secret_service() -> SecretServiceDaemon:
    root = Path(tempfile.mkdtemp(prefix="faceseal-keyring-"))
    env = dict(os.environ, HOME=str(root), XDG_DATA_HOME=str(root / "data"), XDG_RUNTIME_DIR=str(root / "run"),
               XDG_CONFIG_HOME=str(root / "config"))
    for name in ("GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)  # never reach a real desktop's keyring or show a prompt on a real screen
    for sub in ("data", "run", "config"):
        (root / sub).mkdir(mode=0o700)
    bus, env["DBUS_SESSION_BUS_ADDRESS"] = start_session_bus(env)
    with open(root / "daemon.log", "wb") as log:
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
        )
    daemon.stdin.write(KEYRING_PASSWORD.encode())
    daemon.stdin.close()
    # In the foreground the daemon closes its stdout once initialised (login keyring made, name on the bus).
    _read_until_closed(daemon.stdout, seconds=20)
    return SecretServiceDaemon(env["DBUS_SESSION_BUS_ADDRESS"], [daemon, bus], root)


def start_session_bus(env: dict[str, str], config: Path | None = None, **popen) -> tuple[subprocess.Popen, str]:
    """A real dbus-daemon (the session bus, or the bus ``config`` describes) and its address; ``popen``: as whom."""
    where = ["--config-file", str(config)] if config else ["--session"]
    bus = subprocess.Popen(["dbus-daemon", *where, "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True, **popen)
    return bus, bus.stdout.readline().strip()


def _read_until_closed(stream, seconds: float) -> None:
    """Read ``stream`` until its writer closes it or ``seconds`` pass (then the wait below reports why)."""
    import select
    import time

    deadline = time.monotonic() + seconds
    with stream:
        while (left := deadline - time.monotonic()) > 0:
            if select.select([stream], [], [], left)[0] and not os.read(stream.fileno(), 4096):
                return


def _wait_for_secret_service(daemon: SecretServiceDaemon) -> None:
    """Return once the default collection exists and is unlocked, or raise :class:`SecretServiceNotReady`.

    The collection is looked up, never created: creating one asks for a prompt
    that nobody can answer here, and a dismissed prompt hides the real fault.
    """
    import time

    import secretstorage
    from secretstorage.collection import Collection

    os.environ["DBUS_SESSION_BUS_ADDRESS"] = daemon.bus_address
    deadline = time.monotonic() + 10
    last = ""
    while time.monotonic() < deadline and all(proc.poll() is None for proc in daemon.processes):
        try:
            with secretstorage.dbus_init() as conn:
                if not Collection(conn).is_locked():
                    return
                last = "the default collection is locked"
        except Exception as exc:  # anything the bus says before the collection is there
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    said = (daemon.root / "daemon.log").read_text(errors="replace").strip() or "(nothing)"
    codes = [proc.poll() for proc in daemon.processes]
    raise SecretServiceNotReady(f"last answer: {last}; exit codes (keyring, bus): {codes}; the daemon printed: {said}")


@pytest.fixture
def secret_service(secret_service_daemon: SecretServiceDaemon, monkeypatch: pytest.MonkeyPatch,
                   request: pytest.FixtureRequest) -> Iterator[SecretServiceDaemon]:
    """Make the real Secret Service the keychain for this test (and its subprocesses).

    One CI run found the worker's daemon with its login collection locked a quarter of the way in (as a
    daemon that died and was started again by D-Bus activation would be: no password unlocks it), and every
    later keychain test on that worker failed. Such a daemon is replaced before the test, and said in
    pytest's warnings summary with the test it was found before, so the cause can still be hunted."""
    from keyring.backends import SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_daemon.bus_address)
    if problem := _secret_service_problem(secret_service_daemon):
        warnings.warn(f"the Secret Service was {problem} before {request.node.nodeid}: started afresh",
                      stacklevel=1)
        secret_service_daemon.stop()
        fresh = _start_secret_service()
        _wait_for_secret_service(fresh)
        secret_service_daemon.bus_address, secret_service_daemon.processes, secret_service_daemon.root = (
            fresh.bus_address, fresh.processes, fresh.root)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service_daemon.bus_address)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    keyring.set_keyring(SecretService.Keyring())
    yield secret_service_daemon
    keychain_items(delete=True)


def _secret_service_problem(daemon: SecretServiceDaemon) -> str | None:
    """Why ``daemon`` cannot serve a test (gone, or its login collection locked), or None."""
    import secretstorage
    from secretstorage.collection import Collection

    if any(proc.poll() is not None for proc in daemon.processes):
        return "gone (exit codes " + ", ".join(str(proc.poll()) for proc in daemon.processes) + ")"
    try:
        with secretstorage.dbus_init() as conn:
            return "locked" if Collection(conn).is_locked() else None
    except Exception as exc:  # anything the bus says instead of an answer
        return f"unreachable ({type(exc).__name__}: {exc})"


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


def cli_json(*args: str, code: int = 0, **kw) -> dict:
    """Run ``faceseal ... --json`` (``kw`` as for :func:`run_cli`), check its exit code, return the parsed answer."""
    result = run_cli(*args, "--json", **kw)
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout)


def cli_fails(code: int, text: str, *args: str, **kw) -> str:
    """Run ``faceseal ...``, check it fails with ``code`` and says ``text`` on stderr; returns stderr."""
    result = run_cli(*args, **kw)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert text in result.stderr, result.stderr
    return result.stderr


def who_and_where(settings: dict) -> dict:
    """Face sign-in's who and where, without the note said beside sudo and polkit (asserted where it is the point)."""
    return {key: settings[key] for key in ("identity", "services")}


# ------------------------------------------------------------------ people in a vault
@pytest.fixture
def people() -> dict:
    """Two people, two close 32-d samples each (external embeddings), as two captures of one face would be."""
    import numpy as np

    rng = np.random.default_rng(11)
    return {name: (rng.normal(size=32) + 0.05 * rng.normal(size=(2, 32))).astype(np.float32)
            for name in ("alice", "bob")}


def enrol(people: dict) -> None:
    """Enrol every person of ``people`` in the test's vault (external embeddings)."""
    from edge_core import ops

    with ops.open_vault() as vault:
        for name, vectors in people.items():
            vault.enroll(name, vectors, "external")


def probe(vectors) -> "ops.Probe":
    """External embeddings (one probe vector, or (k, d) samples to enrol) as the use cases take them."""
    import numpy as np

    from edge_core import ops

    array = np.asarray(vectors, dtype=np.float32)
    return ops.Probe(ops.Source.EMBEDDING, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD,
                     array[None, :] if array.ndim == 1 else array)


def all_verify(people: dict) -> None:
    """A fresh process opens the vault and every person still verifies (all templates decrypt)."""
    import numpy as np

    for name, vectors in people.items():
        probe = Path(os.environ["FACESEAL_HOME"]).parent / f"{name}-probe.npy"
        np.save(probe, vectors[0])
        assert cli_json("verify", name, "--embedding", str(probe))["match"] is True


# ------------------------------------------------------------------ a real PKCS#11 token
MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
PIN = "246810"
SO_PIN = "13579111"
KIT_PASSPHRASE = "correct horse battery staple"
KIT_ENV = {"FACESEAL_KIT_PASSPHRASE": KIT_PASSPHRASE}


@dataclass
class SoftHsm:
    """A SoftHSM2 token of one test. Everything that touches it runs in subprocesses (the ``faceseal``
    CLI, or :mod:`tests.keys.token_tool`): a PKCS#11 module reads its configuration once per process."""

    module: str
    token: str
    pin: str
    conf: Path

    def objects(self) -> list[dict]:
        """Every secret-key object in the token, as the token itself reports it."""
        return json.loads(token_tool(self, "list").stdout)

    def delete_all(self) -> None:
        token_tool(self, "delete-all")


def token_tool(hsm: SoftHsm, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tests.keys.token_tool", hsm.module, hsm.token, hsm.pin, *args],
                            capture_output=True, text=True, cwd=REPO, timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    """A fresh, initialised SoftHSM2 token in its own folder (``SOFTHSM2_CONF``), its PIN in FACESEAL_HSM_PIN."""
    module = next((m for m in MODULE_CANDIDATES if Path(m).is_file()), None)
    if module is None:
        pytest.fail("SoftHSM2 is missing: run 'make system-deps' (scripts/system-deps.sh installs softhsm2)")
    folder = tmp_path / "softhsm"
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    monkeypatch.setenv("FACESEAL_HSM_PIN", PIN)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "faceseal-test", "--pin", PIN,
                    "--so-pin", SO_PIN], check=True, capture_output=True, timeout=60)
    return SoftHsm(module, "faceseal-test", PIN, conf)


def free_port() -> int:
    """A loopback port nobody listens on right now (bound and released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_api(home: Path) -> Iterator[tuple[str, str, subprocess.Popen]]:
    """A real ``faceseal serve`` on a free loopback port over ``home``: (base URL, token, process); stopped after."""
    import time

    import httpx

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "edge_core.cli", "serve", "--port", str(port)], cwd=REPO,
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded wait for the port to answer (no timing is asserted)
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
        yield base, (home / "edge_token").read_text().strip(), process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private ``XDG_RUNTIME_DIR`` for the sign-in agent a test starts as its own user and for whoever asks it
    (short, under /tmp: a socket's path has at most 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="fs-run-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes: to prove nothing was changed. The sealed gallery cache
    (``cache/``) is left out: any read of the gallery may refresh it, and it holds nothing the database does not."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "cache"}


@pytest.fixture(scope="session")
def installed_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The open, scrfd and yunet512 packs, installed once per session from ../shared/models as an offline machine would."""
    from edge_core.biometrics import install_pack

    source = shared_or_skip("models")
    root = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(root))
        for name in ("open", "scrfd", "yunet512"):
            install_pack(name, source)
    return root


@pytest.fixture
def models_env(installed_models: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FACESEAL_MODELS at the session's installed packs for one test."""
    monkeypatch.setenv("FACESEAL_MODELS", str(installed_models))
    return installed_models


@pytest.fixture(scope="session")
def open_pack_only(installed_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding only the ``open`` pack (copied once per session from ``installed_models``): what
    ``make models`` leaves when the default pack's licence was not accepted."""
    import shutil

    root = tmp_path_factory.mktemp("open-only")
    shutil.copytree(installed_models / "open", root / "open")
    return root


@pytest.fixture
def open_only_env(open_pack_only: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point FACESEAL_MODELS at a folder where only the ``open`` pack is installed, for one test."""
    monkeypatch.setenv("FACESEAL_MODELS", str(open_pack_only))
    return open_pack_only


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


# ------------------------------------------------------------------ a real software TPM
soft_tpm = _packaging_module("soft_tpm")  # the software TPM make package-check starts too
@dataclass
class SwTpm:
    """A software TPM 2.0 (``swtpm socket --tpm2``) of one test, its state in its own folder; FACESEAL_TPM_TCTI
    points at it. Tests check what it holds with tpm2-tools, not through FaceSeal."""

    state: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def tcti(self) -> str:
        return soft_tpm.tcti(self.port)

    def start(self) -> None:
        """Start the TPM on its state folder (a restart keeps what it held), past TPM2_Startup."""
        self.process = soft_tpm.start_swtpm(self.state, self.port)

    def stop(self) -> None:
        """Stop the TPM as a pulled chip would go: SIGKILL, nothing flushed beyond what it keeps itself."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None

    def tool(self, *args: str) -> str:
        result = subprocess.run([*args, "-T", self.tcti], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def persistent(self) -> list[str]:
        """The TPM's persistent handles, as tpm2_getcap lists them."""
        return [line.strip("- ").strip() for line in self.tool("tpm2_getcap", "handles-persistent").splitlines()
                if line.strip()]


@pytest.fixture
def swtpm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SwTpm]:
    """A fresh software TPM for one test, stopped after (nothing left running)."""
    for tool in ("swtpm", "tpm2_getcap"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run 'make system-deps' (scripts/system-deps.sh installs swtpm, tpm2-tools)")
    state = tmp_path / "swtpm"
    state.mkdir(mode=0o700)
    tpm = SwTpm(state, soft_tpm.free_port_pair())
    tpm.start()
    monkeypatch.setenv("FACESEAL_TPM_TCTI", tpm.tcti)
    monkeypatch.delenv("FACESEAL_TPM_PIN", raising=False)
    try:
        yield tpm
    finally:
        tpm.stop()
