"""The threshold rule and its confidence, on score distributions whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from edge_core.biometrics.evaluation import (
    PairScores,
    cross_validate,
    det_points,
    error_rates,
    threshold_for_far,
    wilson,
)


def test_threshold_for_a_normal_impostor_distribution_hits_the_target():
    rng = np.random.default_rng(0)
    impostor = rng.normal(0.0, 0.1, 200_000)
    for target in (0.01, 0.001):
        threshold = threshold_for_far(impostor, target)
        far = float(np.mean(impostor >= threshold))
        assert far <= target and far >= target * 0.8, (target, far)


def test_few_pairs_never_give_a_looser_threshold_than_the_data_shows():
    # 100 pairs cannot show 1 in 10,000: the threshold sits at or above the highest impostor seen.
    impostor = np.random.default_rng(1).normal(0.0, 0.1, 100)
    assert threshold_for_far(impostor, 0.0001) > impostor.max()


def test_cross_validation_over_people_on_separable_people():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(12, 64))
    labels = [f"p{i}" for i in range(12) for _ in range(3)]
    embeddings = np.repeat(centres, 3, axis=0) + 0.3 * rng.normal(size=(36, 64))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    reports = cross_validate(embeddings, labels, bootstraps=50)
    assert [r.target for r in reports] == [0.01, 0.001, 0.0001]
    assert [r.threshold for r in reports] == sorted(r.threshold for r in reports)
    for report in reports:
        low, high = report.threshold_interval
        assert low <= report.threshold <= high + 1e-6
        assert report.frr == 0.0 and report.genuine_pairs > 0 and report.impostor_pairs > 0
    with pytest.raises(ValueError):
        cross_validate(embeddings[:9], labels[:9])  # 3 people cannot be split into halves with impostors


def test_error_rates_det_points_and_wilson():
    scores = PairScores(genuine=np.array([0.9, 0.8, 0.3]), impostor=np.array([0.1, 0.2, 0.5, 0.35]))
    assert error_rates(scores, 0.4) == (pytest.approx(1 / 3), pytest.approx(1 / 4))
    far, frr = det_points(scores)
    assert far[0] == 0 and far[-1] == 1 and frr[-1] == 0 and np.all(np.diff(far) >= 0)
    low, high = wilson(0, 100)
    assert low == 0.0 and 0.03 < high < 0.04
