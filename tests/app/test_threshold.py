"""The threshold chosen in Settings is the vault's: the Verify page and the command line both use it."""

from __future__ import annotations

import json
import re

from PySide6.QtCore import Qt

from edge_core import ops
from edge_core.biometrics import default_pack_name, pack_info
from tests.app.drive import LONG, decide_photo, enrol_photos
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
