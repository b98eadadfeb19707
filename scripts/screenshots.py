"""``make screenshots``: render every page of the window and every Admin section to docs/screenshots/*.png,
with real data.

Runs offscreen in a throw-away data directory (never the user's vault, never
the user's keychain): the default pack is installed from ../shared/models,
three people are enrolled from photos in ../shared/faces, and the window is
then driven like a person would (a capture from a video standing in for the
camera, a verification from a photo, a liveness check answered by a
synthetic head from tests/liveness) before each page is grabbed. For the Admin
sections a real collector runs on 127.0.0.1 (one batch delivered, one refused
into the dead-letter queue), the admin API and the sign-in agent are started
from the window (the agent in a runtime folder of the run's own), the
self-test runs, and the root is moved into a throw-away SoftHSM2 token.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
"""Where the pictures go; ``scripts/screenshots.py DIR`` writes them elsewhere (tests/app/test_screenshots.py)."""
PEOPLE = {"Alice Martin": "nicole_kidman", "Bruno Costa": "brad_pitt", "Chen Wei": "sarah_paulson"}
"""Display names for the labelled identities (the photos' people are public figures; the names are made up)."""
NEWCOMER = ("Dana Okafor", "barack_obama")
HSM_PIN = "246810"
SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                   "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so",
                   "/opt/homebrew/lib/softhsm/libsofthsm2.so")


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
    from edge_core.biometrics import ImageFiles, collect_samples, default_pack_name, install_pack, load_pack
    from tests.app.media import MODELS, photos_by_identity

    install_pack(default_pack_name(), MODELS)  # the pack the window uses, its licence accepted for the run
    pipeline = load_pack()
    photos = photos_by_identity()
    with ops.open_vault() as vault:
        for name, identity in PEOPLE.items():
            files = photos[identity][:3]
            samples = collect_samples(pipeline, ImageFiles(files), len(files), largest=True).embeddings
            ops.enrol(vault, name, ops.Probe(ops.Source.PHOTO, pipeline.pack, pipeline.threshold, samples),
                      consent=ops.consent_terms(vault))


def main() -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.pop("FACESEAL_ROOT_KEY", None)
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="faceseal-screens-") as tmp:
        data = Path(tmp)
        os.environ["FACESEAL_HOME"] = str(data / "home")
        os.environ["FACESEAL_MODELS"] = str(data / "models")
        os.environ["XDG_CONFIG_HOME"] = str(data / "config")  # the trusted PKCS#11 module list of this run only
        os.environ["XDG_RUNTIME_DIR"] = str(data / "run")  # the sign-in agent of this run, never the user's
        (data / "run").mkdir(mode=0o700)
        module = softhsm_token(data)
        prepare(data)
        from tests.telemetry.servers import Collector

        collector = Collector(data / "collector.db").start()
        try:
            telemetry_history(data, collector)
            render(data, module, Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
        finally:
            collector.stop()
    return 0


def softhsm_token(data: Path) -> str:
    """A throw-away SoftHSM2 token (its own folder, its PIN in FACESEAL_HSM_PIN); the module's path."""
    module = next((m for m in SOFTHSM_MODULES if Path(m).is_file()), None)
    if module is None or shutil.which("softhsm2-util") is None:
        raise SystemExit("SoftHSM2 is missing: run 'make system-deps' (scripts/system-deps.sh installs softhsm2)")
    (data / "softhsm" / "tokens").mkdir(parents=True)
    conf = data / "softhsm" / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {data / 'softhsm' / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["FACESEAL_HSM_PIN"] = HSM_PIN
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "faceseal-demo", "--pin", HSM_PIN,
                    "--so-pin", "13579111"], check=True, capture_output=True, timeout=60)
    return module


def telemetry_history(data: Path, collector) -> None:  # type: ignore[no-untyped-def]
    """Telemetry on, sending to the real collector: one batch delivered, one refused into the dead-letter queue
    (the collector knew this device under another key until its operator fixed it)."""
    import numpy as np

    from edge_core import ops
    from edge_core.ops import telemetry
    from edge_core.telemetry.device import DeviceKey

    def enrol_one(name: str, seed: int) -> None:
        vectors = np.random.default_rng(seed).normal(size=(2, 64)).astype(np.float32)
        with ops.open_vault() as vault:
            ops.enrol(vault, name, ops.Probe(ops.Source.EMBEDDING, ops.EXTERNAL_PACK, ops.EXTERNAL_THRESHOLD,
                                             vectors), consent=ops.consent_terms(vault))
            telemetry.send_now(vault, wait_s=0)
            ops.delete_identity(vault, name)

    with ops.open_vault() as vault:
        telemetry.enable(vault, collector.url)
        device_id = ops.status(vault).device_id
    enrol_one("sensor check 1", 1)
    with sqlite3.connect(collector.db) as conn:
        conn.execute("UPDATE devices SET public_key = ? WHERE device_id = ?",
                     (DeviceKey.generate().public_key_b64, device_id))
    enrol_one("sensor check 2", 2)


