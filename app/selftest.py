"""``faceseal self-test``: prove an installed FaceSeal works, without touching the user's data.

An installer can be broken in ways no unit test of the source sees: a Qt
platform plugin or a system library missing, SQLCipher or onnxruntime not
bundled, the manifest or the bundled models not found. The self-test runs the
three paths a person depends on, in the installed program itself:

* vault: a fresh vault in a temporary folder, under a random software root
  (``FACESEAL_ROOT_KEY``, with the keychain switched off), seals a template,
  closes, reopens from disk and verifies it; the embedding's bytes must not
  appear in any file;
* models (when a pack is installed or bundled): the detector and embedder run on
  a drawn face (:mod:`edge_core.biometrics.synthetic_face`, no photo is shipped); the
  detector must find it with its landmarks where they were drawn, and the
  embedding must be finite, of the pack's size and of unit length;
* window: the real main window opens (offscreen when there is no display) and
  its session unlocks the vault made above.

The user's vault, keychain and preferences are never read or written: every
variable that points there is redirected for the duration, then restored.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge_core import __version__
from edge_core.errors import FaceSealError
from edge_core.support import paths

from .display import has_display

_REDIRECTED = ("FACESEAL_HOME", "FACESEAL_MODELS", "FACESEAL_ROOT_KEY", "PYTHON_KEYRING_BACKEND", "QT_QPA_PLATFORM",
               "XDG_STATE_HOME")
_WINDOW_TIMEOUT_S = 60
_NAME = "self-test"


class SelfTestFailed(FaceSealError):
    """A check of the self-test did not pass; the message names the check and what was wrong."""


def command(_args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """The ``faceseal self-test`` handler: the report and exit 0, or SelfTestFailed (exit 1)."""
    return run(), 0


def run() -> dict[str, Any]:
    """Run every check in a sandbox and return the report; raise SelfTestFailed on the first failure."""
    with _sandbox() as home:
        checks = {"vault": _check_vault(home), "models": _check_models(), "window": _check_window()}
    return {
        "result": "passed",
        "version": __version__,
        "frozen": bool(getattr(sys, "frozen", False)),
        "checks": checks,
    }


@contextlib.contextmanager
def _sandbox() -> Iterator[Path]:
    """A temporary data folder, a random root key, no keychain; models stay where the user keeps them."""
    import keyring
    import keyring.backends.fail

    saved = {name: os.environ.get(name) for name in _REDIRECTED}
    models = paths.models_dir()  # read before FACESEAL_HOME moves: installed packs are only read
    with tempfile.TemporaryDirectory(prefix="faceseal-selftest-") as folder:
        try:
            os.environ.update({
                "FACESEAL_HOME": str(Path(folder) / "data"),
                "XDG_STATE_HOME": str(Path(folder) / "state"),  # the throw-away vault's rollback anchor goes too
                "FACESEAL_MODELS": str(models),
                "FACESEAL_ROOT_KEY": secrets.token_hex(32),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            })
            if not has_display():
                os.environ["QT_QPA_PLATFORM"] = "offscreen"
            keyring.set_keyring(keyring.backends.fail.Keyring())
            yield Path(folder) / "data"
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _fail(check: str, why: str) -> SelfTestFailed:
    return SelfTestFailed(f"self-test failed at '{check}': {why}")


def _check_vault(home: Path) -> dict[str, Any]:
    from edge_core import ops

    vector = np.random.default_rng().standard_normal(128).astype(np.float32)
    vector /= np.linalg.norm(vector)
    probe = ops.Probe(ops.Source.EMBEDDING, _NAME, 0.5, vector[None, :])
    with ops.open_vault() as vault:
        ops.enrol(vault, _NAME, probe, consent=ops.consent_terms(vault))  # a random vector: nobody's face to ask
    with ops.open_vault() as vault:  # a second open reads the sealed template back from disk
        result = ops.verify(vault, _NAME, probe)
        root_store = vault.root_store.name
    if root_store != "environment":
        raise _fail("vault", f"the root came from the {root_store} store, not the self-test's own key")
    score = result.score if result.score is not None else float("nan")
    if not result.match or not score >= 0.999:
        raise _fail("vault", f"the sealed template did not open to the enrolled embedding (score {score:.4f})")
    needle = vector.tobytes()[:32]
    leaks = [str(p) for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]
    if leaks:
        raise _fail("vault", f"the embedding is readable in plain bytes in {', '.join(leaks)}")
    return {"status": "ok", "sealed_and_reopened": True, "score": round(score, 6),
            "plaintext_on_disk": False, "root": root_store}


def _check_models() -> dict[str, Any]:
    from edge_core import ops
    from edge_core.biometrics import load_pack, pack_info, read_image
    from edge_core.biometrics import synthetic_face as selftest_face

    info = pack_info(ops.pack_in_use(None).pack)  # the default pack, else the installed one that stands in
    if not info.installed:
        return {"status": "skipped", "reason": f"model pack '{info.name}' is neither installed nor bundled"}
    image = read_image(_synthetic_image())
    pipeline = load_pack(info.name)
    faces = pipeline.detect(image)
    if not faces:
        raise _fail("models", f"pack '{info.name}' found no face in the synthetic test image")
    face = max(faces, key=lambda candidate: candidate.area)
    error = float(np.abs(face.landmarks - selftest_face.landmarks()).max())
    tolerance = 0.1 * float(face.box[2] - face.box[0])
    if error > tolerance:
        raise _fail("models", f"landmarks are {error:.1f} px from where the face was drawn (at most {tolerance:.1f})")
    embedding = pipeline.embed(image, face)
    norm = float(np.linalg.norm(embedding))
    if embedding.shape != (info.embedding_size,) or not np.all(np.isfinite(embedding)) or abs(norm - 1) > 1e-3:
        raise _fail("models", f"the embedding is malformed (shape {embedding.shape}, norm {norm:.4f})")
    return {"status": "ok", "pack": info.name, "location": str(info.location), "faces": len(faces),
            "detection_score": round(face.score, 4), "landmark_error_px": round(error, 1),
            "embedding_size": int(embedding.shape[0]), "embedding_norm": round(norm, 6)}


def _synthetic_image() -> Path:
    """The PNG the bundle carries, or (in a source checkout) one rendered into the sandbox."""
    from edge_core.biometrics import synthetic_face as selftest_face

    bundled = Path(getattr(sys, "_MEIPASS", "")) / "selftest" / selftest_face.FILENAME
    if getattr(sys, "_MEIPASS", None) and bundled.is_file():
        return bundled
    return selftest_face.write(paths.data_dir() / "selftest")


def _check_window() -> dict[str, Any]:
    """Open the real main window, wait for its session to unlock the sandbox vault, then close it.

    Qt's own warnings (the offscreen plugin has a few) go into the report, not onto stderr,
    where they would read like a failure of the self-test.
    """
    try:
        from PySide6 import QtGui, QtWidgets  # noqa: F401 - loaded here so a refused library is named here
        from PySide6.QtCore import qInstallMessageHandler
    except ImportError as error:  # Qt, or a library it links, refused by this system's loader (on Debian 13, once)
        raise _fail("window", f"Qt cannot be loaded: {str(error).splitlines()[0] if str(error) else error!r}") from None

    qt_messages: list[str] = []
    previous = qInstallMessageHandler(lambda _kind, _context, message: qt_messages.append(message))
    try:
        report = _show_window(qt_messages)
    finally:
        qInstallMessageHandler(previous)
    return report


def _show_window(qt_messages: list[str]) -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication

    from app import theme, workers
    from app.session import State
    from app.window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    icon = theme.icon()
    if icon.isNull() or icon.pixmap(64).isNull():
        raise _fail("window", "the application icon is missing from the resources")
    theme.apply(app, "light")  # reads the style sheet from the resources, as a real start does
    window = MainWindow()
    window.show()
    deadline = time.monotonic() + _WINDOW_TIMEOUT_S
    while window.session.state is State.OPENING and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    report = {"status": "ok", "platform": app.platformName(), "title": window.windowTitle(),
              "visible": window.isVisible(), "session": window.session.state.value,
              "qt_messages": qt_messages}
    window.close()
    app.processEvents()
    workers.stop_all()  # closing re-renders Home, which may start a camera probe: let it end inside the test
    if not report["visible"]:
        raise _fail("window", "the main window did not become visible")
    if report["session"] != State.OPEN.value:
        raise _fail("window", f"the window could not open the vault ({window.session.problem or 'timed out'})")
    return report
