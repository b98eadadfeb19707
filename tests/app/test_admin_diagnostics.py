"""Admin › Diagnostics: the real self-test run from the window in a child process, its report shown check by
check; a broken installation (a model file damaged after install) is one clear sentence, never a traceback."""

from __future__ import annotations

import shutil

from edge_core.biometrics import default_pack_name, pack_info
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, click


def test_the_self_test_runs_from_the_window_and_shows_its_report(qtbot, window):
    section = admin_section(window, "Diagnostics")
    click(qtbot, section.run_button)
    qtbot.waitUntil(lambda: "passed" in section.banner.text.text() or section.banner.property("kind") == "error",
                    timeout=LONG * 5)
    assert "The self-test passed" in section.banner.text.text(), section.banner.text.text()
    report = section.report.toPlainText()
    assert "vault: ok" in report and "models: ok (" in report and f"pack {default_pack_name()}" in report and "window: ok" in report
    assert "plaintext_on_disk False" in report


def test_a_damaged_model_is_reported_in_one_sentence(qtbot, installed_models, isolated, tmp_path, monkeypatch):
    damaged, name = tmp_path / "models", default_pack_name()
    recognizer = pack_info(name).recognizer.file
    shutil.copytree(installed_models / name, damaged / name)
    (damaged / name / recognizer).write_bytes(b"\0" * 4096)
    monkeypatch.setenv("FACESEAL_MODELS", str(damaged))
    window = open_window(qtbot)
    section = admin_section(window, "Diagnostics")
    click(qtbot, section.run_button)
    qtbot.waitUntil(lambda: section.banner.property("kind") == "error", timeout=LONG * 5)
    said = section.banner.text.text()
    assert recognizer in said and "Traceback" not in said and "\n" not in said, said
    assert section.run_button.isEnabled() and section.report.toPlainText() == ""
    window.close()
