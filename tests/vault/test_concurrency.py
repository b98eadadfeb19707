"""Two processes at once: rotations running while another process enrols and reads.

A long-lived process (like the desktop app) keeps one Vault open and enrols
people one by one, verifying each; meanwhile real ``faceseal rotate-key``
processes (shallow and deep) and ``identify`` readers run. Afterwards every
enrolment is there and opens: nothing corrupted, nothing lost.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from edge_core import ops
from tests.conftest import REPO, run_cli

ENROLLER = r"""
import sys, numpy as np
from edge_core import ops
count = int(sys.argv[1])
rng = np.random.default_rng(5)
with ops.open_vault() as vault:
    for i in range(count):
        vectors = (rng.normal(size=32) + 0.01 * rng.normal(size=(2, 32))).astype(np.float32)  # two close samples
        vault.enroll(f"late-{i}", vectors, "external")
        assert vault.verify(f"late-{i}", vectors[0], "external", 0.99).match
        vault.identify(vectors[1], "external", 0.5)
print("enrolled", count)
"""


@pytest.mark.slow
def test_rotation_while_another_process_enrols_and_reads(isolated, tmp_path):
    rng = np.random.default_rng(9)
    probe = tmp_path / "probe.npy"
    np.save(probe, rng.normal(size=32).astype(np.float32))
    with ops.open_vault() as vault:
        for i in range(20):
            vault.enroll(f"early-{i}", rng.normal(size=(3, 32)).astype(np.float32), "external")
    enroller = subprocess.Popen([sys.executable, "-c", ENROLLER, "120"], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    rotations = 0
    while enroller.poll() is None or rotations < 4:
        result = run_cli("rotate-key", *(["--deep"] if rotations % 2 else []))
        assert result.returncode == 0, result.stderr
        reader = run_cli("identify", "--embedding", str(probe), "--json")
        assert reader.returncode in (0, 10), reader.stderr
        assert "score" in json.loads(reader.stdout)
        rotations += 1
    out, err = enroller.communicate(timeout=300)
    assert enroller.returncode == 0, err
    assert out.strip() == "enrolled 120"
    with ops.open_vault() as vault:
        names = {i.name for i in vault.list_identities()}
        assert names == {f"early-{i}" for i in range(20)} | {f"late-{i}" for i in range(120)}
        assert vault.verify_all() == 20 * 3 + 120 * 2
        assert vault.audit_verify() == []
        rotated = [e for e in vault.audit_events() if e.kind == "key_rotated"]
        assert len(rotated) == rotations


@pytest.mark.slow
def test_two_rotations_at_once_serialise(isolated):
    with ops.open_vault() as vault:
        vault.enroll("someone", np.ones((2, 16), np.float32), "external")
    procs = [subprocess.Popen([sys.executable, "-m", "edge_core.cli", "rotate-key", *flag], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for flag in ([], ["--deep"], [], ["--deep"])]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    with ops.open_vault() as vault:
        assert vault.verify_all() == 2
        assert sum(e.kind == "key_rotated" for e in vault.audit_events()) == 4


HOLDER = r"""
from edge_core import ops
vault = ops.open_vault()
print("open", flush=True); input()
vault.conn.execute("BEGIN IMMEDIATE")
print("in transaction", flush=True); input()
# Sealed under the primary vault key: a version another process made since we loaded our keys.
vault._put_secret(vault.conn, "probe", b"x" * 32)
vault.conn.execute("COMMIT")
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_writer_needing_new_keys_never_deadlocks_with_a_waiting_rotation(isolated):
    """The writer holds the database and must reload keys while a rotation holds the key lock
    and waits for the database: the reload must not wait for the key lock."""
    import time

    from edge_core.keys.keystore import KeyStore

    with ops.open_vault() as vault:
        vault.enroll("someone", np.ones((2, 16), np.float32), "external")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    assert run_cli("rotate-key", "--deep").returncode == 0  # vault key v2; the holder only knows v1
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.stdout.readline().strip() == "in transaction"
    rotation = subprocess.Popen([sys.executable, "-m", "edge_core.cli", "rotate-key", "--deep"], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    keystore = isolated / "keys" / "keystore.json"
    while not any("vault/3" in slots for slots in KeyStore.load(keystore).wraps.values()):
        assert rotation.poll() is None, rotation.stderr.read()
        time.sleep(0.05)  # the rotation now holds the key lock and is queuing for the database
    holder.stdin.write("\n")
    holder.stdin.flush()
    out, err = holder.communicate(timeout=100)
    assert holder.returncode == 0 and out.strip() == "done", err
    assert rotation.wait(timeout=200) == 0, rotation.stderr.read()
    with ops.open_vault() as vault:
        assert vault.verify_all() == 2 and vault.get_secret("probe") == b"x" * 32
