"""Admin › Policy: every setting with its meaning, value, default and range; a change is validated as a whole and
audited by ops; a refused one changes nothing; the MAC and version state; a tampered file is shown and reset
behind a confirmation."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

from edge_core import ops
from tests.app.admin_drive import admin_section
from tests.app.drive import LONG, click, confirm
from tests.conftest import cli_json


def read(qtbot, section) -> None:
    qtbot.waitUntil(lambda: section.description is not None and section.save_button.isEnabled(), timeout=LONG)


def policy_events(window) -> list[str]:
    return [e.kind for e in window.session.call(ops.audit_list) if e.kind.startswith("policy_")]


def test_every_setting_is_shown_changed_refused_and_reset(qtbot, window, isolated):
    section = admin_section(window, "Policy")
    read(qtbot, section)
    assert "no file yet: the defaults apply; version 0" in section.state.text()
    names = [s.name for s in section.description.settings]
    described = cli_json("policy", "describe")  # the command line describes the policy with the same use case
    assert names == [s["name"] for s in described["settings"]] and len(names) == 15  # liveness_attack_model the newest
    assert (described["state"], described["version"]) == ("default", 0)
    age = section.editors["max_root_age_days"]
    assert isinstance(age, QLineEdit) and age.text() == "90"
    assert isinstance(section.editors["liveness_required"], QCheckBox)
    assert isinstance(section.editors["min_key_bits"], QComboBox)
    setting = next(s for s in section.description.settings if s.name == "max_root_age_days")
    assert (setting.default, setting.allowed) == (90, "1 to 3650") and "due for rotation" in setting.meaning

    age.setText("5000")  # outside 1..3650: refused by ops, nothing written or audited
    click(qtbot, section.save_button)
    qtbot.waitUntil(section.banner.isVisible, timeout=LONG)
    assert "max_root_age_days must be between 1 and 3650" in section.banner.text.text()
    assert policy_events(window) == [] and not (isolated / "policy.json").exists()

    section.editors["liveness_risk_low"].setText("0.9")  # valid alone, but above liveness_risk_high: refused
    age.setText("30")
    click(qtbot, section.save_button)
    qtbot.waitUntil(lambda: "liveness_risk_low < liveness_risk_high" in section.banner.text.text(), timeout=LONG)
    assert policy_events(window) == []

    section.editors["liveness_risk_low"].setText("0.3")
    section.editors["threshold_max"].setText("0")  # would refuse every pack's default: matching switched off
    click(qtbot, section.save_button)
    qtbot.waitUntil(lambda: "threshold_max must be between 0.45 and 1" in section.banner.text.text(), timeout=LONG)
    assert policy_events(window) == []

    section.editors["threshold_max"].setText("0.99")
    section.editors["lockout_attempts"].setText("three")
    click(qtbot, section.save_button)
    qtbot.waitUntil(lambda: "Lockout_attempts takes a value of type int" in section.banner.text.text(), timeout=LONG)

    section.editors["lockout_attempts"].setText("3")
    section.editors["liveness_required"].setChecked(False)
    click(qtbot, section.save_button)
    qtbot.waitUntil(lambda: "Policy saved and audited" in section.banner.text.text(), timeout=LONG)
    said = section.banner.text.text()
    assert "max_root_age_days 90 → 30" in said and "lockout_attempts 5 → 3" in said and "liveness_required true → false" in said
    qtbot.waitUntil(lambda: "its MAC matches this vault; version 1" in section.state.text(), timeout=LONG)
    assert policy_events(window) == ["policy_changed"]
    assert cli_json("policy", "show")["max_root_age_days"] == 30  # the CLI obeys the same file

    (isolated / "policy.json").write_text((isolated / "policy.json").read_text().replace('"lockout_attempts": 3',
                                                                                        '"lockout_attempts": 100'))
    section.refresh()
    qtbot.waitUntil(lambda: "REFUSED" in section.state.text(), timeout=LONG)
    assert "changed outside FaceSeal" in section.state.text() and not section.save_button.isEnabled()
    assert section.banner.action.text() == "Reset to defaults…"
    described = cli_json("policy", "describe")  # described, not refused: its state says what is wrong
    assert described["state"] == "tampered" and "changed outside FaceSeal" in described["error"]
    assert {s["value"] for s in described["settings"]} == {None}, "nothing of a tampered file is shown as in force"

    click(qtbot, section.reset_button)
    assert "Settings you chose" in confirm(qtbot, section, accept=False)
    assert policy_events(window) == ["policy_changed"], "cancelled: nothing reset"
    click(qtbot, section.reset_button)
    confirm(qtbot, section)
    qtbot.waitUntil(lambda: "back to its defaults" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: "version 2" in section.state.text(), timeout=LONG)
    assert section.editors["max_root_age_days"].text() == "90"
    assert policy_events(window) == ["policy_changed", "policy_reset"]
    reset = [e for e in window.session.call(ops.audit_list) if e.kind == "policy_reset"][0]
    assert reset.detail["recovered_from"] == "edit"
