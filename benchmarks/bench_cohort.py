"""Cohort suite: does score normalisation against a cohort of other faces treat the groups alike?

``python -m benchmarks cohort`` (or ``python -m benchmarks.bench_cohort``)
embeds the two source groups of ``bench_groups`` (``../shared/faces``: 22
mostly Western public figures, 15 East Asian K-pop singers) with every shipped
pack and compares, per group, the false-match rate (FMR) and false non-match
rate (FNMR) of four decision rules on photo pairs (the earlier photo is the
enrolled template, the later one the probe):

* ``global``: one threshold for everyone, chosen for 0.1 % FMR on the
  training people's different-person pairs (the rule of
  ``biometrics.evaluation``, as the shipped thresholds were chosen);
* ``adaptive``: a per-template threshold, ``t_i = max(t, mu_i + z sigma_i)``,
  where ``mu_i``/``sigma_i`` are the mean and spread of the template's cosines
  with the cohort and ``z`` is the normal quantile of the same 0.1 % target
  (3.09): the template's own 1-in-1,000 point, estimated from the cohort, never
  looser than the global threshold. No margin is tuned;
* ``znorm``: the score as standard deviations above the template's cohort mean,
  ``(s - mu_i) / sigma_i``, with its threshold chosen for 0.1 % FMR on the
  training people's normalised pairs;
* ``snorm``: the symmetric form, the mean of the template's and the probe's
  z-scores (each against the cohort), threshold chosen the same way.

The cohort is the training people's photos: the people evaluated are never in
it, and nothing is fitted on them. Two cross-validations:

* **leave people out**: the people of each group are split at random into
  halves; the cohort and the training pairs are one half of every group, the
  other half is evaluated, and the other way round; 10 random splits, the
  counts summed. The cohort then holds other people of every group, as a cohort
  of public photos shipped in a pack would;
* **leave one group out**: the cohort and the training pairs are the other
  group only; the group left out is evaluated. This asks whether a rule carries
  over to people of a group that neither the cohort nor the threshold saw.

Each is reported at the rule's own 0.1 % operating point, and at a fixed FNMR
(the threshold shifted, per evaluated fold, until 10 % of all evaluated
same-person pairs fail), where the rules' FMR per group compare at equal cost.
Spread is the highest group FMR over the lowest. Nothing is written; nothing
derived from ``../shared`` is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from benchmarks.bench_groups import PACKS, _embed, _scratch_packs, photos, with_faces
from edge_core.biometrics.evaluation import threshold_for_far

TARGET = 0.001
"""The false-match rate every rule is chosen for (the shipped thresholds' target)."""
Z = NormalDist().inv_cdf(1.0 - TARGET)
FIXED_FNMR = 0.10
"""The fixed false non-match rate at which the rules are also compared."""
SPLITS = 10
RULES = ("global", "adaptive", "znorm", "snorm")


@dataclass
class Counts:
    """Errors and trials per group, summed over folds."""

    false_matches: dict[str, int]
    impostor_pairs: dict[str, int]
    false_non_matches: dict[str, int]
    genuine_pairs: dict[str, int]

    @classmethod
    def empty(cls, groups: list[str]) -> Counts:
        return cls(*({g: 0 for g in groups} for _ in range(4)))

    def fmr(self, group: str) -> float:
        return self.false_matches[group] / max(self.impostor_pairs[group], 1)

    def fnmr(self, group: str) -> float:
        return self.false_non_matches[group] / max(self.genuine_pairs[group], 1)

    def spread(self) -> float | None:
        rates = [self.fmr(g) for g in self.false_matches if self.impostor_pairs[g]]
        return max(rates) / min(rates) if min(rates) > 0 else None


def cohort_stats(templates: np.ndarray, cohort: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                                                          np.ndarray]:
    """Each template's mean and standard deviation of cosines with the cohort (``exclude[i, k]``: leave k out)."""
    scores = templates @ cohort.T
    if exclude is not None:
        scores = np.where(exclude, np.nan, scores)
    return np.nanmean(scores, axis=1), np.maximum(np.nanstd(scores, axis=1), 1e-6)


def decision_scores(rule: str, score: np.ndarray, i: np.ndarray, j: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                    base: float) -> np.ndarray:
    """Each pair's score under ``rule`` (``i`` the template, ``j`` the probe), where a match is score >= threshold.

    ``adaptive`` is expressed on the cosine scale against ``base``: ``s >= max(base, mu + z sigma)`` is
    ``s - max(0, mu + z sigma - base) >= base``, so one threshold can be shifted for every rule alike.
    """
    if rule == "global":
        return score
    if rule == "adaptive":
        return score - np.maximum(0.0, mu[i] + Z * sigma[i] - base)
    if rule == "znorm":
        return (score - mu[i]) / sigma[i]
    return 0.5 * ((score - mu[i]) / sigma[i] + (score - mu[j]) / sigma[j])


def _pairs(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``i < j`` of ``count`` photos: ``i`` (the earlier) the template, ``j`` the probe."""
    i, j = np.triu_indices(count, k=1)
    return i, j


def _fold(embeddings: np.ndarray, person: np.ndarray, group: np.ndarray, train: np.ndarray,
          evaluate: np.ndarray, results: dict, groups: list[str]) -> None:
    """One split: the cohort and thresholds from the ``train`` photos, the counts on the ``evaluate`` photos."""
    cohort = embeddings[train]
    tr, ev = np.flatnonzero(train), np.flatnonzero(evaluate)
    own = person[tr][:, None] == person[tr][None, :]  # a training template is never normalised by its own person
    mu_t, sd_t = cohort_stats(embeddings[tr], cohort, exclude=own)
    mu_e, sd_e = cohort_stats(embeddings[ev], cohort)
    ti, tj = _pairs(len(tr))
    t_same = person[tr][ti] == person[tr][tj]
    t_score = np.einsum("kd,kd->k", embeddings[tr][ti], embeddings[tr][tj])
    base = threshold_for_far(t_score[~t_same], TARGET)
    ei, ej = _pairs(len(ev))
    e_same = person[ev][ei] == person[ev][ej]
    e_group = np.where(group[ev][ei] == group[ev][ej], group[ev][ei], "")
    e_score = np.einsum("kd,kd->k", embeddings[ev][ei], embeddings[ev][ej])
    for rule in RULES:
        train_scores = decision_scores(rule, t_score, ti, tj, mu_t, sd_t, base)
        threshold = base if rule in ("global", "adaptive") else threshold_for_far(train_scores[~t_same], TARGET)
        scores = decision_scores(rule, e_score, ei, ej, mu_e, sd_e, base)
        fixed = float(np.quantile(scores[e_same], FIXED_FNMR))  # the shift that fails FIXED_FNMR of genuine pairs
        for point, value in (("operating point", threshold), (f"at {FIXED_FNMR:.0%} FNMR", fixed)):
            counts = results[point][rule]
            accept = scores >= value
            for g in groups:
                mine = e_group == g
                counts.false_matches[g] += int((mine & ~e_same & accept).sum())
                counts.impostor_pairs[g] += int((mine & ~e_same).sum())
                counts.false_non_matches[g] += int((mine & e_same & ~accept).sum())
                counts.genuine_pairs[g] += int((mine & e_same).sum())


def compare(embeddings: np.ndarray, labels: list[str], groups_of: dict[str, str], seed: int = 0) -> dict:
    """Both cross-validations: {protocol: {point: {rule: Counts}}}; ``embeddings`` unit rows, one per photo."""
    person = np.asarray(labels)
    group = np.asarray([groups_of[label] for label in labels])
    groups = sorted(set(group))
    out: dict = {}
    for protocol in ("leave people out", "leave one group out"):
        results = {point: {rule: Counts.empty(groups) for rule in RULES}
                   for point in ("operating point", f"at {FIXED_FNMR:.0%} FNMR")}
        if protocol == "leave people out":
            rng = np.random.default_rng(seed)
            for _ in range(SPLITS):
                half = set()
                for g in groups:
                    people = sorted(set(person[group == g]))
                    half |= set(rng.permutation(people)[: len(people) // 2])
                first = np.isin(person, sorted(half))
                for train in (first, ~first):
                    _fold(embeddings, person, group, train, ~train, results, groups)
        else:
            for g in groups:
                _fold(embeddings, person, group, group != g, group == g, results, groups)
        out[protocol] = results
    return out


ENROL_SAMPLES = 4
"""Photos per person in the look-alike count (the first ones; a person with fewer gives all they have)."""


def look_alike_refusals(embeddings: np.ndarray, labels: list[str], groups_of: dict[str, str],
                        threshold: float) -> dict[str, tuple[int, int]]:
    """{group: (pairs of people refused, pairs)}: how often ``ops.enrol`` would call two different people of one
    group look-alikes (``matching.resemblance`` at ``threshold``), each enrolled from their first photos."""
    from edge_core.vault.matching import resemblance

    people: dict[str, np.ndarray] = {}
    for label in dict.fromkeys(labels):
        people[label] = embeddings[[k for k, other in enumerate(labels) if other == label][:ENROL_SAMPLES]]
    found: dict[str, tuple[int, int]] = {}
    for g in sorted(set(groups_of.values())):
        names = [name for name in people if groups_of[name] == g]
        refused = sum(resemblance(people[a], people[b], people[b]) >= threshold
                      for k, a in enumerate(names) for b in names[k + 1:])
        found[g] = (int(refused), len(names) * (len(names) - 1) // 2)
    return found


def markdown(pack: str, result: dict) -> list[str]:
    first = next(iter(next(iter(result.values())).values()))
    groups = list(next(iter(first.values())).false_matches)
    lines = []
    for protocol, points in result.items():
        for point, rules in points.items():
            lines.append(f"\n{pack}, {protocol}, {point}:\n")
            lines.append("| rule | " + " | ".join(f"FMR {g}" for g in groups) + " | "
                         + " | ".join(f"FNMR {g}" for g in groups) + " | spread |")
            lines.append("|---" * (2 * len(groups) + 2) + "|")
            for rule, c in rules.items():
                spread = c.spread()
                lines.append(f"| {rule} | " + " | ".join(f"{c.fmr(g) * 100:.2f} % ({c.false_matches[g]}/"
                                                         f"{c.impostor_pairs[g]})" for g in groups) + " | "
                             + " | ".join(f"{c.fnmr(g) * 100:.1f} %" for g in groups) + " | "
                             + ("undefined (a group with none)" if spread is None else f"{spread:.1f}x") + " |")
    return lines


def measure() -> dict:
    from edge_core.biometrics import load_pack, read_image

    paths, labels, groups = photos()
    images = [read_image(path) for path in paths]
    figures = {}
    with _scratch_packs():
        for name in PACKS:
            embeddings = _embed(load_pack(name), images)
            found = ~np.isnan(embeddings[:, 0])
            rows = embeddings[found] / np.linalg.norm(embeddings[found], axis=1, keepdims=True)
            kept = [label for label, ok in zip(labels, found) if ok]
            figures[name] = compare(rows, kept, groups)
            print("\n".join(markdown(name, figures[name])), flush=True)
            refusals = look_alike_refusals(rows, kept, groups, load_pack(name).threshold)
            print(f"\n{name}: pairs of different people an enrolment calls look-alikes at the shipped threshold: "
                  + "; ".join(f"{g} {r} of {n}" for g, (r, n) in refusals.items()), flush=True)
    return {name: {protocol: {point: {rule: {g: {"fmr": c.fmr(g), "fnmr": c.fnmr(g)} for g in c.false_matches}
                                      for rule, c in rules.items()} for point, rules in points.items()}
                   for protocol, points in result.items()} for name, result in figures.items()}


def run() -> dict:
    """``make bench``: measure and print."""
    return with_faces("bench_cohort", measure)


if __name__ == "__main__":
    run()
