"""The threshold chosen in Settings is the vault's: the Verify page and the command line both use it; a value
outside the policy is refused with its reason (never clamped and audited), a value far from the default is saved
with a word, and the pack's default comes back with one button."""

from __future__ import annotations

import json
import re

from PySide6.QtCore import Qt

from edge_core import ops
from edge_core.biometrics import default_pack_name, pack_info
from tests.app.drive import LONG, click, decide_photo, enrol_photos
from tests.conftest import run_cli


def test_a_threshold_set_in_settings_decides_in_the_window_and_on_the_command_line(qtbot, monkeypatch, window,
                                                                                   photos):
    nicole = photos["nicole_kidman"]
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", nicole[:3])
    before = decide_photo(qtbot, monkeypatch, window, nicole[3], "Alice Martin")
    assert before.decision.text() == "Match: this is Alice Martin"
    score = float(re.search(r"\(score ([0-9.]+)", before.details.text()).group(1))

    settings = window.show_page("Settings")
    qtbot.waitUntil(settings.threshold.isEnabled, timeout=LONG)
    strict = round(min(0.99, score + 0.05), 2)  # above this photo's score: the same photo must now fail
    settings.threshold.setFocus()
    settings.threshold.selectAll()
    qtbot.keyClicks(settings.threshold, f"{strict:.2f}")
    qtbot.keyClick(settings.threshold, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(e.kind == "threshold_changed"
                                for e in window.session.call(ops.audit_list)), timeout=LONG)

    after = decide_photo(qtbot, monkeypatch, window, nicole[3], "Alice Martin")
    assert after.decision.text() == "No match: this is not Alice Martin"
    assert f"threshold {strict:.2f}" in after.details.text()
    assert after.threshold.text().startswith(f"{strict:.2f}")

    default = pack_info(default_pack_name())
    shown = run_cli("threshold", "--pack", default.name, "--json")  # the CLI reads the same vault
    assert json.loads(shown.stdout) == {"pack": default.name, "threshold": strict, "default": default.default_threshold,
                                        "chosen": True,
                                        "low": 0.1, "high": 0.99}
    cli = run_cli("verify", "Alice Martin", "--image", str(nicole[3]), "--json")
    assert cli.returncode == 10 and json.loads(cli.stdout)["threshold"] == strict


def set_threshold(qtbot, settings, text: str) -> None:
    settings.threshold.setFocus()
    settings.threshold.selectAll()
    qtbot.keyClicks(settings.threshold, text)
    qtbot.keyClick(settings.threshold, Qt.Key.Key_Return)


def threshold_events(window) -> list:
    return [e.detail for e in window.session.call(ops.audit_list) if e.kind == "threshold_changed"]


def test_below_the_floor_is_refused_far_from_default_is_said_and_the_default_comes_back(qtbot, window):
    default = pack_info(default_pack_name())
    shown_default = default.default_threshold  # as stored, third decimal included (0.412, not 0.41)
    settings = window.show_page("Settings")
    qtbot.waitUntil(settings.threshold.isEnabled, timeout=LONG)
    assert not settings.default_button.isEnabled(), "nothing chosen yet: the default is in force"

    set_threshold(qtbot, settings, "0.05")  # the policy's floor is 0.10
    qtbot.waitUntil(lambda: settings.banner.isVisible(), timeout=LONG)
    said = settings.banner.text.text()
    assert "outside the range the policy allows (0.10 to 0.99)" in said and "Nothing was changed" in said
    assert settings.threshold.value() == shown_default, "the box shows the threshold still in force"
    assert threshold_events(window) == [], "a refused value is not audited as a change"

    set_threshold(qtbot, settings, "0.90")
    qtbot.waitUntil(lambda: "is now 0.90" in settings.banner.text.text(), timeout=LONG)
    assert f"far above the pack's measured default ({default.default_threshold:g})" in settings.banner.text.text()
    assert settings.banner.property("kind") == "warning"
    assert [e["threshold"] for e in threshold_events(window)] == [0.9]
    set_threshold(qtbot, settings, "0.90")  # the same value again: nothing to save, nothing audited
    assert len(threshold_events(window)) == 1

    click(qtbot, settings.default_button)
    qtbot.waitUntil(lambda: f"back to its measured default {default.default_threshold:g}" in settings.banner.text.text(), timeout=LONG)
    assert settings.threshold.value() == shown_default and not settings.default_button.isEnabled()
    assert [e["threshold"] for e in threshold_events(window)] == [0.9, None]
    shown = run_cli("threshold", "--pack", default.name, "--json")
    assert json.loads(shown.stdout)["chosen"] is False
