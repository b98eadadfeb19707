"""Driving the Admin page: opening one of its sections and waiting for it to be read."""

from __future__ import annotations

from pathlib import Path

from tests.app.drive import LONG, click
from tests.conftest import free_port


def admin_section(window, title: str):
    """Open Admin › ``title``; returns the section."""
    window.show_page("Admin")
    return window.admin.open_section(title)


def start_api(qtbot, window, home: Path):
    """Admin › Admin API: start the API on a free port; returns the section, the port and the bearer token."""
    section = admin_section(window, "Admin API")
    port = free_port()
    section.port.setValue(port)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: "answers at" in section.banner.text.text(), timeout=LONG * 2)
    return section, port, (home / "edge_token").read_text().strip()
