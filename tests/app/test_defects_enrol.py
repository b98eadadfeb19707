"""Defect 2: the previous person's photos were enrolled under the next name, and nothing said so.

After an enrolment the chosen photos are forgotten (Start waits for new ones),
and an enrolment whose samples match someone already enrolled is kept but
warned about with that person's name and the score: a rule of ``ops.enrol``,
so the command line says it too.
"""

from __future__ import annotations

from edge_core.biometrics import default_pack_name, pack_info, threshold_text
from tests.app.drive import _button, click, enrol_photos
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


def test_enrolling_someone_already_enrolled_under_another_name_warns_with_the_name_and_score(
        qtbot, monkeypatch, window, photos):
    obama = photos["barack_obama"]
    enrol_photos(qtbot, monkeypatch, window, "Barack Obama", obama[:2])
    page = enrol_photos(qtbot, monkeypatch, window, "Brad Pitt", obama[2:4])
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    banner = page.banner.text.text()
    assert page.banner.property("kind") == "warning"
    assert banner.startswith("Enrolled Brad Pitt, but these samples match Barack Obama, who is already enrolled "
                             "(score 0."), banner
    threshold = pack_info(window.session.pack).default_threshold
    assert f"threshold {threshold_text(threshold)}): check that they show Brad Pitt" in banner
    assert "Warning: these samples match Barack Obama" in page.result.text()


def test_the_command_line_gives_the_same_warning(models_env, isolated, photos):
    obama = [str(p) for p in photos["barack_obama"]]
    first = cli_json("enroll", "Barack Obama", "--image", *obama[:2])
    assert "warning" not in first and "resembles" not in first
    again = cli_json("enroll", "Brad Pitt", "--image", *obama[2:4])
    threshold = pack_info(default_pack_name()).default_threshold
    assert again["resembles"] == "Barack Obama" and again["resemblance"] >= threshold, again
    assert again["warning"].startswith("these samples match Barack Obama, who is already enrolled (score 0.")
    added = cli_json("enroll", "Barack Obama", "--add", "--image", obama[0])
    assert "warning" not in added, "more samples of the same person are no surprise"
    text = run_cli("enroll", "Someone Else", "--image", obama[1])
    assert text.returncode == 0 and "warning: these samples match Barack Obama" in text.stdout, text.stdout
