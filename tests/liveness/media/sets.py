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
          asked: Sequence[int] | None = None, answers_each: int = 1) -> dict[str, list[Case]]:
    """Every set over ``photos`` (one person per photo), written into ``folder``: {set name: cases}.

    Person i answers ``answers_each`` sequences, seeds ``asked[i * answers_each:]``
    (by default from ``seeds``), each a "live" case and, asked another order,
    an "other_order" one; the other replays are one case per person, asked
    the person's first sequence. "other_person" is person i+1 answering after
    person i looked at the camera.
    """
    people = [sequences.Person.from_photo(SHARED / "faces" / photo, pipeline, mesh) for photo in photos]
    asked = list(asked) if asked is not None else seeds(len(people) * answers_each)
    made: dict[str, list[Case]] = {name: [] for name in (GENUINE, *ATTACKS)}

    def add(name: str, i: int, frames: list, seed: int, noise: float = sequences.synthetic.NOISE) -> None:
        path = sequences.write(folder / f"{name}_{i}_{len(made[name])}.avi", frames, seed=i, noise=noise)
        made[name].append(Case(name, path, seed))

    for i, person in enumerate(people):
        answers = {}
        for seed in asked[i * answers_each:(i + 1) * answers_each]:
            answers[seed] = sequences.answering(person, [c.code for c in draw_sequence(seed)])
            add(GENUINE, i, answers[seed], seed)
            made["other_order"].append(Case("other_order", made[GENUINE][-1].video, another_order(seed)))
        seed, answer = next(iter(answers.items()))
        add("still", i, sequences.still(person), seed, noise=0)
        add("handheld", i, sequences.handheld(person, seed=i), seed)
        add("zoomed", i, sequences.handheld(person, seed=i, zoom=0.45), seed)
        add("bent", i, sequences.bent_print(person, seed=i), seed)
        add("screen", i, sequences.on_screen(person, seed=i), seed)
        add("screen_recording", i, sequences.screen_recording(answer, seed=i), seed)
        codes = [c.code for c in draw_sequence(seed)]
        add("other_person", i, sequences.swapped(person, people[(i + 1) % len(people)], codes), seed)
    return made
