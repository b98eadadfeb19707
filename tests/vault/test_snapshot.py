"""The sealed gallery snapshot (issue 28, goal 2): a cold identify opens one sealed file instead of every template,
and the snapshot is never believed when it could be wrong: after an enrolment, a deletion or a reseal, from another
pack or vault, edited, or put back after its person was crypto-shredded."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from edge_core import ops
from edge_core.vault import snapshot
from edge_core.vault.store import Vault

PACK = "external"


def _person(seed: int, samples: int = 3) -> np.ndarray:
    """Samples of one made-up face: one direction, a little noise each."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=64) + 0.1 * rng.normal(size=(samples, 64))).astype(np.float32)


def _identify(home: Path, probe: np.ndarray) -> str | None:
    """Who a cold identify in a fresh handle names (as the first face after the window opens), or None."""
    with ops.open_vault(home) as vault:
        result = vault.identify(probe, PACK, 0.5)
        return result.name if result.match else None


def _snapshot_file(home: Path) -> Path:
    return snapshot.path_for(home, PACK)


@pytest.fixture
def opened_templates(monkeypatch) -> list[int]:
    """Counts the templates a cold identify opens one by one (none, when the snapshot serves it)."""
    calls: list[int] = []
    original = Vault._open_template

    def counting(self, row, *out):
        calls.append(1)
        return original(self, row, *out)

    monkeypatch.setattr(Vault, "_open_template", counting)
    return calls


def test_a_cold_identify_opens_the_snapshot_not_every_template(isolated: Path, opened_templates) -> None:
    alice, bruno = _person(1), _person(2)
    with ops.open_vault() as vault:
        vault.enroll("alice", alice, PACK)
        vault.enroll("bruno", bruno, PACK)
    assert _identify(isolated, alice[0]) == "alice"
    assert len(opened_templates) == 6
    path = _snapshot_file(isolated)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert _identify(isolated, bruno[1]) == "bruno" and _identify(isolated, alice[2]) == "alice"
    assert len(opened_templates) == 6, "a second cold identify opened templates one by one again"


def test_an_enrolment_a_deletion_and_a_reseal_each_make_it_stale(isolated: Path, opened_templates) -> None:
    alice, bruno, carla = _person(1), _person(2), _person(3)
    with ops.open_vault() as vault:
        vault.enroll("alice", alice, PACK)
        vault.enroll("bruno", bruno, PACK)
    assert _identify(isolated, alice[0]) == "alice"
    with ops.open_vault() as vault:
        vault.enroll("carla", carla, PACK)  # in another process's eyes: a new person after the snapshot
    assert _identify(isolated, carla[0]) == "carla", "a snapshot from before an enrolment was believed"
    with ops.open_vault() as vault:
        ops.rotate(vault, deep=True)
    before = len(opened_templates)
    assert _identify(isolated, bruno[0]) == "bruno" and len(opened_templates) > before, "resealed, yet not rebuilt"
    with ops.open_vault() as vault:
        ops.delete_identity(vault, "bruno")
    assert _identify(isolated, bruno[0]) != "bruno"


def test_a_snapshot_that_held_a_shredded_person_never_opens_again(isolated: Path) -> None:
    alice, bruno = _person(1), _person(2)
    with ops.open_vault() as vault:
        vault.enroll("alice", alice, PACK)
        vault.enroll("bruno", bruno, PACK)
    assert _identify(isolated, bruno[0]) == "bruno"
    kept = isolated.parent / "snapshot-with-bruno"
    shutil.copy(_snapshot_file(isolated), kept)
    with ops.open_vault() as vault:
        ops.delete_identity(vault, "bruno")
        version = vault.primary_version()
        generation = vault.conn.execute("SELECT value FROM meta WHERE key = 'gallery_generation'").fetchone()[0]
        for key in vault.keys.vault.values():  # every vault key left, under every generation it could name
            for guess in {generation, str(int(generation) - 1), "0"}:
                assert snapshot.load(kept, key, PACK, version, guess) is None
                assert snapshot.load(kept, key, PACK, version - 1, guess) is None
    shutil.copy(kept, _snapshot_file(isolated))  # put back by someone who can write the data folder
    assert _identify(isolated, bruno[0]) != "bruno"


@pytest.mark.parametrize("damage", ["flip", "truncate", "other_vault", "symlink", "fifo"])
def test_a_damaged_or_planted_snapshot_is_rebuilt_not_believed(isolated: Path, tmp_path: Path, damage: str,
                                                               opened_templates) -> None:
    alice, bruno = _person(1), _person(2)
    with ops.open_vault() as vault:
        vault.enroll("alice", alice, PACK)
    assert _identify(isolated, alice[0]) == "alice"
    path = _snapshot_file(isolated)
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "other_vault":  # another vault's snapshot of the same pack, where Bruno is "alice"
        other = tmp_path / "other"
        with ops.open_vault(other) as vault:
            vault.enroll("alice", bruno, PACK)
            vault.identify(bruno[0], PACK, 0.5)
        shutil.copy(_snapshot_file(other), path)
    elif damage == "symlink":
        target = tmp_path / "elsewhere"
        shutil.copy(path, target)
        path.unlink()
        path.symlink_to(target)
    else:
        path.unlink()
        os.mkfifo(path)
    before = len(opened_templates)
    assert _identify(isolated, alice[0]) == "alice" and _identify(isolated, bruno[0]) is None
    assert len(opened_templates) > before, "the damaged snapshot was used"
