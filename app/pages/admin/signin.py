"""Sign-in: whose face signs this login in and for which PAM services, the agent (running or not; started here as
a child process, as the admin API is), "Try it now" through it, and the last attempts.

Thin over ``edge_core.ops.signin`` (the same use cases as ``faceseal signin``)
and ``edge_core.agent.local`` (the same questions as ``faceseal agent status``
and ``faceseal signin try``). The PAM line itself is the administrator's act:
shown here, never written from the window (docs/SIGNIN.md).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import button, packed
from edge_core import ops
from edge_core.agent import local
from edge_core.agent.local import AgentProcess, AgentState
from edge_core.ops import signin
from edge_core.ops.results import AuditEntry, SignInSettings

WATCH_MS = 2000
"""While the section is shown, the agent is asked how it is this often (it may be started or stopped elsewhere)."""
ATTEMPTS = 10
ATTEMPT_COLUMNS = ("When", "Service", "Outcome", "Why")
PROMPT_PREFIX = "FaceSeal: "
"""The agent's prompts are written for a terminal, where they need saying who speaks."""


def _attempt_row(entry: AuditEntry) -> tuple[str, str, str, str]:
    """One audited attempt in words: the outcome and, when it was not accepted, why (never a score)."""
    detail = entry.detail
    outcome = str(detail.get("outcome", ""))
    if outcome == "refused":
        why = str(detail.get("why", ""))
    elif outcome == "rejected":
        why = "the liveness check failed" if detail.get("liveness") == "failed" else "the face did not match"
    else:
        why = ""
    return entry.ts, str(detail.get("service", "")), outcome, why


