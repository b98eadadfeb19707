"""The window's own choices: the camera.

They are kept in ``app.ini`` inside the data directory, so a second data
directory (``FACESEAL_HOME``) has its own and a test never sees another's.
The match threshold and the model pack are not among them: they decide who is
recognised, so they live in the vault (``ops.threshold``, ``ops.use_pack``),
shared with the command line and the admin API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from edge_core.support import paths

OLD_PACK_KEY = "pack"
"""Where the window kept its model pack before the choice moved into the vault (carried over once)."""


def _settings_file() -> QSettings:
    home = paths.data_dir()
    paths.ensure_private_dir(home)
    return QSettings(str(home / "app.ini"), QSettings.Format.IniFormat)


def take_old_pack_choice() -> str | None:
    """The pack an older window kept in ``app.ini``, removed from it (the vault's choice replaces it), or None."""
    settings = _settings_file()
    old = settings.value(OLD_PACK_KEY)
    if old is None:
        return None
    settings.remove(OLD_PACK_KEY)
    settings.sync()
    return str(old)


@dataclass(frozen=True)
class CaptureSettings:
    """What a capture needs, read on the UI thread before the worker starts (QSettings is not shared)."""

    pack: str
    camera_index: int
    camera_video: Path | None


class Preferences:
    """Typed access to the window's settings file."""

    def __init__(self) -> None:
        self._settings = _settings_file()

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

    def capture_settings(self, pack: str) -> CaptureSettings:
        """``pack``: the one in use (``Session.pack``)."""
        return CaptureSettings(pack, self.camera_index, self.camera_video)
