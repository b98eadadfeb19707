"""Admin › Models: every pack with its state, the pack the window uses, each pack's files and checksums; install
from a folder (a corrupt or incomplete folder refused, nothing installed), the licence consent before a pack that
needs it (cancelling installs nothing), and switching the window to another pack."""

from __future__ import annotations

import shutil
import zipfile

from PySide6.QtWidgets import QFileDialog

from edge_core.biometrics import default_pack_name, list_packs, pack_info
from tests.app.admin_drive import admin_section
from tests.app.conftest import open_window
from tests.app.drive import LONG, answer_folder_dialog, click, confirm
from tests.biometrics.test_packs import http_folder  # noqa: F401 - the real HTTP server fixture
from tests.conftest import shared_or_skip


def select(section, name: str) -> None:
    section.table.selectRow([info.name for info in section.packs].index(name))


def test_packs_are_listed_installed_refused_when_corrupt_and_switched(qtbot, monkeypatch, empty_models, isolated,
                                                                      tmp_path):
    models = shared_or_skip("models")
    window = open_window(qtbot)
    section = admin_section(window, "Models")
    names = [section.table.item(row, 0).text() for row in range(section.table.rowCount())]
    assert names == [info.name for info in list_packs()] and names[:2] == ["open", "scrfd"]
    used = names.index(default_pack_name())
    assert section.table.item(0, 1).text() == "not installed" and section.table.item(used, 2).text() == "yes"
    select(section, "open")
    listed = {section.files.item(row, 0).text().split("\n")[0]: section.files.item(row, 1).text()
              for row in range(section.files.rowCount())}
    assert listed == {f.name: f.sha256 for f in pack_info("open").files}, "the selected pack's files and checksums"

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for spec in pack_info("open").files:
        shutil.copyfile(models / spec.name, corrupt / spec.name)
    (corrupt / "mobilefacenet_foamliu.onnx").write_bytes(b"\0" * 1024)
    answer_folder_dialog(monkeypatch, corrupt)
    click(qtbot, section.folder_button)
    qtbot.waitUntil(lambda: section.banner.text.text() != "", timeout=LONG)
    assert "sha256 mismatch" in section.banner.text.text() and "nothing was installed" in section.banner.text.text()
    assert not pack_info("open").installed

    answer_folder_dialog(monkeypatch, tmp_path / "corrupt" / "..")  # a folder without the pack's files
    click(qtbot, section.folder_button)
    qtbot.waitUntil(lambda: "is not in" in section.banner.text.text(), timeout=LONG)

    answer_folder_dialog(monkeypatch, models)
    click(qtbot, section.folder_button)
    assert section.progress is not None
    qtbot.waitUntil(lambda: "'open' is installed" in section.banner.text.text(), timeout=LONG)
    qtbot.waitUntil(lambda: section.table.item(0, 1).text() == "installed, every file checked", timeout=LONG)
    assert str(empty_models / "open") in section.about.text()

    select(section, "scrfd")
    assert not section.use_button.isEnabled(), "a pack that is not installed cannot be used"
    click(qtbot, section.folder_button)
    said = confirm(qtbot, section, accept=False)
    assert "NON-COMMERCIAL RESEARCH PURPOSES ONLY" in said
    assert not pack_info("scrfd").installed, "no consent, no install"
    click(qtbot, section.folder_button)
    confirm(qtbot, section)
    qtbot.waitUntil(lambda: "'scrfd' is installed" in section.banner.text.text(), timeout=LONG)

    select(section, "scrfd")
    qtbot.waitUntil(section.use_button.isEnabled, timeout=LONG)
    click(qtbot, section.use_button)
    qtbot.waitUntil(lambda: "'scrfd' is now in use" in section.banner.text.text(), timeout=LONG)
    assert window.session.pack == "scrfd"
    qtbot.waitUntil(lambda: section.table.item(1, 2).text() == "yes", timeout=LONG)
    assert all(section.table.item(row, 2).text() == "" for row in range(section.table.rowCount()) if row != 1)
    window.close()


def test_no_download_is_offered_where_none_works_and_a_zip_installs_the_pack(qtbot, monkeypatch, empty_models,
                                                                            isolated, tmp_path):
    """Every pack holds the face-mesh conversions, which have no download address yet: "Download and install…"
    was offered all the same, and only ended in an error. It is offered for no such pack; a .zip of the pack's
    files (what 'faceseal models install PACK --from ZIP' takes) installs it from the window too."""
    models = shared_or_skip("models")
    window = open_window(qtbot)
    section = admin_section(window, "Models")
    for info in section.packs:
        select(section, info.name)
        assert not section.download_button.isVisibleTo(section), f"a download offered for '{info.name}'"
        assert section.folder_button.isVisibleTo(section) and section.zip_button.isVisibleTo(section)

    archive = tmp_path / "open.zip"
    with zipfile.ZipFile(archive, "w") as packed:
        for spec in pack_info("open").files:
            packed.write(models / spec.name, spec.name)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(archive), "")))
    select(section, "open")
    click(qtbot, section.zip_button)
    assert section.progress is not None
    qtbot.waitUntil(lambda: "'open' is installed" in section.banner.text.text(), timeout=LONG)
    assert pack_info("open").installed and pack_info("open").location == empty_models / "open"
    qtbot.waitUntil(lambda: section.zip_button.text() == "Reinstall from a .zip…", timeout=LONG)
    window.close()


def test_a_download_from_a_real_server_shows_its_progress_and_installs_the_pack(
        qtbot, monkeypatch, empty_models, isolated, tmp_path, http_folder):
    """Where a pack's files are hosted (here on a real HTTP server on 127.0.0.1), Download fetches them with a
    progress bar, checks every sha256 and installs the pack."""
    from edge_core.biometrics import packs
    from tests.biometrics.test_packs import _custom_manifest, _point_urls

    served, base = http_folder
    models = shared_or_skip("models")
    for spec in pack_info("open").files:
        shutil.copyfile(models / spec.name, served / spec.name)
    manifest = _custom_manifest(tmp_path, lambda document: _point_urls(document, base, "open"))
    monkeypatch.setattr(packs, "load_manifest", lambda *_args: manifest)
    window = open_window(qtbot)
    section = admin_section(window, "Models")
    select(section, "open")
    assert section.download_button.isVisibleTo(section), "every file has an address: a download is offered"
    click(qtbot, section.download_button)
    assert section.progress is not None, "a progress dialog follows the download"
    qtbot.waitUntil(lambda: "'open' is installed" in section.banner.text.text(), timeout=LONG)
    assert pack_info("open").installed and pack_info("open").location == empty_models / "open"
    qtbot.waitUntil(lambda: section.table.item(0, 1).text() == "installed, every file checked", timeout=LONG)
    window.close()
