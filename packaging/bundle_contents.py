"""What goes into the PyInstaller bundle beyond what its import analysis finds, and what stays out.

Kept apart from the spec so the choices can be read (and reviewed) as plain Python.
"""

from __future__ import annotations

import re
import sysconfig
from collections.abc import Callable
from pathlib import Path

HIDDEN_IMPORTS = [
    # imported inside functions, by name, or found through entry points at run time
    "keyring.backends.SecretService",
    "keyring.backends.macOS",
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyring.backends.chainer",
    "edge_core.adminapi.server",  # `faceseal serve`, the local admin API (FastAPI + uvicorn)
    "tpm2_pytss",  # the TPM root (edge_core/keys/roots/tpm.py imports it only when a TPM is asked for)
]

VERSIONED = ["cryptography", "onnxruntime", "opencv-python-headless", "PySide6-Essentials", "sqlcipher3", "tpm2-pytss"]
"""Distributions whose metadata ships, so the frozen ``faceseal --version`` can name their versions
(edge_core/cli/version.py reads it; without it they would read "not found")."""

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

_UNUSED_MPL_BACKENDS = [
    "backend_cairo", "backend_gtk3", "backend_gtk3agg", "backend_gtk3cairo", "backend_gtk4", "backend_gtk4agg",
    "backend_gtk4cairo", "backend_macosx", "backend_mixed", "backend_nbagg", "backend_pdf", "backend_pgf",
    "backend_ps", "backend_qt", "backend_qt5", "backend_qt5agg", "backend_qt5cairo", "backend_qtagg",
    "backend_qtcairo", "backend_svg", "backend_template", "backend_tkagg", "backend_tkcairo", "backend_webagg",
    "backend_webagg_core", "backend_wx", "backend_wxagg", "backend_wxcairo", "_backend_gtk", "_backend_tk",
    "_backend_pdf_ps", "_tkagg", "qt_compat", "qt_editor", "web_backend",
]

EXCLUDES = [
    *(f"PySide6.{name}" for name in _UNUSED_QT),
    # the operator's telemetry collector is a server for another machine (pip install faceseal there)
    "faceseal_collector",
    # the reference implementations the tests compare the pipeline with (insightface, and what it
    # pulls in: scikit-image, SciPy with its own OpenBLAS, onnx): nothing at run time imports them,
    # and together they weighed over 100 MB; the self-test proves detection and alignment work without
    "insightface", "skimage", "scipy", "onnx", "ml_dtypes", "google.protobuf", "tqdm", "requests",
    "imageio", "yaml",
    # matplotlib draws `faceseal calibrate`'s DET curve on an Agg canvas (edge_core/biometrics/det_plot.py):
    # every other backend (GUI toolkits, PDF/PS/SVG writers) and pyplot's global figure state stay out
    *(f"matplotlib.backends.{name}" for name in _UNUSED_MPL_BACKENDS), "matplotlib.pyplot", "matplotlib.testing",
    # and its triangulation code (Delaunay through Qhull), which matplotlib.tri imports only when a plot
    # triangulates: a DET curve is lines
    "matplotlib._qhull", "matplotlib._tri",
    # Pillow writes that PNG (matplotlib saves through it); its AVIF, WebP, colour-management, font,
    # Tk and image-maths modules (and the libraries they link: libavif, libwebp, lcms2, FreeType,
    # HarfBuzz) are never loaded by a PNG save; PIL.Image tolerates plugins that are absent
    "PIL._avif", "PIL.AvifImagePlugin", "PIL._webp", "PIL.WebPImagePlugin", "PIL._imagingcms", "PIL.ImageCms",
    "PIL._imagingft", "PIL.ImageFont", "PIL._imagingtk", "PIL.ImageTk", "PIL._imagingmath", "PIL.ImageMath",
    "PIL._imagingmorph", "PIL.ImageMorph", "PIL.ImageQt", "PIL.ImageShow", "PIL.ImageGrab",
    # httpx's command line (httpx._main, imported only if present) and its terminal colours
    "rich", "pygments", "markdown_it", "mdurl",
    # development and test tools, and GUI toolkits FaceSeal does not use
    "tkinter", "IPython", "pytest", "hypothesis", "schemathesis", "pytestqt", "PyInstaller",
    "setuptools", "pip",
    # NumPy's Fortran wrapper generator (imported only by name, numpy.f2py) and the topics of the
    # interactive help() (pydoc_data): there is no Python prompt in the app
    "numpy.f2py", "pydoc_data",
]


MPL_DATA_KEPT = re.compile(r"matplotlibrc|fonts/ttf/(DejaVuSans|DejaVuSansDisplay|cm\w+|STIX\w+|LastResortHE-Regular)\.ttf")
"""What the Agg DET plot reads of matplotlib's mpl-data (paths below it): its defaults, DejaVu Sans (the
default font) and the faces mathtext's log-axis labels look up by name (DejaVu Sans Display, Computer
Modern, STIX: without them every plot logs "findfont: Font family ... not found"), and the last-resort
face. Bold, oblique, mono and serif faces, PostScript/PDF font metrics, toolbar images, sample data and
style sheets are for other backends and uses (the DET PNG is byte for byte the same without them)."""


