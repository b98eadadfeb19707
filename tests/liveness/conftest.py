"""Fixtures for the liveness tests: the shared packs (installed once) and test videos made from real photos.

Videos are written once per session with cv2.VideoWriter into a temporary
folder, from photos in ../shared/faces (never copied into the repository).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_core.liveness import Challenge, draw_sequence

from . import synthetic
from .synthetic import OTHER_PERSON, PERSON, answerable_seeds, seed_with


@pytest.fixture(scope="session")
def pipeline(installed_models: Path):
    from edge_core.biometrics import load_pack

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        return load_pack("open")


@pytest.fixture(autouse=True)
def _models(models_env: Path) -> Path:
    """Every liveness test sees the installed packs: a session loads the pack's mesh and iris models by name."""
    return models_env


@pytest.fixture(scope="session")
def face_mesh(installed_models: Path):
    """The open pack's face mesh model, loaded (sha256-checked) once."""
    from edge_core.liveness.mesh import load_mesh

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        return load_mesh("open")


@pytest.fixture(scope="session")
def videos(pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"live_<seed>": a head answering that seed's sequence, "still", "slid", "turned_photo", "swapped"}.

    Live heads for 3 sequences without a nod, one that looks up and one that looks down.
    """
    import numpy as np

    folder = tmp_path_factory.mktemp("liveness-videos")
    frame, landmarks = synthetic.framed(PERSON, pipeline)
    made: dict[str, Path] = {}
    for seed in [*answerable_seeds()[:3], *(seed_with(c) for c in (Challenge.LOOK_UP, Challenge.LOOK_DOWN))]:
        made[f"live_{seed}"] = synthetic.live_video(folder / f"live_{seed}.avi", frame, landmarks, seed)
    made["still"] = synthetic.still_video(folder / "still.avi", frame)
    made["slid"] = synthetic.write(folder / "slid.avi", [
        synthetic.moved_photo(frame, 10 * np.sin(i / 5), (30 * np.sin(i / 7), 10 * np.cos(i / 6))) for i in range(60)
    ])
    made["turned_photo"] = synthetic.write(folder / "turned.avi", [
        synthetic.moved_photo(frame, turn=0.5 * np.sin(i / 4)) for i in range(60)
    ])
    other, other_landmarks = synthetic.framed(OTHER_PERSON, pipeline)
    seed = answerable_seeds()[0]
    made["swapped"] = synthetic.write(folder / "swapped.avi", [frame] * 4 + synthetic.answering(
        other, other_landmarks, draw_sequence(seed))[4:])
    return made
