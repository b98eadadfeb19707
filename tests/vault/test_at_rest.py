"""On the disk: nothing readable without the keys, not in the database, its WAL, or any other file."""

from __future__ import annotations

import numpy as np

from edge_core import ops

NAME = "Zebulon Quartermaine-Fitzwilliam"


def _leaks(folder, needles: list[bytes]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:
                if needle in data:
                    found.append(f"{path.name}: {needle[:24]!r}")
    return found


def test_no_name_no_template_and_no_sqlite_header_in_any_file(isolated):
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(3, 128)).astype(np.float32)
    unit = samples / np.linalg.norm(samples, axis=1, keepdims=True)
    needles = [NAME.encode(), NAME.encode("utf-16-le"), b"SQLite format 3", b"identities", b"CREATE TABLE"]
    needles += [row.tobytes()[:32] for row in unit] + [row.tobytes()[:32] for row in samples]
    vault = ops.open_vault()
    vault.enroll(NAME, samples, "external")
    assert vault.identify(samples[0], "external", 0.5).name == NAME  # writes the sealed gallery snapshot
    assert list((isolated / "cache").iterdir()), "the snapshot is one of the files searched"
    assert (isolated / "faceseal.db-wal").stat().st_size > 0  # the WAL holds the fresh writes
    assert _leaks(isolated, needles) == []
    ops.rotate(vault, deep=True)  # rotation writes pages and journal frames too
    assert _leaks(isolated, needles) == []
    vault.close()
    assert _leaks(isolated, needles) == []
    assert {p.name for p in isolated.rglob("*") if p.is_file()} >= {"faceseal.db", "keystore.json", "root_key.hex"}
