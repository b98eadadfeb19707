"""Enrol: a three-step wizard (who and from what, capture, done) over collect_samples + ``ops.enrol``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.capture import SourceChoice, capture_samples, source_of
from app.glyphs import emoji_note
from app.pages.base import Context, Page
from app.presence import ProofDialog
from app.widgets import packed
from app.widgets.capture_view import CaptureView
from app.widgets.confirm import ConfirmDialog
from app.widgets.consent import consent_dialog
from app.widgets.source import SourcePicker
from app.workers import Cancelled, Reporter, Task, describe
from edge_core import ops
from edge_core.biometrics import pack_info
from edge_core.errors import IdentityExists, LookAlikeEnrolled, PresenceRefused, PresenceRequired
from edge_core.ops.results import ConsentTerms, Enrolment, SamplePlan

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

DEFAULT_SAMPLES = 5
LOCKED_DURING_CAPTURE = ("The vault was locked during the capture, so it was stopped and nothing was saved. "
                         "Unlock, then start again.")


def pack_notice(used: ops.PackInUse) -> str | None:
    """The sentence saying a pack stands in for the chosen or default one (not installed), or None."""
    notice = used.notice("choose one in Settings")
    return f"{notice[:1].upper()}{notice[1:]}." if notice else None


def show_pack_state(page: Page) -> str | None:
    """Put on ``page``'s banner why it cannot capture (the pack in use is not installed: an error), or which pack
    stands in for the chosen or default one (information, on an empty banner only: never over an outcome);
    returns the problem, or None."""
    used = page.session.pack_in_use()
    problem = pack_problem(used.pack)
    notice = None if page.banner.property("kind") else pack_notice(used)
    if problem or notice:
        page.banner.show_message("error" if problem else "info", problem or notice, "Open Settings",
                                 lambda: page.ctx.navigate("Settings"))
    return problem


@dataclass(frozen=True)
class ProofFirst:
    """Samples to add to someone enrolled, kept while the admin passphrase is asked (``ops.presence``): the
    person does not have to capture them again."""

    action: str
    name: str
    probe: ops.Probe
    add: bool
    allow_look_alike: bool


@dataclass(frozen=True)
class LookAlike:
    """An enrolment refused because its samples match someone already enrolled, kept to be asked about."""

    message: str
    resembles: str
    name: str
    probe: ops.Probe
    add: bool


def pack_problem(name: str) -> str | None:
    """Why enrolment or matching cannot start with pack ``name``, or None when it is installed."""
    try:
        info = pack_info(name)
    except Exception as error:  # noqa: BLE001 - an unknown pack name is shown like any other problem
        return describe(error)
    if info.installed:
        return None
    if info.awaits_consent:
        return f"Model pack '{name}' comes with FaceSeal; accept its licence notice in Settings to use it."
    return f"Model pack '{name}' is not installed, so faces cannot be found yet. Install it from a folder in Settings."


class EnrolPage(Page):
    title = "Enrol"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.task: Task | None = None
        self.dialog: ConfirmDialog | None = None
        self.consent: ConsentTerms | None = None
        """The terms the person being enrolled accepted in the consent dialog (None: not asked, or not needed)."""
        self._stopped_by_lock = False
        self.steps = QStackedWidget()
        self.steps.addWidget(self._who_step())
        self.steps.addWidget(self._capture_step())
        self.steps.addWidget(self._done_step())
        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.step_label)
        layout.addWidget(self.steps, 1)
        self._go(0)

    # ---------------------------------------------------------------- steps
    def _who_step(self) -> QWidget:
        page = QWidget()
        self.name = QLineEdit()
        self.name.setPlaceholderText("The person's name, as it will be shown")
        self.name.setAccessibleName("Name")
        self.name_hint = QLabel()
        self.name_hint.setObjectName("fieldProblem")
        self.name_hint.setWordWrap(True)
        self.name_hint.setAccessibleName("Problem with the name")
        self.name_hint.hide()
        self.name_note = QLabel()
        self.name_note.setObjectName("consequence")
        self.name_note.setWordWrap(True)
        self.name_note.setAccessibleName("About the name")
        self.name_note.hide()
        self.add_samples = QCheckBox("Add samples to someone already enrolled")
        self.add_samples.setAccessibleName("Add samples to someone already enrolled")
        self.source = SourcePicker(("camera", "photos", "video"))
        self.largest = QCheckBox("When a picture shows several faces, use the largest")
        self.largest.setAccessibleName("Use the largest face")
        self.samples = QSpinBox()
        self.samples.setRange(1, ops.TEMPLATE_CAP)
        self.samples.setValue(DEFAULT_SAMPLES)
        self.samples.setAccessibleName("Good samples to take")
        self.start_button = QPushButton("Start")
        self.start_button.setProperty("role", "primary")
        self.start_button.setAccessibleName("Start enrolment")
        self.start_button.clicked.connect(self.start)
        self.name.returnPressed.connect(self.start)
        for signal in (self.name.textChanged, self.source.changed):
            signal.connect(self._update_start)
        note = QLabel("Each good sample is sealed as its own template under a key only this person has. "
                      "With photos, every photo must show the person's face clearly.")
        note.setWordWrap(True)
        form = QFormLayout(page)
        form.addRow("Name", self.name)
        form.addRow("", self.name_hint)
        form.addRow("", self.name_note)
        form.addRow("", self.add_samples)
        form.addRow("Take from", self.source)
        form.addRow("", self.largest)
        form.addRow("Good samples", packed(self.samples))
        form.addRow("", note)
        form.addRow("", packed(self.start_button))
        return page

    def _capture_step(self) -> QWidget:
        page = QWidget()
        self.view = CaptureView()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAccessibleName("Stop capture")
        self.stop_button.clicked.connect(self.stop)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.stop_button)
        return page

    def _done_step(self) -> QWidget:
        page = QWidget()
        self.result = QLabel()
        self.result.setObjectName("resultText")
        self.result.setWordWrap(True)
        self.result.setAccessibleName("Enrolment result")
        again = QPushButton("Enrol someone else")
        again.setAccessibleName("Enrol someone else")
        again.clicked.connect(self.restart)
        verify = QPushButton("Verify now")
        verify.setAccessibleName("Verify now")
        verify.clicked.connect(lambda: self.ctx.navigate("Verify"))
        buttons = QHBoxLayout()
        buttons.addWidget(again)
        buttons.addWidget(verify)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addWidget(self.result)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return page

    def _go(self, step: int) -> None:
        self.steps.setCurrentIndex(step)
        self.step_label.setText(f"Step {step + 1} of 3: " + ("who, and from what", "capture", "done")[step])

    # -------------------------------------------------------------- actions
    def load(self) -> None:
        self.source.show_camera(self.prefs.camera_video)
        if self.steps.currentIndex() == 0 and self.task is None:
            self.source.avoid_missing_camera(self.prefs.capture_settings(self.session.pack), "photos")
        problem = show_pack_state(self)
        if problem is None and self.banner.property("kind") == "error" and self.steps.currentIndex() == 0:
            self.banner.clear()
        self._update_start()

    def _update_start(self) -> None:
        photos = self.source.kind == "photos"
        choice = self.source.choice()
        self.samples.setEnabled(not photos)
        if photos and choice:
            self.samples.setValue(len(choice.files))
        name = self.name.text().strip()
        problem = ops.name_problem(name) if name else None  # said as it is typed, not only on Start
        self.name_hint.setText(f"{problem[:1].upper()}{problem[1:]}." if problem else "")
        self.name_hint.setVisible(bool(problem))
        note = emoji_note(name)
        self.name_note.setText(note or "")
        self.name_note.setVisible(bool(note))
        ready = bool(name) and not problem and choice is not None and pack_problem(self.session.pack) is None
        self.start_button.setEnabled(ready and self.session.is_open)

    def start(self) -> None:
        """Ask ops first whether the person must consent and what the enrolment would drop (a person keeps at most
        ops.TEMPLATE_CAP); show the consent text and ask, then capture: no sample is taken before they accept."""
        choice = self.source.choice()
        if not self.start_button.isEnabled() or choice is None:
            return
        name, add, samples = self.name.text().strip(), self.add_samples.isChecked(), self.samples.value()
        self.banner.clear()
        self.start_button.setEnabled(False)
        self.consent = None

        def plan(vault: Vault) -> tuple[SamplePlan, ConsentTerms | None]:
            needed = ops.consent_needed(vault, name, add)
            return ops.plan_samples(vault, name, samples, add), ops.consent_terms(vault) if needed else None

        self.task = self.run(lambda _r: self.session.call(plan),
                             lambda planned: self._ask_consent(*planned, choice), self._plan_failed)

    def _plan_failed(self, message: str) -> None:
        self.task = None
        self._update_start()
        self._report_failure(message)

    def _ask_consent(self, plan: SamplePlan, terms: ConsentTerms | None, choice: SourceChoice) -> None:
        """The consent text before the first sample, when ops says it is needed (someone new, or someone enrolled
        before FaceSeal recorded consent); Cancel, the default, captures nothing."""
        self.task = None
        self._update_start()
        if terms is None:
            self._planned(plan, choice)
            return
        self.dialog = consent_dialog(self, plan.name, terms, "before anything is captured")

        def accepted() -> None:
            self.consent = terms
            self._planned(plan, choice)

        self.dialog.accepted.connect(accepted)
        self.dialog.rejected.connect(lambda: self.banner.show_message(
            "info", f"Nothing was captured: {plan.name} did not consent."))
        self.dialog.open()

    def _planned(self, plan: SamplePlan, choice: SourceChoice) -> None:
        if plan.question is None:
            self._capture(choice)
            return
        self.dialog = ConfirmDialog(self, "Drop samples?", plan.question,
                                    f"Drop {plan.dropped} and go on")
        self.dialog.accepted.connect(lambda: self._capture(choice))
        self.dialog.open()

    def _capture(self, choice: SourceChoice) -> None:
        name, add, samples = self.name.text().strip(), self.add_samples.isChecked(), self.samples.value()
        largest = self.largest.isChecked()
        settings = self.prefs.capture_settings(self.session.pack)
        self.banner.clear()
        self._stopped_by_lock = False

        def enrol(reporter: Reporter) -> Enrolment | LookAlike:
            pipeline, embeddings = capture_samples(choice, settings, samples, reporter, largest)
            probe = ops.Probe(source_of(choice, settings), pipeline.pack, pipeline.threshold, embeddings)
            return self._seal(name, probe, add, allow_look_alike=False)

        self._go(1)
        self.task = self.run(enrol, self._enrolled, self._failed, watch=lambda task: self.view.follow(task, samples))

    def _seal(self, name: str, probe: ops.Probe, add: bool,
              allow_look_alike: bool) -> Enrolment | LookAlike | ProofFirst:
        """``ops.enrol`` on the worker; a look-alike refusal, or a refusal for want of the admin passphrase, comes
        back with the samples, to be asked about."""
        try:
            return self.session.call(lambda vault: ops.enrol(vault, name, probe, add=add,
                                                             allow_look_alike=allow_look_alike,
                                                             consent=self.consent))
        except PresenceRefused:
            raise
        except PresenceRequired as refused:
            return ProofFirst(refused.action, name, probe, add, allow_look_alike)
        except IdentityExists:  # edge_core's sentence names the CLI's --add; name the checkbox instead
            raise IdentityExists(f"'{name}' is already enrolled; tick 'Add samples to someone already "
                                 "enrolled', or delete them on the Identities page first") from None
        except LookAlikeEnrolled as refused:
            return LookAlike(describe(refused), refused.resembles, name, probe, add)

    def _ask_about(self, refused: LookAlike) -> None:
        """The samples match someone enrolled: ask (Cancel the default) before enrolling them anyway, audited."""
        self.dialog = ConfirmDialog(self, "Enrol a look-alike?", refused.message,
                                    f"Enrol {refused.name} anyway")
        self.dialog.accepted.connect(lambda: self._enrol_anyway(refused))
        self.dialog.rejected.connect(lambda: self._failed(refused.message))
        self.dialog.open()

    def _ask_proof(self, first: ProofFirst) -> None:
        """The admin passphrase before samples are added to someone (``ops.presence``); the captured samples wait."""
        self.proof_dialog = dialog = ProofDialog(self, first.action)

        def given() -> None:
            passphrase = dialog.field.text()
            dialog.field.clear()
            self.task = self.run(lambda _r: self._proven_seal(passphrase, first), self._enrolled, self._failed)

        dialog.accepted.connect(given)
        dialog.rejected.connect(lambda: self._failed("Cancelled: nothing was enrolled (the admin passphrase was not "
                                                     "given)."))
        dialog.open()

    def _proven_seal(self, passphrase: str, first: ProofFirst) -> Enrolment | LookAlike | ProofFirst:
        self.session.prove(passphrase)
        return self._seal(first.name, first.probe, first.add, first.allow_look_alike)

    def _enrol_anyway(self, refused: LookAlike) -> None:
        self.task = self.run(lambda _r: self._seal(refused.name, refused.probe, refused.add, allow_look_alike=True),
                             self._enrolled, self._failed)

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def vault_closed(self) -> None:
        """A lock during a capture stops it at once: its samples could not be sealed anyway."""
        if self.task is not None and not self.task.reporter.cancelled:
            self._stopped_by_lock = True
            self.task.cancel()

    def restart(self) -> None:
        self.consent = None
        self.name.clear()
        self.add_samples.setChecked(False)
        self.largest.setChecked(False)  # every choice of the last person goes with them
        self.samples.setValue(DEFAULT_SAMPLES)
        self.banner.clear()
        self._go(0)
        self.name.setFocus()

    def _enrolled(self, result: Enrolment | LookAlike | ProofFirst) -> None:
        self.task = None
        if isinstance(result, LookAlike):
            self._ask_about(result)
            return
        if isinstance(result, ProofFirst):
            self._ask_proof(result)
            return
        self.source.clear_files()  # never the previous person's photos under the next name
        text = f"{result.name} is enrolled with {result.samples} new sealed templates (model pack {result.pack})."
        if result.dropped:
            text += f" {result.dropped} earlier samples were dropped, the ones most like another sample."
        if result.warning:
            text += f" Warning: {result.warning}."
            self.banner.show_message("warning", f"Enrolled {result.name}, but {result.warning}.", "Identities",
                                     lambda: self.ctx.navigate("Identities"))
        else:
            self.banner.show_message("success", f"Enrolled {result.name}.")
        self.result.setText(text)
        self.session.notify()
        self._go(2)

    def _failed(self, message: str) -> None:
        self.task = None
        if self._stopped_by_lock:
            message = LOCKED_DURING_CAPTURE
        self._stopped_by_lock = False
        stopped = message == describe(Cancelled())  # the person's own Stop is no error
        self.banner.show_message("info" if stopped else "error", message)
        self._go(0)
