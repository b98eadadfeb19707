"""Gomez-Barrero et al.'s D<->sys on distributions whose answer is known."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from edge_core.biometrics.unlinkability import unlinkability


def test_one_distribution_for_mated_and_non_mated_pairs_is_unlinkable():
    rng = np.random.default_rng(1)
    found = unlinkability(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000))
    assert found.global_score < 0.03


def test_separate_distributions_are_fully_linkable():
    rng = np.random.default_rng(2)
    found = unlinkability(rng.uniform(0.8, 1.0, 1_000), rng.uniform(0.0, 0.2, 1_000))
    assert found.global_score == pytest.approx(1.0)
    assert found.local_max == 1.0


def test_overlapping_normals_give_the_papers_integral():
    # D<->sys = integral of p_m(s) * max(0, (p_m - p_n) / (p_m + p_n)) ds, which is 2 LR / (1 + LR) - 1 where LR > 1
    mated, non_mated = NormalDist(1.0, 1.0), NormalDist(0.0, 1.0)
    grid = np.linspace(-8, 9, 200_001)
    p_m = np.array([mated.pdf(s) for s in grid[::100]])
    p_n = np.array([non_mated.pdf(s) for s in grid[::100]])
    expected = float(np.sum(p_m * np.maximum(0.0, (p_m - p_n) / (p_m + p_n))) * (grid[100] - grid[0]))
    rng = np.random.default_rng(3)
    found = unlinkability(rng.normal(1.0, 1.0, 50_000), rng.normal(0.0, 1.0, 50_000))
    assert found.global_score == pytest.approx(expected, abs=0.02)
    assert 0.2 < expected < 0.4  # neither end: the comparison means something
    # locally, D<->(s) = (LR - 1) / (LR + 1) with LR = exp(s - 0.5): about 0.8 around s = 3, and 0 where
    # non-mated scores are the likelier (s < 0.5)
    assert found.local[(found.centres > 2.5) & (found.centres < 3.5)].mean() == pytest.approx(0.8, abs=0.1)
    assert found.local[found.centres < 0.0].max() == 0.0


def test_too_few_scores_are_refused_in_one_line():
    with pytest.raises(ValueError, match="at least 10 mated"):
        unlinkability(np.zeros(3), np.zeros(100))
