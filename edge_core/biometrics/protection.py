"""Protected templates (ISO/IEC 24745): Gaussian-random-projection Index-of-Max hashing, keyed per vault.

GRP-IoM (Jin, Hwang, Lai, Kim, Teoh: "Ranking-based locality sensitive hashing
enabled cancelable biometrics: Index-of-Max hashing", IEEE TIFS 13(2), 2018)
projects an embedding on ``q`` secret Gaussian directions, keeps only the
*index* of the largest projection, and does so ``m`` times: the protected
template is ``m`` small integers in [0, q). Two templates are compared by the
fraction of positions where they agree. Only ranks survive, never magnitudes,
so the template does not determine the embedding (how close an attacker still
gets is measured: docs/PRIVACY.md); a new secret gives unrelated hashes
(unlinkability, renewability).

Why keyed per vault, not per identity, and why not PolyProtect: both were
measured by benchmarks/bench_protection.py on ../shared/faces
(docs/PRIVACY.md, "Protected templates"). With a secret per identity, identify
transforms the probe once per identity: IoM then regenerates m x q x d Gaussians
per identity (half a second each here; 100,000 identities would take hours),
and PolyProtect, whose per-identity transform is cheap, links across vaults
(D<->sys about 0.2-0.3 against the goal of 0.05: its secret is five small
integers shared by every output) and loses accuracy once its powers weigh in.
One secret per vault, derived from the vault key by HKDF, hashes the probe once;
two vaults (two vault keys) give unlinkable templates, and a deep rotation (a
new vault key) renews them all.

The Gaussians come from the ChaCha20 keystream under a key HKDF-derived from
the secret (cryptography's ChaCha20; the Box-Muller transform turns its
uniform words into normal values: a change of distribution, not cryptography).
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from edge_core.keys.material import hkdf

HASHES = 512
"""m: hashes per template."""
CANDIDATES = 16
"""q: Gaussian directions per hash; a hash is a 4-bit index, so a template packs into 256 bytes."""
_INFO = b"faceseal/protected-template/grp-iom/v1"
_NIBBLES_PER_WORD = 16
_LOW_BITS = np.uint64(0x1111111111111111)


def projections(secret: bytes | bytearray, dim: int) -> np.ndarray:
    """The secret's (HASHES * CANDIDATES, dim) float32 standard Gaussian directions (one row per direction)."""
    if len(secret) < 32:
        raise ValueError("a protection secret has at least 32 bytes")
    count = HASHES * CANDIDATES * dim  # even: HASHES is
    with hkdf(secret, _INFO) as key:
        stream = Cipher(algorithms.ChaCha20(key, b"\0" * 16), mode=None).encryptor()
    words = np.frombuffer(stream.update(bytes(4 * count)), dtype=np.uint32)
    uniform = (words.astype(np.float64) + 1.0) / 4294967297.0  # in (0, 1), never 0 for the logarithm
    radius = np.sqrt(-2.0 * np.log(uniform[0::2]))
    angle = 2.0 * np.pi * uniform[1::2]
    normal = np.concatenate([radius * np.cos(angle), radius * np.sin(angle)])
    return normal.astype(np.float32).reshape(HASHES * CANDIDATES, dim)


def protect(embeddings: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Protected templates of embeddings (one per row), packed: (n, HASHES // 16) uint64 of 4-bit indices."""
    rows = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    scores = (rows @ directions.T).reshape(len(rows), HASHES, CANDIDATES)
    hashes = np.argmax(scores, axis=2).astype(np.uint64)
    shifts = (4 * np.arange(_NIBBLES_PER_WORD)).astype(np.uint64)
    return np.bitwise_or.reduce(hashes.reshape(len(rows), -1, _NIBBLES_PER_WORD) << shifts, axis=2)


def scores(probe: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """The fraction of hashes each packed template shares with one packed probe (float32 in [0, 1]).

    One XOR per 16 hashes; a hash differs where its nibble is not zero, and
    those nibbles are counted by folding each onto its low bit and a popcount.
    """
    differ = np.bitwise_xor(templates, probe.reshape(1, -1))
    folded = (differ | (differ >> np.uint64(1)) | (differ >> np.uint64(2)) | (differ >> np.uint64(3))) & _LOW_BITS
    mismatches = np.bitwise_count(folded).sum(axis=1, dtype=np.int32)
    return (1.0 - mismatches / np.float32(HASHES)).astype(np.float32)
