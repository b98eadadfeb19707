"""Verify's "Spoof test on my camera…" (issue 31, item 3): the guided test walked through in the window with a video
standing in for the camera, the report shown, signed and saved, and the same check the command line makes."""

from __future__ import annotations

import json

from edge_core import ops
from edge_core.ops import padtest
from tests.app.drive import LONG, click, use_stand_in
from tests.app.media import write_video
from tests.conftest import run_cli


def test_the_guided_spoof_test_records_each_attempt_and_saves_a_signed_report(qtbot, monkeypatch, window, photos,
                                                                           tmp_path):
    video = write_video(photos["nicole_kidman"][:1], tmp_path / "camera.avi", frames_each=25)
    use_stand_in(qtbot, monkeypatch, window, video)
    page = window.show_page("Verify")
    qtbot.waitUntil(page.spoof_button.isEnabled, timeout=LONG)
    click(qtbot, page.spoof_button)
    dialog = page.spoof_test
    assert dialog is not None and dialog.isVisible()
    dialog.attempts_box.setValue(1)
    dialog.seconds_box.setValue(1)
    click(qtbot, dialog.record)  # Start: the plan is fixed, the first attempt asked for
    asked = []
    for number in range(1, 5):
        assert dialog.ask.text().startswith(f"Step {number} of 4: ")
        asked.append(dialog.ask.text())
        click(qtbot, dialog.record)
        qtbot.waitUntil(lambda: dialog.table.rowCount() == number and dialog.task is None or dialog.report is not None,
                        timeout=LONG)
    assert "printed photo" in asked[2] and "video of yourself" in asked[3]
    qtbot.waitUntil(lambda: dialog.save.isEnabled(), timeout=LONG)
    assert dialog.view.preview.frames_shown >= 4, "each attempt previewed as it is recorded"
    assert [dialog.table.item(row, 0).text() for row in range(4)] == [
        "bona_fide-1", "phone_screen-1", "print-1", "video_replay-1"]
    assert "APCER print:" in dialog.figures.text() and "BPCER:" in dialog.figures.text()
    assert "Signed by this device's key sha256:" in dialog.figures.text()

    out = tmp_path / "report.json"
    dialog.save_to(out)
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Saved to"), timeout=LONG)
    report = json.loads(out.read_text())
    assert report["source"] == "camera" and [i["file"] for i in report["items"]][0] == "bona_fide-1"
    fingerprint = window.session.call(ops.status).device_key
    assert run_cli("pad-eval", "verify", str(out), "--device-key", fingerprint).returncode == 0
    events = [e for e in window.session.call(ops.audit_list) if e.kind == "pad_report_made"]
    assert len(events) == 1 and events[0].detail["report"] == report["report_id"] and events[0].detail["kept"] == 0
    assert window.session.call(padtest.kept_recordings) == []
    dialog.save_to(out)  # never over a report already saved
    qtbot.waitUntil(lambda: "already exists" in dialog.status.text(), timeout=LONG)
    dialog.reject()
