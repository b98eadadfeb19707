"""Verify offers what the no-camera message promises (issue 26, item 8): a video file beside the camera and a
photo, and shows when a video stands in for the camera."""

from __future__ import annotations

from app.capture import open_camera
from app.preferences import CaptureSettings
from edge_core.biometrics.errors import CameraUnavailable
from tests.app.drive import LONG, answer_open_dialog, click, enrol_photos, use_stand_in
from tests.app.media import write_video


def test_verify_from_a_video_file_as_the_no_camera_message_promises(qtbot, monkeypatch, tmp_path, window, photos):
    try:
        open_camera(CaptureSettings(window.session.pack, 63, None))
        raise AssertionError("a camera answers at index 63")
    except CameraUnavailable as error:
        assert "verify from photos or a video file" in str(error)
    obama = photos["barack_obama"]
    enrol_photos(qtbot, monkeypatch, window, "Barack Obama", obama[:2])
    page = window.show_page("Verify")
    qtbot.waitUntil(lambda: page.person.findText("Barack Obama") >= 0, timeout=LONG)
    page.source.buttons["video"].click()
    answer_open_dialog(monkeypatch, write_video(obama[2:4], tmp_path / "obama.avi"))
    click(qtbot, page.source.choose)
    click(qtbot, page.go_button)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert page.decision.text().startswith("Match"), (page.decision.text(), page.details.text())
    assert page.live.text().startswith("Not live: a video file was matched"), page.live.text()


def test_a_video_standing_in_for_the_camera_is_shown_where_the_camera_is_offered(qtbot, monkeypatch, tmp_path,
                                                                                   window, photos):
    video = write_video(photos["barack_obama"][:1], tmp_path / "stand-in.avi")
    for title in ("Verify", "Enrol"):
        assert window.show_page(title).source.buttons["camera"].text() == "Camera (live)"
    use_stand_in(qtbot, monkeypatch, window, video)
    for title in ("Verify", "Enrol"):
        shown = window.show_page(title).source.buttons["camera"].text()
        assert "stand-in.avi stands in" in shown, shown
