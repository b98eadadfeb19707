"""Comparing embeddings: verification (1:1) and identification (1:N).

A template is the k sample embeddings of one enrolment. It is compared through
its centroid (the normalised mean), which averages out the noise of single
frames and costs one dot product per identity whatever k is. Everything is
cosine similarity on unit vectors, the scale the pack thresholds are set on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edge_core.errors import InvalidEmbedding

from .embedders import l2_normalise


def centroid(template: np.ndarray) -> np.ndarray:
    """Unit-norm mean of a template's samples ((k, d) or (d,))."""
    samples = np.atleast_2d(np.asarray(template, np.float32))
    return l2_normalise(samples.mean(axis=0))


def similarity(probe: np.ndarray, template: np.ndarray) -> float:
    """Cosine similarity between a probe embedding and a template, in [-1, 1]."""
    probe = np.asarray(probe, np.float32).ravel()
    reference = centroid(template)
    if probe.shape != reference.shape:
        raise InvalidEmbedding(
            f"embedding sizes differ ({probe.shape[0]} vs {reference.shape[0]}): "
            "they were made by different model packs"
        )
    return float(np.dot(l2_normalise(probe), reference))


def verify(probe: np.ndarray, template: np.ndarray, threshold: float) -> tuple[bool, float]:
    """Whether the probe matches the template at ``threshold``, with the score."""
    score = similarity(probe, template)
    return score >= threshold, score


@dataclass(frozen=True)
class Match:
    """Result of identification: the best identity at or above threshold, or None."""

    name: str | None
    score: float
    """Best similarity over the gallery (reported even when below threshold)."""


def identify(probe: np.ndarray, gallery: Mapping[str, np.ndarray], threshold: float) -> Match:
    """The gallery identity most similar to the probe, if it reaches ``threshold``."""
    best_name, best_score = None, -1.0
    for name, template in gallery.items():
        score = similarity(probe, template)
        if score > best_score:
            best_name, best_score = name, score
    return Match(best_name if best_score >= threshold else None, best_score)
