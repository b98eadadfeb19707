"""Admin › Admin API: the window starts the real ``faceseal serve`` on 127.0.0.1, shows its address, answers real
HTTP with the token, rotates the token (the old one is refused at once), stops it, refuses a port in use in one
sentence, and stops the API when the window closes."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.app.admin_drive import admin_section
from tests.app.drive import LONG, click
from tests.conftest import cli_fails, cli_json, free_port, run_cli


def status_code(base: str, token: str) -> int:
    return httpx.get(f"{base}/status", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code


def test_start_call_rotate_and_stop_the_api_from_the_window(qtbot, window, isolated):
    section = admin_section(window, "Admin API")
    assert section.address.text() == "Not running." and not section.stop_button.isEnabled()
    port = free_port()
    section.port.setValue(port)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "answers at" in section.banner.text.text(), timeout=LONG * 2)
    base = f"http://127.0.0.1:{port}/api/v1"
    assert section.address.text() == base and section.stop_button.isEnabled()
    token_file = isolated / "edge_token"
    assert section.token_file.text() == str(token_file)
    old = token_file.read_text().strip()
    assert status_code(base, old) == 200
    assert status_code(base, "not-the-token") == 401
    assert old not in section.banner.text.text() + section.address.text(), "the token itself is never shown"

    click(qtbot, section.rotate_button)
    qtbot.waitUntil(lambda: "accepts only the new token" in section.banner.text.text(), timeout=LONG * 2)
    new = token_file.read_text().strip()
    assert new != old
    assert status_code(base, old) == 401 and status_code(base, new) == 200

    click(qtbot, section.stop_button)
    qtbot.waitUntil(lambda: "stopped" in section.banner.text.text(), timeout=LONG)
    assert section.address.text() == "Not running."
    try:
        httpx.get(f"{base}/status", timeout=5)
        raise AssertionError("the API still answers after Stop")
    except httpx.TransportError:
        pass

    click(qtbot, section.start_button)  # and the window's close stops what it started
    qtbot.waitUntil(lambda: "answers at" in section.banner.text.text(), timeout=LONG * 2)
    pid = section.server.state().pid
    window.close()
    assert not Path(f"/proc/{pid}").exists(), "the API outlives the window (or is left defunct)"


def test_a_port_in_use_is_refused_in_one_sentence(qtbot, window):
    section = admin_section(window, "Admin API")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        section.port.setValue(port)
        click(qtbot, section.start_button)
        qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG)
        assert section.banner.text.text() == (f"Port {port} on 127.0.0.1 is already in use by another program; "
                                              "choose another port.")
        assert section.address.text() == "Not running." and section.start_button.isEnabled()
        cli_fails(2, "is already in use by another program", "serve", "--port", str(port))  # the same check


def test_the_command_line_rotates_the_same_token(isolated):
    first = cli_json("api", "rotate-token")
    assert first == {"status": "rotated", "token_file": str(isolated / "edge_token"), "restarted": False}
    token = (isolated / "edge_token").read_text()
    cli_json("api", "rotate-token")
    assert (isolated / "edge_token").read_text() != token and len(token) >= 43


def test_an_api_that_cannot_open_the_vault_says_why_in_its_own_words(qtbot, window):
    section = admin_section(window, "Admin API")
    assert run_cli("lock").returncode == 0  # every FaceSeal process is locked, the API's too
    section.port.setValue(free_port())
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG * 2)
    said = section.banner.text.text()
    assert "locked" in said.lower() and "Traceback" not in said and "\n" not in said, said
    assert section.address.text() == "Not running." and section.start_button.isEnabled()
