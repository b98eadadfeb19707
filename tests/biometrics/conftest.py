"""Fixtures for the biometrics tests: the shared models and photos, installed packs, cached embeddings.

The models and photos are read from ``../shared`` next to the repository and are
never copied into it. Packs are installed once per session (with ``--from``
that folder, as an offline machine would) into a temporary models folder, and
the embeddings of all 88 labelled photos are computed once per pack, so the
whole suite stays within a few minutes on 2 cores.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared"
SHARED_MODELS = SHARED / "models"
SHARED_FACES = SHARED / "faces"
TESTED_PACKS = ("open", "scrfd", "yunet512")

if not (SHARED_MODELS.is_dir() and SHARED_FACES.is_dir()):
    pytest.skip(
        f"shared models and photos not found at {SHARED.resolve()} (they are never in the repository)",
        allow_module_level=True,
    )


@dataclass(frozen=True)
class Photo:
    """One labelled single-subject photo from labels.csv."""

    file: str
    identity: str

    @property
    def path(self) -> Path:
        return SHARED_FACES / self.file


@pytest.fixture(scope="session")
def photos() -> list[Photo]:
    with open(SHARED_FACES / "labels.csv", newline="") as handle:
        return [Photo(row["file"], row["identity"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="session")
def photo_embeddings(installed_models: Path, photos: list[Photo]) -> dict[str, np.ndarray]:
    """{pack: (88, d) embeddings of each photo's largest face}, computed once per session."""
    from edge_core.biometrics import load_pack, read_image

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        pipelines = {name: load_pack(name) for name in TESTED_PACKS}
        rows: dict[str, list[np.ndarray]] = {name: [] for name in TESTED_PACKS}
        for photo in photos:
            image = read_image(photo.path)
            for name, pipeline in pipelines.items():
                rows[name].append(pipeline.embed_one(image, largest=True)[1])
    return {name: np.stack(vectors) for name, vectors in rows.items()}
