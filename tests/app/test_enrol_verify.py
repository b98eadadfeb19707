"""Enrol from photos, then verify and identify with photos of the same person and of someone else."""

from __future__ import annotations

from edge_core import ops
from edge_core.biometrics import default_pack_name, pack_info
from tests.app.drive import LONG, decide_photo, enrol_photos


def test_enrol_from_photos_then_verify_the_same_person_and_a_different_one(qtbot, monkeypatch, window, photos):
    nicole = photos["nicole_kidman"]
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", nicole[:3])
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    assert "Alice Martin is enrolled with 3 new sealed templates" in page.result.text()
    assert page.view.progress.value() == 3
    assert page.view.preview.faces, "the face box of the last photo is drawn on the preview"

    same = decide_photo(qtbot, monkeypatch, window, nicole[3], "Alice Martin")
    assert same.decision.text() == "Match: this is Alice Martin"
    assert f"threshold {pack_info(default_pack_name()).default_threshold:.2f}" in same.details.text() and "score 0." in same.details.text()
    assert same.live.text() == "Not live: a photo was matched; nothing shows that a live person was there."
    events = [e.detail for e in window.session.call(ops.audit_list) if e.kind == "verification"]
    assert [(e["source"], e["live"], e["liveness"], e["match"]) for e in events] == [
        ("photo", False, "not_checked", True)], "audited as the CLI audits a photo"

    other = decide_photo(qtbot, monkeypatch, window, photos["brad_pitt"][0], "Alice Martin")
    assert other.decision.text() == "No match: this is not Alice Martin"
    assert "below the threshold" in other.details.text()


def test_identify_names_the_enrolled_person_and_nobody_for_a_stranger(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["brad_pitt"][:3])
    enrol_photos(qtbot, monkeypatch, window, "Chen Wei", photos["nicole_kidman"][:3])

    found = decide_photo(qtbot, monkeypatch, window, photos["brad_pitt"][3], None)
    assert found.decision.text() == "Identified: Bruno Costa"
    assert found.live.text() == "Not live: a photo was matched; nothing shows that a live person was there."

    stranger = decide_photo(qtbot, monkeypatch, window, photos["barack_obama"][0], None)
    assert stranger.decision.text() == "No match: not anyone enrolled"


def test_a_photo_with_two_faces_is_refused_with_the_hint_and_nothing_is_enrolled(qtbot, monkeypatch, window, photos):
    two_faces = next(p for p in photos["sarah_paulson"] if p.name == "sarah_1.jpg")
    page = enrol_photos(qtbot, monkeypatch, window, "Chen Wei", [two_faces])
    assert page.steps.currentIndex() == 0
    assert page.banner.text.text() == ("The images ended with 0 good photos, fewer than the 1 needed (one per "
                                       "sample); most frequent problem: more than one face (tick 'use the largest' "
                                       "to take the biggest).")
    identities = window.show_page("Identities")
    qtbot.waitUntil(identities.empty.isVisible, timeout=LONG)
    assert identities.table.rowCount() == 0


def test_enrolling_a_name_twice_says_so_in_the_window(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][2:4])
    assert page.steps.currentIndex() == 0
    assert "'Alice Martin' is already enrolled; tick 'Add samples" in page.banner.text.text()


def test_start_needs_a_name_and_photos(qtbot, monkeypatch, window, photos):
    page = window.show_page("Enrol")
    page.source.buttons["photos"].click()
    assert not page.start_button.isEnabled()
    qtbot.keyClicks(page.name, "Dana")
    assert not page.start_button.isEnabled(), "no photo chosen yet"
    page.source.buttons["camera"].click()
    assert page.start_button.isEnabled(), "the camera needs no file"
