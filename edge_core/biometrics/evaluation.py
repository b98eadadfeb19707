"""How well a pack separates people: error rates, thresholds for a target false-accept rate, confidence.

Shared by ``faceseal calibrate`` (on the user's own labelled photos) and the
accuracy benchmark (on ``shared/faces``), so both apply one rule:

* a threshold for a target false-accept rate (FAR) is read off the impostor
  (different-person) scores, never fitted to make the photos at hand error-free:
  it is the larger of the empirical (1 - target) quantile and the same quantile
  of a normal distribution fitted to the impostor scores. The empirical
  quantile alone is a single score when the target is below one pair in the
  sample (0.01 % of 3,656 pairs is 0.4 of a pair); the normal tail extends it,
  and taking the larger never loosens what the data itself shows;
* its quality is judged by cross-validation over people: the threshold is
  chosen on the pairs of some people and tested on the pairs of the others,
  never the same person in both (repeated two-fold splits of the people);
* confidence: a 95 % interval of the threshold by resampling people (bootstrap),
  and Wilson 95 % intervals for the held-out error rates.

Only NumPy and the standard library: this runs inside the app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

TARGETS = (0.01, 0.001, 0.0001)
"""The false-accept rates reported everywhere: 1 %, 0.1 % (the default's target) and 0.01 % (NIST SP 800-63B-4)."""
DEFAULT_TARGET = 0.001


@dataclass(frozen=True)
class PairScores:
    """Cosine scores of every same-person (genuine) and different-person (impostor) pair."""

    genuine: np.ndarray
    impostor: np.ndarray


def pair_scores(embeddings: np.ndarray, labels: Sequence[str]) -> PairScores:
    """Scores of all unordered pairs of distinct photos, split by whether the labels agree."""
    labels_array = np.asarray(labels)
    scores = embeddings @ embeddings.T
    upper = np.triu_indices(len(labels_array), k=1)
    same = labels_array[upper[0]] == labels_array[upper[1]]
    values = scores[upper]
    return PairScores(genuine=values[same], impostor=values[~same])


def error_rates(scores: PairScores, threshold: float) -> tuple[float, float]:
    """(false-reject rate, false-accept rate) when a score >= threshold is a match."""
    frr = float(np.mean(scores.genuine < threshold)) if len(scores.genuine) else float("nan")
    far = float(np.mean(scores.impostor >= threshold)) if len(scores.impostor) else float("nan")
    return frr, far


def threshold_for_far(impostor: np.ndarray, target: float) -> float:
    """The threshold for false-accept rate ``target``: max(empirical quantile, normal-fit quantile)."""
    if len(impostor) < 2:
        raise ValueError("at least two different-person pairs are needed to choose a threshold")
    empirical = float(np.quantile(impostor, 1.0 - target, method="higher"))
    fitted = NormalDist(float(np.mean(impostor)), float(np.std(impostor)) or 1e-6).inv_cdf(1.0 - target)
    # the next representable cosine above both, so that the quantile's own pair is rejected
    return float(np.nextafter(np.float32(max(empirical, fitted)), np.float32(2.0)))


def wilson(errors: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95 % interval of a rate of ``errors`` in ``trials`` (sensible at 0 errors too)."""
    if trials == 0:
        return 0.0, 1.0
    p = errors / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class TargetReport:
    """The threshold for one target FAR and what it does on people it was not chosen on."""

    target: float
    threshold: float
    """Chosen on every impostor pair available."""
    threshold_interval: tuple[float, float]
    """95 % bootstrap interval over people."""
    frr: float
    far: float
    """Held-out rates: thresholds chosen on one half of the people, counted on the other half."""
    frr_interval: tuple[float, float]
    far_interval: tuple[float, float]
    genuine_pairs: int
    impostor_pairs: int
    """Held-out pairs counted in one full pass over the people (each split covers everyone once)."""

    def as_dict(self) -> dict:
        """JSON-ready, rounded."""
        return {
            "target_far": self.target,
            "threshold": round(self.threshold, 4),
            "threshold_95": [round(v, 4) for v in self.threshold_interval],
            "frr": round(self.frr, 5),
            "far": round(self.far, 6),
            "frr_95": [round(v, 5) for v in self.frr_interval],
            "far_95": [round(v, 6) for v in self.far_interval],
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
        }


def _people_index(labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    people = sorted(set(labels))
    index = {name: i for i, name in enumerate(people)}
    return people, np.array([index[name] for name in labels])


def cross_validate(
    embeddings: np.ndarray,
    labels: Sequence[str],
    targets: Sequence[float] = TARGETS,
    *,
    repeats: int = 10,
    bootstraps: int = 200,
    seed: int = 0,
) -> list[TargetReport]:
    """One report per target FAR: threshold, its bootstrap interval, and held-out FRR/FAR.

    Needs at least 4 people, 2 of them with two photos or more.
    """
    return cross_validate_scores(embeddings @ embeddings.T, labels, targets, repeats=repeats,
                                 bootstraps=bootstraps, seed=seed)


def cross_validate_scores(
    scores: np.ndarray,
    labels: Sequence[str],
    targets: Sequence[float] = TARGETS,
    *,
    repeats: int = 10,
    bootstraps: int = 200,
    seed: int = 0,
) -> list[TargetReport]:
    """:func:`cross_validate` on a square matrix of scores, each pair ``i < j`` scored ``scores[i, j]``.

    For matchers whose score is not an embedding's dot product: a protected
    template scores photo ``j``'s probe against photo ``i``'s enrolment under
    ``i``'s person's secret (:mod:`edge_core.biometrics.protection`).
    """
    people, person = _people_index(labels)
    if len(people) < 4:
        raise ValueError(f"{len(people)} people: at least 4 are needed to cross-validate over people")
    upper = np.triu_indices(len(person), k=1)
    pair_a, pair_b = person[upper[0]], person[upper[1]]
    values = scores[upper]
    same = pair_a == pair_b
    if same.sum() < 2:
        raise ValueError("at least two same-person pairs are needed (two photos of a person)")
    rng = np.random.default_rng(seed)

    held = {t: [0, 0, 0, 0] for t in targets}  # false rejects, genuine, false accepts, impostor
    for _ in range(repeats):
        half = rng.permutation(len(people)) < len(people) // 2
        for test_side in (True, False):
            train = (half[pair_a] != test_side) & (half[pair_b] != test_side)
            test = (half[pair_a] == test_side) & (half[pair_b] == test_side)
            for target in targets:
                threshold = threshold_for_far(values[train & ~same], target)
                counts = held[target]
                counts[0] += int((values[test & same] < threshold).sum())
                counts[1] += int((test & same).sum())
                counts[2] += int((values[test & ~same] >= threshold).sum())
                counts[3] += int((test & ~same).sum())

    boot = {t: [] for t in targets}
    for _ in range(bootstraps):
        chosen = rng.integers(0, len(people), len(people))
        photos = np.concatenate([np.flatnonzero(person == p) for p in chosen])
        copy = np.repeat(np.arange(len(chosen)), [int((person == p).sum()) for p in chosen])
        sub = scores[np.ix_(photos, photos)]
        different = (person[photos][:, None] != person[photos][None, :]) & (copy[:, None] < copy[None, :])
        impostor = sub[different]
        if len(impostor) >= 2:
            for target in targets:
                boot[target].append(threshold_for_far(impostor, target))

    reports = []
    for target in targets:
        rejects, genuine, accepts, impostor = held[target]
        passes = repeats  # each repeat's two halves cover every person once
        reports.append(TargetReport(
            target=target,
            threshold=threshold_for_far(values[~same], target),
            threshold_interval=(float(np.percentile(boot[target], 2.5)), float(np.percentile(boot[target], 97.5))),
            frr=rejects / genuine if genuine else float("nan"),
            far=accepts / impostor if impostor else float("nan"),
            frr_interval=wilson(round(rejects / passes), max(1, genuine // passes)),
            far_interval=wilson(round(accepts / passes), max(1, impostor // passes)),
            genuine_pairs=genuine // passes,
            impostor_pairs=impostor // passes,
        ))
    return reports


def det_points(scores: PairScores) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) at every distinct score used as the threshold: the DET curve, FAR increasing."""
    thresholds = np.unique(np.concatenate([scores.genuine, scores.impostor]))[::-1]
    impostor = np.sort(scores.impostor)
    genuine = np.sort(scores.genuine)
    far = (len(impostor) - np.searchsorted(impostor, thresholds, side="left")) / max(1, len(impostor))
    frr = np.searchsorted(genuine, thresholds, side="left") / max(1, len(genuine))
    return far, frr
