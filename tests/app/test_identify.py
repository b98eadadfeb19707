"""Identify in the window: every face of a group photo is named, and the lockout holds as for the CLI."""

from __future__ import annotations

from edge_core import ops
from edge_core.biometrics import default_pack_name, pack_info
from tests.app.drive import decide_photo, enrol_photos
from tests.app.media import FACES
from tests.conftest import cli_json, run_cli

GROUP = FACES / "multi_face" / "two_people.jpg"
"""Barack Obama on the left, Joe Biden on the right (../shared/faces/multi_face.csv)."""


def identification_events(window) -> list[dict]:
    return [e.detail for e in window.session.call(ops.audit_list) if e.kind == "identification"]


def test_a_group_photo_names_every_face_with_its_score(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["barack_obama"][:3])
    enrol_photos(qtbot, monkeypatch, window, "Chen Wei", photos["joe_biden"][:1])

    page = decide_photo(qtbot, monkeypatch, window, GROUP, None)
    assert page.decision.text() == "Identified 2 of 2 faces: Bruno Costa, Chen Wei", page.details.text()
    lines = page.faces.text().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Face 1: Bruno Costa (score 0.") and f"threshold {pack_info(default_pack_name()).default_threshold:.2f}" in lines[0]
    assert lines[1].startswith("Face 2: Chen Wei (score 0.") and f"threshold {pack_info(default_pack_name()).default_threshold:.2f}" in lines[1]
    assert "2 faces" in page.details.text()
    assert page.faces.accessibleDescription() == page.faces.text()

    event = identification_events(window)[-1]
    assert (event["faces"], event["match"], len(event["identities"])) == (2, True, 2)
    cli = cli_json("identify", "--image", str(GROUP))  # the same faces, the same names
    assert [f["name"] for f in sorted(cli["faces"], key=lambda f: f["box"][0])] == ["Bruno Costa", "Chen Wei"]

    single = decide_photo(qtbot, monkeypatch, window, photos["barack_obama"][3], None)
    assert single.decision.text() == "Identified: Bruno Costa"
    assert single.faces.text() == "", "one face: no list of faces"


def test_failed_identifications_lock_identify_out_as_the_policy_says(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    window.session.call(lambda v: ops.policy_set(v, {"lockout_attempts": 2}))
    stranger = photos["barack_obama"][0]
    for _ in range(2):
        page = decide_photo(qtbot, monkeypatch, window, stranger, None)
        assert page.decision.text() == "No match: not anyone enrolled"

    refused = decide_photo(qtbot, monkeypatch, window, photos["nicole_kidman"][3], None)
    assert refused.decision.text() == "No decision"
    assert refused.details.text().startswith("Too many failed identifications; try again after")
    assert [e["match"] for e in identification_events(window)] == [False, False], "the refused one is not matched"
    cli = run_cli("identify", "--image", str(photos["nicole_kidman"][3]))  # one counter for the window and the CLI
    assert cli.returncode != 0 and "too many failed identifications" in cli.stderr


def test_a_refreshed_people_list_keeps_the_identify_answer_on_screen(qtbot, monkeypatch, window, photos):
    """Identify asks about everybody, so the person list changing under it (someone enrolled from the CLI, the page
    shown again) answers no other question: the decision stays. The list refresh runs off the UI thread and can
    land after the answer; it used to wipe it back to 'No decision yet'."""
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["barack_obama"][:2])
    page = decide_photo(qtbot, monkeypatch, window, photos["barack_obama"][3], None)
    assert page.decision.text() == "Identified: Bruno Costa"
    cli_json("enroll", "--consent", "Chen Wei", "--image", str(photos["joe_biden"][0]))
    window.show_page("Home")
    window.show_page("Verify")
    qtbot.waitUntil(lambda: page.person.findText("Chen Wei") >= 0, timeout=10_000)
    page.person.setCurrentText("Chen Wei")  # the (disabled) person box follows the list; identify ignores it
    assert page.decision.text() == "Identified: Bruno Costa"