def render(data: Path, hsm_module: str, out: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app import theme, workers
    from app.window import MainWindow
    from edge_core.biometrics import default_pack_name
    from tests.app.media import photos_by_identity, write_video

    photos = photos_by_identity()
    app = QApplication.instance() or QApplication([])
    app.setWindowIcon(theme.icon())
    theme.apply(app, "light")
    out.mkdir(parents=True, exist_ok=True)
    window = MainWindow()
    window.resize(1180, 760)
    window.show()
    wait_until(lambda: window.session.is_open)

    def shot(name: str) -> None:
        settle()
        window.grab().save(str(out / f"{name}.png"))
        print(out / f"{name}.png")

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
    wait_until(lambda: enrol.dialog is not None and enrol.dialog.isVisible())  # the consent text, first
    enrol.dialog.confirm_button.click()
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

    admin_shots(window, data, hsm_module, shot)

    window.prefs.pack = "scrfd"  # in the manifest, not installed here: the missing-pack state
    window.show_page("Enrol")
    shot("no-pack")
    window.prefs.pack = default_pack_name()

    theme.apply(app, "dark")
    home = window.show_page("Home")
    wait_until(lambda: home.value("identities") == str(len(PEOPLE)))
    shot("home-dark")
    window.show_page("Verify")
    shot("verify-dark")
    theme.apply(app, "light")

    security = window.show_page("Security")
    settle()
    workers.pool().waitForDone(30000)  # as a person would: once the page has been read
    settle()
    security.lock_button.click()
    shot("lock")
    window.show_page("Home")
    shot("locked")
    window.close()


def admin_shots(window, data: Path, hsm_module: str, shot: Callable[[str], None]) -> None:  # type: ignore[no-untyped-def]
    """Every Admin section with real data, and the audit evidence checked."""
    from tests.conftest import free_port

    admin = window.show_page("Admin")
    policy = admin.open_section("Policy")
    wait_until(lambda: policy.description is not None and policy.save_button.isEnabled())
    policy.editors["lockout_attempts"].setText("3")
    policy.editors["max_root_age_days"].setText("30")
    policy.save()
    wait_until(lambda: "Policy saved" in policy.banner.text.text() and "version 1" in policy.state.text())
    shot("admin-policy")

    telemetry = admin.open_section("Telemetry")
    wait_until(lambda: telemetry.dead.rowCount() == 1 and telemetry.telemetry_last.text() != "Never.")
    telemetry.dead.selectRow(0)
    shot("admin-telemetry")

    api = admin.open_section("Admin API")
    api.port.setValue(free_port())
    api.start()
    wait_until(lambda: "answers at" in api.banner.text.text())
    shot("admin-api")

    signin = admin.open_section("Sign-in")
    wait_until(lambda: signin.person.count() >= len(PEOPLE))
    signin.person.setCurrentText("Alice Martin")
    for service in ("gdm-password", "su"):  # where a face signs in (sudo and polkit ask the password)
        wait_until(signin.services[service].isEnabled)
        signin.services[service].click()
        wait_until(lambda: f"on for {service}" in signin.banner.text.text())
    signin.start()
    wait_until(lambda: "runs, started here" in signin.banner.text.text())
    shot("admin-signin")

    models = admin.open_section("Models")
    wait_until(lambda: models.files.rowCount() > 0)
    shot("admin-models")

    diagnostics = admin.open_section("Diagnostics")
    diagnostics.start()
    wait_until(lambda: diagnostics.run_button.isEnabled(), timeout=300)
    shot("admin-diagnostics")

    root = admin.open_section("Root key location")
    wait_until(lambda: "fingerprint" in root.where.text())
    root.module.setText(hsm_module)
    root.token.setText("faceseal-demo")
    root.pin.setText(HSM_PIN)
    root.keep_pin.setCurrentIndex(root.keep_pin.findData("variable"))  # no keychain here: the variable holds it
    root.ask_move_in()
    root.dialog.accept()  # the person confirms
    wait_until(lambda: "PKCS#11 token" in root.where.text())
    shot("admin-hsm")

    audit = window.show_page("Audit")
    wait_until(lambda: audit.model.rowCount() > 0)
    evidence = data / "evidence.zip"
    pick(save=evidence)
    audit.export()
    wait_until(lambda: "exported" in audit.banner.text.text())
    pick(open_=tamper(evidence, data / "evidence-edited.zip"))
    audit.check_evidence()
    wait_until(lambda: "NOT intact" in audit.banner.text.text())
    audit.table.selectRow(1)
    shot("audit-evidence")


def pick(save: Path | None = None, open_: Path | None = None) -> None:
    """The next file dialog answers with this file, as if the person picked it."""
    from PySide6.QtWidgets import QFileDialog

    if save is not None:
        QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(save), ""))  # type: ignore[method-assign]
    if open_ is not None:
        QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: (str(open_), ""))  # type: ignore[method-assign]


def tamper(evidence: Path, out: Path) -> Path:
    """A copy of the evidence zip with one event edited, as someone covering their tracks would."""
    with zipfile.ZipFile(evidence) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "events.jsonl":
                data = data.replace(b'"samples": 3', b'"samples": 1', 1)
            target.writestr(member, data)
    return out


def liveness_shot(window, verify, photo: Path, data: Path, shot: Callable[[str], None]) -> None:
    """Verify from the camera, a head made from ``photo`` answering a seeded sequence; grab at the first movement."""
    from edge_core.biometrics import load_pack
    from tests.liveness import synthetic

    seed = synthetic.answerable_seeds()[0]
    frame, landmarks = synthetic.framed(photo, load_pack())
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
