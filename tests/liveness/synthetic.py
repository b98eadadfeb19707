"""Real photos from ../shared/faces turned into test videos: live-like heads, and photos held to a camera.

A *live-like* head: the photo is texture-mapped onto a simple 3D head (an
ellipsoid with a nose ridge rising to the detected nose tip) and rotated in
3D, so the nose moves against the eyes and mouth by parallax, the way a real
head's does (and the way no flat picture can). Each frame gets a little
Gaussian noise, as a camera sensor adds. Limits: the texture never shows the
side of the head, the ears, the nostrils or the hair from another angle, and
the detector's nose landmark follows a nod on this model only in part (a fifth
or less of the geometric shift), so the head nods far: 34 to 46 degrees
(docs/LIVENESS.md).

*Eyes and mouth*: a blink paints the lids shut along the face mesh's own
eye contours (the eye opening filled from the surrounding skin by
inpainting, a lash line drawn where the lids meet); an open mouth pushes the
lower lip and chin down from the mouth line and fills the gap with a dark
mouth; a smile stretches the mouth outwards and lifts its corners. Simple
warps, made to be judged by the real mesh and iris models; the i14b media
(tests/liveness/media) warps along the mesh more faithfully.

A *photo held to the camera*: the same picture moved as a plane: slid and
rotated in-plane, or turned out of plane (a perspective homography).

Shared by tests/liveness and tests/app (a video standing in for the camera).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from edge_core.biometrics import Face, Pipeline, read_image
from edge_core.liveness import Challenge, Timing, draw_sequence
from edge_core.liveness.mesh import MESH_FILE, FaceMesh
from tests.conftest import SHARED

PERSON = SHARED / "faces" / "deepface" / "img1.jpg"
SAME_PERSON = SHARED / "faces" / "deepface" / "img2.jpg"
OTHER_PERSON = SHARED / "faces" / "faceonnx" / "brad_1.jpg"
WITHOUT_NOD = {Challenge.TURN_LEFT, Challenge.TURN_RIGHT, Challenge.COME_CLOSER, Challenge.BLINK,
               Challenge.OPEN_MOUTH, Challenge.SMILE}
SIZE = (480, 360)
FPS = 10.0
NOISE = 2.0
TURN = 0.55
"""Radians a live-like head turns (about 30 degrees), as the challenge asks a person to."""
LOOK_UP = 0.8
LOOK_DOWN = 0.6
"""Radians a live-like head looks up (46 degrees) or down (34 degrees); a neck extends by about 70
degrees and bends forward by about 50. On this model the detector's nose follows looking up less
than looking down (measured: -0.05 pitch at 0.6 rad up, +0.12 at 0.6 rad down), so up goes further."""
MOVES = {Challenge.TURN_LEFT: (TURN, 0.0), Challenge.TURN_RIGHT: (-TURN, 0.0),
         Challenge.LOOK_UP: (0.0, LOOK_UP), Challenge.LOOK_DOWN: (0.0, -LOOK_DOWN)}
"""(yaw, pitch) of each head movement at its fullest."""


def answerable_seeds() -> list[int]:
    """Seeds whose sequence has no nod: the sessions most tests share.

    Turns, coming closer, the eyes and the mouth are what the synthetic head
    performs with the widest margins, so tests about something else
    (replays, photos, the app) do not hinge on the nod; ``seed_with`` picks
    sequences that nod.
    """
    return [seed for seed in range(200) if set(draw_sequence(seed)) <= WITHOUT_NOD]


def seed_with(challenge: Challenge) -> int:
    """The first seed whose sequence asks for ``challenge``."""
    return next(seed for seed in range(200) if challenge in draw_sequence(seed))


def framed(photo: Path, pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray]:
    """The photo cropped to a 480x360 frame with the face in the middle, and its 5 landmarks there."""
    image = read_image(photo)
    face, _ = pipeline.embed_one(image, largest=True)
    width, height = SIZE
    x1, y1, x2, y2 = face.box
    scale = 0.45 * height / (y2 - y1)
    shift = np.float32([[scale, 0, width / 2 - scale * (x1 + x2) / 2], [0, scale, height / 2 - scale * (y1 + y2) / 2]])
    frame = cv2.warpAffine(image, shift, SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return frame, pipeline.detect(frame)[0].landmarks


def turned_head(frame: np.ndarray, landmarks: np.ndarray, yaw: float, closer: float = 1.0,
                pitch: float = 0.0) -> np.ndarray:
    """The face rotated as a 3D head by ``yaw`` then ``pitch`` radians, then ``closer`` times larger.

    Positive yaw is the person's left (the nose moves to the image's right).
    Positive pitch is looking up: the nose, standing out of the face, moves up
    against the eye line and the mouth corners, while the eye-to-mouth height
    shrinks by about cos(pitch). The nose ridge falls off over 0.3 eye
    distances (a nose with the cheeks beside it): a narrower ridge folds over
    itself when the head nods, and the detector reads that smear as a frontal
    nose, while a wider one weakens the turns.
    """
    height, width = frame.shape[:2]
    eye = float(np.linalg.norm(landmarks[1] - landmarks[0]))
    centre = landmarks.mean(axis=0)
    eyes_mid, nose = (landmarks[0] + landmarks[1]) / 2, landmarks[2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)

    def depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        inside = 1 - ((x - centre[0]) / (1.6 * eye)) ** 2 - ((y - centre[1]) / (2.1 * eye)) ** 2
        head = eye * np.sqrt(np.clip(inside, 0, 1))
        along = np.clip(((x - eyes_mid[0]) * (nose[0] - eyes_mid[0]) + (y - eyes_mid[1]) * (nose[1] - eyes_mid[1]))
                        / float(np.sum((nose - eyes_mid) ** 2)), 0, 1)
        ridge_x, ridge_y = eyes_mid[0] + along * (nose[0] - eyes_mid[0]), eyes_mid[1] + along * (nose[1] - eyes_mid[1])
        ridge = 0.75 * eye * (0.4 + 0.6 * along) * np.exp(-((x - ridge_x) ** 2 + (y - ridge_y) ** 2) / (2 * (0.3 * eye) ** 2))
        return head + ridge - eye

    def forward(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z, across = depth(x, y), x - centre[0]
        turned = across * np.cos(yaw) + z * np.sin(yaw)
        z = z * np.cos(yaw) - across * np.sin(yaw)
        nodded = (y - centre[1]) * np.cos(pitch) - z * np.sin(pitch)
        return centre[0] + closer * turned, centre[1] + closer * nodded

    source_x, source_y = xs.copy(), ys.copy()
    for _ in range(10):  # invert the forward map by fixed-point iteration
        mapped_x, mapped_y = forward(source_x, source_y)
        source_x += (xs - mapped_x) / closer
        source_y += (ys - mapped_y) / closer
    return cv2.remap(frame, source_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def moved_photo(frame: np.ndarray, angle_deg: float = 0.0, shift: tuple[float, float] = (0, 0),
                turn: float = 0.0) -> np.ndarray:
    """The frame as a flat photo: rotated in-plane and slid, or turned ``turn`` radians out of plane."""
    height, width = frame.shape[:2]
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    centre = np.float32([width / 2, height / 2])
    rotation = np.deg2rad(angle_deg)
    moved = []
    for x, y in corners - centre:
        x, y = x * np.cos(rotation) - y * np.sin(rotation), x * np.sin(rotation) + y * np.cos(rotation)
        distance = 2.0 * width
        depth_ = distance + x * np.sin(turn)
        moved.append([x * np.cos(turn) * distance / depth_ + centre[0] + shift[0],
                      y * distance / depth_ + centre[1] + shift[1]])
    homography = cv2.getPerspectiveTransform(corners, np.float32(moved))
    return cv2.warpPerspective(frame, homography, (width, height), borderMode=cv2.BORDER_REPLICATE)


UPPER_LIDS = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (263, 466, 388, 387, 386, 385, 384, 398, 362))
LOWER_LIDS = ((33, 7, 163, 144, 145, 153, 154, 155, 133), (263, 249, 390, 373, 374, 380, 381, 382, 362))
"""Each eye's lid margins on the face mesh, corner to corner (../shared/models/README.md section 5)."""
_MESH: list[FaceMesh] = []