def keep_data(dest: str) -> bool:
    """Drop Qt's translations (FaceSeal's own text is English only, so a localised Qt dialog button
    beside English text would be worse than consistent English, and they weigh megabytes), the
    parts of mpl-data the Agg DET plot never reads (:data:`MPL_DATA_KEPT`) and the distributions'
    RECORD files (lists of an installation's files for pip; ``importlib.metadata`` reads versions
    and entry points from METADATA and entry_points.txt)."""
    dest = dest.replace("\\", "/")
    marker = "matplotlib/mpl-data/"
    if dest.startswith(marker):
        return MPL_DATA_KEPT.fullmatch(dest[len(marker):]) is not None
    if re.fullmatch(r"[^/]+\.dist-info/RECORD", dest):
        return False
    return not dest.startswith("PySide6/Qt/translations/")


UNUSED_QT_PLUGINS = (
    "platformthemes/libqgtk3",  # would drag the whole system GTK 3 stack in; the portal theme stays
    "platforms/libqeglfs", "platforms/libqlinuxfb", "platforms/libqminimalegl", "platforms/libqvkkhrdisplay",
    "platforms/libqvnc",  # kiosk and embedded back ends: FaceSeal runs on X11 or Wayland desktops
    "egldeviceintegrations/", "generic/",  # their helpers (evdev, tslib input)
    # OpenCV decodes every photo and frame; Qt only draws the arrays and the SVG icons
    "imageformats/libqjpeg", "imageformats/libqtiff", "imageformats/libqwebp", "imageformats/libqgif",
    "imageformats/libqico", "imageformats/libqicns", "imageformats/libqtga", "imageformats/libqwbmp",
    "imageformats/libqpdf",
)
"""Qt plugins PyInstaller's hooks collect that a desktop FaceSeal never loads (paths below plugins/)."""

_SYSTEM = ("/lib/", "/usr/lib/", "/lib64/", "/usr/lib64/")

SYSTEM_PROVIDED = re.compile(
    r"lib(stdc\+\+|gcc_s|crypto|ssl|glib-2\.0|gthread-2\.0|gio-2\.0|gobject-2\.0|gmodule-2\.0|X11|X11-xcb|Xau|Xdmcp"
    r"|xcb(-[a-z-]+)?|freetype|fontconfig|expat|png16|z|zstd|lzma|lz4|dbus-1|systemd|gcrypt|gpg-error|cap|pcre2-8"
    r"|xkbcommon(-x11)?|ffi|uuid|brotli(common|dec)|krb5|krb5support|k5crypto|gssapi_krb5|com_err|keyutils|readline"
    r"|tinfo|curl|json-c)"
    r"\.so\.[0-9.]+")
"""System libraries left to the system, not copied into the bundle: every distribution the packages are for
(glibc 2.36 and newer: Debian 12+, Ubuntu 24.04+, Fedora 37+, openSUSE Tumbleweed) ships them under these
same sonames, the .deb's Depends and the .rpm's Requires name them (packaging/layout.py reads them),
and the distribution keeps them patched (OpenSSL, GLib). Libraries whose soname differs between
distributions (libbz2.so.1.0 is libbz2.so.1 on Fedora) or that a desktop may lack stay bundled. libcurl and json-c
are what the TPM Software Stack's FAPI links (the bundle carries the stack itself: :data:`TSS_TCTI_MODULES`); with
them stay out what they load (GnuTLS, OpenLDAP, libssh2, nghttp2: :func:`prune_binaries`). GIO, GObject and GModule
come in GLib's own package: the access broker's TPM transport names them, and bundled they brought libmount, libblkid
and libselinux (3.3 MB)."""

TSS_TCTI_MODULES = ("device", "swtpm", "mssim", "tabrmd")
"""The TPM Software Stack's transport modules the bundle carries beside its libraries (tpm2-pytss's extension links
libtss2-esys, -fapi, -mu, -rc, -tctildr; those link -sys). The stack's loader opens a module by name
(``libtss2-tcti-<name>.so.0``) when a TCTI string names it, so no import analysis finds them: the kernel's
resource manager (``device:/dev/tpmrm0``, FaceSeal's default), a software TPM (``swtpm``, ``mssim``) and the
access broker daemon (``tabrmd``). They are bundled with the stack, not left to the system: the extension is
built against one release of it, and Debian 13 changed libtss2-mu's ABI under the same soname, so the .deb built
on Debian 12 must not load Debian 13's (docs/PACKAGING.md). The loader finds the bundle's copies first because
the bootloader puts ``_internal`` on ``LD_LIBRARY_PATH``."""


