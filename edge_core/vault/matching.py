"""Cosine matching over decrypted templates.

Score rule (docs/ARCHITECTURE.md): an identity's score is the *maximum* cosine
similarity between the probe and any of its samples; it matches when the score
is at least the threshold. Max rather than mean, so one good enrolment sample
is enough and a poor one cannot drag a genuine user below the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


class Gallery:
    """Every template of one pack in one contiguous matrix, rows grouped by identity.

    Identify is then one matrix-vector product and one segmented max, which is
    what keeps 100k templates under the benchmark's budget.
    """

    def __init__(self, names: list[str], blocks: list[np.ndarray], skipped: tuple[Unreadable, ...] = ()) -> None:
        self.names = names
        self.skipped = skipped
        counts = np.array([len(b) for b in blocks], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if len(blocks) else np.zeros(0, np.int64)
        self.matrix = np.ascontiguousarray(np.vstack(blocks)) if blocks else np.zeros((0, 0), np.float32)

    def best(self, probe: np.ndarray) -> tuple[str | None, float]:
        if not self.names:
            return None, -1.0
        scores = np.maximum.reduceat(self.matrix @ probe, self.starts)
        index = int(np.argmax(scores))
        return self.names[index], float(scores[index])
