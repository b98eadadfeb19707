"""``make screenshots``: render every page of the window to docs/screenshots/*.png, with real data.

Runs offscreen in a throw-away data directory (never the user's vault, never
the user's keychain): the ``open`` pack is installed from ../shared/models,
three people are enrolled from photos in ../shared/faces, and the window is
then driven like a person would (a capture from a video standing in for the
camera, a verification from a photo, a liveness check answered by a
synthetic head from tests/liveness) before each page is grabbed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
PEOPLE = {"Alice Martin": "nicole_kidman", "Bruno Costa": "brad_pitt", "Chen Wei": "sarah_paulson"}
"""Display names for the labelled identities (the photos' people are public figures; the names are made up)."""
NEWCOMER = ("Dana Okafor", "barack_obama")


def wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        QApplication.processEvents()
        time.sleep(0.01)


def settle(seconds: float = 0.4) -> None:
    """Let queued signals and repaints through before a grab."""
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def prepare(data: Path) -> None:
    """Install the pack and enrol the people with edge_core itself, as the CLI would."""
    from edge_core import ops
    from edge_core.biometrics import ImageFiles, collect_samples, install_pack, load_pack
    from tests.app.media import MODELS, photos_by_identity

    install_pack("open", MODELS)
    pipeline = load_pack("open")
    photos = photos_by_identity()
    with ops.open_vault() as vault:
        for name, identity in PEOPLE.items():
            files = photos[identity][:3]
            samples = collect_samples(pipeline, ImageFiles(files), len(files), largest=True).embeddings
            ops.enrol(vault, name, ops.Probe(ops.Source.PHOTO, pipeline.pack, pipeline.threshold, samples))


def main() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.pop("FACESEAL_ROOT_KEY", None)
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="faceseal-screens-") as tmp:
        data = Path(tmp)
        os.environ["FACESEAL_HOME"] = str(data / "home")
        os.environ["FACESEAL_MODELS"] = str(data / "models")
        prepare(data)
        render(data)
    return 0


def render(data: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.window import MainWindow
    from tests.app.media import photos_by_identity, write_video

    photos = photos_by_identity()
    app = QApplication.instance() or QApplication([])
    app.setWindowIcon(theme.icon())
    theme.apply(app, "light")
    OUT.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.resize(1180, 760)
    window.show()
    wait_until(lambda: window.session.is_open)

    def shot(name: str) -> None:
        settle()
        window.grab().save(str(OUT / f"{name}.png"))
        print(f"docs/screenshots/{name}.png")

    home = window.show_page("Home")
    wait_until(lambda: home.value("identities") == str(len(PEOPLE)) and "checking" not in home.value("camera"))
    shot("home")

    # Enrol: a video stands in for the camera; grab while samples are being taken.
    window.prefs.camera_video = write_video(photos[NEWCOMER[1]], data / "camera.avi", frames_each=40)
    enrol = window.show_page("Enrol")
    enrol.name.setText(NEWCOMER[0])
    enrol.source.buttons["camera"].setChecked(True)
    enrol.samples.setValue(20)
    enrol.start_button.click()
    wait_until(lambda: enrol.view.progress.value() >= 3 and enrol.view.preview.faces)
    shot("enrol")
    enrol.stop()
    wait_until(lambda: enrol.task is None)

    verify = window.show_page("Verify")
    wait_until(lambda: verify.person.count() == len(PEOPLE))
    verify.person.setCurrentText("Alice Martin")
    verify.source.set_files("photo", [photos[PEOPLE["Alice Martin"]][3]])
    verify.go_button.click()
    wait_until(lambda: verify.task is None)
    shot("verify")
    liveness_shot(window, verify, photos[PEOPLE["Alice Martin"]][3], data, shot)

    identities = window.show_page("Identities")
    wait_until(lambda: len(identities.names()) == len(PEOPLE))
    identities.table.selectRow(1)
    shot("identities")

    window.show_page("Security")
    shot("security")

    audit = window.show_page("Audit")
    wait_until(lambda: audit.model.rowCount() > 0)
    audit.verify_chain()
    wait_until(lambda: "intact" in audit.banner.text.text())
    shot("audit")

    window.show_page("Settings")
    shot("settings")

    window.prefs.pack = "scrfd"  # in the manifest, not installed here: the missing-pack state
    window.show_page("Enrol")
    shot("no-pack")
    window.prefs.pack = "open"

    theme.apply(app, "dark")
    home = window.show_page("Home")
    wait_until(lambda: home.value("identities") == str(len(PEOPLE)))
    shot("home-dark")
    window.show_page("Verify")
    shot("verify-dark")
    theme.apply(app, "light")

    window.session.lock()
    window.show_page("Home")
    shot("locked")
    window.close()


def liveness_shot(window, verify, photo: Path, data: Path, shot: Callable[[str], None]) -> None:
    """Verify from the camera, a head made from ``photo`` answering a seeded sequence; grab at the first movement."""
    from edge_core.biometrics import load_pack
    from tests.liveness import synthetic

    seed = synthetic.answerable_seeds()[0]
    frame, landmarks = synthetic.framed(photo, load_pack("open"))
    window.prefs.camera_video = synthetic.live_video(data / "head.avi", frame, landmarks, seed)
    os.environ["FACESEAL_LIVENESS_SEED"] = str(seed)
    verify.source.buttons["camera"].setChecked(True)
    verify.go_button.click()
    wait_until(lambda: verify.challenge.ring.fraction() > 0.25 and verify.view.preview.faces)
    shot("verify-liveness")
    verify.stop()
    wait_until(lambda: verify.task is None)
    verify.source.buttons["photo"].setChecked(True)


if __name__ == "__main__":
    sys.exit(main())
