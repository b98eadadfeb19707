"""Security: rotation with its progress dialog, a malformed key refused, lock now, reset with each choice."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtWidgets import QProgressDialog

from tests.app.drive import LONG, answer_open_dialog, click, confirm, enrol_photos
from tests.conftest import run_cli


def home_value(qtbot, window, key: str) -> str:
    """What Home shows for ``key`` once it has shown the vault's current status."""
    home = window.show_page("Home")
    with qtbot.waitSignal(home.status_shown, timeout=LONG):
        home.refresh()
    return home.value(key)


def test_rotate_now_shows_progress_and_a_new_fingerprint(qtbot, monkeypatch, window, photos):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    before = home_value(qtbot, window, "fingerprint")
    page = window.show_page("Security")
    page.deep.setChecked(True)
    click(qtbot, page.rotate_button)
    assert "reseals every template under fresh keys" in confirm(qtbot, page)
    assert isinstance(page.progress, QProgressDialog) and page.progress.isVisible()
    assert page.progress.windowTitle() == "Rotating the root key"
    qtbot.waitUntil(lambda: "was rotated" in page.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: not page.progress.isVisible(), timeout=LONG)
    assert "2 templates resealed" in page.banner.text.text()
    after = home_value(qtbot, window, "fingerprint")
    assert after != before and after in page.banner.text.text()


@pytest.mark.parametrize("fmt, typed, expected", [
    ("hex", "not-a-key", "The typed key is not a hexadecimal key."),
    ("hex", "zz" * 32, "The typed key is not a hexadecimal key."),
    ("base64", "not base64!", "The typed key is not valid base64."),
])
def test_a_malformed_key_is_refused_with_a_message_that_never_repeats_it(qtbot, window, fmt, typed, expected):
    page = window.show_page("Security")
    qtbot.waitUntil(page.import_button.isEnabled, timeout=LONG)
    page.key_format.setCurrentIndex(page.key_format.findData(fmt))
    qtbot.keyClicks(page.key_text, typed)
    click(qtbot, page.import_button)
    message = page.banner.text.text()
    assert message == expected
    assert typed not in message
    assert page.dialog is None, "nothing is asked before the key even parses"


@pytest.mark.parametrize("fmt, typed, bits", [("base64", "c2hvcnQ=", 40), ("hex", "ab" * 31, 248)])
def test_a_key_shorter_than_the_policy_allows_is_refused_by_the_policy(qtbot, window, fmt, typed, bits):
    """The key parses, so the window asks; ops then refuses it by the policy's minimum, as the CLI does."""
    before = home_value(qtbot, window, "fingerprint")
    page = window.show_page("Security")
    qtbot.waitUntil(page.import_button.isEnabled, timeout=LONG)
    page.key_format.setCurrentIndex(page.key_format.findData(fmt))
    qtbot.keyClicks(page.key_text, typed)
    click(qtbot, page.import_button)
    confirm(qtbot, page)
    qtbot.waitUntil(lambda: page.banner.property("kind") == "error", timeout=LONG)
    assert page.banner.text.text() == f"The key is {bits} bits; the policy requires at least 256 bits."
    assert typed not in page.banner.text.text()
    assert home_value(qtbot, window, "fingerprint") == before


