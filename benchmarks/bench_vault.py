"""Vault benchmark: sealing, identify, rotation and shredding, each against a bare baseline.

Every figure is measured in the same run as its baseline, so the ratio says
what FaceSeal's own code costs on top of the irreducible work:

* seal/unseal of a 512-d float32 template vs a bare loop of the same
  HKDF-SHA256 + AES-256-GCM calls (goal: at least 0.7 of its throughput);
* identify, warm, over 1k / 10k / 100k templates vs a bare ``matrix @ probe``
  + argmax on a prebuilt array of the same shape (goal: 100k in at most 150 ms);
* rotate-key and delete-identity with 10k identities, with 1 and with 5
  templates each (goal: at most 1 s, flat in the number of templates);
* rotate-key --deep on 100k templates vs a bare loop opening and resealing the
  same blobs in memory (goal: at most 10 s; issue 28: at least 0.5 of the bare), and
  the storage floor under it: the same rows read and written back, without FaceSeal's crypto.

Run: ``make bench`` (all benchmarks) or ``.venv/bin/python -m benchmarks.bench_vault``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DIM = 512


def _paired(ours: Callable[[], object], bare: Callable[[], object], repeats: int = 7) -> tuple[float, float]:
    """Best times of ``ours`` and ``bare``, measured alternately so both see the same machine load."""
    best_ours = best_bare = float("inf")
    for _ in range(repeats):
        best_ours = min(best_ours, _best(ours, 1))
        best_bare = min(best_bare, _best(bare, 1))
    return best_ours, best_bare


def _best(action: Callable[[], object], repeats: int = 5) -> float:
    """Best-of-``repeats`` wall time of ``action`` in seconds (least disturbed by noise)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def bench_sealing(count: int = 5000) -> dict:
    from edge_core.keys import sealing

    key = os.urandom(32)
    plaintext = np.random.default_rng(0).normal(size=DIM).astype(np.float32).tobytes()
    ids = [f"{i:032x}" for i in range(count)]

    def ours_seal() -> list[bytes]:
        return [sealing.seal(key, 1, tid, plaintext) for tid in ids]

    blobs = ours_seal()

    def ours_open() -> None:
        for tid, blob in zip(ids, blobs):
            sealing.open_blob(key, tid, blob)

    header = b"\0" * 37

    def bare_seal() -> None:
        for tid in ids:
            salt, nonce = os.urandom(16), os.urandom(12)
            k = HKDF(hashes.SHA256(), 32, salt, f"faceseal/template/v2:{tid}".encode()).derive(key)
            AESGCM(k).encrypt(nonce, plaintext, header + tid.encode())

    bare_blobs = []
    for tid in ids:
        salt, nonce = os.urandom(16), os.urandom(12)
        k = HKDF(hashes.SHA256(), 32, salt, f"faceseal/template/v2:{tid}".encode()).derive(key)
        bare_blobs.append((salt, nonce, AESGCM(k).encrypt(nonce, plaintext, header + tid.encode())))

    def bare_open() -> None:
        for tid, (salt, nonce, ct) in zip(ids, bare_blobs):
            k = HKDF(hashes.SHA256(), 32, salt, f"faceseal/template/v2:{tid}".encode()).derive(key)
            AESGCM(k).decrypt(nonce, ct, header + tid.encode())

    t_seal, t_bare_seal = _paired(ours_seal, bare_seal)
    t_open, t_bare_open = _paired(ours_open, bare_open)
    return {
        "seal_per_s": round(count / t_seal), "bare_seal_per_s": round(count / t_bare_seal),
        "seal_ratio": round(t_bare_seal / t_seal, 3),
        "unseal_per_s": round(count / t_open), "bare_unseal_per_s": round(count / t_bare_open),
        "unseal_ratio": round(t_bare_open / t_open, 3),
    }


def _populate(vault, identities: int, per_identity: int, dim: int = DIM) -> None:
    """Fill a vault quickly: durability is not what is measured while setting up."""
    vault.conn.execute("PRAGMA synchronous = OFF")
    rng = np.random.default_rng(1)
    for i in range(identities):
        vault.enroll(f"id-{i:06d}", rng.normal(size=(per_identity, dim)).astype(np.float32), "external")
    vault.conn.execute("PRAGMA synchronous = FULL")


def _fresh_vault(scratch: Path, name: str):
    from edge_core import ops

    return ops.open_vault(scratch / name)


