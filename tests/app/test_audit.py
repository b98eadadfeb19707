"""Audit: the events in a table, filtered by kind and by words, the chain verified, the evidence exported."""

from __future__ import annotations

import zipfile

from tests.app.drive import LONG, answer_save_dialog, click, enrol_photos


def test_events_filter_verify_and_export(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    page = window.show_page("Audit")
    qtbot.waitUntil(lambda: sorted(page.shown_kinds()) == ["identity_enrolled", "vault_created"], timeout=LONG)

    page.kind.setCurrentText("vault_created")
    assert page.shown_kinds() == ["vault_created"]
    page.kind.setCurrentText("All events")
    qtbot.keyClicks(page.search, "samples=2")
    assert page.shown_kinds() == ["identity_enrolled"]
    page.search.clear()
    qtbot.keyClicks(page.search, "no such words")
    assert page.shown_kinds() == []
    assert "Alice" not in " ".join(page.model.index(r, 3).data() for r in range(page.model.rowCount())), \
        "events name people by their random id only"

    click(qtbot, page.verify_button)
    qtbot.waitUntil(lambda: "intact" in page.banner.text.text(), timeout=LONG)
    assert "all 2 events" in page.banner.text.text()

    target = tmp_path / "evidence.zip"
    answer_save_dialog(monkeypatch, target)
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "exported" in page.banner.text.text(), timeout=LONG)
    assert "events exported to" in page.banner.text.text()
    with zipfile.ZipFile(target) as archive:
        assert {"events.jsonl", "signed_head.json", "public_key.pem"} <= set(archive.namelist())

    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "already exists" in page.banner.text.text(), timeout=LONG)