def python_roots() -> tuple[str, ...]:
    """Where the building Python keeps its own compiled parts: its standard library's extension modules
    (``lib-dynload``) and its stdlib folders. With Debian's own Python they live under /usr/lib, beside the
    system's libraries, yet the bundle must carry them: it carries its Python."""
    # Not ``platstdlib``: in a venv it is the venv's lib/pythonX.Y, which holds site-packages, and would make
    # every package's libraries (Qt's unused plugins and what they link) unprunable.
    folders = {sysconfig.get_paths()["stdlib"], sysconfig.get_config_var("DESTSHARED")}
    return tuple(sorted(folder.rstrip("/") + "/" for folder in folders if folder))


_LIBPYTHON = re.compile(r"libpython3\.\d+t?\.so(\.[0-9.]+)?")


def needs(path: str) -> set[str]:
    """The sonames ``path`` names itself: its ELF ``DT_NEEDED`` entries, read with pyelftools."""
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as handle:
        dynamic = ELFFile(handle).get_section_by_name(".dynamic")
        if not isinstance(dynamic, DynamicSection):
            return set()
        return {tag.needed for tag in dynamic.iter_tags("DT_NEEDED")}


def tcti_modules(binaries: list) -> list[tuple[str, str, str]]:
    """The :data:`TSS_TCTI_MODULES` from the folder of the TPM stack's loader PyInstaller collected, as binaries
    entries; none when the stack is not in the bundle (no ``tpm`` extra). A module missing there would leave the
    installed TPM root unable to reach that kind of TPM, so it stops the build, naming the package to install."""
    loader = next((Path(source) for dest, source, _kind in binaries if Path(dest).name == "libtss2-tctildr.so.0"), None)
    if loader is None:
        return []
    modules = [(f"libtss2-tcti-{name}.so.0", loader.parent / f"libtss2-tcti-{name}.so.0") for name in TSS_TCTI_MODULES]
    missing = [str(path) for _dest, path in modules if not path.is_file()]
    if missing:
        raise SystemExit(f"the TPM stack's transport modules are missing: {', '.join(missing)} (Debian: "
                         "libtss2-tcti-device0, -swtpm0, -mssim0, libtss2-tcti-tabrmd0; "
                         "scripts/system-deps.sh installs them)")
    return [(dest, str(path), "BINARY") for dest, path in modules]


def prune_binaries(binaries: list, needs: Callable[[str], set[str]], python: tuple[str, ...] | None = None) -> list:
    """Drop the unused Qt plugins and the system-provided libraries, then every system or Qt library
    no remaining binary loads; never the building Python's own (``python``: :func:`python_roots`) nor the
    TPM stack's transport modules (:data:`TSS_TCTI_MODULES`, which its loader opens by name).

    PyInstaller copies the libraries each binary needs, and what those need in
    turn; once a plugin is dropped its libraries are dead weight (the eglfs back
    end alone kept three Qt libraries, and nothing left needs QtNetwork's), and
    so is what only a system-provided library loads: the system's package of it
    brings its own (libtss2-fapi's libcurl brought GnuTLS, OpenLDAP and libssh2,
    about 8 MB). ``needs(path)`` returns the file names a binary names (:func:`needs`);
    they are followed through every library the bundle keeps, never through one
    left to the system. Nothing links libpython (the bootloader opens it) or
    ``_ssl`` (Python imports it), so those are kept by where they come from,
    whatever Python builds: a venv's, pyenv's or the distribution's own under
    /usr/lib.
    """
    roots = python_roots() if python is None else python
    own = [entry for entry in binaries if _own_python(entry, roots)]
    kept = [entry for entry in binaries
            if entry not in own and not _unused_plugin(entry[0]) and not _system_provided(entry)]
    bundled = {Path(dest).name: source for dest, source, _kind in own + kept}
    needed: set[str] = set()
    todo = [source for _dest, source, _kind in own + kept if not _prunable(source)]
    while todo:
        for name in needs(todo.pop()) - needed:
            needed.add(name)
            if name in bundled:
                todo.append(bundled[name])
    return [entry for entry in binaries if entry in own or (
        entry in kept and (not _prunable(entry[1]) or Path(entry[0]).name in needed))]


def _own_python(entry: tuple, roots: tuple[str, ...]) -> bool:
    return entry[1].startswith(roots) or _LIBPYTHON.fullmatch(Path(entry[1]).name) is not None


def _system_provided(entry: tuple) -> bool:
    return entry[1].startswith(_SYSTEM) and SYSTEM_PROVIDED.fullmatch(Path(entry[0]).name) is not None


def _prunable(source: str) -> bool:
    """A library kept only if another binary links to it: a system one (but a TCTI module, which is opened by
    name), or one of Qt's own."""
    name = Path(source).name
    if re.fullmatch(r"libtss2-tcti-[a-z]+\.so\.0(\.[0-9.]+)?", name):
        return False
    return source.startswith(_SYSTEM) or re.fullmatch(r"libQt6\w+\.so\.6", name) is not None


def _unused_plugin(dest: str) -> bool:
    dest = dest.replace("\\", "/")
    marker = "PySide6/Qt/plugins/"
    return dest.startswith(marker) and dest[len(marker):].startswith(UNUSED_QT_PLUGINS)