def bench_identify(scratch: Path) -> dict:
    results = {}
    probe = np.random.default_rng(2).normal(size=DIM).astype(np.float32)
    probe /= np.linalg.norm(probe)
    for total in (1_000, 10_000, 100_000):
        vault = _fresh_vault(scratch, f"identify-{total}")
        _populate(vault, total // 10, 10)
        start = time.perf_counter()
        vault.identify(probe, "external", 0.45)  # cold: opens every template once, then seals the snapshot
        cold = time.perf_counter() - start
        matrix = np.ascontiguousarray(vault.gallery("external").matrix.copy())
        warm, bare = _paired(lambda: vault.identify(probe, "external", 0.45), lambda: int(np.argmax(matrix @ probe)))
        vault.close()
        snapshot_cold, bare_open = _cold_from_snapshot(scratch / f"identify-{total}", probe, matrix)
        results[f"{total}"] = {"warm_ms": round(warm * 1000, 2), "cold_s": round(cold, 2),
                               "cold_snapshot_s": round(snapshot_cold, 3), "bare_decrypt_s": round(bare_open, 3),
                               "ratio_bare_over_cold_snapshot": round(bare_open / snapshot_cold, 3),
                               "bare_ms": round(bare * 1000, 2), "ratio_bare_over_ours": round(bare / warm, 3)}
    return results


def _cold_from_snapshot(home: Path, probe: np.ndarray, matrix: np.ndarray) -> tuple[float, float]:
    """The first identify of a freshly opened vault whose sealed snapshot is current (best of 3), and the bare cost
    it approaches: one AES-GCM decryption of a gallery-sized buffer, read from a file, and the matrix made."""
    from edge_core import ops

    def cold() -> float:
        with ops.open_vault(home) as vault:
            start = time.perf_counter()
            vault.identify(probe, "external", 0.45)
            return time.perf_counter() - start

    key, nonce = AESGCM.generate_key(256), os.urandom(12)
    sealed = home.parent / f"{home.name}-bare.sealed"
    sealed.write_bytes(AESGCM(key).encrypt(nonce, matrix.tobytes(), b""))

    def bare() -> float:
        start = time.perf_counter()
        plain = AESGCM(key).decrypt(nonce, sealed.read_bytes(), b"")
        np.frombuffer(plain, np.float32).reshape(matrix.shape).copy()
        return time.perf_counter() - start

    return min(cold() for _ in range(3)), min(bare() for _ in range(3))


def bench_key_operations(scratch: Path) -> dict:
    from edge_core import ops
    from edge_core.keys import material

    results = {}
    for per_identity in (1, 5):
        vault = _fresh_vault(scratch, f"keyops-{per_identity}")
        _populate(vault, 10_000, per_identity, dim=128)
        rotate = _best(lambda: ops.rotate(vault), repeats=3)
        victims = iter(f"id-{i:06d}" for i in range(10))
        shred = _best(lambda: ops.delete_identity(vault, next(victims)), repeats=3)
        keys = [material.random_key() for _ in range(10_000)]
        wrapping = material.random_key()
        bare = _best(lambda: [material.aead_unwrap(wrapping, material.aead_wrap(wrapping, k, b"a"), b"a") for k in keys],
                     repeats=3)
        results[f"templates_per_identity_{per_identity}"] = {
            "rotate_s": round(rotate, 4), "delete_identity_s": round(shred, 3),
            "bare_rewrap_10k_s": round(bare, 3), "delete_over_bare": round(shred / bare, 2),
        }
        vault.close()
    flat = results["templates_per_identity_5"]["delete_identity_s"] / results["templates_per_identity_1"]["delete_identity_s"]
    results["delete_identity_5x_templates_over_1x"] = round(flat, 2)
    return results


def bench_deep_rotation(scratch: Path) -> dict:
    """The deep rotation against two floors measured on the same run: the bare reseal in memory (the crypto alone),
    and the bare storage pass (every template row read and written back in one SQLCipher transaction, as the
    rotation walks them, with no crypto of FaceSeal's: the page decryption, encryption and HMACs SQLCipher cannot
    skip)."""
    from edge_core import ops
    from edge_core.keys import sealing
    from edge_core.support.database import transaction

    vault = _fresh_vault(scratch, "deep")
    _populate(vault, 10_000, 10)
    start = time.perf_counter()
    ops.rotate(vault, deep=True)
    deep = time.perf_counter() - start
    key = os.urandom(32)
    plaintext = np.zeros(DIM, np.float32).tobytes()
    blobs = [(f"{i:032x}", sealing.seal(key, 1, f"{i:032x}", plaintext)) for i in range(100_000)]
    start = time.perf_counter()
    for tid, blob in blobs:
        sealing.seal(key, 2, tid, sealing.open_blob(key, tid, blob))
    bare = time.perf_counter() - start
    start = time.perf_counter()
    with transaction(vault.conn) as tx:
        _rewrite_rows(tx)
    storage = time.perf_counter() - start
    vault.close()
    return {"templates": 100_000, "deep_rotate_s": round(deep, 2), "bare_reseal_in_memory_s": round(bare, 2),
            "ratio_bare_over_ours": round(bare / deep, 3), "bare_storage_pass_s": round(storage, 2),
            "best_serial_ratio": round(bare / (bare + storage), 3)}


def _rewrite_rows(tx) -> None:
    """Every template's row read and its blob written back changed (reversed: SQLite skips a write of the same
    bytes), in the chunks and order of the reseal. The bench's own vault, deleted after."""
    from edge_core.ops.keyops.common import RESEAL_CACHE_KIB, RESEAL_CHUNK

    tx.execute(f"PRAGMA cache_size = -{RESEAL_CACHE_KIB}")
    last = 0
    while rows := tx.execute("SELECT rowid, blob FROM templates WHERE rowid > ? ORDER BY rowid LIMIT ?",
                             (last, RESEAL_CHUNK)).fetchall():
        tx.executemany("UPDATE templates SET blob = ? WHERE rowid = ?", [(blob[::-1], rowid) for rowid, blob in rows])
        last = rows[-1][0]


def run() -> dict:
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    with tempfile.TemporaryDirectory(prefix="faceseal-bench-vault-") as folder:
        scratch = Path(folder)
        results = {"sealing_512d": bench_sealing()}
        print("sealing:", results["sealing_512d"], flush=True)
        results["identify"] = bench_identify(scratch)
        print("identify:", results["identify"], flush=True)
        results["key_operations_10k_identities"] = bench_key_operations(scratch)
        print("key operations:", results["key_operations_10k_identities"], flush=True)
        results["deep_rotation"] = bench_deep_rotation(scratch)
        print("deep rotation:", results["deep_rotation"], flush=True)
    return results


if __name__ == "__main__":
    run()
