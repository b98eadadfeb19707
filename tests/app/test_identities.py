"""Identities: the enrolled people with date and samples; deleting one only after a confirmation."""

from __future__ import annotations

from datetime import datetime, timezone

from edge_core.biometrics import default_pack_name, pack_info
from tests.app.drive import LONG, click, confirm, delete_person, enrol_photos


def test_people_are_listed_with_date_and_sample_count(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:3])
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["brad_pitt"][:2])
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: page.names() == ["Alice Martin", "Bruno Costa"], timeout=LONG)
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    assert [page.table.item(0, c).text()[:10] for c in range(1, 4)] == [today, "3", default_pack_name()]
    assert page.table.item(1, 2).text() == "2"


def test_delete_asks_first_and_only_a_confirmation_shreds(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    enrol_photos(qtbot, monkeypatch, window, "Bruno Costa", photos["brad_pitt"][:2])
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: len(page.names()) == 2, timeout=LONG)
    assert not page.delete_button.isEnabled(), "nothing is selected yet"
    page.table.selectRow(0)

    click(qtbot, page.delete_button)
    said = confirm(qtbot, page, accept=False)
    assert "Alice Martin" in said and "cannot be undone" in said
    assert page.names() == ["Alice Martin", "Bruno Costa"]

    page.table.selectRow(0)
    click(qtbot, page.delete_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: page.names() == ["Bruno Costa"], timeout=LONG)
    assert "Alice Martin was deleted; 2 templates were crypto-shredded" in page.banner.text.text()

    audit = window.show_page("Audit")
    qtbot.waitUntil(lambda: "identity_shredded" in audit.shown_kinds(), timeout=LONG)


def test_the_selection_follows_the_person_not_the_row(qtbot, monkeypatch, window, photos):
    """Issue 26, item 14: after a deletion the next person was selected, with Delete… enabled."""
    for name, who in (("Alice Martin", "nicole_kidman"), ("Bruno Costa", "brad_pitt"), ("Chloe Dubois", "barack_obama")):
        enrol_photos(qtbot, monkeypatch, window, name, photos[who][:2])
    page = delete_person(qtbot, window, "Bruno Costa")
    qtbot.waitUntil(lambda: page.names() == ["Alice Martin", "Chloe Dubois"], timeout=LONG)
    assert page.selected() is None, f"{page.selected()} was selected though nobody chose them"
    assert not page.delete_button.isEnabled()

    page.table.selectRow(1)  # Chloe Dubois; a refill (someone enrolled elsewhere) keeps her selected
    enrol_photos(qtbot, monkeypatch, window, "Aaron Abel", photos["kit_harington"][:2])  # nobody's look-alike
    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: len(page.names()) == 3, timeout=LONG)
    assert page.selected() == "Chloe Dubois"
