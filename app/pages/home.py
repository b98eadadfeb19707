"""Home: is the vault locked, where the root key lives, how old the keys are, what is enrolled."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from app.capture import open_camera
from app.pages.base import Context, Page
from app.session import State
from app.widgets import packed
from app.workers import describe
from edge_core import ops
from edge_core.biometrics import pack_info
from edge_core.ops.results import Expiring, Status


def rotation_text(status: Status) -> str:
    """Whether rotating the root key is due under the policy, in words."""
    policy = status.policy
    age = status.root_key.age_days
    if policy.state == "tampered":
        return "unknown: the policy file was changed outside FaceSeal"
    limit = policy.rules.get("max_root_age_days")
    if age is None or limit is None:
        return "unknown (no record of when this root was made)"
    if status.rotation_due:
        return f"due now: the root key is {age:.0f} days old and the policy allows {limit}"
    return f"not due; due in {max(0, limit - age):.0f} days (the policy allows {limit})"


def _left(days: int) -> str:
    return "within a day" if days < 1 else f"in {days} day{'s' if days != 1 else ''}"


def reminder_text(expiring: list[Expiring]) -> str:
    """The reminder of who is deleted soon because their retention ends, and how to keep them."""
    due = "; ".join(f"{e.name} on {e.expires_at[:10]} ({_left(e.days_left)})" for e in expiring)
    return (f"Retention ends soon, then FaceSeal deletes them: {due}. To keep someone, they consent again "
            "(Identities › Consent again…, or 'faceseal consent renew NAME').")


def recovery_text(status: Status) -> str:
    if status.recovery_kit_exported:
        return f"exported for this root key on {str(status.recovery_kit_exported_at)[:10]}"
    return "none for this root key: export one in Security, or a lost key means lost data"


def age_text(created: str | None, age_days: float | None) -> str:
    if not created or age_days is None:
        return "unknown"
    when = "today" if age_days < 1 else f"{age_days:.0f} days ago"
    return f"{when} ({created[:10]})"


class HomePage(Page):
    title = "Home"
    needs_vault = False
    status_shown = Signal()
    """The vault's status was just shown (tests and screenshots wait for it)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.fields: dict[str, QLabel] = {}
        vault = self._group("Vault", [("lock", "State"), ("data_dir", "Data folder")])
        self.lock_button = QPushButton("Lock now")
        self.lock_button.setAccessibleName("Lock now")
        self.lock_button.setToolTip("Drop every key from memory, in every FaceSeal program on this data; "
                                    "unlocking opens the vault again.")
        self.lock_button.clicked.connect(self._toggle_lock)
        vault.layout().addRow("", packed(self.lock_button))
        keys = self._group("Keys", [("root_store", "Root key lives in"), ("fingerprint", "Root fingerprint"),
                                    ("root_age", "Root key made"), ("rotation", "Rotation"),
                                    ("recovery", "Recovery copy"), ("vault_key", "Vault key")])
        content = self._group("Enrolled", [("identities", "People"), ("templates", "Templates"),
                                           ("audit", "Audit events"), ("retention", "Retention")])
        device = self._group("This device", [("pack", "Model pack"), ("camera", "Camera"),
                                             ("device_id", "Device id"), ("telemetry", "Telemetry")])
        self.settings_button = QPushButton("Open Settings")
        self.settings_button.setAccessibleName("Open Settings")
        self.settings_button.clicked.connect(lambda: self.ctx.navigate("Settings"))
        device.layout().addRow("", packed(self.settings_button))
        self.backup = self._backup_card()
        left, right = QVBoxLayout(), QVBoxLayout()
        left.addWidget(self.backup)
        left.addWidget(vault)
        left.addWidget(keys)
        left.addStretch(1)
        right.addWidget(content)
        right.addWidget(device)
        right.addStretch(1)
        columns = QHBoxLayout(self.body)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)

    def _backup_card(self) -> QGroupBox:
        """Shown while no recovery copy covers the root key (a first start, or after the root changed)."""
        card = QGroupBox("Back up your key")
        card.setObjectName("backupCard")
        card.setAccessibleName("Back up your key")
        text = QLabel("Everything enrolled here is sealed under one root key. If this computer's keychain is lost "
                      "or reset without a recovery copy of that key, nobody can open the data again, you included. "
                      "Export a recovery copy now, sealed under a passphrase, and keep it somewhere else.")
        text.setWordWrap(True)
        self.backup_button = QPushButton("Export a recovery copy…")
        self.backup_button.setProperty("role", "primary")
        self.backup_button.setAccessibleName("Export a recovery copy")
        self.backup_button.clicked.connect(lambda: self.ctx.navigate("Security").focus_export())
        layout = QVBoxLayout(card)
        layout.addWidget(text)
        layout.addLayout(packed(self.backup_button))
        card.hide()
        return card

    def _group(self, title: str, rows: list[tuple[str, str]]) -> QGroupBox:
        box = QGroupBox(title)
        form = QFormLayout(box)
        for key, label in rows:
            value = QLabel("—")
            value.setWordWrap(True)
            value.setObjectName(f"home_{key}")
            value.setAccessibleName(label)
            form.addRow(label, value)
            self.fields[key] = value
        return box

    def value(self, key: str) -> str:
        return self.fields[key].text()

    def _set(self, key: str, text: str) -> None:
        self.fields[key].setText(text)
        self.fields[key].setAccessibleDescription(text)

    def _toggle_lock(self) -> None:
        if self.session.is_open:
            problem = self.session.lock()
            if problem:
                self.banner.show_message("error", problem)
        else:
            self.session.unlock()

    def load(self) -> None:
        self.show_vault_state(self.lock_banner)
        state = self.session.state
        self._set("lock", {State.OPEN: "Unlocked", State.OPENING: "Opening…", State.LOCKED: "Locked",
                           State.UNAVAILABLE: "Cannot be opened"}[state])
        self.lock_button.setText("Lock now" if state is State.OPEN else "Unlock")
        self.lock_button.setAccessibleName(self.lock_button.text())
        self.lock_button.setEnabled(state is not State.OPENING)
        self.lock_button.setVisible(not (state is State.UNAVAILABLE and self.session.revoked))  # restore, not unlock
        self._show_device()
        if state is State.OPEN:
            self.run(lambda _r: self.session.call(lambda v: (ops.status(v),
                                                             ops.retention_reminder(v, self.session.clock()))),
                     lambda shown: self._show_status(*shown))
        else:
            self.backup.hide()
            for key in ("root_store", "fingerprint", "root_age", "rotation", "recovery", "vault_key", "identities",
                        "templates", "audit", "retention", "device_id", "telemetry"):
                self._set(key, "— (locked)" if state is State.LOCKED else "—")

    def _show_status(self, status: Status, expiring: list[Expiring]) -> None:
        root, vault_key = status.root_key, status.vault_key
        self._set("data_dir", status.data_dir)
        self._set("root_store", root.where if not self.session.root_problem
                  else f"gone from {root.where} (this window still holds it: export a recovery copy)")
        self._set("fingerprint", root.fingerprint)
        self._set("root_age", age_text(root.created_at, root.age_days))
        self._set("rotation", rotation_text(status))
        self._set("recovery", recovery_text(status))
        self.backup.setVisible(not status.recovery_kit_exported)
        if status.policy.state == "tampered":
            self.banner.show_message("error", f"{status.policy.error or 'The policy file was tampered with'}.")
        elif self.session.notice:
            self.banner.show_message("info", self.session.notice)
        elif expiring:
            self.banner.show_message("warning", reminder_text(expiring))
        self._set("retention", reminder_text(expiring) if expiring else
                  f"nobody's retention ends within {ops.REMINDER_DAYS} days")
        self._set("vault_key", f"version {vault_key.version}, made {age_text(vault_key.created_at, vault_key.age_days)}")
        self._set("identities", str(status.identities))
        self._set("templates", str(status.templates))
        self._set("audit", str(status.audit_events))
        self._set("device_id", status.device_id)
        telemetry = status.telemetry
        self._set("telemetry", f"on, sending to {telemetry.endpoint}" if telemetry.enabled else "off")
        self.status_shown.emit()

    def _show_device(self) -> None:
        """Pack and camera need no vault: shown even while it is locked."""
        try:
            used = self.session.pack_in_use()
            name = used.pack
            info = pack_info(name)
            stand_in = f"; in use because {used.reason}: choose one in Settings" if used.reason else ""
            self._set("pack", f"{name} (installed{stand_in})" if info.installed
                      else f"{name} comes with FaceSeal: accept its licence in Settings to enrol and verify"
                      if info.awaits_consent
                      else f"{name} is not installed: install it in Settings to enrol and verify")
        except Exception as error:  # noqa: BLE001 - shown as the sentence workers.describe makes
            self._set("pack", describe(error))
        label = self.prefs.camera_label()
        self._set("camera", f"{label}: checking…")
        settings = self.prefs.capture_settings(self.session.pack)

        def probe(_reporter: object) -> str:
            source, _pace = open_camera(settings)
            source.close()
            return f"{label}: ready"

        self.run(probe, lambda text: self._set("camera", text),
                 lambda message: self._set("camera", message))
