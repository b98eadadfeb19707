"""The window and the command line share one model pack in use (issue 26, item 7): chosen in Settings, it is the
command line's; chosen with ``faceseal models use``, it is the window's; and with only the ``open`` pack
installed, Home shows it in use rather than an error about the default pack."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tests.app.conftest import open_window
from tests.app.drive import LONG, enrol_photos
from tests.conftest import cli_json, run_cli


def _choose(settings, name: str) -> None:
    """Pick ``name`` in the Settings page's pack box, as a person does."""
    row = settings.pack.findData(name)
    settings.pack.setCurrentIndex(row)
    settings.pack.activated.emit(row)


def test_a_pack_chosen_in_settings_is_the_command_lines_and_back(qtbot, window):
    settings = window.show_page("Settings")
    _choose(settings, "open")
    qtbot.waitUntil(lambda: "'open' is now in use" in settings.banner.text.text(), timeout=LONG)
    assert [p["name"] for p in cli_json("models", "list") if p["in_use"]] == ["open"]
    assert "in use" in settings.pack_state.text() and settings.pack.currentData() == "open"

    _choose(settings, "scrfd512")  # not installed: shown with its way in, and the pack in use stays
    assert "not installed" in settings.pack_state.text() and "'open' stays in use" in settings.pack_state.text()
    assert window.session.pack == "open"

    assert run_cli("models", "use", "scrfd").returncode == 0
    qtbot.waitUntil(lambda: window.session.pack == "scrfd", timeout=LONG)  # the window notices the vault's change
    home = window.show_page("Home")
    assert home.value("pack") == "scrfd (installed)"


def test_with_only_the_open_pack_home_shows_it_in_use_and_enrolment_works(qtbot, monkeypatch, open_only_env,
                                                                         isolated, photos):
    window = open_window(qtbot)
    home = window.show_page("Home")
    assert home.value("pack") == ("open (installed; in use because the default pack 'yunet512' is not installed: "
                                  "choose one in Settings)")
    enrol = window.show_page("Enrol")
    assert enrol.banner.property("kind") == "info"
    assert enrol.banner.text.text().startswith("Using model pack 'open': the default pack 'yunet512' is not installed")
    page = enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    assert page.steps.currentIndex() == 2, page.banner.text.text()
    assert [(p["name"], p["pack"]) for p in cli_json("list")] == [("Alice Martin", "open")]
    window.close()


def test_a_pack_an_older_window_kept_in_its_preferences_is_carried_into_the_vault_once(qtbot, models_env,
                                                                                       isolated):
    isolated.mkdir(mode=0o700, exist_ok=True)
    old = QSettings(str(isolated / "app.ini"), QSettings.Format.IniFormat)
    old.setValue("pack", "open")
    old.sync()
    window = open_window(qtbot)
    assert window.session.pack == "open"
    assert [p["name"] for p in cli_json("models", "list") if p["chosen"]] == ["open"]
    assert QSettings(str(isolated / "app.ini"), QSettings.Format.IniFormat).value("pack") is None
    window.close()
