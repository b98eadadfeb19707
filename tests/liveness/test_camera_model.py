"""The camera model (tests/liveness/media/camera.py) does what it says, and a live head filmed through it still
passes its challenges while a print filmed through it is still refused (issue 33: generated media made realistic).

Each step is checked on its own by switching the others off (``camera.PLAIN``): the noise's spread against the
sensor model, the JPEG round trip, the defocus and the resampling by what they take away, the rolling shutter by
how far each row lags. Everything is deterministic: the same frames, camera and seed make the same pixels.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_core.biometrics import VideoFile
from edge_core.biometrics.degrade import jpeg
from edge_core.liveness import draw_sequence
from edge_core.liveness.check import SEED_VARIABLE, check_liveness
from tests.conftest import SHARED

from .media import attacks, camera, sequences, sets
from .media.camera import PLAIN, Camera


@pytest.fixture(scope="module")
def person(pipeline, face_mesh) -> sequences.Person:
    return sequences.Person.from_photo(SHARED / "faces" / sets.PEOPLE[1], pipeline, face_mesh)


def test_the_same_seed_films_the_same_pixels_and_a_plain_camera_changes_nothing(person) -> None:
    frames = sequences.handheld(person, seed=0, frames=4)
    filmed = camera.film(frames, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(filmed, camera.film(frames, seed=3)))
    assert not np.array_equal(filmed[1], camera.film(frames, seed=4)[1])  # another seed, other noise
    assert all(np.array_equal(a, b) for a, b in zip(frames, camera.film(frames, seed=3, camera=PLAIN)))


def test_the_stream_is_jpeg_of_what_the_sensor_gave(person) -> None:
    frames = sequences.handheld(person, seed=0, frames=3)
    raw = camera.film(frames, seed=1, camera=replace(Camera(), jpeg_quality=None))
    streamed = camera.film(frames, seed=1)
    assert all(np.array_equal(s, jpeg(r, Camera().jpeg_quality)) for s, r in zip(streamed, raw))
    assert np.abs(streamed[0].astype(int) - raw[0]).mean() > 0.5


def test_sensor_noise_grows_with_the_light_as_the_model_says() -> None:
    noisy = replace(PLAIN, read_noise=2.0, shot_noise=0.05)
    for level in (50, 200):
        flat = np.full((120, 160, 3), level, np.uint8)
        spread = float(camera.film([flat], seed=0, camera=noisy)[0].astype(float).std())
        assert spread == pytest.approx(np.sqrt(2.0 ** 2 + 0.05 * level), rel=0.1), level


def test_defocus_and_resampling_take_away_fine_detail(person) -> None:
    def sharpness(image: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    frame = person.frame
    soft = camera.film([frame], seed=0, camera=replace(PLAIN, defocus=1.5))[0]
    assert sharpness(soft) < 0.5 * sharpness(frame)
    assert abs(float(soft.mean()) - float(frame.mean())) < 1.0  # a blur, not a change of light
    stripes = np.zeros((120, 160, 3), np.uint8)
    stripes[:, ::2] = 255  # finer than a sensor of 0.75 of the frame can hold
    resampled = camera.film([stripes], seed=0, camera=replace(PLAIN, sensor=0.75))[0]
    assert resampled.shape == stripes.shape and resampled.std() < 0.5 * stripes.std()


def test_colour_survives_the_bayer_mosaic() -> None:
    patch = np.zeros((40, 40, 3), np.uint8)
    patch[:] = (30, 60, 200)  # BGR: a red
    seen = camera.film([patch], seed=0, camera=replace(PLAIN, bayer=True))[0]
    assert np.abs(seen[10:30, 10:30].astype(int) - patch[10:30, 10:30]).max() <= 1


def test_a_rolling_shutter_shows_the_top_rows_earlier_than_the_bottom_ones(person) -> None:
    """The picture slides 20 px right between frames: the top rows, read first, lag behind by up to
    ``readout`` of that; the bottom rows, read last, hardly."""
    before, after = person.frame, attacks.moved(person.frame, shift=(20.0, 0.0))
    filmed = camera.film([before, after], seed=0, camera=replace(PLAIN, readout=0.3))[1]
    grey = [np.float32(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in (after, filmed)]
    height = after.shape[0]

    def lag(rows: slice) -> float:
        (dx, _), _ = cv2.phaseCorrelate(grey[0][rows, 60:-60], grey[1][rows, 60:-60])
        return -dx

    assert lag(slice(0, height // 5)) > 3.0  # about 0.27 of 20 px
    assert abs(lag(slice(height - height // 5, height))) < 1.5


@pytest.fixture(scope="module")
def filmed(person, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """A live head answering its sequence and a print in a hand, both filmed through the default camera."""
    folder = tmp_path_factory.mktemp("filmed")
    seed = sets.seeds(2)[1]
    live = sequences.answering(person, [c.code for c in draw_sequence(seed)])
    made = {"live": camera.film(live, seed=1), "print": camera.film(sequences.handheld(person, seed=1), seed=1)}
    return {name: (sequences.write(folder / f"{name}.avi", frames, noise=0.0), seed) for name, frames in made.items()}


def test_a_live_head_filmed_through_the_camera_still_passes_and_a_print_still_fails(pipeline, filmed,
                                                                                     monkeypatch) -> None:
    for name, (video, seed) in filmed.items():
        monkeypatch.setenv(SEED_VARIABLE, str(seed))
        frames = VideoFile(video)
        result = check_liveness(pipeline, frames, video=True, fps=frames.fps)
        assert result.passed is (name == "live"), (name, result.reason)
