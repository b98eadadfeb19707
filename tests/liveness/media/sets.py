"""The evaluation sets: live-like people answering their challenges, and every replay, as video files.

Shared by tests/liveness/test_attacks.py and benchmarks/bench_liveness_accuracy.py,
so the figures in docs/LIVENESS.md come from exactly the media the tests use.
Each case is a video file and the seed whose challenge sequence is asked
(``FACESEAL_LIVENESS_SEED`` or ``draw_sequence(seed)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_core.biometrics import Pipeline
from edge_core.liveness import Challenge, draw_sequence
from edge_core.liveness.mesh import FaceMesh
from tests.conftest import SHARED

from . import sequences

PEOPLE = ("deepface/img2.jpg", "deepface/img12.jpg", "faceonnx/nicole_2.jpg", "face_recognition/john2.jpeg",
          "faceonnx/sarah_2.jpg", "deepface/img27.jpg")
"""One photo each of 6 different people (../shared/faces), chosen with a closed mouth and open eyes, so a
blink and an open mouth are movements away from the photo."""
GENUINE = "live"
ATTACKS = ("still", "handheld", "zoomed", "bent", "screen", "screen_recording", "other_order", "other_person")
"""The replay sets, each one case per person."""


def supported(seed: int) -> bool:
    """Whether the media can perform every challenge this seed draws."""
    return all(c.code in sequences.EXPRESSIONS or c.code in sequences.HEAD for c in draw_sequence(seed))


def seeds(count: int, start: int = 0) -> list[int]:
    """``count`` seeds from ``start`` whose sequences the media can perform, all different sequences."""
    found: list[int] = []
    seen: set[tuple[Challenge, ...]] = set()
    seed = start
    while len(found) < count:
        drawn = draw_sequence(seed)
        if supported(seed) and drawn not in seen:
            found.append(seed)
            seen.add(drawn)
        seed += 1
    return found


def another_order(seed: int) -> int:
    """The first seed asking a different sequence than ``seed``'s: what a replayed recording is asked instead."""
    return next(s for s in range(seed + 1, seed + 500) if draw_sequence(s) != draw_sequence(seed))


@dataclass(frozen=True)
class Case:
    """One video and the seed whose sequence is asked of it."""

    name: str
    video: Path
    seed: int


def build(pipeline: Pipeline, mesh: FaceMesh, folder: Path, photos: Sequence[str] = PEOPLE,
          asked: Sequence[int] | None = None) -> dict[str, list[Case]]:
    """Every set over ``photos`` (one person per photo), written into ``folder``: {set name: cases}.

    Person i answers seed i of ``asked`` (by default ``seeds``);
    "other_person" is person i+1 answering after person i looked at the camera.
    """
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in photos]
    asked = list(asked) if asked is not None else seeds(len(people))
    made: dict[str, list[Case]] = {name: [] for name in (GENUINE, *ATTACKS)}
    for i, (person, seed) in enumerate(zip(people, asked)):
        codes = [c.code for c in draw_sequence(seed)]
        answer = sequences.answering(person, codes)

        def add(name: str, frames: list, noise: float = sequences.synthetic.NOISE, case_seed: int = seed) -> None:
            path = sequences.write(folder / f"{name}_{i}.avi", frames, seed=i, noise=noise)
            made[name].append(Case(name, path, case_seed))

        add(GENUINE, answer)
        add("still", sequences.still(person), noise=0)
        add("handheld", sequences.handheld(person, seed=i))
        add("zoomed", sequences.handheld(person, seed=i, zoom=0.45))
        add("bent", sequences.bent_print(person, seed=i))
        add("screen", sequences.on_screen(person, seed=i))
        add("screen_recording", sequences.screen_recording(answer, seed=i))
        made["other_order"].append(Case("other_order", made[GENUINE][-1].video, another_order(seed)))
        add("other_person", sequences.swapped(person, people[(i + 1) % len(people)], codes))
    return made
