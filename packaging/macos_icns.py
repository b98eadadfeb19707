"""The macOS icon (.icns) from the PNG sizes in resources/icons, with Apple's own ``iconutil``.

An .icns holds 16 to 512 px at 1x and 2x; resources/icons has 16 to 512 px, so
every slot but 512@2x (1024 px) is filled from an exact-size rendering and
macOS scales the largest one for that slot.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_SLOTS = {  # iconset file name -> pixel size of the PNG that fills it
    "icon_16x16.png": 16, "icon_16x16@2x.png": 32, "icon_32x32.png": 32, "icon_32x32@2x.png": 64,
    "icon_128x128.png": 128, "icon_128x128@2x.png": 256, "icon_256x256.png": 256,
    "icon_256x256@2x.png": 512, "icon_512x512.png": 512,
}


def build_icns(resources: Path, out: Path) -> Path:
    """Write ``out`` from ``resources/icons/faceseal-<size>.png``; needs macOS (iconutil)."""
    with tempfile.TemporaryDirectory() as folder:
        iconset = Path(folder) / "FaceSeal.iconset"
        iconset.mkdir()
        for name, size in _SLOTS.items():
            shutil.copyfile(resources / "icons" / f"faceseal-{size}.png", iconset / name)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["iconutil", "--convert", "icns", "--output", str(out), str(iconset)], check=True)
    return out
