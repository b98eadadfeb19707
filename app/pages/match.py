"""Verify ("is this Alice?") and Identify ("who is this?"), live or from a photo, with the decision in plain words.

Matching from the camera runs a liveness check first while the policy asks
for one (the default), for Verify and Identify alike; a video file standing in
for the camera is held to the camera's rule. The page only captures the face:
``ops.verify`` and ``ops.identify`` decide, and apply the threshold, the
lockout, the liveness rule and the audit log exactly as for the CLI.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app import verdict
from app.capture import SourceChoice, capture_samples, liveness_session, probe_photo, source_of
from app.pages.base import Context, Page
from app.pages.enrol import pack_problem, show_pack_state
from app.preferences import CaptureSettings
from app.session import Session
from app.verdict import Verdict
from app.widgets.capture_view import CaptureView
from app.widgets.challenge_prompt import ChallengePrompt
from app.widgets.mesh_overlay import MeshFeed, MeshOverlay, MeshToggle
from app.widgets.source import SourcePicker
from app.widgets.spoof_test_dialog import SpoofTestDialog
from app.workers import Reporter, Task
from edge_core import ops
from edge_core.biometrics import pack_info, threshold_text
from edge_core.ops import Probe, Source


def capture_probe(session: Session, choice: SourceChoice, settings: CaptureSettings, name: str | None,
                  reporter: Reporter, mesh_feed: MeshFeed | None = None) -> tuple[Probe, bool]:
    """The face to match from the chosen source, and whether a liveness check was asked for.

    The vault is held only for the calls that need it, never while the
    camera runs: the identity and its lockout are checked before the camera
    opens (``ops.admit``, as the CLI does). Whether a liveness session must
    run is ops's answer: for the camera, the policy's rule; a video standing
    in for the camera asks for the check whenever the camera would need one
    (it is still reported as a video, so it is never live).
    """
    source = source_of(choice, settings)
    stand_in = choice.kind == "camera" and source is Source.VIDEO
    requested = stand_in and session.call(lambda v: ops.liveness_needed(v, Source.CAMERA))
    needed = session.call(lambda v: ops.liveness_needed(v, source, requested))
    session.call(lambda v: ops.admit(v, name))
    if needed:
        pipeline, liveness = liveness_session(settings, reporter, session.call(ops.liveness_bands), mesh_feed,
                                              session.call(ops.liveness_models))
        return Probe(source, pipeline.pack, pipeline.threshold, liveness=liveness), requested
    if choice.kind in ("camera", "video"):  # a chosen video file, as `faceseal verify --video` takes it
        pipeline, samples = capture_samples(choice, settings, 1, reporter)
        return Probe(source, pipeline.pack, pipeline.threshold, samples), requested
    pipeline, vector, faces = probe_photo(choice.files[0], settings, reporter)
    return Probe(source, pipeline.pack, pipeline.threshold, vector[None, :], faces), requested


def decide(session: Session, choice: SourceChoice, settings: CaptureSettings, name: str | None,
           reporter: Reporter, mesh_feed: MeshFeed | None = None) -> Verdict:
    """Verify ``name`` (identify when None) from the chosen source, off the UI thread."""
    probe, requested = capture_probe(session, choice, settings, name, reporter, mesh_feed)
    if name is None:
        decision = session.call(lambda v: ops.identify(v, probe, liveness_requested=requested))
    else:
        decision = session.call(lambda v: ops.verify(v, name, probe, liveness_requested=requested))
    return verdict.verdict(decision, name is not None, probe.source, stand_in=choice.kind == "camera")


NOBODY = "Nobody is enrolled yet: enrol someone first."
NO_DECISION = "No decision yet"
LOCKED_DURING_CHECK = "The vault was locked, so the check was stopped; nothing was matched. Unlock to go on."


class MatchPage(Page):
    title = "Verify"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.task: Task | None = None
        self._people_known = False
        """Whether the list of people was read from the vault yet (until then, nobody is not known to be enrolled)."""
        self._stopped_by_lock = False
        self.verify_mode = QRadioButton("Verify: is this the person they claim to be?")
        self.identify_mode = QRadioButton("Identify: who is this?")
        modes = QButtonGroup(self)
        for button in (self.verify_mode, self.identify_mode):
            button.setAccessibleName(button.text().split(":")[0])
            modes.addButton(button)
        self.verify_mode.setChecked(True)
        self.verify_mode.toggled.connect(self._update)
        self.verify_mode.toggled.connect(self.clear_outcome)
        self.person = QComboBox()
        self.person.setAccessibleName("Person to verify")
        self.person.currentTextChanged.connect(self._person_changed)
        self.source = SourcePicker(("camera", "photo", "video"))
        self.source.changed.connect(self._update)
        self.source.changed.connect(self.clear_outcome)
        self.threshold = QLabel()
        self.threshold.setAccessibleName("Threshold")
        self.threshold.setWordWrap(True)
        self.go_button = QPushButton("Verify")
        self.go_button.setProperty("role", "primary")
        self.go_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop capture")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.spoof_button = QPushButton("Spoof test on my camera…")
        self.spoof_button.setAccessibleName("Spoof test on my camera")
        self.spoof_button.setToolTip("Try a phone screen, a print and a video replay on your own camera, and get a "
                                     "report signed by this device (faceseal pad-eval --camera)")
        self.spoof_button.clicked.connect(self.open_spoof_test)
        self.spoof_test: SpoofTestDialog | None = None
        self.decision = QLabel(NO_DECISION)
        self.decision.setObjectName("decision")
        self.decision.setAccessibleName("Decision")
        self.decision.setWordWrap(True)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Score and threshold")
        self.live = QLabel("")
        self.live.setWordWrap(True)
        self.live.setAccessibleName("Liveness")
        self.faces = QLabel("")
        self.faces.setWordWrap(True)
        self.faces.setAccessibleName("Faces in the photo")
        self.faces.setObjectName("faces")
        self.challenge = ChallengePrompt()
        self.view = CaptureView()
        self.mesh_feed = MeshFeed()
        """Each face mesh a liveness session fits, for the overlay (drawn only while the toggle is on)."""
        self.mesh_overlay = MeshOverlay(self.view.preview)
        self.mesh_feed.found.connect(self.mesh_overlay.show_mesh)
        self.mesh_toggle = MeshToggle(self.mesh_overlay)

        form = QFormLayout()
        form.addRow("", self.verify_mode)
        form.addRow("", self.identify_mode)
        form.addRow("Person", self.person)
        form.addRow("Probe", self.source)
        form.addRow("Threshold", self.threshold)
        buttons = QHBoxLayout()
        buttons.addWidget(self.go_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        form.addRow("", buttons)
        form.addRow("", self.spoof_button)
        result = QVBoxLayout()
        result.addWidget(self.decision)
        result.addWidget(self.details)
        result.addWidget(self.live)
        result.addWidget(self.faces)
        result.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addLayout(result, 1)
        columns = QHBoxLayout(self.body)
        columns.setContentsMargins(0, 0, 0, 0)
        right = QVBoxLayout()
        right.addWidget(self.challenge)
        right.addWidget(self.mesh_toggle)
        right.addWidget(self.view, 1)
        columns.addWidget(left, 2)
        columns.addLayout(right, 3)

    @property
    def verifying(self) -> bool:
        return self.verify_mode.isChecked()

    def load(self) -> None:
        self.source.show_camera(self.prefs.camera_video)
        if self.task is None:
            self.source.avoid_missing_camera(self.prefs.capture_settings(self.session.pack), "photo")
        if show_pack_state(self) is None:
            info = pack_info(self.session.pack)
            if self.session.is_open:
                self.run(lambda _r: self.session.call(lambda v: ops.threshold(v, info.name, info.default_threshold)),
                         lambda report: self.threshold.setText(
                             f"{threshold_text(report.threshold)} (model pack {info.name}; change it in Settings)"))
        self.run(lambda _r: self.session.call(lambda v: [i.name for i in ops.list_identities(v)]),
                 self._fill_people)
        self._update()

    def _fill_people(self, names: list[str]) -> None:
        """The people to choose from; the one chosen stays chosen (and its result shown) while still enrolled."""
        current = self.person.currentText()
        self.person.blockSignals(True)
        self.person.clear()
        self.person.addItems(names)
        if current in names:
            self.person.setCurrentText(current)
        self.person.blockSignals(False)
        self._people_known = True
        if self.person.currentText() != current:
            self._person_changed()
        self._update()

    def _update(self) -> None:
        self.person.setEnabled(self.verifying)
        self.go_button.setText("Verify" if self.verifying else "Identify")
        self.go_button.setAccessibleName(self.go_button.text())
        ready = (self.session.is_open and self.task is None and self.source.choice() is not None
                 and pack_problem(self.session.pack) is None and (not self.verifying or self.person.count() > 0))
        self.go_button.setEnabled(ready)
        self.spoof_button.setEnabled(self.session.is_open and self.task is None
                                     and pack_problem(self.session.pack) is None)
        nobody = self.verifying and self._people_known and self.person.count() == 0 and self.session.is_open
        if nobody and self.task is None:
            self.details.setText(NOBODY)
        elif self.details.text() == NOBODY:
            self.details.clear()

    def _person_changed(self) -> None:
        """Another person answers another verify question; identify asks about everybody, so its answer stays."""
        if self.verifying:
            self.clear_outcome()

    def clear_outcome(self) -> None:
        """Forget the last decision and its picture: it answered another question (person, photo or mode)."""
        if self.task is not None:
            return
        self._show_outcome("", NO_DECISION, "")
        self.live.clear()
        self.faces.clear()
        self.faces.setAccessibleDescription("")
        self.challenge.hide()
        self.view.preview.clear()
        self.view.hint.clear()
        self._update()

    def start(self) -> None:
        choice = self.source.choice()
        if not self.go_button.isEnabled() or choice is None:
            return
        settings = self.prefs.capture_settings(self.session.pack)
        name = self.person.currentText() if self.verifying else None
        session = self.session
        self.banner.clear()
        self._stopped_by_lock = False
        self._show_outcome("", "Looking…", "")
        self.live.clear()
        self.faces.clear()
        self.mesh_overlay.show_mesh(None, QSize())
        feed = self.mesh_feed
        self.task = self.run(lambda reporter: decide(session, choice, settings, name, reporter, feed),
                             self._decided, self._failed, watch=self._follow)
        self.stop_button.setEnabled(True)
        self._update()

    def open_spoof_test(self) -> SpoofTestDialog:
        """The guided spoof test on the camera the window uses (or the video standing in for it)."""
        self.spoof_test = SpoofTestDialog(self, self.session, self.prefs.capture_settings(self.session.pack))
        self.spoof_test.open()
        return self.spoof_test

    def _follow(self, task: Task) -> None:
        self.view.follow(task, None)
        self.challenge.follow(task)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def vault_closed(self) -> None:
        """A lock during a check stops it at once: the decision needs the vault."""
        self._people_known = False
        if self.task is not None and not self.task.reporter.cancelled:
            self._stopped_by_lock = True
            self.task.cancel()

    def _finish(self) -> None:
        self.task = None
        self.stop_button.setEnabled(False)
        self._update()

    def _decided(self, outcome: Verdict) -> None:
        self._show_outcome(outcome.outcome, outcome.headline, outcome.details)
        self.live.setText(outcome.live)
        self.faces.setText("\n".join(outcome.faces))
        self.faces.setAccessibleDescription(self.faces.text())
        if outcome.passed is not None:
            self.challenge.finish(outcome.passed)
            self.view.hint.setText(outcome.headline)  # not "follow the prompt" once the check is over
        self._finish()

    def _failed(self, message: str) -> None:
        if self._stopped_by_lock:
            message = LOCKED_DURING_CHECK
        self._stopped_by_lock = False
        self._show_outcome("", "No decision", message)
        self.challenge.hide()
        self._finish()

    def _show_outcome(self, outcome: str, headline: str, details: str) -> None:
        self.decision.setText(headline)
        self.decision.setAccessibleDescription(headline)
        self.decision.setProperty("outcome", outcome)
        self.decision.style().unpolish(self.decision)
        self.decision.style().polish(self.decision)
        self.details.setText(details)
