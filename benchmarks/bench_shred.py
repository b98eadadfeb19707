"""What moving the database key costs a deletion (third outside round, finding (a)).

On one vault of 10,000 identities with one 512-d template each (10,000
templates), measured in the same run:

* ``delete-identity`` as it is now (the shred, then the database moved to a new
  key by ``sqlcipher_export`` into a staged file and swapped in);
* the same deletion as it was before (the shred, then only the root switch that
  retires the old vault key version): ``rekey.move_database_key`` replaced by
  ``common.retire_dead_versions`` for the measurement;
* the bare floor of the key move: ``sqlcipher_export`` of the same file into a
  new file under another key, and ``PRAGMA rekey`` of a copy of it in place.

Run: ``.venv/bin/python -m benchmarks shred``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

IDENTITIES = 10_000
DIM = 512
REPEATS = 3


def _populate(vault) -> None:
    vault.conn.execute("PRAGMA synchronous = OFF")  # durability is not what is measured while setting up
    rng = np.random.default_rng(5)
    for i in range(IDENTITIES):
        vault.enroll(f"id-{i:06d}", rng.normal(size=(1, DIM)).astype(np.float32), "external")
    vault.conn.execute("PRAGMA synchronous = FULL")


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _bare_export(vault, scratch: Path) -> float:
    from edge_core.keys import material
    from edge_core.support import database

    target = scratch / "bare-export.db"
    target.unlink(missing_ok=True)
    key = material.random_key()
    return _timed(lambda: database.export(vault.conn, target, key))


def _bare_rekey(vault, scratch: Path) -> float | str:
    """``PRAGMA rekey`` of a copy of the vault's file (checkpointed first), opened with its key; or why it fails."""
    from edge_core.keys import material
    from edge_core.support import database

    vault.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    copy = scratch / "bare-rekey.db"
    shutil.copy2(vault.layout.db, copy)
    conn = database.connect(copy, vault.keys.database)
    key = material.random_key()
    spelt = "x'" + bytes(key).hex() + "'"  # a benchmark's throwaway key: spelt in SQL here only
    try:
        return _timed(lambda: conn.execute(f"PRAGMA rekey = \"{spelt}\"").fetchall())
    except database.Error as error:
        return f"refused: {error}"
    finally:
        conn.close()


def run() -> dict:
    from edge_core import ops
    from edge_core.ops.keyops import common, rekey

    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with tempfile.TemporaryDirectory(prefix="faceseal-bench-shred-") as folder:
        scratch = Path(folder)
        os.environ["XDG_STATE_HOME"] = str(scratch / "state")
        vault = ops.open_vault(scratch / "vault")
        try:
            _populate(vault)
            victims = iter(f"id-{i:06d}" for i in range(2 * REPEATS))
            before, after, export, rekeyed = [], [], [], []
            for _ in range(REPEATS):  # alternately, so both see the same machine load and nearly the same file
                with mock.patch.object(rekey, "move_database_key", common.retire_dead_versions):
                    before.append(_timed(lambda: ops.delete_identity(vault, next(victims))))
                after.append(_timed(lambda: ops.delete_identity(vault, next(victims))))
                export.append(_bare_export(vault, scratch))
                rekeyed.append(_bare_rekey(vault, scratch))
            size_mib = vault.layout.db.stat().st_size / (1 << 20)
        finally:
            vault.close()
    best_after, best_before, best_export = min(after), min(before), min(export)
    timed_rekeys = [t for t in rekeyed if isinstance(t, float)]
    results = {
        "templates": IDENTITIES, "database_mib": round(size_mib, 1),
        "delete_before_s": round(best_before, 3), "delete_after_s": round(best_after, 3),
        "after_over_before": round(best_after / best_before, 2),
        "bare_export_s": round(best_export, 3),
        "bare_rekey_in_place_s": round(min(timed_rekeys), 3) if timed_rekeys else rekeyed[0],
        "key_move_over_bare_export": round((best_after - best_before) / best_export, 2),
    }
    print("shred:", results, flush=True)
    return results


if __name__ == "__main__":
    run()
