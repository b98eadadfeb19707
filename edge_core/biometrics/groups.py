"""Error rates per group of people: false non-matches and false matches within and across groups.

One false-match rate for everyone is a security property, not an average: a
threshold chosen on one group of people can let far more false matches
through in another (issue 34). So ``faceseal calibrate`` and the accuracy
benchmark count, at each operating threshold,

* FNMR per group: same-person pairs scored below the threshold;
* FMR within each group: different-person pairs of two people of that group
  scored at or above it; and FMR across each pair of groups;
* the spread between groups: highest over lowest within-group FMR. It is
  *undefined* where a group has no false match (0 is no rate to divide by);
  the report then gives a bound instead: the highest FMR over the 95 % upper
  bound of the group without false matches ("at least N times").

Each rate carries its exact 95 % Clopper-Pearson interval, from the beta
distribution's quantiles in SciPy. SciPy is a development dependency that the
installer leaves out (packaging/bundle_contents.py), so it is imported only
when an interval is asked for; without it the counts and rates are still
given and the bounds are ``None`` (:func:`bounds_available` says which).

A person's group comes from where the photos come from or from a documented
public fact (a ``groups.csv``), never from judging a face.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
ACROSS = "across groups"


def bounds_available() -> bool:
    """Whether SciPy is installed, hence whether rates carry their Clopper-Pearson bounds."""
    try:
        import scipy.stats  # noqa: F401
    except ImportError:
        return False
    return True


def clopper_pearson(errors: int, trials: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a rate of ``errors`` in ``trials``; needs SciPy.

    0 of n gives [0, 1 - (alpha/2)^(1/n)], n of n gives [(alpha/2)^(1/n), 1].
    """
    from scipy.stats import beta

    if trials <= 0:
        return 0.0, 1.0
    tail = (1.0 - confidence) / 2
    low = 0.0 if errors == 0 else float(beta.ppf(tail, errors, trials - errors + 1))
    high = 1.0 if errors == trials else float(beta.ppf(1.0 - tail, errors + 1, trials - errors))
    return low, high


@dataclass(frozen=True)
class Rate:
    """``errors`` of ``trials`` pairs, the rate (``None`` without pairs) and its 95 % interval."""

    errors: int
    trials: int
    rate: float | None
    low: float | None
    high: float | None
    """The Clopper-Pearson bounds; ``None`` where SciPy is absent."""

    @classmethod
    def count(cls, errors: int, trials: int, *, bounds: bool = True) -> Rate:
        low = high = None
        if bounds:
            low, high = clopper_pearson(errors, trials)
        return cls(int(errors), int(trials), errors / trials if trials else None, low, high)

    def text(self) -> str:
        """``5/216 = 2.31 % [0.75-5.33 %]``, or ``no pairs``."""
        if not self.trials:
            return "no pairs"
        bounds = "" if self.low is None else f" [{self.low * 100:.2f}-{self.high * 100:.2f} %]"
        return f"{self.errors}/{self.trials} = {self.rate * 100:.2f} %{bounds}"


@dataclass(frozen=True)
class GroupSize:
    group: str
    people: int
    photos: int


@dataclass(frozen=True)
class GroupFigures:
    """One group at one threshold. ``fnmr`` is ``None`` for a pair of groups (no same-person pair spans two)."""

    group: str
    """A group's name, or "a vs b" for the pairs between two groups."""
    fnmr: Rate | None
    fmr: Rate


@dataclass(frozen=True)
class Spread:
    """Highest over lowest within-group FMR at one threshold.

    ``ratio`` is ``None`` (undefined) where the lowest group has no false
    match; ``at_least`` is then the highest FMR over that group's 95 % upper
    bound (``None`` too when no group has a false match, ``highest`` and
    ``lowest`` then naming the same group, or when SciPy is absent).
    """

    highest: str
    lowest: str
    ratio: float | None
    at_least: float | None

    def text(self) -> str:
        if self.ratio is not None:
            return f"{self.ratio:.1f}x ({self.highest} over {self.lowest})"
        if self.highest == self.lowest:
            return "undefined (no group has a false match)"
        if self.at_least is None:
            return f"undefined: {self.lowest} has 0 false matches (its bound needs SciPy)"
        if self.at_least < 1:
            return f"undefined: {self.lowest} has 0 false matches, too few pairs to bound the spread"
        return (f"undefined: {self.lowest} has 0 false matches; {self.highest} at least {self.at_least:.1f}x "
                "its 95 % upper bound")


@dataclass(frozen=True)
class GroupRow:
    """Every group's figures at one threshold (``label``: "current", "1 %", ... as in calibrate's rows)."""

    label: str
    threshold: float
    groups: list[GroupFigures]
    across: list[GroupFigures]
    spread: Spread | None
    """``None`` with fewer than two groups that have different-person pairs."""


@dataclass(frozen=True)
class Pairs:
    """Every scored pair of photos: its score, whether it is one person, and the two people's groups."""

    score: np.ndarray
    same: np.ndarray
    group_a: np.ndarray
    group_b: np.ndarray
    names: list[str]
    """The groups, sorted; ``group_a``/``group_b`` index into it (``group_a <= group_b``)."""


