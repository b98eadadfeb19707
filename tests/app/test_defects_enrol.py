"""Defect 2: the previous person's photos were enrolled under the next name, and nothing said so.

After an enrolment the chosen photos are forgotten (Start waits for new ones),
and an enrolment whose samples match someone already enrolled is refused,
naming that person (never a score), unless the enroller accepts it, which is
audited: a rule of ``ops.enrol`` (issue 34, part 3), so the command line says
it too (the admin API: tests/adminapi/test_look_alike.py).
"""

from __future__ import annotations

import json
import re

from edge_core import ops
from tests.app.drive import LONG, _button, click, confirm, enrol_photos, start_enrolment
from tests.conftest import cli_json, run_cli


def test_enrol_someone_else_starts_with_no_photos_chosen(qtbot, monkeypatch, window, photos):
    page = enrol_photos(qtbot, monkeypatch, window, "Barack Obama", photos["barack_obama"][:3])
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    click(qtbot, _button(page, "Enrol someone else"))
    qtbot.keyClicks(page.name, "Brad Pitt")
    assert page.source.kind == "photos"
    assert page.source.chosen.text() == "nothing chosen yet"
    assert not page.start_button.isEnabled(), "Start waits for Brad Pitt's own photos"
    assert page.banner.isHidden(), "the last enrolment's banner went with it"

    enrolled = enrol_photos(qtbot, monkeypatch, window, "Brad Pitt", photos["brad_pitt"][:3])
    assert "Brad Pitt is enrolled with 3 new sealed templates" in enrolled.result.text()
    assert enrolled.banner.property("kind") == "success", "Brad Pitt resembles nobody enrolled"


def test_a_look_alike_is_asked_about_refused_on_cancel_and_enrolled_on_accept(qtbot, monkeypatch, window, photos):
    """Two photos of Barack Obama under another name: a twin the vault could not tell apart (issue 34, part 3)."""
    obama = photos["barack_obama"]
    enrol_photos(qtbot, monkeypatch, window, "Barack Obama", obama[:2])
    page = enrol_photos(qtbot, monkeypatch, window, "Brad Pitt", obama[2:4])
    said = confirm(qtbot, page, accept=False)
    assert said.startswith("Brad Pitt looks like Barack Obama, who is already enrolled: the vault could take one for "
                           "the other, so nothing was enrolled."), said
    assert not re.search(r"\d\.\d", said), "no score of anyone's template is shown"
    assert page.steps.currentIndex() == 0 and page.banner.property("kind") == "error"
    assert page.banner.text.text() == said
    assert [i.name for i in window.session.call(ops.list_identities)] == ["Barack Obama"]

    start_enrolment(qtbot, page)
    assert "looks like Barack Obama" in confirm(qtbot, page, accept=True)
    qtbot.waitUntil(lambda: page.steps.currentIndex() == 2, timeout=LONG)
    assert page.banner.property("kind") == "warning"
    assert page.banner.text.text() == ("Enrolled Brad Pitt, but Barack Obama, already enrolled, looks like Brad Pitt: "
                                       "the vault may take one for the other (accepted as asked; recorded in the "
                                       "audit log).")
    enrolled = [e for e in window.session.call(lambda vault: vault.audit_events()) if e.kind == "identity_enrolled"]
    ids = window.session.call(lambda vault: vault.identity_names())
    assert enrolled[-1].detail["look_alike"] == next(i for i, n in ids.items() if n == "Barack Obama")
    assert "look_alike" not in enrolled[0].detail


def test_the_command_line_refuses_a_look_alike_in_one_line_until_allowed(models_env, isolated, photos):
    obama = [str(p) for p in photos["barack_obama"]]
    first = cli_json("enroll", "--consent", "Barack Obama", "--image", *obama[:2])
    assert "warning" not in first and "resembles" not in first
    assert "resembles" not in cli_json("enroll", "--consent", "Brad Pitt", "--image", *map(str, photos["brad_pitt"][:3])), \
        "two clearly different people enrol"
    added = cli_json("enroll", "--consent", "Barack Obama", "--add", "--image", obama[2])
    assert "warning" not in added, "more samples of the same person are no surprise"
    refused = run_cli("enroll", "--consent", "Someone Else", "--image", obama[3])
    assert refused.returncode == 1 and refused.stdout == "", refused
    assert refused.stderr.strip() == (
        "faceseal: error: Someone Else looks like Barack Obama, who is already enrolled: the vault could take one "
        "for the other, so nothing was enrolled. Check that these samples show Someone Else; if Someone Else and "
        "Barack Obama are two different people, they can be enrolled anyway, and that is recorded in the audit log "
        "(--allow-look-alike)"), refused.stderr
    added_as_other = run_cli("enroll", "--consent", "Brad Pitt", "--add", "--image", obama[3])
    assert added_as_other.returncode == 1 and "Brad Pitt looks like Barack Obama" in added_as_other.stderr
    assert [p["name"] for p in cli_json("list")] == ["Barack Obama", "Brad Pitt"]
    assert [p["samples"] for p in cli_json("list")] == [3, 3], "nothing of a refused enrolment was sealed"

    allowed = cli_json("enroll", "--consent", "Someone Else", "--allow-look-alike", "--image", obama[3])
    assert allowed["resembles"] == "Barack Obama" and "resemblance" not in allowed, allowed
    assert not re.search(r"\d\.\d", json.dumps(allowed)), "no score in the answer"
    events = [e for e in cli_json("audit", "list") if e["kind"] == "identity_enrolled"]
    assert events[-1]["look_alike"] == events[0]["identity"], events[-1]
    assert all("look_alike" not in e for e in events[:-1])
