"""Key operations killed with SIGKILL at every step: the data always opens completely afterwards.

A real ``faceseal`` subprocess is killed by the fault-injection hook
(``FACESEAL_CRASH_AT=N``: SIGKILL at its Nth checkpoint) at every checkpoint of
each operation in turn; then the vault is opened and every template decrypted.
Never a mix of old and new, never a lost key.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from edge_core import ops
from edge_core.keys.keystore import KeyStore
from edge_core.ops.keyops.common import live_versions
from tests.conftest import REPO, run_cli

PEOPLE = [f"person-{i}" for i in range(5)]


def populate(count: int = len(PEOPLE), samples: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    gallery = {f"person-{i}": (rng.normal(size=32) + 0.01 * rng.normal(size=(samples, 32))).astype(np.float32)
               for i in range(count)}  # one person's samples are close, as real captures are
    with ops.open_vault() as vault:
        for name, vectors in gallery.items():
            vault.enroll(name, vectors, "external")
    return gallery


def check_whole(gallery: dict[str, np.ndarray], allowed_missing: set[str] = frozenset()) -> set[str]:
    """Open the vault, decrypt every template, and check each person still verifies."""
    with ops.open_vault() as vault:
        names = {i.name for i in vault.list_identities()}
        assert set(gallery) - names <= set(allowed_missing), names
        assert vault.verify_all() == sum(len(gallery[n]) for n in names)
        for name in names:
            assert vault.verify(name, gallery[name][0], "external", 0.99).match
        assert vault.audit_verify() == []
    return names


def assert_no_dead_keys(home) -> None:
    """After the open that follows a crash: one root's wraps, only vault key versions still in use."""
    with ops.open_vault(home) as vault:
        store = KeyStore.load(vault.layout.keystore)
        assert list(store.wraps) == [vault.root.kid]
        live = live_versions(vault.conn, vault.primary_version())
        assert {int(s.split("/")[1]) for s in store.wraps[vault.root.kid] if s.startswith("vault/")} == live


def trace(args: list[str], tmp_path) -> list[str]:
    trace_file = tmp_path / "trace.txt"
    result = run_cli(*args, extra_env={"FACESEAL_CRASH_TRACE": str(trace_file)})
    assert result.returncode == 0, result.stderr
    return trace_file.read_text().split()


def keep_pristine(isolated, tmp_path) -> None:
    """The data folder and the state folder beside it, as they are now. Each kill must start from the same machine:
    the rollback anchor (in the state folder) remembers the newest state, so a data folder put back alone is an
    older copy, rightly refused."""
    shutil.copytree(tmp_path / "state", tmp_path / "pristine-state")
    shutil.copytree(isolated, tmp_path / "pristine")


def back_to_pristine(isolated, tmp_path) -> None:
    """Both folders of :func:`keep_pristine` as they were."""
    for pristine, live in ((tmp_path / "pristine", isolated), (tmp_path / "pristine-state", tmp_path / "state")):
        shutil.rmtree(live)
        shutil.copytree(pristine, live)


OPERATIONS = {
    "rotate": (["rotate-key"], set()),
    "deep": (["rotate-key", "--deep"], set()),
    "shred": (["delete-identity", "person-0", "--yes"], {"person-0"}),
    "reset": (["reset", "--yes", "--keep-audit"], set(PEOPLE)),
}


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS)
def test_killed_at_every_checkpoint_the_vault_opens_completely(operation, isolated, tmp_path):
    args, may_vanish = OPERATIONS[operation]
    gallery = populate()
    keep_pristine(isolated, tmp_path)  # the state folder too: it holds the rollback anchor
    points = trace(args, tmp_path)
    assert len(points) >= 3, points
    for crash_at in range(1, len(points) + 1):
        back_to_pristine(isolated, tmp_path)
        killed = run_cli(*args, extra_env={"FACESEAL_CRASH_AT": str(crash_at)}, check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (points[crash_at - 1], killed.stderr)
        names = check_whole(gallery, may_vanish)
        assert names in (set(gallery), set(gallery) - may_vanish), points[crash_at - 1]
        assert_no_dead_keys(isolated)
        if names == set(gallery) or operation != "shred":  # a finished shred has nothing left to redo
            assert run_cli(*args).returncode == 0, points[crash_at - 1]
            check_whole(gallery, may_vanish)


@pytest.mark.slow
def test_keychain_root_killed_at_every_step_of_rotation(secret_service, isolated, tmp_path):
    gallery = populate()
    points = trace(["rotate-key", "--deep"], tmp_path) + trace(["rotate-key"], tmp_path)
    for args in (["rotate-key", "--deep"], ["rotate-key"]):
        for crash_at in range(1, len(points) + 1):
            killed = run_cli(*args, extra_env={"FACESEAL_CRASH_AT": str(crash_at)}, check_clean=False)
            if killed.returncode == 0:
                break  # past the last checkpoint of this operation
            assert killed.returncode == -signal.SIGKILL
            check_whole(gallery)


@pytest.mark.slow
def test_killed_from_outside_at_random_instants_of_a_deep_rotation(isolated):
    gallery = populate(count=150, samples=4)
    rng = random.Random(11)
    env = dict(os.environ)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-m", "edge_core.cli", "rotate-key", "--deep"], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check_whole(gallery)
