"""Settings' calibration dialog, opened from Settings: real photos, real pipeline, the threshold set, audited and
shown in Settings once the dialog closes."""

from __future__ import annotations

import csv
import math

from edge_core import ops
from tests.app.drive import LONG, click
from tests.conftest import SHARED


def _people_folder(tmp_path):
    faces = SHARED / "faces"
    with open(faces / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    people = sorted({r["identity"] for r in rows})[:6]
    root = tmp_path / "photos"
    for row in rows:
        if row["identity"] in people:
            (root / row["identity"]).mkdir(parents=True, exist_ok=True)
            (root / row["identity"] / row["file"].replace("/", "_")).symlink_to(faces / row["file"])
    return root


def test_calibrating_shows_the_table_and_the_curve_and_uses_the_threshold(qtbot, window, tmp_path):
    from app.widgets.calibrate_dialog import RECOMMENDED

    settings = window.show_page("Settings")
    qtbot.waitUntil(settings.threshold.isEnabled, timeout=LONG)
    click(qtbot, settings.calibrate_button)
    dialog = settings.calibration
    assert dialog.isVisible()
    pack = window.session.pack
    dialog.start(_people_folder(tmp_path))
    qtbot.waitUntil(lambda: dialog.use.isEnabled(), timeout=LONG)
    assert dialog.table.rowCount() == 4
    assert "in force" in dialog.table.item(0, 0).text() and "0.1 %" in dialog.table.item(2, 0).text()
    assert not dialog.curve.pixmap().isNull() and dialog.curve.pixmap().width() > 100
    assert "photos of 6 people" in dialog.status.text()

    click(qtbot, dialog.use)
    wanted = math.ceil(dialog.report.threshold_for(RECOMMENDED) * 1000) / 1000
    qtbot.waitUntil(lambda: "is now" in dialog.status.text(), timeout=LONG)
    report = window.session.call(lambda vault: ops.threshold(vault, pack, 0.0))
    assert report.chosen and report.threshold == wanted
    assert any(e.kind == "threshold_changed" for e in window.session.call(ops.audit_list))
    dialog.accept()
    qtbot.waitUntil(lambda: settings.threshold.isEnabled() and settings.threshold.value() == wanted,
                    timeout=LONG)


def test_a_folder_with_too_few_people_is_one_clear_message(qtbot, window, tmp_path):
    from app.widgets.calibrate_dialog import CalibrateDialog

    (tmp_path / "one" / "alice").mkdir(parents=True)
    dialog = CalibrateDialog(window, window.session, pack="open")
    qtbot.addWidget(dialog)
    dialog.start(tmp_path / "one")
    qtbot.waitUntil(lambda: "at least 4" in dialog.status.text(), timeout=LONG)
    assert not dialog.use.isEnabled() and dialog.choose.isEnabled()
