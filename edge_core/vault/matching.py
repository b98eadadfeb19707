"""Cosine matching over decrypted templates.

Score rule (docs/ARCHITECTURE.md, docs/BIOMETRICS.md): an identity's score is
the *mean of its two best* cosine similarities with the probe (its only one
when it has a single sample); it matches when the score is at least the
threshold. Measured on shared/faces (benchmarks/bench_accuracy.py) against the
old max-of-samples rule, at each pack's threshold: the same false rejects (none)
and a third to a half of the false accepts (max gives an impostor one chance per
sample, so its false accepts grow with the number of samples), while one poor
sample still cannot drag a genuine user down the way a mean of all would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from edge_core.vault import product


@dataclass(frozen=True)
class Unreadable:
    """A stored template that could not be opened (damaged, or its identity's row edited), skipped in a match."""

    template: str
    identity: str
    reason: str
    """"content" (the blob fails to authenticate or parse), "dimension" (its stored size disagrees with its
    sealed content) or "identity_key" (its identity's key does not open under its name)."""


@dataclass(frozen=True)
class MatchResult:
    name: str | None
    score: float
    threshold: float
    pack: str
    skipped: tuple[Unreadable, ...] = ()
    """Templates that could not be read and were left out of the match."""

    @property
    def match(self) -> bool:
        return self.name is not None and self.score >= self.threshold

    def as_dict(self) -> dict:
        return {"name": self.name, "score": round(self.score, 6), "threshold": self.threshold,
                "match": self.match, "pack": self.pack}


def template_score(scores: np.ndarray) -> float:
    """One identity's score from the cosines of its samples: the mean of the best two (or the only one)."""
    scores = np.asarray(scores, np.float32).ravel()
    if scores.size == 1:
        return float(scores[0])
    best_two = np.partition(scores, scores.size - 2)[-2:]
    return float(best_two.mean())


def resemblance(other: np.ndarray, template: np.ndarray, samples: np.ndarray) -> float:
    """How close a person about to be enrolled comes to ``other`` (someone already enrolled), by the match rule.

    Both directions of a later match, each by :func:`template_score`: every new
    sample as a probe against ``other``'s templates (the newcomer taken for
    them), and every template of ``other`` as a probe against ``template``,
    the newcomer's templates once enrolled (``samples`` and, when adding, the
    ones kept already: they would be taken for the newcomer). The highest:
    the enrolment's own samples are the closest thing to a later probe that
    exists at that moment. All rows are unit vectors.
    """
    as_newcomer = _best_two(other @ samples.T, axis=0)  # each sample's score against ``other``
    as_other = _best_two(other @ template.T, axis=1)  # each of ``other``'s templates against the newcomer
    return float(max(as_newcomer.max(), as_other.max()))


def _best_two(cosines: np.ndarray, axis: int) -> np.ndarray:
    """:func:`template_score` of every line of ``cosines`` along ``axis`` at once."""
    if cosines.shape[axis] == 1:
        return cosines.max(axis=axis)
    ordered = np.sort(cosines, axis=axis)
    return np.take(ordered, [-2, -1], axis=axis).mean(axis=axis)


@dataclass
class Opened:
    """Templates of one size decrypted straight into one matrix (no other copy is made): the rows of the database
    query they came from, and one float32 row each, in that order."""

    rows: list[tuple]
    matrix: np.ndarray = field(repr=False)

    def wipe(self) -> None:
        """Overwrite the templates (a verify or a choice of samples is done with them)."""
        self.matrix.fill(0)

    def gallery(self, skipped: tuple[Unreadable, ...]) -> "Gallery":
        """These templates as a gallery, over this same matrix (rows of one identity are consecutive: the query
        orders them by name): the gallery, and so the vault when it closes, then owns and wipes them."""
        owners: list[str] = []
        names: list[str] = []
        counts: list[int] = []
        for row in self.rows:
            if owners and row[3] == owners[-1]:
                counts[-1] += 1
            else:
                owners.append(row[3])
                names.append(row[4])
                counts.append(1)
        return Gallery.of_rows(names, counts, self.matrix, skipped)


class Gallery:
    """Every template of one pack in one contiguous matrix, rows grouped by identity.

    Identify is then one matrix-vector product (onnxruntime's, :mod:`.product`)
    and two segmented maxima (the best and the second best of each identity,
    :func:`template_score`), which is what keeps 100k templates under the
    benchmark's budget.
    """

    def __init__(self, names: list[str], blocks: list[np.ndarray], skipped: tuple[Unreadable, ...] = ()) -> None:
        self.names = names
        self.skipped = skipped
        counts = np.array([len(b) for b in blocks], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(blocks) else np.zeros(0, np.int64)
        self.matrix = np.ascontiguousarray(np.vstack(blocks)) if blocks else np.zeros((0, 0), np.float32)

    @classmethod
    def of_rows(cls, names: list[str], counts: list[int], matrix: np.ndarray,
                skipped: tuple[Unreadable, ...] = ()) -> Gallery:
        """A gallery over a matrix already grouped by identity (``counts`` rows each): a sealed snapshot's."""
        gallery = cls([], [], skipped)
        gallery.names = names
        gallery.starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if counts else gallery.starts
        gallery.matrix = matrix
        return gallery

    def counts(self) -> list[int]:
        """How many rows each identity has, in order."""
        return np.diff(np.append(self.starts, len(self.matrix))).astype(int).tolist()

    def templates(self) -> Iterator[tuple[str, np.ndarray]]:
        """Each identity's name and its templates' rows."""
        ends = np.append(self.starts[1:], len(self.matrix))
        for name, start, end in zip(self.names, self.starts, ends):
            yield name, self.matrix[start:end]

    def wipe(self) -> None:
        """Overwrite the decrypted templates: when the vault closes (or locks), the only copy goes.

        The templates were decrypted straight into this matrix (:class:`Opened`)
        or copied into it from a sealed snapshot opened into a buffer wiped at
        once, so no other copy of them is left in memory (issue 25, item 6).
        """
        if self.matrix.flags.writeable:
            self.matrix.fill(0)

    def best(self, probe: np.ndarray) -> tuple[str | None, float]:
        if not self.names:
            return None, -1.0
        cosines = product.cosines(self.matrix, probe)
        counts = np.diff(np.append(self.starts, len(cosines)))
        best = np.maximum.reduceat(cosines, self.starts)
        at_best = cosines == np.repeat(best, counts)
        ties = np.add.reduceat(at_best.astype(np.int64), self.starts)
        second = np.maximum.reduceat(np.where(at_best, -np.inf, cosines), self.starts)
        second = np.where(ties > 1, best, second)  # two samples share the best score
        scores = np.where(counts > 1, (best + second) / 2, best)
        index = int(np.argmax(scores))
        return self.names[index], float(scores[index])
