"""The friendly states: no model pack, no camera, a missing or wrong root key, each with its way out."""

from __future__ import annotations

from pathlib import Path

from edge_core.keys.material import random_key
from edge_core.biometrics import default_pack_name, pack_info
from tests.app.conftest import open_window
from tests.app.drive import LONG, answer_folder_dialog, click, start_enrolment
from tests.conftest import shared_or_skip


def test_missing_pack_points_to_settings_where_it_installs_with_progress(qtbot, monkeypatch, empty_models, isolated):
    window = open_window(qtbot)
    enrol = window.show_page("Enrol")
    assert f"Model pack '{default_pack_name()}' is not installed" in enrol.banner.text.text()
    qtbot.keyClicks(enrol.name, "Alice")
    assert not enrol.start_button.isEnabled()
    assert enrol.banner.action.text() == "Open Settings"
    click(qtbot, enrol.banner.action)
    settings = window.stack.currentWidget()
    assert settings is window.pages["Settings"]
    assert "not installed" in settings.pack_state.text()

    answer_folder_dialog(monkeypatch, shared_or_skip("models"))
    click(qtbot, settings.install_button)
    if pack_info(default_pack_name()).requires_consent:  # the licence notice comes first
        assert settings.dialog.isVisible() and "UNVERIFIED" in settings.dialog.message
        click(qtbot, settings.dialog.confirm_button)
    assert settings.progress is not None and settings.progress.isVisible()
    qtbot.waitUntil(lambda: "is installed" in settings.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: not settings.progress.isVisible(), timeout=LONG)
    assert "installed and checked" in settings.pack_state.text()

    enrol = window.show_page("Enrol")
    assert enrol.banner.text.text() == ""
    enrol.source.buttons["camera"].click()
    assert enrol.start_button.isEnabled()
    window.close()


def test_installing_from_a_folder_without_the_files_says_what_is_missing(qtbot, monkeypatch, empty_models, isolated,
                                                                         tmp_path):
    window = open_window(qtbot)
    settings = window.show_page("Settings")
    answer_folder_dialog(monkeypatch, tmp_path)
    click(qtbot, settings.install_button)
    if pack_info(default_pack_name()).requires_consent:
        click(qtbot, settings.dialog.confirm_button)
    qtbot.waitUntil(lambda: settings.banner.text.text() != "", timeout=LONG)
    assert "is not in" in settings.banner.text.text() and "Nothing was installed" in settings.banner.text.text()
    assert "not installed" in settings.pack_state.text()
    window.close()


def test_no_camera_is_a_clear_state_with_the_way_out(qtbot, window):
    settings = window.show_page("Settings")
    settings.camera_index.setValue(9)
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: "checking" not in home.value("camera"), timeout=LONG)
    assert home.value("camera").startswith("No camera answers at index 9")
    assert "photos or a video file" in home.value("camera")

    enrol = window.show_page("Enrol")
    qtbot.keyClicks(enrol.name, "Alice")
    enrol.source.buttons["camera"].click()
    start_enrolment(qtbot, enrol)  # she consents first: the camera is asked for only then
    qtbot.waitUntil(lambda: enrol.task is None, timeout=LONG)
    assert enrol.steps.currentIndex() == 0
    assert enrol.banner.text.text().startswith(
        "No camera answers at index 9: connect one or choose another in Settings")


def _root_file(home: Path) -> Path:
    return home / "keys" / "root_key.hex"


def test_a_missing_root_key_is_explained_with_the_way_out(qtbot, models_env, isolated):
    first = open_window(qtbot)
    assert first.session.is_open
    first.close()
    _root_file(isolated).unlink()

    window = open_window(qtbot)
    home = window.show_page("Home")
    assert home.value("lock") == "Cannot be opened"
    assert "No root key found" in home.lock_banner.text.text()
    assert "restore it from your recovery kit" in home.lock_banner.text.text()
    assert home.lock_button.text() == "Unlock", "trying again is one click"
    identities = window.show_page("Identities")
    assert not identities.body.isEnabled() and "No root key found" in identities.lock_banner.text.text()
    assert identities.lock_banner.action.text() == "Restore from a recovery copy"
    click(qtbot, identities.lock_banner.action)
    security = window.stack.currentWidget()
    assert security is window.pages["Security"]
    assert security.restore_button.isEnabled() and not security.rotate_button.isEnabled()
    window.close()


def test_a_wrong_root_key_is_refused_and_the_data_left_alone(qtbot, models_env, isolated):
    first = open_window(qtbot)
    first.close()
    _root_file(isolated).write_text(random_key().hex())
    database = (isolated / "faceseal.db").read_bytes()

    window = open_window(qtbot)
    home = window.show_page("Home")
    assert home.value("lock") == "Cannot be opened"
    assert home.lock_banner.text.text().startswith("The vault cannot be opened.")
    assert "Traceback" not in home.lock_banner.text.text()
    click(qtbot, home.lock_button)
    qtbot.waitUntil(lambda: home.value("lock") == "Cannot be opened", timeout=LONG)
    assert (isolated / "faceseal.db").read_bytes() == database
    window.close()


def test_a_root_key_removed_while_the_window_is_open_is_noticed_with_what_to_do(qtbot, window, isolated):
    """Issue 26, item 10: the open window did not notice the root vanishing; Home still showed where it lived."""
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("root_store") not in ("", "—"), timeout=LONG)
    _root_file(isolated).unlink()  # removed outside FaceSeal, as `secret-tool clear` would remove a keychain entry
    qtbot.waitUntil(lambda: "no longer in the file" in home.lock_banner.text.text(), timeout=LONG)
    said = home.lock_banner.text.text()
    assert "export a recovery copy now" in said and home.lock_banner.action.text() == "Export a recovery copy"
    qtbot.waitUntil(lambda: home.value("root_store").startswith("gone from"), timeout=LONG)
    identities = window.show_page("Identities")
    assert "no longer in the file" in identities.lock_banner.text.text(), "every page says it"
    click(qtbot, identities.lock_banner.action)
    assert window.stack.currentWidget() is window.pages["Security"]
