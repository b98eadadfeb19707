"""The liveness widgets on their own, real Qt offscreen: the animated movement hint and the face mesh overlay."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from app.widgets.challenge_hint import HINTS, ChallengeHint, Pose
from app.widgets.challenge_prompt import ChallengePrompt
from app.widgets.mesh_overlay import COLOUR, MeshFeed, MeshOverlay, MeshToggle, picture_rect
from app.widgets.preview import Preview
from edge_core.liveness import Challenge, Progress
from tests.conftest import SHARED

MOVED = {"blink": "eyes_open", "open_mouth": "mouth_open", "smile": "smile", "turn_left": "turn",
         "turn_right": "turn", "look_up": "nod", "look_down": "nod", "come_closer": "scale"}
"""What each hint moves."""


def _pixels(widget) -> bytes:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return bytes(image.constBits())


@pytest.mark.parametrize("code", sorted(HINTS))
def test_each_hint_moves_what_the_challenge_asks_and_says_it_in_words(qtbot, code: str) -> None:
    hint = ChallengeHint()
    qtbot.addWidget(hint)
    hint.show()
    hint.show_challenge(code)
    assert hint.animated()
    hint.set_phase(0.0)
    still, start = getattr(hint.pose(), MOVED[code]), _pixels(hint)
    hint.set_phase(0.5)  # the fullest point of the movement
    assert getattr(hint.pose(), MOVED[code]) != still
    assert _pixels(hint) != start  # the drawing really changes, not just the numbers
    others = {f for f in MOVED.values() if f != MOVED[code]}
    assert all(getattr(hint.pose(), f) == getattr(Pose(), f) for f in others)  # and nothing else moves
    assert hint.accessibleDescription() == f"Animation: {HINTS[code][0]}"


def test_the_hint_animates_by_itself_and_stops_when_hidden_or_when_no_movement_is_asked(qtbot) -> None:
    hint = ChallengeHint()
    qtbot.addWidget(hint)
    hint.show()
    hint.show_challenge("blink")
    qtbot.waitUntil(lambda: hint.pose().eyes_open < 0.9)  # the timer closes the eyes without being told
    hint.hide()
    assert not hint.animated()
    hint.show()
    assert hint.animated()
    hint.show_challenge(None)
    assert not hint.animated() and hint.pose() == Pose()
    assert hint.accessibleDescription() == "A face looking straight ahead"


def test_the_prompt_shows_the_hint_of_the_challenge_asked_and_none_after_the_outcome(qtbot) -> None:
    prompt = ChallengePrompt()
    qtbot.addWidget(prompt)
    prompt.show_progress(Progress(Challenge.TURN_LEFT.prompt, 2, 4, 0.3, Challenge.TURN_LEFT, "frame 9"))
    assert prompt.isVisible() and prompt.hint.code == "turn_left" and prompt.hint.animated()
    assert "the head turning to the person's left" in prompt.prompt.accessibleDescription()
    prompt.show_progress(Progress("Look straight at the camera again", 4, 4, 0.9, None, "frame 30"))
    assert prompt.hint.code is None and not prompt.hint.animated()
    prompt.finish(False)
    assert prompt.prompt.text() == "Liveness check failed" and not prompt.hint.animated()


@pytest.fixture
def real_mesh(models_env) -> tuple[np.ndarray, np.ndarray]:
    """A real photo and the open pack's face mesh on it."""
    from edge_core.biometrics import load_pack, read_image
    from edge_core.liveness.mesh import load_mesh

    image = read_image(SHARED / "faces" / "deepface" / "img2.jpg")
    face = load_pack("open").embed_one(image)[0]
    found = load_mesh("open").fit(image, face)
    assert found is not None
    return image, found.points


def _show(preview: Preview, image: np.ndarray) -> QSize:
    height, width = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, ::-1])
    preview.show_frame(QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy(),
                       QSize(width, height))
    return QSize(width, height)


def test_the_mesh_overlay_draws_the_468_points_on_the_face_only_when_toggled(qtbot, real_mesh) -> None:
    image, points = real_mesh
    preview = Preview()
    qtbot.addWidget(preview)
    preview.resize(480, 360)
    overlay = MeshOverlay(preview)
    toggle = MeshToggle(overlay)
    qtbot.addWidget(toggle)
    preview.show()
    source = _show(preview, image)
    overlay.show_mesh(points, source)
    without = preview.grab().toImage()
    assert not overlay.isVisible() and not toggle.isChecked()  # off to start with

    toggle.setChecked(True)
    qtbot.waitUntil(lambda: overlay.drawn == len(points))
    assert overlay.geometry() == preview.rect()
    drawn = preview.grab().toImage()
    target = picture_rect(preview.size(), source)
    nose = points[1]
    x = round(target.x() + nose[0] * target.width() / source.width())
    y = round(target.y() + nose[1] * target.height() / source.height())
    assert drawn.pixelColor(x, y) != without.pixelColor(x, y)
    assert abs(drawn.pixelColor(x, y).blue() - COLOUR.blue()) < abs(without.pixelColor(x, y).blue() - COLOUR.blue())
    corner = (int(target.x()) + 2, int(target.y()) + 2)  # far from the face: untouched
    assert drawn.pixelColor(*corner) == without.pixelColor(*corner)

    preview.resize(640, 300)
    qtbot.waitUntil(lambda: overlay.geometry() == preview.rect())
    toggle.setChecked(False)
    assert not overlay.isVisible()
    overlay.show_mesh(None, source)
    toggle.setChecked(True)
    assert overlay.accessibleDescription() == "no face mesh"
    overlay.repaint()
    assert overlay.drawn == 0  # no face in this frame: nothing left over from the last one


def test_the_overlay_follows_a_real_liveness_session_through_its_mesh_feed(qtbot, models_env, tmp_path) -> None:
    """The session's own mesh model, wrapped: every tracked frame's 468 points reach the overlay, same result."""
    from edge_core.biometrics import VideoFile, load_pack
    from edge_core.liveness import draw_sequence, run_session
    from edge_core.liveness.challenges import Timeline
    from edge_core.liveness.mesh import load_mesh
    from tests.liveness import synthetic

    pipeline = load_pack("open")
    frame, _ = synthetic.framed(synthetic.SAME_PERSON, pipeline)
    video = synthetic.write(tmp_path / "still.avi", [frame] * 8)
    preview = Preview()
    qtbot.addWidget(preview)
    overlay = MeshOverlay(preview)
    feed = MeshFeed()
    received: list[tuple[int, QSize]] = []
    feed.found.connect(lambda points, size: received.append((0 if points is None else len(points), size)))
    feed.found.connect(overlay.show_mesh)
    frames = VideoFile(video)
    result = run_session(pipeline, frames, draw_sequence(1), Timeline(frames.fps), mesh=feed.wrap(load_mesh("open")))
    assert not result.passed  # eight still frames are no live face; what matters here is the feed
    assert len(received) == result.frames and all(n == 468 for n, _ in received)
    assert received[0][1] == QSize(frame.shape[1], frame.shape[0])
    assert overlay.accessibleDescription() == "468 mesh points"
