"""Choosing where frames come from: the camera, photos, or a video file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app import workers
from app.capture import SourceChoice, camera_problem
from app.preferences import CaptureSettings

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.webp *.tif *.tiff)"
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mkv *.mov *.webm)"
CHOOSE = {"photos": "Choose photos…", "photo": "Choose a photo…", "video": "Choose a video…"}
LABELS = {"camera": "Camera (live)", "photos": "Photos", "photo": "A photo", "video": "Video file"}


class SourcePicker(QWidget):
    """Radio buttons for the kinds offered, and a button that picks the files for the file kinds.

    ``photo`` picks one image (a verification probe), ``photos`` several (enrolment samples).
    """

    changed = Signal()

    def __init__(self, kinds: tuple[str, ...]) -> None:
        super().__init__()
        self.setAccessibleName("Source")
        self._files: dict[str, tuple[Path, ...]] = {}
        self.touched = 0
        """How many times the person chose a kind (a choice of theirs is never overridden)."""
        self._group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        kinds_row = QHBoxLayout()
        for kind in kinds:
            button = QRadioButton(LABELS[kind])
            button.setAccessibleName(LABELS[kind])
            self._group.addButton(button)
            self.buttons[kind] = button
            button.toggled.connect(self._kind_changed)
            button.clicked.connect(self._touched)
            kinds_row.addWidget(button)
        kinds_row.addStretch(1)
        self.choose = QPushButton("Choose…")
        self.choose.setAccessibleName("Choose files")
        self.choose.clicked.connect(self._pick)
        self.chosen = QLabel()
        self.chosen.setAccessibleName("Chosen files")
        self.chosen.setWordWrap(True)  # several long file names wrap instead of widening the page
        files_row = QHBoxLayout()
        files_row.addWidget(self.choose)
        files_row.addWidget(self.chosen, 1)
        layout = QVBoxLayout(self)  # the files under the kinds: narrow windows (1024 px) clip nothing
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(kinds_row)
        layout.addLayout(files_row)
        self.buttons[kinds[0]].setChecked(True)

    def _touched(self) -> None:
        self.touched += 1

    def avoid_missing_camera(self, settings: CaptureSettings, fallback: str) -> None:
        """Choose ``fallback`` instead of the camera when no camera answers (what Home says), unless the person
        chose a kind meanwhile."""
        if self.kind != "camera" or "camera" not in self.buttons:
            return
        touched = self.touched

        def switch(problem: str | None) -> None:
            if problem and self.kind == "camera" and self.touched == touched:
                self.buttons[fallback].setChecked(True)
                self.chosen.setText(f"nothing chosen yet (no camera answers: {LABELS[fallback].lower()} instead)")

        workers.start(lambda _r: camera_problem(settings), switch, owner=self)

    def show_camera(self, stand_in: Path | None) -> None:
        """Name what "camera" means now: the camera, or the video file standing in for it (Settings)."""
        button = self.buttons.get("camera")
        if button is None:
            return
        text = LABELS["camera"] if stand_in is None else f"Camera: video {stand_in.name} stands in (Settings)"
        button.setText(text)
        button.setAccessibleName(text)
        button.setToolTip("" if stand_in is None else f"{stand_in} stands in for the camera; change it in Settings")

    @property
    def kind(self) -> str:
        return next(kind for kind, button in self.buttons.items() if button.isChecked())

    def choice(self) -> SourceChoice | None:
        """The chosen source, or None while a file kind has no file yet."""
        kind = self.kind
        if kind == "camera":
            return SourceChoice("camera")
        files = self._files.get(kind, ())
        return SourceChoice("photos" if kind == "photo" else kind, files) if files else None

    def _kind_changed(self) -> None:
        kind = self.kind
        self.choose.setVisible(kind != "camera")
        self.choose.setText(CHOOSE.get(kind, ""))
        self.choose.setAccessibleName(self.choose.text().rstrip("…"))
        files = self._files.get(kind, ())
        nothing = "" if kind == "camera" else "nothing chosen yet"
        self.chosen.setText(", ".join(p.name for p in files) if files else nothing)
        self.changed.emit()

    def _pick(self) -> None:
        kind = self.kind
        if kind == "photos":
            names, _ = QFileDialog.getOpenFileNames(self, "Photos of one person", "", IMAGE_FILTER)
        elif kind == "photo":
            name, _ = QFileDialog.getOpenFileName(self, "A photo of one person", "", IMAGE_FILTER)
            names = [name] if name else []
        else:
            name, _ = QFileDialog.getOpenFileName(self, "A video of one person", "", VIDEO_FILTER)
            names = [name] if name else []
        if names:
            self.set_files(kind, [Path(n) for n in names])

    def clear_files(self) -> None:
        """Forget every chosen file (after an enrolment: the next person's photos must be chosen anew)."""
        self._files.clear()
        self._kind_changed()

    def set_files(self, kind: str, files: list[Path]) -> None:
        """Choose ``kind`` with these files (what the file dialog does once the person picked them)."""
        self._files[kind] = tuple(files)
        self.buttons[kind].setChecked(True)
        self._kind_changed()
