"""Issue 30, item 2 in the window: the consent text before the first sample (Cancel takes none), the retention sweep
when the window opens the vault (clock injected), and the reminder on Home of who is deleted soon."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from edge_core import ops
from tests.app.drive import LONG, answer_open_dialog, click, start_enrolment
from tests.conftest import cli_json, probe



def test_the_consent_text_comes_before_the_first_sample(qtbot, monkeypatch, window, photos) -> None:
    page = window.show_page("Enrol")
    qtbot.keyClicks(page.name, "Alice Martin")
    page.source.buttons["photos"].click()
    answer_open_dialog(monkeypatch, *photos["nicole_kidman"][:2])
    click(qtbot, page.source.choose)
    qtbot.waitUntil(page.start_button.isEnabled, timeout=LONG)

    start_enrolment(qtbot, page, consents=False)
    said = page.dialog.message
    assert "Purpose: to recognise you on this device" in said and "Kept: until you are deleted" in said
    assert page.steps.currentIndex() == 0 and page.task is None, "no capture started"
    assert page.banner.text.text() == "Nothing was captured: Alice Martin did not consent."
    assert window.session.call(ops.list_identities) == []

    start_enrolment(qtbot, page)
    qtbot.waitUntil(lambda: page.task is None, timeout=LONG)
    assert "Alice Martin is enrolled with 2 new sealed templates" in page.result.text()
    (consent,) = [e for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"]
    assert consent["person"] == "Alice Martin" and consent["text_version"] == 1


def _enrol(window, name: str, retention_days: int, seed: int) -> None:
    samples = np.random.default_rng(seed).normal(size=(2, 32)).astype(np.float32)

    def enrol(vault) -> None:
        ops.policy_set(vault, {"retention_days": retention_days})
        ops.enrol(vault, name, probe(samples), consent=ops.consent_terms(vault))

    window.session.call(enrol)


def _reopen(qtbot, window, at: datetime) -> None:
    """Lock and unlock the window as a person would, its clock at ``at``: opening the vault runs the sweep."""
    window.session.clock = lambda: at
    window.session.lock()
    qtbot.waitUntil(lambda: not window.session.is_open, timeout=LONG)
    window.session.unlock()
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)


def _home(qtbot, window):
    home = window.show_page("Settings")
    with qtbot.waitSignal(window.pages["Home"].status_shown, timeout=LONG):
        home = window.show_page("Home")
    return home


def test_the_window_reminds_then_shreds_exactly_who_is_due_when_it_opens(qtbot, window) -> None:
    _enrol(window, "Alice Martin", 30, 1)
    _enrol(window, "Bruno Costa", 90, 2)
    _enrol(window, "Chen Wei", 0, 3)

    end = datetime.fromisoformat(window.session.call(lambda v: ops.consent_record(v, "Alice Martin")).expires_at)
    _reopen(qtbot, window, end - timedelta(days=5, hours=1))
    home = _home(qtbot, window)
    day = end.isoformat()[:10]
    assert home.value("retention").startswith(f"Retention ends soon, then FaceSeal deletes them: Alice Martin on {day} "
                                              "(in 5 days).")
    assert home.banner.property("kind") == "warning" and "consent again" in home.banner.text.text()
    assert [i.name for i in window.session.call(ops.list_identities)] == ["Alice Martin", "Bruno Costa", "Chen Wei"]

    _reopen(qtbot, window, end)
    home = _home(qtbot, window)
    assert home.banner.text.text() == ("Retention ended, so FaceSeal deleted Alice Martin (crypto-shredded; recorded "
                                       "in the audit log).")
    assert home.value("retention") == f"nobody's retention ends within {ops.REMINDER_DAYS} days"
    assert [i.name for i in window.session.call(ops.list_identities)] == ["Bruno Costa", "Chen Wei"]
    shredded = [e for e in cli_json("audit", "list") if e["kind"] == "identity_shredded"]
    assert [e.get("cause") for e in shredded] == ["retention"]


def test_consenting_again_in_the_window_keeps_someone_past_the_reminder(qtbot, window) -> None:
    """Identities › Consent again…: the text in force is shown first (Cancel records nothing); agreeing records a
    renewed consent whose retention counts from today, and Home stops reminding."""
    _enrol(window, "Alice Martin", 30, 1)
    end = datetime.fromisoformat(window.session.call(lambda v: ops.consent_record(v, "Alice Martin")).expires_at)
    window.session.call(lambda v: ops.policy_set(v, {"retention_days": 90}))
    _reopen(qtbot, window, end - timedelta(days=5))
    assert "Alice Martin" in _home(qtbot, window).value("retention")

    page = window.show_page("Identities")
    qtbot.waitUntil(lambda: page.names() == ["Alice Martin"], timeout=LONG)
    page.table.selectRow(0)
    for agrees in (False, True):
        page.dialog = None
        click(qtbot, page.consent_button)
        qtbot.waitUntil(lambda: page.dialog is not None and page.dialog.isVisible(), timeout=LONG)
        assert "Kept: 90 days from today" in page.dialog.message and "Purpose: " in page.dialog.message
        (page.dialog.accept if agrees else page.dialog.reject)()
        if not agrees:
            assert page.banner.text.text() == "Nothing was recorded: Alice Martin did not consent again."
    qtbot.waitUntil(lambda: "consent is recorded again" in page.banner.text.text(), timeout=LONG)
    renewed = window.session.call(lambda v: ops.consent_record(v, "Alice Martin"))
    assert page.banner.text.text() == ("Alice Martin's consent is recorded again: FaceSeal keeps them until "
                                       f"{renewed.expires_at[:10]}.")
    assert [e["renewed"] for e in cli_json("audit", "list") if e["kind"] == "consent_recorded"] == [False, True]
    assert _home(qtbot, window).value("retention") == f"nobody's retention ends within {ops.REMINDER_DAYS} days"
