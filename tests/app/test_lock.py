"""One lock for every FaceSeal process: the window's "Lock now" locks the CLI, ``faceseal lock`` locks the window.

The window notices a lock set elsewhere within about a second (a poll of
``ops.is_locked``) or at its next use of the vault, and a lock lifted
elsewhere opens it again on its own. Both are in the audit log.
"""

from __future__ import annotations

from edge_core import ops
from tests.app.drive import LONG, click
from tests.conftest import run_cli

POLL_WAIT = 30_000
"""The window polls every second; allow for two busy cores (`make test` keeps both busy, one worker on each)."""


def _kinds(window) -> list[str]:
    return [e.kind for e in window.session.call(ops.audit_list)]


def _no_internal_error(window) -> None:
    for title, page in window.pages.items():
        for banner in (page.banner, page.lock_banner):
            assert "Unexpected internal error" not in banner.text.text(), (title, banner.text.text())


def test_lock_now_in_the_window_locks_the_command_line_and_unlock_lifts_it_for_both(qtbot, window):
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    click(qtbot, home.lock_button)
    assert home.value("lock") == "Locked" and home.lock_button.text() == "Unlock"

    locked = run_cli("status")
    assert locked.returncode == 3 and "locked" in locked.stderr, locked.stderr

    click(qtbot, home.lock_button)
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    assert run_cli("status").returncode == 0
    kinds = _kinds(window)
    assert kinds[-2:] == ["vault_locked", "vault_unlocked"]


def test_a_lock_from_the_command_line_locks_the_window_and_an_unlock_there_reopens_it(qtbot, window):
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    assert run_cli("lock").returncode == 0

    identities = window.show_page("Identities")  # uses the vault at once, before any poll
    qtbot.waitUntil(lambda: window.session.state.value == "locked", timeout=POLL_WAIT)
    qtbot.waitUntil(lambda: identities.lock_banner.text.text().startswith("The vault is locked"), timeout=LONG)
    assert identities.lock_banner.action.text() == "Unlock" and not identities.body.isEnabled()
    home = window.show_page("Home")
    assert home.value("lock") == "Locked" and home.lock_button.text() == "Unlock"
    _no_internal_error(window)

    assert run_cli("unlock").returncode == 0
    qtbot.waitUntil(lambda: window.session.is_open, timeout=POLL_WAIT)  # nobody clicked anything
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    _no_internal_error(window)
    assert _kinds(window)[-2:] == ["vault_locked", "vault_unlocked"]


def test_a_lock_from_the_command_line_is_lifted_by_the_window_s_unlock(qtbot, window):
    assert run_cli("lock").returncode == 0
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: home.value("lock") == "Locked", timeout=POLL_WAIT)
    _no_internal_error(window)
    click(qtbot, home.lock_banner.action)
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    assert run_cli("status").returncode == 0, "the window's Unlock lifted the lock for the command line too"
    assert _kinds(window)[-2:] == ["vault_locked", "vault_unlocked"]


def test_a_window_opened_on_locked_data_shows_the_locked_state_and_leaves_the_lock(qtbot, models_env, isolated):
    from tests.app.conftest import open_window

    first = open_window(qtbot)
    first.close()
    assert run_cli("lock").returncode == 0
    window = open_window(qtbot)
    home = window.show_page("Home")
    assert home.value("lock") == "Locked", home.lock_banner.text.text()
    assert home.lock_banner.action.text() == "Unlock"
    assert run_cli("status").returncode == 3, "opening the window does not lift anyone's lock"
    click(qtbot, home.lock_banner.action)
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    window.close()


def test_the_next_use_of_the_vault_finds_a_lock_set_elsewhere_even_before_the_poll(qtbot, monkeypatch, models_env,
                                                                                   isolated):
    import app.session
    from tests.app.conftest import open_window

    monkeypatch.setattr(app.session, "POLL_MS", 600_000)
    window = open_window(qtbot)
    assert window.session.is_open
    assert run_cli("lock").returncode == 0
    identities = window.show_page("Identities")
    qtbot.waitUntil(lambda: window.session.state.value == "locked", timeout=LONG)
    qtbot.waitUntil(lambda: identities.lock_banner.action.text() == "Unlock", timeout=LONG)
    _no_internal_error(window)
    click(qtbot, identities.lock_banner.action)
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)
    assert run_cli("status").returncode == 0
    window.close()
