"""The window's own choices: camera and model pack.

They are kept in ``app.ini`` inside the data directory, so a second data
directory (``FACESEAL_HOME``) has its own and a test never sees another's.
The match threshold is not one of them: it decides who is accepted, so it lives
in the vault (``ops.threshold``), shared with the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from edge_core.biometrics import default_pack_name
from edge_core.support import paths


@dataclass(frozen=True)
class CaptureSettings:
    """What a capture needs, read on the UI thread before the worker starts (QSettings is not shared)."""

    pack: str
    camera_index: int
    camera_video: Path | None


class Preferences:
    """Typed access to the window's settings file."""

    def __init__(self) -> None:
        home = paths.data_dir()
        paths.ensure_private_dir(home)
        self._settings = QSettings(str(home / "app.ini"), QSettings.Format.IniFormat)

    @property
    def pack(self) -> str:
        return str(self._settings.value("pack", default_pack_name()))

    @pack.setter
    def pack(self, name: str) -> None:
        self._settings.setValue("pack", name)

    @property
    def camera_index(self) -> int:
        return int(self._settings.value("camera/index", 0))

    @camera_index.setter
    def camera_index(self, index: int) -> None:
        self._settings.setValue("camera/index", int(index))

    @property
    def camera_video(self) -> Path | None:
        """A video file that stands in for the camera (demos, machines without one), or None."""
        value = str(self._settings.value("camera/video", ""))
        return Path(value) if value else None

    @camera_video.setter
    def camera_video(self, path: Path | None) -> None:
        self._settings.setValue("camera/video", str(path) if path else "")

    def camera_label(self) -> str:
        video = self.camera_video
        return f"video file {video.name} (standing in for a camera)" if video else f"camera {self.camera_index}"

    def capture_settings(self) -> CaptureSettings:
        return CaptureSettings(self.pack, self.camera_index, self.camera_video)
