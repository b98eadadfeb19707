"""Fixtures for the liveness tests: the shared packs (installed once) and test videos made from real photos.

Videos are written once per session with cv2.VideoWriter into a temporary
folder, from photos in ../shared/faces (never copied into the repository).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_core.liveness import Challenge, draw_sequence
from tests.biometrics.conftest import SHARED_FACES, installed_models, models_env  # noqa: F401 - fixtures

from . import synthetic

PERSON = SHARED_FACES / "deepface" / "img1.jpg"
SAME_PERSON = SHARED_FACES / "deepface" / "img2.jpg"
OTHER_PERSON = SHARED_FACES / "faceonnx" / "brad_1.jpg"
ANSWERABLE = {Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.COME_CLOSER}


def answerable_seeds() -> list[int]:
    """Seeds whose sequence the synthetic head can perform (turns and coming closer, see synthetic.py)."""
    return [seed for seed in range(200) if set(draw_sequence(seed)) <= ANSWERABLE]


@pytest.fixture(scope="session")
def pipeline(installed_models: Path):  # noqa: F811 - the imported fixture
    from edge_core.biometrics import load_pack

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACESEAL_MODELS", str(installed_models))
        return load_pack("open")


@pytest.fixture(scope="session")
def videos(pipeline, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"live_<seed>": a head answering that seed's sequence, "still", "slid", "turned_photo", "swapped"}."""
    import numpy as np

    folder = tmp_path_factory.mktemp("liveness-videos")
    frame, landmarks = synthetic.framed(PERSON, pipeline)
    made: dict[str, Path] = {}
    for seed in answerable_seeds()[:3]:
        made[f"live_{seed}"] = synthetic.write(folder / f"live_{seed}.avi",
                                               synthetic.answering(frame, landmarks, draw_sequence(seed)))
    made["still"] = synthetic.write(folder / "still.avi", [frame] * 30, noise=0)
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