def mesh_points(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The face mesh (468 points) of the face with these 5 landmarks, from the shared model file."""
    if not _MESH:
        _MESH.append(FaceMesh((SHARED / "models" / MESH_FILE).read_bytes()))
    eyes = float(np.linalg.norm(landmarks[1] - landmarks[0]))
    centre = landmarks.mean(axis=0)
    box = np.float32([centre[0] - 1.1 * eyes, centre[1] - 1.3 * eyes, centre[0] + 1.1 * eyes, centre[1] + 1.1 * eyes])
    found = _MESH[0].fit(frame, Face(box, 1.0, landmarks))
    assert found is not None, "the synthetic frame has no face the mesh can see"
    return found.points


def close_eyes(frame: np.ndarray, points: np.ndarray, closed: float) -> np.ndarray:
    """Both eyes closed by ``closed`` (0 open, 1 shut): the upper lids lowered along the mesh's eye contours."""
    out = frame.copy()
    eyes = float(np.linalg.norm(points[33, :2] - points[263, :2]))
    for upper_ids, lower_ids in zip(UPPER_LIDS, LOWER_LIDS):
        upper, lower = points[list(upper_ids), :2], points[list(lower_ids), :2]
        edge = upper + closed * (lower - upper)
        lifted = upper.copy()
        lifted[1:-1, 1] -= 0.03 * eyes  # the lid's own lashes are repainted too
        mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.vstack([lifted, edge[::-1]]).astype(np.int32)], 255)
        skin = cv2.inpaint(out, mask, 3, cv2.INPAINT_TELEA)
        out = np.where(mask[..., None] > 0, skin, out)
        cv2.polylines(out, [edge.astype(np.int32)], False, (30, 25, 25), max(1, round(0.02 * eyes)), cv2.LINE_AA)
    return out