class SignInSection(Section):
    title = "Sign-in"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.agent: AgentProcess | None = None
        self.settings: SignInSettings | None = None
        self.said: list[str] = []
        """The prompts of the last "Try it now", in the order the agent said them."""
        self._trying = False
        self._asking = False
        self._changes = 0
        """Bumped when a change made here starts and when it ends: a read begun before is stale."""
        self.login = local.login()

        self.person = QComboBox()
        self.person.setAccessibleName("Enrolled person whose face signs this login in")
        self.person.activated.connect(lambda _index: self._explain())
        self.person_note = QLabel()
        self.person_note.setWordWrap(True)
        self.person_note.setObjectName("consequence")
        who = QGroupBox(f"Who: the face that signs in '{self.login}'")
        who_form = QFormLayout(who)
        who_form.addRow("Enrolled person", self.person)
        who_form.addRow("", self.person_note)

        self.services: dict[str, QCheckBox] = {}
        where = QGroupBox("Where: the PAM services a face may unlock, and apps that may ask (the password always "
                          "follows a failure; sudo and polkit keep asking it)")
        grid = QGridLayout(where)
        for index, service in enumerate(signin.SERVICES):
            box = QCheckBox(f"{service} (password)" if service in signin.RAISING else service)
            if service in signin.RAISING:
                box.setToolTip(signin.RAISING_NOTE.format(services=service))
            box.setAccessibleName(f"Face sign-in for {service}")
            box.clicked.connect(lambda checked, service=service: self._toggle(service, checked))
            self.services[service] = box
            grid.addWidget(box, index // 3, index % 3)

        self.agent_state = QLabel("Asking the agent…")
        self.agent_state.setWordWrap(True)
        self.agent_state.setAccessibleName("Sign-in agent state")
        self.start_button = button("Start the agent", self.start, "primary", "Start the sign-in agent")
        self.stop_button = button("Stop the agent", self.stop, name="Stop the sign-in agent")
        self.try_button = button("Try it now", self.try_it, name="Try face sign-in now")
        self.prompt = QLabel()
        self.prompt.setWordWrap(True)
        self.prompt.setAccessibleName("Sign-in prompt")
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("Sign-in outcome")
        agent = QGroupBox("The agent (what the screen lock, su and apps ask)")
        agent_form = QFormLayout(agent)
        agent_form.addRow("State", self.agent_state)
        agent_form.addRow("", packed(self.start_button, self.stop_button, self.try_button))
        agent_form.addRow("Prompt", self.prompt)
        agent_form.addRow("Outcome", self.outcome)

        self.attempts = QTableWidget(0, len(ATTEMPT_COLUMNS))
        self.attempts.setHorizontalHeaderLabels(ATTEMPT_COLUMNS)
        self.attempts.setAccessibleName("Last sign-in attempts")
        self.attempts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.attempts.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.attempts.verticalHeader().hide()
        self.attempts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.attempts.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.attempts.setMinimumHeight(150)
        history = QGroupBox(f"The last {ATTEMPTS} attempts (refusals included)")
        QVBoxLayout(history).addWidget(self.attempts)

        self.pam_line = QLabel(local.pam_line())
        self.pam_line.setAccessibleName("The PAM line to add")
        self.pam_line.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.pam_line.setWordWrap(True)
        pam_note = QLabel("Ticking a service is not enough: the administrator adds this line at the top of the "
                          "'auth' section of the service's file under /etc/pam.d with 'sudo faceseal signin "
                          "install-pam SERVICE' (keep a root shell open while trying it); 'sudo faceseal signin "
                          "uninstall-pam SERVICE' takes exactly it out. docs/SIGNIN.md says what face sign-in does "
                          "not protect. The agent started here stops when the window closes; the systemd user unit "
                          "(systemctl --user enable --now faceseal-agent) keeps it running.")
        pam_note.setWordWrap(True)
        pam_note.setObjectName("consequence")
        pam = QGroupBox("The PAM line (the administrator's act)")
        pam_layout = QVBoxLayout(pam)
        pam_layout.addWidget(self.pam_line)
        pam_layout.addWidget(pam_note)

        layout = QVBoxLayout(self.body)
        for group in (who, where, agent, history, pam):
            layout.addWidget(group)
        layout.addStretch(1)
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(WATCH_MS)
        self._watch_timer.timeout.connect(self._watch)
        self._watch_timer.start()

    # ------------------------------------------------------------ who and where
    def load(self) -> None:
        begun = self._changes
        self.in_vault(lambda vault: ([i.name for i in ops.list_identities(vault)], signin.signin_settings(vault),
                                     signin.signin_attempts(vault, ATTEMPTS)),
                      lambda read: self._show(read) if begun == self._changes else None)
        self._ask_agent()

    def _show(self, read: tuple[list[str], SignInSettings, list[AuditEntry]]) -> None:
        names, settings, attempts = read
        stored_before = self.settings.identity if self.settings else None
        self.settings = settings
        chosen = self.person.currentText()
        self.person.clear()
        self.person.addItems(names)
        news = settings.identity != stored_before or chosen not in names  # else the person picked here stays
        keep = settings.identity if settings.identity in names and news else chosen if chosen in names else None
        if keep is not None:
            self.person.setCurrentText(keep)
        self.person.setEnabled(bool(names))
        for service, box in self.services.items():
            box.setChecked(service in settings.services)
            box.setEnabled(bool(names))
        self._explain()
        self.attempts.setRowCount(0)
        for entry in attempts:
            row = self.attempts.rowCount()
            self.attempts.insertRow(row)
            for column, text in enumerate(_attempt_row(entry)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.attempts.setItem(row, column, item)

    def _explain(self) -> None:
        """What ticking a service does now, for the person in the combo (ops' rule: one person per login)."""
        person, stored = self.person.currentText(), self.settings.identity if self.settings else None
        if not person:
            text = "Nobody is enrolled yet: enrol yourself first (the Enrol page)."
        elif stored is None:
            text = f"Nobody is chosen yet: {person} is saved as this login's face with the first service you tick."
        elif person != stored:
            text = (f"Ticking a service now makes {person} this login's face, and turns off the services ticked for "
                    f"{stored} (one person signs in per login).")
        else:
            text = f"{stored}'s face signs '{self.login}' in for the services ticked below."
        self.person_note.setText(text)

    def _toggle(self, service: str, on: bool) -> None:
        name = self.person.currentText()
        self.banner.clear()
        self._changes += 1  # a read already under way (the vault changed elsewhere) would undo this click on screen
        for box in self.services.values():
            box.setEnabled(False)
        if on and service in signin.RAISING:
            self.in_vault(lambda vault: signin.signin_enable(vault, service, name),
                          lambda settings: self._changed(settings, f"Face sign-in is on for {service}, but "
                                                         + signin.RAISING_NOTE.format(services=service) + ".",
                                                         "warning"), self._failed)
        elif on and service == signin.APPS:
            self.in_vault(lambda vault: signin.signin_enable(vault, service, name),
                          lambda settings: self._changed(settings, f"Apps may now ask the agent whether {name} is at "
                                                                   "the screen; each asks with a reason, and an accepted "
                                                                   "face earns the app a signed assertion (no PAM line "
                                                                   "needed)."), self._failed)
        elif on:
            self.in_vault(lambda vault: signin.signin_enable(vault, service, name),
                          lambda settings: self._changed(settings, f"Face sign-in is on for {service}: {name}'s face "
                                                                   f"signs '{self.login}' in once the PAM line below "
                                                                   f"is in /etc/pam.d/{service}."), self._failed)
        else:
            self.in_vault(lambda vault: signin.signin_disable(vault, service),
                          lambda settings: self._changed(settings, f"Face sign-in is off for {service}: the password "
                                                                   "alone again."), self._failed)

    def _changed(self, settings: SignInSettings, said: str, kind: str = "success") -> None:
        self._changes += 1
        self.banner.show_message(kind, said)
        self.load()

    def _failed(self, message: str) -> None:
        self._changes += 1
        self.show_error(message)
        self.load()  # the boxes show what is stored, not what was clicked

    # ------------------------------------------------------------ the agent
    def _watch(self) -> None:
        """While shown: an agent started here that stopped on its own is said, and the state is asked again."""
        if self.agent is not None and (ended := self.agent.ended()):
            self.banner.show_message("warning", f"{ended[:1].upper()}{ended[1:]}.")
        if self.isVisible() and self.session.is_open:
            self._ask_agent()

    def _ask_agent(self) -> None:
        if self._asking:
            return
        self._asking = True
        self.run(lambda _r: local.agent_state(), self._show_agent, self._agent_unknown)

    def _agent_unknown(self, message: str) -> None:
        self._asking = False
        self.agent_state.setText(message)

    def _show_agent(self, state: AgentState) -> None:
        self._asking = False
        status: dict[str, Any] = state.status or {}
        here = self.agent is not None and self.agent.running and self.agent.child.pid == status.get("pid")
        if state.running:
            where = "started here" if here else "started outside this window"
            text = f"Running for '{status.get('login', self.login)}' (process {status.get('pid')}, {where})"
            asking = status.get("asking")
            if asking:
                text += f"; {asking.get('app')} asks to check it is you: \u201c{asking.get('reason')}\u201d"
                text += f" ({asking['caller']})." if asking.get("caller") else "."
            else:
                text += "; an attempt is in progress." if status.get("busy") else "."
            last = status.get("last")
            if last:
                verdict = "accepted" if last.get("accepted") else "not accepted"
                text += f" Its last attempt: {last.get('service')}, {verdict} ({last.get('at')})."
        else:
            text = (f"Not running ({state.why}). Until it runs, every service asks for the password alone."
                    if state.why else "Not running.")
        self.agent_state.setText(text)
        self.start_button.setEnabled(not state.running)
        self.stop_button.setEnabled(here)
        self.try_button.setEnabled(state.running and not self._trying)

    def _process(self) -> AgentProcess:
        if self.agent is None:
            self.agent = AgentProcess()
        return self.agent

    def _busy(self) -> None:
        self.banner.clear()
        for widget in (self.start_button, self.stop_button, self.try_button):
            widget.setEnabled(False)

    def start(self) -> None:
        agent = self._process()
        self._busy()
        camera = self.ctx.prefs.camera_index  # the camera chosen in Settings
        self.run(lambda _r: agent.start(camera), self._started, self._agent_failed)

    def _started(self, state: AgentState) -> None:
        self.banner.show_message("success", "The sign-in agent runs, started here; it stops when the window closes.")
        self._show_agent(state)

    def stop(self) -> None:
        agent = self._process()
        self._busy()
        self.run(lambda _r: agent.stop(), lambda _none: (
            self.banner.show_message("info", "The sign-in agent is stopped: every service asks for the password "
                                             "alone until it runs again."), self._ask_agent()), self._agent_failed)

    def _agent_failed(self, message: str) -> None:
        self.show_error(message)
        self._ask_agent()

    def try_it(self) -> None:
        """A real attempt through the agent: judged, audited and counted like sudo's, unlocking nothing."""
        self._trying = True
        self.said = []
        self.banner.clear()
        self.try_button.setEnabled(False)
        self.prompt.setText("Asking the agent… look at the camera.")
        self.outcome.clear()
        self.run(lambda reporter: local.try_signin(reporter.hint), self._tried, self._try_failed,
                 watch=lambda task: task.signals.hint.connect(self._say))

    def _say(self, text: str) -> None:
        shown = text.removeprefix(PROMPT_PREFIX)
        self.said.append(shown)
        self.prompt.setText(shown)

    def _tried(self, reply: dict[str, Any]) -> None:
        self._trying = False
        if reply.get("accepted"):
            self.outcome.setText(f"Accepted: {reply.get('name')} was recognised. (A trial: it unlocked nothing.)")
        else:
            why = str(reply.get("why") or "the face did not match the enrolled person")
            self.outcome.setText(f"Not accepted: {why}.")
        self.load()

    def _try_failed(self, message: str) -> None:
        self._trying = False
        self.outcome.setText(f"Not tried: {message[:1].lower()}{message[1:]}")
        self.load()

    def shutdown(self) -> None:
        """The window closes: the agent it started stops with it."""
        self._watch_timer.stop()
        if self.agent is not None:
            self.agent.stop()
