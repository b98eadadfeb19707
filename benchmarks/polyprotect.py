"""PolyProtect, keyed per identity: the alternative benchmarks/bench_protection.py measures against GRP-IoM.

PolyProtect (Hahn & Marcel, "Towards protecting face embeddings in mobile face
verification scenarios", IEEE T-BIOM 2022) maps an embedding ``v`` of ``d``
values to ``P`` by sliding a window of ``m`` values with a step of ``m - overlap``
and writing, for each window ``w``, ``sum_k c_k * w_k ** e_k``: the coefficients
``c`` are non-zero integers in [-50, 50] and the exponents ``e`` a permutation of
1..m, the identity's own secret. Protected templates are compared by cosine.

It is here, not in ``edge_core``, because the measurement chose against it
(docs/PRIVACY.md): its per-identity transform is cheap and vectorises (every
identity sharing an exponent permutation, of m! = 120, shares the probe's powered
windows, so identify is one small product per permutation:
:func:`gallery_scores`), but two vaults' templates of one face stay linkable
(D<->sys 0.2-0.3), and once the powers weigh in it loses accuracy.

The secret is expanded from 32 bytes with HKDF-SHA256 and mapped to
coefficients and a Fisher-Yates shuffle by rejection. Embeddings arrive
unit-length; by default they are scaled by ``sqrt(d)`` so that their values are
about 1, as the paper's unnormalised ArcFace embeddings are (at scale 1 a fifth
power of 0.04 is 1e-7 and the map is linear).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from edge_core.keys.material import hkdf

ORDER = 5
"""m: values per window, and the polynomial's highest power (the paper's choice)."""
OVERLAP = 4
"""Values two neighbouring windows share: 4 keeps one output per input value (the paper's most accurate
setting, and the most accurate here)."""
COEFFICIENT_RANGE = 50
"""Coefficients are non-zero integers in [-50, 50] (the paper's range)."""
_INFO = b"faceseal/polyprotect/v1"


@dataclass(frozen=True)
class Polynomial:
    """One identity's PolyProtect secret: the ``m`` coefficients and the exponents (a permutation of 1..m)."""

    coefficients: np.ndarray
    exponents: np.ndarray

    def __repr__(self) -> str:  # never the values, in a traceback or a log
        return "Polynomial(<secret>)"


def _stream(secret: bytes | bytearray) -> Iterator[int]:
    """Bytes expanded from ``secret`` by HKDF-SHA256, in 32-byte blocks (a new block per counter, as needed)."""
    counter = 0
    while True:
        block = hkdf(secret, _INFO + b"/" + str(counter).encode())
        try:
            yield from bytes(block)
        finally:
            block.wipe()
        counter += 1


def _below(stream: Iterator[int], bound: int) -> int:
    """A uniform integer in [0, bound) from the byte stream, by rejection (bound <= 256)."""
    limit = 256 - 256 % bound
    while True:
        byte = next(stream)
        if byte < limit:
            return byte % bound


def polynomial(secret: bytes | bytearray, order: int = ORDER) -> Polynomial:
    """The PolyProtect secret of an identity from its secret bytes (at least 32, from the key hierarchy)."""
    if len(secret) < 32:
        raise ValueError("a protection secret has at least 32 bytes")
    stream = _stream(secret)
    span = 2 * COEFFICIENT_RANGE
    drawn = [_below(stream, span) for _ in range(order)]
    coefficients = np.array([value - COEFFICIENT_RANGE + (value >= COEFFICIENT_RANGE) for value in drawn],
                            dtype=np.float64)
    exponents = list(range(1, order + 1))
    for i in range(order - 1, 0, -1):  # Fisher-Yates
        j = _below(stream, i + 1)
        exponents[i], exponents[j] = exponents[j], exponents[i]
    return Polynomial(coefficients, np.array(exponents, dtype=np.int64))


def _starts(dim: int, order: int, overlap: int) -> np.ndarray:
    if not 0 <= overlap < order <= dim:
        raise ValueError(f"overlap {overlap} and order {order} do not fit embeddings of {dim} values")
    return np.arange(0, dim - order + 1, order - overlap)


def _windows(embeddings: np.ndarray, order: int, overlap: int, scale: float | None) -> np.ndarray:
    """(..., outputs, m): each window of the embeddings times ``scale`` (``None``: sqrt(d), values of about 1)."""
    x = np.asarray(embeddings, dtype=np.float64)
    dim = x.shape[-1]
    starts = _starts(dim, order, overlap)
    return (x * (math.sqrt(dim) if scale is None else scale))[..., starts[:, None] + np.arange(order)]


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def protect(embeddings: np.ndarray, secret: Polynomial, overlap: int = OVERLAP,
            scale: float | None = None) -> np.ndarray:
    """Protected templates of unit-length embeddings (one per row, or one vector), unit-length float32."""
    windows = _windows(embeddings, len(secret.coefficients), overlap, scale)
    return _unit((secret.coefficients * windows ** secret.exponents).sum(axis=-1))


@dataclass(frozen=True)
class ProtectedGallery:
    """Protected templates with their identities' secrets, grouped by exponent permutation for :func:`gallery_scores`.

    ``coefficients`` and ``exponents`` are one row per template (its identity's
    secret); ``groups`` lists, per distinct exponent permutation, the rows that use it.
    """

    templates: np.ndarray
    coefficients: np.ndarray
    exponents: np.ndarray
    groups: tuple[tuple[np.ndarray, np.ndarray], ...]
    """(exponents, row indices) per distinct permutation."""

    @classmethod
    def build(cls, templates: np.ndarray, secrets: list[Polynomial]) -> ProtectedGallery:
        """Templates (one row each) and the secret each was protected with."""
        exponents = np.stack([s.exponents for s in secrets]) if secrets else np.zeros((0, ORDER), np.int64)
        coefficients = np.stack([s.coefficients for s in secrets]) if secrets else np.zeros((0, ORDER))
        unique, inverse = np.unique(exponents, axis=0, return_inverse=True)
        groups = tuple((row, np.flatnonzero(inverse.ravel() == i)) for i, row in enumerate(unique))
        return cls(np.asarray(templates, np.float32), coefficients, exponents, groups)


def gallery_scores(probe: np.ndarray, gallery: ProtectedGallery, overlap: int = OVERLAP) -> np.ndarray:
    """Each template's cosine with the probe protected under that template's own secret.

    The probe's windows are raised to each power once; for one exponent
    permutation the protected probes of all its identities are then
    ``coefficients @ powered``, a (rows x m) by (m x outputs) product.
    """
    order = gallery.coefficients.shape[1]
    windows = _windows(probe, order, overlap, None)  # (outputs, m)
    powers = np.stack([windows ** e for e in range(1, order + 1)])  # (power, outputs, m)
    scores = np.empty(len(gallery.templates), np.float32)
    positions = np.arange(order)
    for exponents, rows in gallery.groups:
        powered = powers[exponents - 1, :, positions]  # (m, outputs): position k raised to its exponent
        protected = gallery.coefficients[rows] @ powered
        norms = np.linalg.norm(protected, axis=1)
        dots = np.einsum("ij,ij->i", protected, gallery.templates[rows])
        scores[rows] = dots / np.where(norms > 0, norms, 1.0)
    return scores
