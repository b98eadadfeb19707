"""Frame sequences a liveness session sees: a person answering challenges, and the replays that must fail.

A *person* is one real photo framed like a webcam picture
(``synthetic.framed``) with its face mesh: head movements come from the
synthetic 3-D head (``synthetic.turned_head``), blinks and mouth movements
from warping the mesh (``expressions``). A replay is one of ``attacks``
applied frame by frame while a hand moves the picture.

Challenges are named by their stable code (``Challenge.code``), so a
sequence can be built for any challenge the core draws, and an unknown one
is an error here rather than a silently wrong video.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_core.biometrics import Pipeline
from edge_core.liveness import Timing
from edge_core.liveness.mesh import FaceMesh
from tests.liveness import synthetic

from . import attacks, expressions

EXPRESSIONS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "blink": expressions.blink,
    "open_mouth": expressions.open_mouth,
    "smile": expressions.smile,
}
"""Challenge codes performed by moving the mesh, and the movement for each."""
HEAD = {"turn_left", "turn_right", "look_up", "look_down", "come_closer"}
"""Challenge codes performed by the synthetic 3-D head."""
NOD = 0.4
"""Radians (23 degrees) the head looks up or down: an ordinary nod. ``synthetic.MOVES`` nods by 34 to 46
degrees, which the 5-landmark pose needed; the mesh's solvePnP pose reads 23 degrees well above its 10
degree target, and the far nods distort the synthetic head's face enough for the identity signal to
rise (consecutive embeddings down to 0.39; with 23 degrees the lowest was 0.81)."""
MOVES = {"turn_left": (synthetic.TURN, 0.0), "turn_right": (-synthetic.TURN, 0.0), "look_up": (0.0, NOD),
         "look_down": (0.0, -NOD)}
"""(yaw, pitch) of each head movement at its fullest."""
PROFILES = {"blink": [0.5, 1.0, 1.0, 0.5, 0.0], "open_mouth": [0.35, 0.7, 1.0, 1.0, 1.0, 0.5, 0.0],
            "smile": [0.35, 0.7, 1.0, 1.0, 1.0, 0.5, 0.0]}
"""Degree of each movement frame by frame at 10 fps: a blink closes and opens in half a second, a mouth
opens or a smile comes over 0.3 s and is held 0.3 s."""
CLOSER = 1.4
"""How much larger the face is once it came closer (the challenge asks for x1.25)."""


@dataclass
class Person:
    """One photo ready to perform: the framed picture, its 5 landmarks and its mesh."""

    frame: np.ndarray
    landmarks: np.ndarray
    face: expressions.Face

    @classmethod
    def from_photo(cls, photo: Path, pipeline: Pipeline, mesh: FaceMesh) -> Person:
        frame, landmarks = synthetic.framed(photo, pipeline)
        found = mesh.fit(frame, pipeline.detect(frame)[0])
        if found is None:
            raise ValueError(f"no face mesh on {photo}")
        return cls(frame, landmarks, expressions.Face(frame, found.points))

    def at(self, closer: float, frame: np.ndarray | None = None) -> np.ndarray:
        """``frame`` (the neutral photo by default) as seen ``closer`` times larger, facing the camera."""
        frame = self.frame if frame is None else frame
        return frame if closer == 1.0 else synthetic.turned_head(frame, self.landmarks, 0.0, closer)

    def expression(self, code: str, degree: float) -> np.ndarray:
        return self.face.render(EXPRESSIONS[code](self.face.mesh, degree))


def _ramp(start: float, end: float, frames: int) -> list[float]:
    return list(np.linspace(start, end, frames + 1)[1:])


def answering(person: Person, codes: Sequence[str], closer: float = 1.0) -> list[np.ndarray]:
    """A person who looks at the camera, performs each challenge in order, then faces the camera and holds still.

    Head movements as ``synthetic.answering`` makes them (out over 4 frames,
    held 2, back over 3; coming closer stays close); blinks and mouth
    movements follow ``PROFILES``. ``closer`` > 1 starts already that much
    closer (a step-up's extra challenge after "come closer").
    """
    neutral = person.at(closer)
    frames = [neutral] * 4
    for code in codes:
        if code in EXPRESSIONS:
            frames += [person.at(closer, person.expression(code, d)) if d else neutral for d in PROFILES[code]]
            frames += [neutral] * 2
        elif code == "come_closer":
            frames += [synthetic.turned_head(person.frame, person.landmarks, 0.0, c) for c in _ramp(closer, CLOSER, 4)]
            closer = CLOSER
            neutral = person.at(closer)
            frames += [neutral] * 2
        elif code in HEAD:
            yaw, pitch = MOVES[code]
            frames += [synthetic.turned_head(person.frame, person.landmarks, t * yaw, closer, t * pitch)
                       for t in _ramp(0.0, 1.0, 4) + [1.0] * 2 + _ramp(1.0, 0.0, 3)]
        else:
            raise ValueError(f"no test media for the challenge '{code}'")
    return frames + [neutral] * (4 + math.ceil(Timing().settle_seconds * synthetic.FPS))


def swapped(first: Person, second: Person, codes: Sequence[str]) -> list[np.ndarray]:
    """The first person looks at the camera, then the second answers the challenges (another person answering)."""
    return [first.frame] * 4 + answering(second, codes)[4:]


def still(person: Person, frames: int = 40) -> list[np.ndarray]:
    """The photo itself, frame after frame (written without noise: a still or injected frame)."""
    return [person.frame] * frames


def handheld(person: Person, seed: int, frames: int = 60, *, angle_deg: float = 8.0, shift: float = 25.0,
             zoom: float = 0.0) -> list[np.ndarray]:
    """The photo printed and held in a moving hand: slid and rotated in its plane, zoomed when ``zoom``."""
    return [attacks.moved(person.frame, a, s, z)
            for a, s, z in attacks.hand_motion(frames, seed, angle_deg, shift, zoom)]


def bent_print(person: Person, seed: int, frames: int = 60) -> list[np.ndarray]:
    """The print bent around a vertical axis, bent more and less and turned about that axis, moved by a hand."""
    out = []
    for i, (a, s, z) in enumerate(attacks.hand_motion(frames, seed, 3.0, 10.0)):
        curved = attacks.bent(person.frame, 0.8 + 0.5 * math.sin(i / 5), turn=0.35 * math.sin(i / 4))
        out.append(attacks.moved(curved, a, s, z))
    return out


def on_screen(person: Person, seed: int, frames: int = 60) -> list[np.ndarray]:
    """The photo shown on a phone screen held in a moving hand: moire, bezel, display gamma and a reflection."""
    shown = attacks.screen(person.frame, seed)
    return [attacks.moved(shown, a, s, z) for a, s, z in attacks.hand_motion(frames, seed, 5.0, 15.0)]


def screen_recording(frames: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """A recorded session (a person answering challenges) replayed on a screen held to the camera."""
    return [attacks.screen(frame, seed) for frame in frames]


def write(path: Path, frames: Sequence[np.ndarray], seed: int = 0, noise: float = synthetic.NOISE) -> Path:
    """An MJPG .avi at ``synthetic.FPS`` with a camera's sensor noise (``synthetic.write``)."""
    return synthetic.write(path, frames, noise=noise, seed=seed)


def halftone_print(person: Person, seed: int, frames: int = 60) -> list[np.ndarray]:
    """The photo printed (halftone dots, ink spread, paper texture) and held in a moving hand."""
    paper = attacks.printed(person.frame, seed)
    return [attacks.moved(paper, a, s, z) for a, s, z in attacks.hand_motion(frames, seed, 5.0, 15.0)]


def screen_grid(person: Person, seed: int, frames: int = 60) -> list[np.ndarray]:
    """The photo on a screen filmed close: its pixel grid visible, its gamma off, moved by a hand."""
    shown = attacks.pixel_grid(person.frame)
    return [attacks.moved(shown, a, s, z) for a, s, z in attacks.hand_motion(frames, seed, 4.0, 10.0)]


def eyes_cut_out(person: Person, frames: int = 40) -> list[np.ndarray]:
    """A print of the photo with its eyes cut out, held still over the person, whose real eyes blink behind.

    The eyes behind are the person blinking (``answering`` a blink, then looking on); the print is the photo
    itself, so it lines up with the face behind it, as an attacker would hold it.
    """
    eyes = person.landmarks[:2]
    radius = 0.28 * float(np.linalg.norm(eyes[1] - eyes[0]))
    behind = answering(person, ["blink", "blink"])
    behind = (behind * (frames // len(behind) + 1))[:frames]
    return [attacks.cut_eyes(person.frame, live, eyes, radius) for live in behind]
