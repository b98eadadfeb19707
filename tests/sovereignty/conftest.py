"""A real SoftHSM2 token per test, in its own folder (``SOFTHSM2_CONF``), and helpers to look inside it.

Everything that touches the token runs in subprocesses (the ``faceseal`` CLI,
or :mod:`tests.sovereignty.token_tool`): a PKCS#11 module reads its
configuration once per process, so each test's token is seen by its own
processes only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from edge_core.vault.store import Vault
from tests.conftest import REPO, run_cli

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


@dataclass
class SoftHsm:
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
    result = subprocess.run([sys.executable, "-m", "tests.sovereignty.token_tool", hsm.module, hsm.token, hsm.pin, *args],
                            capture_output=True, text=True, cwd=REPO, timeout=60, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SoftHsm:
    """A fresh, initialised SoftHSM2 token, its PIN in FACESEAL_HSM_PIN."""
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


@pytest.fixture
def people() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    return {name: rng.normal(size=(2, 32)).astype(np.float32) for name in ("alice", "bob")}


def enrol(people: dict[str, np.ndarray]) -> None:
    with Vault.open() as vault:
        for name, vectors in people.items():
            vault.enroll(name, vectors, "external")


def all_verify(people: dict[str, np.ndarray]) -> None:
    """A fresh process opens the vault and every person still verifies (all templates decrypt)."""
    for name, vectors in people.items():
        probe = Path(os.environ["FACESEAL_HOME"]).parent / f"{name}-probe.npy"
        np.save(probe, vectors[0])
        result = run_cli("verify", name, "--embedding", str(probe), "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["match"] is True


def cli_ok(*args: str, **kw) -> dict:
    result = run_cli(*args, "--json", **kw)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def cli_fails(code: int, text: str, *args: str, **kw) -> str:
    result = run_cli(*args, **kw)
    assert result.returncode == code, (result.returncode, result.stderr)
    assert text in result.stderr, result.stderr
    return result.stderr
