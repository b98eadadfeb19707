"""Root moves and rotations with a root in a real software TPM (swtpm), killed with SIGKILL at every checkpoint: the
data always opens completely afterwards, and the operation run again completes (issue 29's "a killed process
mid-move or mid-rotation leaves a vault that opens").

Each kill starts from the same machine: the data folder, the state folder and the TPM's own state are put back
as they were (the TPM stopped, its state folder copied, started again).
"""

from __future__ import annotations

import shutil
import signal

import pytest

from edge_core import ops
from tests.conftest import run_cli
from tests.ops.test_crash_safety import assert_no_dead_keys, check_whole, populate, trace

KIT_PASSPHRASE = "quartz lantern orchard velvet"

OPERATIONS = {  # (root before, command, root store after it completes)
    "move-in": ("file", ["key", "move-to-tpm"], "tpm"),
    "move-in-bound": ("file", ["key", "move-to-tpm", "--bind-boot-state"], "tpm"),
    "escrow-import": ("file", ["key", "move-to-tpm", "--escrow-kit", "{kit}"], "tpm"),
    "rotate": ("tpm", ["rotate-key"], "tpm"),
    "deep-rotate": ("tpm", ["rotate-key", "--deep"], "tpm"),
    "move-out": ("tpm", ["key", "move-to-keychain"], "file"),
}


def snapshot(swtpm, isolated, tmp_path) -> None:
    swtpm.stop()
    for live, kept in ((isolated, "pristine"), (tmp_path / "state", "pristine-state"), (swtpm.state, "pristine-tpm")):
        shutil.copytree(live, tmp_path / kept)
    swtpm.start()


def back_to_snapshot(swtpm, isolated, tmp_path) -> None:
    swtpm.stop()
    for live, kept in ((isolated, "pristine"), (tmp_path / "state", "pristine-state"), (swtpm.state, "pristine-tpm")):
        shutil.rmtree(live)
        shutil.copytree(tmp_path / kept, live)
    swtpm.start()


def store_now() -> str:
    with ops.open_vault() as vault:
        return vault.root_store.name


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS)
def test_killed_at_every_checkpoint_a_tpm_root_move_or_rotation_leaves_a_vault_that_opens(operation, swtpm, isolated,
                                                                                        tmp_path):
    before, command, after = OPERATIONS[operation]
    kit = tmp_path / "escrow-kit.json"
    args = [part.format(kit=kit) for part in command]
    env = {"FACESEAL_KIT_PASSPHRASE": KIT_PASSPHRASE}
    gallery = populate()
    if before == "tpm":
        assert run_cli("key", "move-to-tpm").returncode == 0
    snapshot(swtpm, isolated, tmp_path)
    trace_file = tmp_path / "trace.txt"
    assert run_cli(*args, extra_env={**env, "FACESEAL_CRASH_TRACE": str(trace_file)}).returncode == 0
    points = trace_file.read_text().split()
    assert len(points) >= 3, points
    for crash_at in range(1, len(points) + 1):
        back_to_snapshot(swtpm, isolated, tmp_path)
        kit.unlink(missing_ok=True)
        killed = run_cli(*args, extra_env={**env, "FACESEAL_CRASH_AT": str(crash_at)}, check_clean=False)
        assert killed.returncode == -signal.SIGKILL, (points[crash_at - 1], killed.stderr)
        check_whole(gallery)
        assert_no_dead_keys(isolated)
        if store_now() != after:  # killed before the commit point: the operation runs again from the start
            kit.unlink(missing_ok=True)
            again = run_cli(*args, extra_env=env)
            assert again.returncode == 0, (points[crash_at - 1], again.stderr)
        elif before == after:  # a rotation past its commit point runs again as a new rotation
            assert run_cli(*args, extra_env=env).returncode == 0, points[crash_at - 1]
        check_whole(gallery)
        assert store_now() == after, points[crash_at - 1]
        held = swtpm.persistent()
        assert len(held) == (1 if after == "tpm" else 0), (points[crash_at - 1], held)
