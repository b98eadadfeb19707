"""Light and dark looks that follow the system, from the style sheets in resources/."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def icon() -> QIcon:
    """The application icon: the SVG, with the rendered PNG sizes for platforms that want bitmaps."""
    result = QIcon(str(RESOURCES / "faceseal.svg"))
    for png in sorted((RESOURCES / "icons").glob("faceseal-*.png")):
        result.addFile(str(png))
    return result


def system_is_dark(app: QApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


COLORS: dict[str, dict[str, str]] = {
    "light": {
        "window": "#f4f6f8", "nav": "#e9edf2", "navText": "#1d232a", "card": "#ffffff", "base": "#ffffff",
        "button": "#ffffff", "hover": "#dde3ea", "border": "#cfd6de", "text": "#1d232a", "muted": "#5b6570",
        "accent": "#2563eb", "success": "#15803d", "successBg": "#e7f6ec", "danger": "#b91c1c",
        "dangerBg": "#fdecec", "warning": "#b45309", "warningBg": "#fdf3e2", "infoBg": "#e8effd",
        "focus": "#111827", "indicator": "#5b6570",
    },
    "dark": {
        "window": "#1b1f24", "nav": "#15181c", "navText": "#d5dae0", "card": "#22272e", "base": "#14171b",
        "button": "#2a3038", "hover": "#333b45", "border": "#3a424d", "text": "#e6e9ed", "muted": "#9aa4af",
        "accent": "#3b82f6", "success": "#4ade80", "successBg": "#173224", "danger": "#f87171",
        "dangerBg": "#3a1d1f", "warning": "#fbbf24", "warningBg": "#3a2f17", "infoBg": "#1c2a44",
        "focus": "#ffffff", "indicator": "#aab4bf",
    },
}
"""The two looks; the style sheet template and the palette both take their colours from here. ``focus`` rings
the control with the keyboard (at least 3:1 against the accent blue and the page), ``indicator`` outlines radio
buttons and check boxes."""


def style_sheet(look: str) -> str:
    """resources/style.qss with the look's colours filled in."""
    text = (RESOURCES / "style.qss").read_text("utf-8").replace("{{resources}}", RESOURCES.as_posix())
    for name, value in COLORS[look].items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _palette(look: str) -> QPalette:
    """A Fusion palette matching the style sheet, so dialogs, menus and scroll bars match too."""
    c = COLORS[look]
    roles = {
        QPalette.ColorRole.Window: c["window"], QPalette.ColorRole.WindowText: c["text"],
        QPalette.ColorRole.Base: c["base"], QPalette.ColorRole.AlternateBase: c["card"],
        QPalette.ColorRole.Text: c["text"], QPalette.ColorRole.Button: c["button"],
        QPalette.ColorRole.ButtonText: c["text"], QPalette.ColorRole.Highlight: c["accent"],
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: c["card"],
        QPalette.ColorRole.ToolTipText: c["text"], QPalette.ColorRole.PlaceholderText: c["muted"],
    }
    palette = QPalette()
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    return palette


def apply(app: QApplication, mode: str = "system") -> None:
    """Apply ``light``, ``dark``, or (``system``) whatever the desktop uses, and follow its changes."""
    look = ("dark" if system_is_dark(app) else "light") if mode == "system" else mode
    app.setStyle("Fusion")
    app.setPalette(_palette(look))
    app.setStyleSheet(style_sheet(look))
    if mode == "system" and not app.property("faceseal-follows-system"):
        app.setProperty("faceseal-follows-system", True)
        app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply(app, "system"))
