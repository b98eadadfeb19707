"""Issue 25, item 8: names that show as an enrolled person's are refused, in the CLI and in the window.

The issue's attack: with ``brad`` enrolled, ``brad`` followed by U+3164, U+115F,
U+2800 or U+FE0F, and Cyrillic ``Ьrad``, were enrolled and shown as "brad".
The admin API enrols nobody (it has no enrolment route), so there is no third
front end to hold to this rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import photos, window  # noqa: F401 (the window tests' fixtures)
from tests.conftest import cli_json, run_cli, tree_snapshot
from tests.security.test_inputs_and_names import refused

FILLERS = {
    "hangul filler U+3164": "brad\u3164",
    "hangul choseong filler U+115F": "brad\u115f",
    "hangul jungseong filler U+1160": "brad\u1160",
    "halfwidth hangul filler U+FFA0": "brad\uffa0",
    "braille blank U+2800": "brad\u2800",
    "variation selector U+FE0F": "brad\ufe0f",
    "combining grapheme joiner U+034F": "bra\u034fd",
    "mongolian variation selector U+180B": "brad\u180b",
}
LOOKALIKES = {
    "Cyrillic soft sign for b": "\u042crad",
    "Cyrillic a for a": "br\u0430d",
    "rn for m": "kirn",  # enrolled below as "kim"
}


def _face(tmp_path, index: int) -> str:
    """An 8-d embedding of its own (one-hot): no face here looks like another, so only the name decides."""
    vector = tmp_path / f"face{index}.npy"
    np.save(vector, np.eye(8, dtype=np.float32)[index])
    return str(vector)


@pytest.fixture
def brad(isolated, tmp_path) -> str:
    """``brad`` and ``kim`` enrolled; returns a third face, unlike both, for the names tried next."""
    for index, name in enumerate(("brad", "kim")):
        assert cli_json("enroll", "--consent", name, "--embedding", _face(tmp_path, index))["status"] == "enrolled"
    return _face(tmp_path, 2)


@pytest.mark.parametrize("name", FILLERS.values(), ids=FILLERS.keys())
def test_a_name_with_a_filler_or_an_ignorable_character_is_refused(brad, isolated, name):
    before = tree_snapshot(isolated)
    hidden = f"U+{ord(next(c for c in name if c not in 'brad')):04X}"
    refused(run_cli("enroll", "--consent", name, "--embedding", brad, check_clean=False), 2, hidden, "shows nothing")
    assert tree_snapshot(isolated) == before
    assert sorted(i["name"] for i in cli_json("list")) == ["brad", "kim"]


@pytest.mark.parametrize("name", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_name_with_the_skeleton_of_an_enrolled_one_is_refused_and_names_it(brad, isolated, name):
    before = tree_snapshot(isolated)
    other = "kim" if name == "kirn" else "brad"
    refused(run_cli("enroll", "--consent", name, "--embedding", brad, check_clean=False), 1, f"'{name}' can be mistaken for "
            f"'{other}', who is already enrolled")
    assert tree_snapshot(isolated) == before
    assert sorted(i["name"] for i in cli_json("list")) == ["brad", "kim"]


def test_different_names_and_adding_samples_still_work(brad, tmp_path):
    assert cli_json("enroll", "--consent", "brady", "--embedding", brad)["status"] == "enrolled"
    assert cli_json("enroll", "--consent", "Zoë", "--embedding", _face(tmp_path, 3))["status"] == "enrolled"
    assert cli_json("enroll", "--consent", "brad", "--add", "--embedding", _face(tmp_path, 0))["status"] == "enrolled"


def test_the_window_says_a_filler_as_it_is_typed_and_refuses_a_lookalike(qtbot, monkeypatch, window, photos, brad):
    from tests.app.drive import LONG, answer_open_dialog, click, start_enrolment

    page = window.show_page("Enrol")
    page.name.setText("brad\u3164")  # pasted: QTest types ASCII only
    assert "U+3164, a character that shows nothing" in page.name_hint.text()
    assert not page.start_button.isEnabled()
    page.name.setText("\u042crad")
    page.source.buttons["photos"].click()
    answer_open_dialog(monkeypatch, photos["brad_pitt"][0])
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=LONG)
    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert page.steps.currentIndex() == 0
    assert "'\u042crad' can be mistaken for 'brad', who is already enrolled" in page.banner.text.text()
    assert sorted(i["name"] for i in cli_json("list")) == ["brad", "kim"]
