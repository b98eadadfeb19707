"""Adding samples (issue 26, item 5): what would be dropped is said and asked first, the most varied samples
are kept (ops decides), and a video gives samples from its whole length, not from its first second."""

from __future__ import annotations

import numpy as np

from edge_core.biometrics import load_pack
from tests.app.drive import LONG, _button, answer_open_dialog, click, enrol_photos, start_enrolment
from tests.app.media import _letterboxed, write_video


def _samples(window, name: str) -> int:
    people = window.session.call(lambda v: {i.name: i.samples for i in v.list_identities()})
    return people.get(name, 0)


def _start_video_enrolment(qtbot, monkeypatch, window, name: str, video, samples: int, add: bool):
    page = window.show_page("Enrol")
    if page.steps.currentIndex() == 2:
        click(qtbot, _button(page, "Enrol someone else"))
    page.name.clear()
    qtbot.keyClicks(page.name, name)
    page.add_samples.setChecked(add)
    page.source.buttons["video"].click()
    answer_open_dialog(monkeypatch, video)
    click(qtbot, page.source.choose)
    page.samples.setValue(samples)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=LONG)
    start_enrolment(qtbot, page)
    return page


def test_adding_beyond_the_cap_says_what_is_dropped_and_asks_first(qtbot, monkeypatch, tmp_path, window, photos):
    kidman = photos["nicole_kidman"]
    assert enrol_photos(qtbot, monkeypatch, window, "Alice Martin", kidman[:3]).steps.currentIndex() == 2
    video = write_video(kidman[3:6], tmp_path / "alice.avi")
    page = _start_video_enrolment(qtbot, monkeypatch, window, "Alice Martin", video, 10, add=True)
    qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=LONG)
    said = page.dialog.message
    assert "Alice Martin has 3 samples" in said and "3 of the 13 are dropped" in said, said
    click(qtbot, page.dialog.cancel_button)
    assert page.steps.currentIndex() == 0 and page.task is None, "cancelled: nothing was captured"
    assert _samples(window, "Alice Martin") == 3

    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.dialog.isVisible(), timeout=LONG)
    click(qtbot, page.dialog.confirm_button)
    qtbot.waitUntil(lambda: page.steps.currentIndex() == 2, timeout=LONG)
    assert _samples(window, "Alice Martin") == 10
    text = page.result.text()
    assert "new sealed templates" in text
    kept_new = int(text.split(" is enrolled with ")[1].split()[0])
    dropped = int(text.split(" earlier samples were dropped")[0].rsplit(" ", 1)[1]) if "earlier samples" in text \
        else 0
    assert kept_new + 3 - dropped == 10, text


def test_a_video_gives_samples_from_its_whole_length(qtbot, monkeypatch, tmp_path, window, photos):
    pictures = photos["nicole_kidman"][:4]
    video = write_video(pictures, tmp_path / "four.avi")  # one second of each picture
    page = _start_video_enrolment(qtbot, monkeypatch, window, "Alice Martin", video, 4, add=False)
    qtbot.waitUntil(lambda: page.task is None and page.steps.currentIndex() != 1, timeout=LONG)
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    pipeline = load_pack(window.session.pack)
    each = np.stack([max(pipeline.analyze(_letterboxed(p)), key=lambda item: item[0].area)[1] for p in pictures])
    stored = window.session.call(lambda v: v.gallery(window.session.pack).matrix)
    nearest = {int(np.argmax(each @ template)) for template in stored}
    assert nearest == {0, 1, 2, 3}, f"the samples came from pictures {sorted(nearest)} only"
