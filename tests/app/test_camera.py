"""The live camera path, with a video file standing in for the camera (Settings offers exactly that)."""

from __future__ import annotations

import pytest

from edge_core import ops
from tests.app.drive import LONG, answer_open_dialog, click, start_enrolment, use_stand_in, verify_from_camera
from tests.app.media import write_video


@pytest.fixture
def stand_in(qtbot, monkeypatch, window, photos, tmp_path):
    """Settings now use a video of one person (two of her photos, 3 s each) as the camera."""
    video = write_video(photos["nicole_kidman"][:2], tmp_path / "camera.avi", frames_each=75)
    use_stand_in(qtbot, monkeypatch, window, video)
    return video


def test_live_enrolment_previews_frames_with_faces_hints_and_progress(qtbot, window, stand_in):
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("camera").endswith("ready"), timeout=LONG)
    page = window.show_page("Enrol")
    qtbot.keyClicks(page.name, "Alice Martin")
    page.source.buttons["camera"].click()
    page.samples.setValue(4)
    hints: list[str] = []
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.steps.currentIndex() == 1, timeout=LONG)  # once ops said nothing is dropped
    page.task.signals.hint.connect(hints.append)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)

    assert page.steps.currentIndex() == 2, page.banner.text.text()
    assert "Alice Martin is enrolled with 4 new sealed templates" in page.result.text()
    assert page.view.preview.frames_shown >= 4, "every judged frame was shown"
    assert page.view.preview.faces, "the face box and landmarks are drawn"
    assert "good frame 8 of 8 (the best of every 2 is kept)" in hints, "the best of each stretch, as the CLI does"
    assert page.view.progress.value() == 8


def test_without_the_liveness_policy_the_camera_decides_on_the_first_good_frame_not_live(
        qtbot, monkeypatch, window, stand_in, photos):
    page = window.show_page("Enrol")
    qtbot.keyClicks(page.name, "Alice Martin")
    page.source.buttons["photos"].click()
    answer_open_dialog(monkeypatch, *photos["nicole_kidman"][2:4])
    click(qtbot, page.source.choose)
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    window.session.call(lambda v: ops.policy_set(v, {"liveness_required": False}))

    verify = verify_from_camera(qtbot, window, "Alice Martin")
    assert verify.stop_button.isEnabled()
    qtbot.waitUntil(lambda: verify.task is None, timeout=LONG)
    assert verify.decision.text() == "Match: this is Alice Martin"
    assert verify.live.text().startswith("Not live: a video file stood in for the camera, and the policy does not")
    assert not verify.challenge.isVisible(), "no liveness check ran, so no prompt is shown"
    assert verify.view.preview.frames_shown >= 1


def test_stopping_a_live_capture_saves_nothing(qtbot, window, stand_in):
    page = window.show_page("Enrol")
    qtbot.keyClicks(page.name, "Alice Martin")
    page.source.buttons["camera"].click()
    page.samples.setValue(20)
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.view.preview.frames_shown > 0, timeout=LONG)
    click(qtbot, page.stop_button)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert page.banner.text.text() == "Stopped; nothing was saved."
    assert page.banner.property("kind") == "info", "the person's own Stop is said plainly, not in error red"
    identities = window.show_page("Identities")
    qtbot.waitUntil(identities.empty.isVisible, timeout=LONG)


def test_enrolling_from_a_video_file_judges_frames_spread_over_it(qtbot, monkeypatch, window, stand_in):
    page = window.show_page("Enrol")
    qtbot.keyClicks(page.name, "Alice Martin")
    page.source.buttons["video"].click()
    answer_open_dialog(monkeypatch, stand_in)
    click(qtbot, page.source.choose)
    page.samples.setValue(3)
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert "Alice Martin is enrolled with 3 new sealed templates" in page.result.text()
    assert page.view.hint.text() == ("reading frame 150 of 150: good frame 18 (of 18 frames spread over the video, "
                                     "the best of each stretch is kept)")
