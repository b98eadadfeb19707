"""The test media really contain what they claim: measured with the real face mesh and detector, not by eye.

A blink closes both eyes (eye aspect ratio down), an open mouth opens (inner
lips apart), a smile widens the mouth; a warp that moves nothing changes
nothing; the screen replay has moire (more energy at high spatial
frequencies) and a dark bezel; the halftone print is dots at its pitch on paper,
the close screen shows its pixel grid and bent tones, and through the print with
the eyes cut out the mesh sees the real eyes blink; every generator is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from edge_core.liveness.mesh import INNER_CORNERS, INNER_LIPS, LEFT_EYE, MOUTH_CORNERS, RIGHT_EYE
from tests.conftest import SHARED

from .media import attacks, sets
from .media.sequences import Person
from .media.warp import piecewise_affine

PHOTOS = sets.PEOPLE[:3]


@pytest.fixture(scope="module")
def people(pipeline, face_mesh) -> list[Person]:
    return [Person.from_photo(SHARED / "faces" / photo, pipeline, face_mesh) for photo in PHOTOS]


def _mesh(pipeline, face_mesh, image: np.ndarray) -> np.ndarray:
    found = face_mesh.fit(image, pipeline.detect(image)[0])
    assert found is not None
    return found.points[:, :2]


def _eye_ratio(points: np.ndarray) -> float:
    def one(eye: tuple[int, ...]) -> float:
        p1, p2, p3, p4, p5, p6 = (points[i] for i in eye)
        return float((np.linalg.norm(p2 - p6) + np.linalg.norm(p3 - p5)) / (2 * np.linalg.norm(p1 - p4)))

    return (one(RIGHT_EYE) + one(LEFT_EYE)) / 2


def _mouth_gap(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[INNER_LIPS[0]] - points[INNER_LIPS[1]])
                 / np.linalg.norm(points[INNER_CORNERS[0]] - points[INNER_CORNERS[1]]))


def _mouth_width(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[MOUTH_CORNERS[0]] - points[MOUTH_CORNERS[1]])
                 / np.linalg.norm(points[263] - points[33]))


def test_the_movements_are_seen_by_the_mesh_on_every_photo(pipeline, face_mesh, people) -> None:
    for photo, person in zip(PHOTOS, people):
        neutral = _mesh(pipeline, face_mesh, person.frame)
        closed = _mesh(pipeline, face_mesh, person.expression("blink", 1.0))
        opened = _mesh(pipeline, face_mesh, person.expression("open_mouth", 1.0))
        smiling = _mesh(pipeline, face_mesh, person.expression("smile", 1.0))
        assert _eye_ratio(closed) < 0.9 * _eye_ratio(neutral), photo
        assert _mouth_gap(opened) > _mouth_gap(neutral) + 0.25, photo
        assert _mouth_width(smiling) > 1.08 * _mouth_width(neutral), photo
        assert abs(_mouth_gap(closed) - _mouth_gap(neutral)) < 0.05, photo  # a blink leaves the mouth alone


def test_a_movement_keeps_the_person_recognisable(pipeline, people) -> None:
    for person in people:
        start = pipeline.embed_one(person.frame)[1]
        for code in ("blink", "open_mouth", "smile"):
            assert float(start @ pipeline.embed_one(person.expression(code, 1.0))[1]) >= pipeline.threshold, code


def test_a_warp_that_moves_nothing_changes_nothing_and_moves_stay_local(people) -> None:
    person = people[0]
    assert np.array_equal(piecewise_affine(person.frame, person.face.mesh, person.face.mesh, person.face.triangles),
                          person.frame)
    blinked = person.expression("blink", 1.0)
    changed = np.argwhere(np.abs(blinked.astype(int) - person.frame).max(axis=2) > 0)
    mouth_top = person.face.mesh[list(INNER_LIPS)][:, 1].min()
    assert changed[:, 0].max() < mouth_top  # a blink touches nothing as low as the mouth


def _high_frequency_share(image: np.ndarray) -> float:
    grey = image.mean(axis=2)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean()))) ** 2
    h, w = grey.shape
    fy, fx = np.mgrid[-h // 2:h - h // 2, -w // 2:w - w // 2]
    far = np.hypot(fy / h, fx / w) > 0.25
    return float(spectrum[far].sum() / spectrum.sum())


def test_the_screen_replay_has_moire_and_a_bezel_and_is_deterministic(people) -> None:
    frame = people[0].frame
    shown = attacks.screen(frame, seed=3)
    h, w = frame.shape[:2]
    face = (slice(h // 3, 2 * h // 3), slice(w // 3, 2 * w // 3))
    assert _high_frequency_share(shown[face]) > 1.4 * _high_frequency_share(frame[face])  # measured 1.55x
    top = (h - int(h * 0.8)) // 2
    assert shown[top - 8, w // 2].max() < 40  # the bezel: a dark band around the lit screen
    assert np.array_equal(shown, attacks.screen(frame, seed=3))
    assert not np.array_equal(shown, attacks.screen(frame, seed=4))  # the reflection moves with the seed


def test_the_bent_print_narrows_towards_its_edges_and_flat_is_the_photo(people) -> None:
    frame = people[0].frame
    assert np.abs(attacks.bent(frame, 0.0).astype(int) - frame).mean() < 1.0
    curved = attacks.bent(frame, 1.2)
    assert np.abs(curved.astype(int) - frame).mean() > 5.0
    assert np.array_equal(curved, attacks.bent(frame, 1.2))


def test_the_printed_photo_is_halftone_dots_on_textured_paper() -> None:
    grey = np.full((128, 128, 3), 128, np.uint8)
    paper = attacks.printed(np.full((128, 128, 3), 255, np.uint8), seed=0)
    # White prints no ink: the paper's own warm white, never a screen's 255, with fibres in it.
    assert np.abs(paper.reshape(-1, 3).mean(axis=0) - attacks.PAPER).max() < 2.0
    assert 1.0 < paper.astype(float).std() < 20.0 and paper.max() < 255
    # Mid grey is dots: the strongest non-zero spatial frequency has the screen's pitch (4 pixels).
    printed = attacks.printed(grey, seed=0).astype(float).mean(axis=2)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(printed - printed.mean())))
    fy, fx = np.unravel_index(np.argmax(spectrum), spectrum.shape)
    period = 128 / np.hypot(fy - 64, fx - 64)
    assert 3.6 <= period <= 4.4
    assert printed.std() > 25  # ink and paper side by side (measured 35), not a flat grey (the fibres alone: about 4)
    assert np.array_equal(attacks.printed(grey, seed=3), attacks.printed(grey, seed=3))


def test_the_close_screen_shows_its_pixel_grid_and_bends_the_tones() -> None:
    shown = attacks.pixel_grid(np.full((64, 64, 3), 128, np.uint8), pitch=4, gap=0.45, gamma=0.7).astype(float)
    cell, gap_line = 255 * (128 / 255) ** 0.7, 255 * (128 * 0.45 / 255) ** 0.7
    rows = shown[:, :, 0].mean(axis=1)
    assert np.allclose(rows[3::4], gap_line, atol=1.0)  # every 4th row is the dark matrix between pixels
    assert np.allclose(shown[0:3, 0:3], cell, atol=1.0)  # inside a cell: mid grey, brightened by the gamma
    assert cell > 128 + 25


def test_the_print_with_its_eyes_cut_out_shows_the_real_blinking_eyes(pipeline, face_mesh, people) -> None:
    from .media import sequences

    person = people[0]
    frames = sequences.eyes_cut_out(person, frames=40)
    behind = sequences.answering(person, ["blink", "blink"])
    eyes = person.landmarks[:2]
    radius = 0.28 * float(np.linalg.norm(eyes[1] - eyes[0]))
    inside = attacks.eye_holes(person.frame.shape, eyes, radius) > 0.99
    paper = attacks.eye_holes(person.frame.shape, eyes, radius + 4.0) < 0.01  # beyond the cut's dark rim
    closed = max(range(len(behind)), key=lambda i: np.abs(behind[i].astype(int) - person.frame).sum())
    for i in (0, closed):
        assert np.abs(frames[i][inside].astype(int) - behind[i][inside]).max() <= 1  # the eyes are the live person's
        assert np.abs(frames[i][paper].astype(int) - person.frame[paper]).max() <= 1  # the rest: the print, unmoved
    # The blink behind shows through the holes: the mesh sees the eyes close on the print.
    assert _eye_ratio(_mesh(pipeline, face_mesh, frames[closed])) < 0.8 * _eye_ratio(
        _mesh(pipeline, face_mesh, frames[0]))
