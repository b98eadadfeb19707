"""What goes into the PyInstaller bundle beyond what its import analysis finds, and what stays out.

Kept apart from the spec so the choices can be read (and reviewed) as plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

HIDDEN_IMPORTS = [
    # imported inside functions, by name, or found through entry points at run time
    "keyring.backends.SecretService",
    "keyring.backends.macOS",
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyring.backends.chainer",
    "insightface.model_zoo.scrfd",
    "insightface.model_zoo.arcface_onnx",
    "insightface.utils.face_align",
    "edge_core.adminapi.server",  # `faceseal serve`, the local admin API (FastAPI + uvicorn)
]

_UNUSED_QT = [
    "QtNetwork", "QtQml", "QtQuick", "QtQuickWidgets", "QtQuickControls2", "QtQuick3D", "QtOpenGL",
    "QtOpenGLWidgets", "QtSql", "QtTest", "QtXml", "QtDBus", "QtPrintSupport", "QtDesigner", "QtHelp",
    "QtUiTools", "QtConcurrent", "QtSvg", "QtSvgWidgets", "QtStateMachine", "QtWebEngineCore",
    "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel", "QtWebSockets", "QtHttpServer", "Qt3DCore",
    "Qt3DRender", "Qt3DInput", "Qt3DLogic", "Qt3DAnimation", "Qt3DExtras", "QtMultimedia",
    "QtMultimediaWidgets", "QtSpatialAudio", "QtCharts", "QtDataVisualization", "QtGraphs", "QtPdf",
    "QtPdfWidgets", "QtBluetooth", "QtNfc", "QtPositioning", "QtLocation", "QtSensors", "QtSerialPort",
    "QtSerialBus", "QtTextToSpeech", "QtRemoteObjects", "QtScxml", "QtAxContainer",
]

EXCLUDES = [
    *(f"PySide6.{name}" for name in _UNUSED_QT),
    # the operator's telemetry collector is a server for another machine (pip install faceseal there)
    "faceseal_collector",
    # scikit-image's I/O side, collected by its hooks: FaceSeal uses only skimage.transform (via
    # insightface's face_align) and reads images with OpenCV; the self-test proves alignment still works
    "PIL", "imageio", "yaml",
    # development and test tools, and GUI toolkits FaceSeal does not use
    "tkinter", "matplotlib", "IPython", "pytest", "hypothesis", "schemathesis", "pytestqt", "PyInstaller",
    "setuptools", "pip",
]


def keep_data(dest: str) -> bool:
    """Drop Qt's translations: FaceSeal's own text is English only, so a localised Qt dialog button
    beside English text would be worse than consistent English (and they weigh megabytes)."""
    return not dest.replace("\\", "/").startswith("PySide6/Qt/translations/")


UNUSED_QT_PLUGINS = (
    "platformthemes/libqgtk3",  # would drag the whole system GTK 3 stack in; the portal theme stays
    "platforms/libqeglfs", "platforms/libqlinuxfb", "platforms/libqminimalegl", "platforms/libqvkkhrdisplay",
    "platforms/libqvnc",  # kiosk and embedded back ends: FaceSeal runs on X11 or Wayland desktops
    "egldeviceintegrations/", "generic/",  # their helpers (evdev, tslib input)
)
"""Qt plugins PyInstaller's hooks collect that a desktop FaceSeal never loads (paths below plugins/)."""

_SYSTEM = ("/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/")


def prune_binaries(binaries: list, ldd: Callable[[str], set[str]]) -> list:
    """Drop the unused Qt plugins, then every system library no remaining binary links to.

    PyInstaller copies the system libraries each binary needs; once a plugin is
    dropped its libraries are dead weight. ``ldd(path)`` returns the file names
    a binary loads (transitively), so what stays is exactly what is still needed.
    """
    kept = [entry for entry in binaries if not _unused_plugin(entry[0])]
    needed: set[str] = set()
    for _dest, source, _kind in kept:
        if not source.startswith(_SYSTEM):
            needed |= ldd(source)
    return [entry for entry in kept if not entry[1].startswith(_SYSTEM) or Path(entry[0]).name in needed]


def _unused_plugin(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    marker = "PySide6/Qt/plugins/"
    return dest.startswith(marker) and dest[len(marker):].startswith(UNUSED_QT_PLUGINS)