def _sentence(cli_stderr: str, source: str) -> str:
    """The CLI's error line as the window words it: the window's source name, a capital, a full stop."""
    text = cli_stderr.strip().removeprefix("faceseal: error: ")
    for flag in ("--hex", "--base64"):
        text = text.replace(flag, source)
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def test_the_window_refuses_every_key_exactly_as_faceseal_key_import_does(qtbot, monkeypatch, window, tmp_path):
    """Same parser, same policy, same rules: each refusal of the window is the CLI's refusal, word for word."""
    short_hex_file = tmp_path / "short-hex.key"
    short_hex_file.write_text(("cd" * 16) + "\n")  # 128 bits written as hex
    long_raw_file = tmp_path / "long-raw.key"
    long_raw_file.write_bytes(bytes(range(100, 133)))  # 33 raw bytes
    cases = [("hex", "not-a-key"), ("base64", "c2hvcnQ="), ("hex", "ab" * 31),
             ("base64", base64.b64encode(b"\x07" * 32).decode()), ("hex", "ab" * 33),
             ("file", short_hex_file), ("file", long_raw_file)]
    before = home_value(qtbot, window, "fingerprint")
    page = window.show_page("Security")
    qtbot.waitUntil(page.import_button.isEnabled, timeout=LONG)
    for form, value in cases:
        page.banner.clear()
        if form == "file":
            answer_open_dialog(monkeypatch, value)
            click(qtbot, page.import_file_button)
        else:
            page.key_format.setCurrentIndex(page.key_format.findData(form))
            page.key_text.clear()
            qtbot.keyClicks(page.key_text, value)
            click(qtbot, page.import_button)
        if page.banner.text.text() == "":  # it parsed: the window asks first, then ops refuses it
            confirm(qtbot, page)
            qtbot.waitUntil(lambda: page.banner.text.text() != "", timeout=LONG)
        assert page.banner.property("kind") == "error"
        page.dialog = None
        shown = page.banner.text.text()
        cli = run_cli("key", "import", f"--{form}", str(value))
        assert cli.returncode in (2, 3), (form, value, cli.stderr)
        assert shown == _sentence(cli.stderr, "the typed key"), (form, value)
        assert str(value) not in shown or form == "file"
    assert home_value(qtbot, window, "fingerprint") == before


def test_lock_now_drops_the_keys_and_unlock_opens_again(qtbot, window):
    page = window.show_page("Security")
    qtbot.waitUntil(page.lock_button.isEnabled, timeout=LONG)
    click(qtbot, page.lock_button)
    assert not page.rotate_button.isEnabled() and not page.lock_button.isEnabled()
    assert page.restore_button.isEnabled(), "restoring needs no open vault"
    enrol = window.show_page("Enrol")
    assert enrol.lock_banner.text.text().startswith("The vault is locked")
    assert not enrol.body.isEnabled()
    home = window.show_page("Home")
    assert home.value("lock") == "Locked"
    click(qtbot, home.lock_banner.action)
    qtbot.waitUntil(lambda: home.value("lock") == "Unlocked", timeout=LONG)
    assert home.lock_button.text() == "Lock now"


@pytest.mark.parametrize("keep", ["keep_audit", "keep_outbox", "keep_device_key"])
def test_reset_deletes_everyone_and_keeps_only_the_chosen_item(qtbot, monkeypatch, window, photos, keep):
    enrol_photos(qtbot, monkeypatch, window, "Alice Martin", photos["nicole_kidman"][:2])
    device_before = home_value(qtbot, window, "device_id")
    page = window.show_page("Security")
    qtbot.waitUntil(page.reset_button.isEnabled, timeout=LONG)
    page.keep[keep].setChecked(True)
    click(qtbot, page.reset_button)
    said = confirm(qtbot, page)
    label = {"keep_audit": "the audit log", "keep_outbox": "the telemetry outbox",
             "keep_device_key": "the device key"}[keep]
    assert f"Kept: {label}." in said and "cannot be undone" in said
    qtbot.waitUntil(lambda: "Everything was reset" in page.banner.text.text(), timeout=LONG)
    assert "1 people and 2 templates deleted" in page.banner.text.text()
    assert f"Kept: {label}." in page.banner.text.text()
    qtbot.waitUntil(lambda: window.session.is_open, timeout=LONG)

    identities = window.show_page("Identities")
    qtbot.waitUntil(identities.empty.isVisible, timeout=LONG)
    audit = window.show_page("Audit")
    qtbot.waitUntil(lambda: "vault_reset" in audit.shown_kinds(), timeout=LONG)
    kept_history = "identity_enrolled" in audit.shown_kinds()
    assert kept_history == (keep == "keep_audit")
    device_after = home_value(qtbot, window, "device_id")
    assert (device_after == device_before) == (keep == "keep_device_key")
