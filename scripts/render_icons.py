"""Render resources/faceseal.svg to the PNG sizes desktops and installers ask for, with Qt itself.

    .venv/bin/python scripts/render_icons.py

Writes resources/icons/faceseal-<size>.png; run it again whenever the SVG changes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - Qt needs it to paint
    renderer = QSvgRenderer(str(RESOURCES / "faceseal.svg"))
    if not renderer.isValid():
        print("resources/faceseal.svg is not a valid SVG", file=sys.stderr)
        return 1
    out = RESOURCES / "icons"
    out.mkdir(exist_ok=True)
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(out / f"faceseal-{size}.png"))
        print(f"resources/icons/faceseal-{size}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