def pairs(scores: np.ndarray, labels: Sequence[str], groups: Mapping[str, str]) -> Pairs:
    """The pairs ``i < j`` of a square score matrix (NaN scores, e.g. a probe without a face, are left out).

    For clean photos ``scores`` is ``E @ E.T``; for degraded probes it is the
    clean photos against the degraded ones, so each pair scores the earlier
    photo clean (the enrolment) against the later one degraded (the probe).
    """
    missing = sorted({label for label in labels} - set(groups))
    if missing:
        raise ValueError(f"no group for {len(missing)} people, e.g. {missing[0]}")
    names = sorted(set(groups[label] for label in labels))
    index = np.array([names.index(groups[label]) for label in labels])
    person = np.asarray(labels)
    upper = np.triu_indices(len(person), k=1)
    values = scores[upper]
    keep = ~np.isnan(values)
    a, b = index[upper[0]][keep], index[upper[1]][keep]
    return Pairs(values[keep], (person[upper[0]] == person[upper[1]])[keep], np.minimum(a, b), np.maximum(a, b),
                 names)


def sizes(labels: Sequence[str], groups: Mapping[str, str]) -> list[GroupSize]:
    """People and photos of each group, groups sorted by name."""
    names = sorted(set(groups[label] for label in labels))
    return [GroupSize(name, len({label for label in labels if groups[label] == name}),
                      sum(1 for label in labels if groups[label] == name)) for name in names]


def at_threshold(found: Pairs, label: str, threshold: float, *, bounds: bool | None = None) -> GroupRow:
    """FNMR and FMR per group, FMR across each pair of groups, and the spread, at ``threshold``."""
    bounds = bounds_available() if bounds is None else bounds
    accept = found.score >= threshold
    within = []
    for g, name in enumerate(found.names):
        mine = (found.group_a == g) & (found.group_b == g)
        genuine, impostor = mine & found.same, mine & ~found.same
        within.append(GroupFigures(name, Rate.count(int((genuine & ~accept).sum()), int(genuine.sum()), bounds=bounds),
                                   Rate.count(int((impostor & accept).sum()), int(impostor.sum()), bounds=bounds)))
    across = []
    for g, h in itertools.combinations(range(len(found.names)), 2):
        between = (found.group_a == g) & (found.group_b == h)
        across.append(GroupFigures(f"{found.names[g]} vs {found.names[h]}", None,
                                   Rate.count(int((between & accept).sum()), int(between.sum()), bounds=bounds)))
    return GroupRow(label, float(threshold), within, across, spread([f for f in within if f.fmr.trials]))


def spread(figures: Sequence[GroupFigures]) -> Spread | None:
    """Highest over lowest FMR of ``figures`` (the groups with different-person pairs)."""
    if len(figures) < 2:
        return None
    ordered = sorted(figures, key=lambda f: f.fmr.rate)
    lowest, highest = ordered[0], ordered[-1]
    if lowest.fmr.errors:
        return Spread(highest.group, lowest.group, highest.fmr.rate / lowest.fmr.rate, None)
    if not highest.fmr.errors:
        return Spread(highest.group, highest.group, None, None)
    bound = None
    if lowest.fmr.high is not None:
        # several groups may have none: the one with the loosest upper bound gives the weakest, safe, claim
        loosest = max((f for f in ordered if not f.fmr.errors), key=lambda f: f.fmr.high)
        lowest, bound = loosest, highest.fmr.rate / loosest.fmr.high
    return Spread(highest.group, lowest.group, None, bound)


def table(rows: Sequence[GroupRow], group_sizes: Sequence[GroupSize], *, title: str = "per group") -> list[str]:
    """The per-group table as text lines (calibrate's summary and the benchmark print it)."""
    people = "; ".join(f"{s.group} {s.people} people, {s.photos} photos" for s in group_sizes)
    lines = [f"{title} ({people}); 95 % Clopper-Pearson intervals"
             + ("" if any(r.low is not None for row in rows for r in _rates(row)) or not rows
                else " need SciPy, absent here")]
    width = max([len(f.group) for row in rows for f in row.groups + row.across] + [len("spread of FMR")])
    lines.append(f"  {'threshold':<20}  {'group':<{width}}  {'false non-matches':<32}  false matches")
    for row in rows:
        name = ("in force " if row.label == "current" else f"for {row.label} FMR ") + f"{row.threshold:.3f}"
        for index, f in enumerate(row.groups + row.across):
            fnmr = "" if f.fnmr is None else f.fnmr.text()
            lines.append(f"  {name if index == 0 else '':<20}  {f.group:<{width}}  {fnmr:<32}  {f.fmr.text()}")
        if row.spread is not None:
            lines.append(f"  {'':<20}  {'spread of FMR':<{width}}  {row.spread.text()}")
    return lines


def _rates(row: GroupRow) -> list[Rate]:
    return [r for f in row.groups + row.across for r in (f.fnmr, f.fmr) if r is not None]
