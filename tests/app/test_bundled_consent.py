"""An installer that carries the default pack, whose licence notice asks for consent: the window says so on Home
and in Settings, asks the question once, and then uses the bundled copy (nothing downloaded or copied)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from edge_core.biometrics import default_pack_name, install_pack, pack_info, packs
from tests.app.conftest import open_window
from tests.app.drive import LONG, click, confirm
from tests.conftest import shared_or_skip, tree_snapshot


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path) -> Path:
    folder = tmp_path / "bundled"
    monkeypatch.setenv("FACESEAL_MODELS", str(folder))
    install_pack(default_pack_name(), shared_or_skip("models"))
    monkeypatch.setenv("FACESEAL_MODELS", str(tmp_path / "user-models"))
    monkeypatch.setattr(packs, "BUNDLED_DIR", folder)
    return folder


def test_the_window_asks_for_the_bundled_packs_consent_once_then_uses_it(qtbot, bundled: Path, tmp_path: Path):
    name = default_pack_name()
    assert pack_info(name).requires_consent, "this test is about a default pack that asks for consent"
    window = open_window(qtbot)
    home = window.show_page("Home")
    qtbot.waitUntil(lambda: any("comes with FaceSeal: accept its licence in Settings" in label.text()
                                for label in home.findChildren(QLabel)), timeout=LONG)

    settings = window.show_page("Settings")
    assert settings.install_button.text() == "Read its licence and use it…"
    assert "included with FaceSeal" in settings.pack_state.text()
    before = tree_snapshot(bundled)

    click(qtbot, settings.install_button)
    said = confirm(qtbot, settings, accept=False)
    assert pack_info(name).licence_notice in said
    assert not pack_info(name).installed, "cancelled: still not accepted"

    click(qtbot, settings.install_button)
    confirm(qtbot, settings)
    qtbot.waitUntil(lambda: pack_info(name).installed, timeout=LONG)
    assert pack_info(name).location == bundled / name and not (tmp_path / "user-models" / name).exists()
    assert tree_snapshot(bundled) == before
    qtbot.waitUntil(lambda: "installed and checked" in settings.pack_state.text(), timeout=LONG)
    window.close()