def move_mouth(frame: np.ndarray, landmarks: np.ndarray, opened: float = 0.0, smile: float = 0.0) -> np.ndarray:
    """The mouth opened by ``opened`` (1: a gap of 0.9 half mouth widths) and/or smiling by ``smile`` (0..1)."""
    height, width = frame.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    (left_x, left_y), (right_x, right_y) = landmarks[3], landmarks[4]
    mid_x, mid_y, half = (left_x + right_x) / 2, (left_y + right_y) / 2, (right_x - left_x) / 2
    source_x, source_y = xs.copy(), ys.copy()
    if smile:
        bump = np.exp(-((xs - mid_x) / (1.1 * half)) ** 2 - ((ys - mid_y) / (0.6 * half)) ** 2)
        source_x = mid_x + (xs - mid_x) / (1 + 0.5 * smile * bump)
        source_y = source_y + 0.12 * half * smile * bump * ((xs - mid_x) / half) ** 2
    gap = opened * 0.9 * half * np.sqrt(np.clip(1 - ((xs - mid_x) / (0.9 * half)) ** 2, 0, 1))
    inside = (ys >= mid_y) & (ys < mid_y + gap)
    if opened:
        bottom = mid_y + 2.6 * half
        below = (ys >= mid_y + gap) & (ys <= bottom)
        squeeze = (bottom - mid_y) / np.maximum(bottom - mid_y - gap, 1e-3)
        source_y = np.where(below, mid_y + (ys - mid_y - gap) * squeeze, source_y)
    out = cv2.remap(frame, np.float32(source_x), np.float32(source_y), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    if opened:
        shade = np.clip((ys - mid_y) / max(0.9 * half, 1.0), 0, 1)[..., None]
        dark = (np.float32([40, 30, 70]) * (1 - 0.5 * np.sin(np.pi * shade))).astype(np.uint8)
        out = np.where(inside[..., None], dark, out)
    return out


def _ramp(start: float, end: float, frames: int) -> list[float]:
    return list(np.linspace(start, end, frames + 1)[1:])


def answering(frame: np.ndarray, landmarks: np.ndarray, challenges: Sequence[Challenge]) -> list[np.ndarray]:
    """Frames of a head that looks at the camera, does each challenge in order, and looks back.

    A turn or a nod goes out over 4 frames, holds 2 and comes back over 3;
    coming closer grows to x1.4 over 4 frames and stays there; a blink closes
    over 2 frames, stays shut 2 and opens over 2 (0.6 s at 10 fps); the mouth
    opens or smiles over 3 frames, holds 3 and relaxes over 3.
    """
    frames = [frame] * 4
    closer = 1.0
    for challenge in challenges:
        if challenge is Challenge.BLINK:
            points = mesh_points(frame, landmarks)
            shut = [close_eyes(frame, points, t) for t in (0.5, 1.0, 1.0, 1.0, 0.5)]
            frames += [turned_head(f, landmarks, 0.0, closer) for f in [*shut, frame, frame]]
            continue
        if challenge in (Challenge.OPEN_MOUTH, Challenge.SMILE):
            key = "opened" if challenge is Challenge.OPEN_MOUTH else "smile"
            amounts = _ramp(0.0, 1.0, 3) + [1.0] * 3 + _ramp(1.0, 0.0, 3)
            frames += [turned_head(move_mouth(frame, landmarks, **{key: t}), landmarks, 0.0, closer) for t in amounts]
            continue
        if challenge is Challenge.COME_CLOSER:
            steps = [(0.0, 0.0, c) for c in _ramp(closer, 1.4, 4)] + [(0.0, 0.0, 1.4)] * 2
            closer = 1.4
        else:
            yaw, pitch = MOVES[challenge]
            steps = [(t * yaw, t * pitch, closer) for t in _ramp(0.0, 1.0, 4) + [1.0] * 2 + _ramp(1.0, 0.0, 3)]
        frames += [turned_head(frame, landmarks, y, c, p) for y, p, c in steps]
    # Back to the camera, then still for the settle hold, as a person answering the last prompt would.
    frames += [turned_head(frame, landmarks, 0.0, closer)] * (4 + math.ceil(Timing().settle_seconds * FPS))
    return frames


def write(path: Path, frames: Iterable[np.ndarray], noise: float = NOISE, seed: int = 0) -> Path:
    """An MJPG .avi at ``FPS``; ``noise`` adds a camera's sensor noise (0 keeps frames identical)."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    try:
        for frame in frames:
            if noise:
                frame = np.clip(frame + rng.normal(0, noise, frame.shape), 0, 255).astype(np.uint8)
            writer.write(frame)
    finally:
        writer.release()
    return path


def live_video(path: Path, frame: np.ndarray, landmarks: np.ndarray, seed: int) -> Path:
    """A live-like head answering the sequence ``seed`` draws."""
    return write(path, answering(frame, landmarks, draw_sequence(seed)))


def still_video(path: Path, frame: np.ndarray, frames: int = 30) -> Path:
    """One frame over and over, without noise: a still photo (or an injected still frame)."""
    return write(path, [frame] * frames, noise=0)
