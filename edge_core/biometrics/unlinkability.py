"""Unlinkability of protected templates: Gomez-Barrero et al.'s local D<->(s) and global D<->sys.

From "General Framework to Evaluate Unlinkability in Biometric Template
Protection Systems" (Gomez-Barrero, Galbally, Rathgeb, Busch; IEEE TIFS 13(6),
2018). An attacker holds two protected templates from two systems (two secrets)
and a score ``s`` comparing them; mated pairs are of one person, non-mated of
two. With LR(s) = p(s | mated) / p(s | non-mated) and the prior ratio
omega = P(mated) / P(non-mated):

* local: D<->(s) = 2 * omega * LR(s) / (1 + omega * LR(s)) - 1 where omega * LR(s) > 1, else 0
  (how surely a score ``s`` tells the pair is mated; 0 where it tells nothing);
* global: D<->sys = integral of p(s | mated) * D<->(s) ds, in [0, 1]: 0 is fully
  unlinkable, 1 fully linkable.

The densities are estimated as the paper's reference evaluation does, by
histograms over shared bins (min(mated / 10, 100) bins across the range of all
scores), omega = 1. Where the non-mated density is 0 and the mated one is not,
LR is infinite and D<->(s) = 1. A statistic, not cryptography: NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Unlinkability:
    """D<->sys and the local measure on each bin (its centre), from ``mated`` and ``non_mated`` pair counts."""

    global_score: float
    """D<->sys."""
    centres: np.ndarray
    local: np.ndarray
    """D<->(s) at each bin centre."""
    mated: int
    non_mated: int

    @property
    def local_max(self) -> float:
        """The highest local D<->(s) over scores that mated pairs reach."""
        return float(self.local.max()) if self.local.size else 0.0

    def as_dict(self) -> dict:
        return {"d_sys": round(self.global_score, 4), "local_max": round(self.local_max, 4),
                "mated_pairs": self.mated, "non_mated_pairs": self.non_mated}


def unlinkability(mated: np.ndarray, non_mated: np.ndarray, *, omega: float = 1.0) -> Unlinkability:
    """D<->sys and D<->(s) of the mated and non-mated scores (at least 10 mated, 1 non-mated)."""
    mated = np.asarray(mated, dtype=np.float64).ravel()
    non_mated = np.asarray(non_mated, dtype=np.float64).ravel()
    if len(mated) < 10 or len(non_mated) < 1:
        raise ValueError("at least 10 mated and one non-mated score are needed")
    count = min(len(mated) // 10, 100)
    both = np.concatenate([mated, non_mated])
    low, high = float(both.min()), float(both.max())
    if high == low:  # one score for every pair: nothing tells them apart
        return Unlinkability(0.0, np.array([low]), np.zeros(1), len(mated), len(non_mated))
    edges = np.linspace(low, high, count + 1)
    width = edges[1] - edges[0]
    p_mated = np.histogram(mated, edges, density=True)[0]
    p_non = np.histogram(non_mated, edges, density=True)[0]
    ratio = np.divide(omega * p_mated, p_non, out=np.full_like(p_mated, np.inf), where=p_non > 0)
    ratio[p_mated == 0] = 0.0  # no mated score there: nothing to link
    local = np.where(ratio > 1, 1.0, 0.0)  # 1 stays where only mated scores fall (LR infinite)
    finite = (ratio > 1) & np.isfinite(ratio)
    local[finite] = (ratio[finite] - 1) / (ratio[finite] + 1)  # = 2 LR / (1 + LR) - 1
    return Unlinkability(float(np.sum(p_mated * local) * width), (edges[:-1] + edges[1:]) / 2, local,
                         len(mated), len(non_mated))
