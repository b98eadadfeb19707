"""Audit: the events in a table (the person's name beside their id while they exist, every detail in full),
filtered by kind and words, the chain verified (a count that goes stale is taken down), the evidence exported,
and an evidence zip picked from disk checked: intact, or tampered with and what was changed."""

from __future__ import annotations

import zipfile
from pathlib import Path

from edge_core import ops
from tests.app.drive import LONG, answer_open_dialog, answer_save_dialog, click, enrol_photos


def tampered_copy(evidence: Path, out: Path) -> Path:
    """The evidence zip with one event edited (2 samples said to be 3), everything else as it was."""
    with zipfile.ZipFile(evidence) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "events.jsonl":
                data = data.replace(b'"samples":2', b'"samples":3').replace(b'"samples": 2', b'"samples": 3')
                assert data != source.read(member)
            target.writestr(member, data)
    return out


def test_events_filter_verify_export_and_check_evidence(qtbot, monkeypatch, window, photos, tmp_path):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    page = window.show_page("Audit")
    qtbot.waitUntil(lambda: sorted(page.shown_kinds()) == [
        "consent_recorded", "identity_enrolled", "vault_created"], timeout=LONG)  # her consent, signed with it

    page.kind.setCurrentText("vault_created")
    assert page.shown_kinds() == ["vault_created"]
    page.kind.setCurrentText("All events")
    qtbot.keyClicks(page.search, "samples=2")
    assert page.shown_kinds() == ["identity_enrolled"]
    page.search.clear()
    qtbot.keyClicks(page.search, "no such words")
    assert page.shown_kinds() == []
    page.search.clear()

    stored = window.session.call(ops.audit_list)
    assert "Alice" not in str([e.detail for e in stored]), "the log itself names people by their random id only"
    enrolled = next(e for e in stored if e.kind == "identity_enrolled")
    row = next(r for r in range(page.model.rowCount()) if page.model.index(r, 2).data() == "identity_enrolled")
    assert page.model.index(row, 3).data() == "Alice Martin", "the window names the person while they exist"
    details = page.model.index(row, 4).data()
    assert f"identity={enrolled.detail['identity']}" in details and "…" not in details
    window.resize(1024, 700)  # narrower: the details wrap onto more lines, and every row grows to show them
    qtbot.waitUntil(lambda: all(page.table.rowHeight(r) >= page.table.sizeHintForRow(r)
                                for r in range(page.filter.rowCount())), timeout=LONG)
    page.table.selectRow(page.filter.mapFromSource(page.model.index(row, 0)).row())
    assert f"identity: {enrolled.detail['identity']}" in page.detail.toPlainText()
    assert "person: Alice Martin" in page.detail.toPlainText()

    click(qtbot, page.verify_button)
    qtbot.waitUntil(lambda: "intact" in page.banner.text.text(), timeout=LONG)
    assert "all 3 events" in page.banner.text.text()

    target = tmp_path / "evidence.zip"
    answer_save_dialog(monkeypatch, target)
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "exported" in page.banner.text.text(), timeout=LONG)
    assert "events exported to" in page.banner.text.text()
    with zipfile.ZipFile(target) as archive:
        assert {"events.jsonl", "signed_head.json", "public_key.pem"} <= set(archive.namelist())
    click(qtbot, page.export_button)
    qtbot.waitUntil(lambda: "already exists" in page.banner.text.text(), timeout=LONG)

    answer_open_dialog(monkeypatch, target)
    click(qtbot, page.check_button)
    qtbot.waitUntil(lambda: "is intact" in page.banner.text.text(), timeout=LONG)
    assert "the head (event 3) signed by device" in page.banner.text.text()

    answer_open_dialog(monkeypatch, tampered_copy(target, tmp_path / "tampered.zip"))
    click(qtbot, page.check_button)
    qtbot.waitUntil(lambda: "NOT intact" in page.banner.text.text(), timeout=LONG)
    assert "event 2 (identity_enrolled) was edited" in page.banner.text.text()

    (tmp_path / "not-evidence.zip").write_bytes(b"this is no zip")
    answer_open_dialog(monkeypatch, tmp_path / "not-evidence.zip")
    click(qtbot, page.check_button)
    qtbot.waitUntil(lambda: "damaged or not FaceSeal audit evidence" in page.banner.text.text(), timeout=LONG)


def test_a_chain_check_count_is_taken_down_once_the_log_grows(qtbot, monkeypatch, window, photos):
    page = window.show_page("Audit")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=LONG)
    click(qtbot, page.verify_button)
    qtbot.waitUntil(lambda: "all 1 events" in page.banner.text.text(), timeout=LONG)
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    window.show_page("Audit")
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=LONG)  # enrolled, and consented
    assert "all 1 events" not in page.banner.text.text() and not page.banner.isVisible()
