"""Compliance & BYOK: the user's own root key, recovery copies, rotation, locking, and reset.

Every action first says in one sentence what it will do (the line under its
button), asks again before anything that cannot be undone, and then calls the
same ``edge_core.ops`` function as the CLI. Keys are typed into masked
fields or read from files, and parsed by the CLI's own parser
(``parse_key``): the window accepts exactly the keys ``faceseal key import``
accepts, and ops refuses the same ones with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.pages.base import Context, Page
from app.widgets.confirm import ConfirmDialog
from app.widgets.passphrase import PassphraseMeter, kit_destination
from app.widgets.progress import WorkProgress
from app.workers import Task, describe
from edge_core import ops
from edge_core.errors import InvalidKeyMaterial
from edge_core.keys.material import parse_key
from edge_core.ops.results import AdminPassphrase, Reset, Result, Rotation, Status

if TYPE_CHECKING:
    from edge_core.vault.store import Vault

CONSEQUENCES = {
    "generate": "Makes a new random root key where the current one lives and re-wraps the vault keys under it; "
                "the current root key stops working, so export a new recovery copy afterwards.",
    "import": "Makes your own 256-bit key the root key: FaceSeal re-wraps the vault keys under it and forgets the "
              "current one; without your key the data can never be opened again.",
    "export": "Writes the root key, sealed under the passphrase you type, to a file you choose; anyone with that "
              "file and the passphrase can open this vault, so keep them apart.",
    "restore": "Puts the root key from a recovery copy back in place (after a lost keychain or a new machine), "
               "then opens the vault with it.",
    "rotate": "Replaces the root key with a new one and re-wraps the vault keys; templates are not touched "
              "unless you also reseal every template under fresh keys.",
    "revoke": "Destroys the root key now (the kill switch): nobody, you included, can open the data again "
              "unless you restore a recovery copy.",
    "lock": "Drops every key from memory at once, in this window and in every other FaceSeal program on this data "
            "(the command line too); the vault must be unlocked before anything else is done.",
    "reset": "Deletes every enrolled person and template and destroys the root key; only what you tick below "
             "is kept.",
    "admin": "With an admin passphrase, deleting people, resetting, exporting a recovery copy, lowering a "
             "threshold, loosening the policy and turning on face sign-in ask for it first, here, on the command "
             "line and through the admin API: someone at this desktop while you are away cannot weaken "
             "protection. It is not the recovery copy's passphrase and opens no data.",
}
DEEP_ROTATION = ("Replaces the root key with a new one, re-wraps the vault keys, and reseals every template under "
                 "fresh keys (slower).")
"""What a rotation with "Also reseal every template" ticked does (the plain sentence says templates stay as
they are unless it is ticked, which would contradict it)."""
KEEP_CHOICES = {
    "keep_audit": ("Keep the audit log", "The history of what was done stays, with the reset added at its end."),
    "keep_outbox": ("Keep the telemetry outbox", "Telemetry events not yet sent are still sent later."),
    "keep_device_key": ("Keep the device key", "This machine keeps its device id; otherwise it gets a new one."),
}
KEY_FORMATS = {"hex": "Hex (64 characters)", "base64": "Base64 (44 characters)"}
RECOVERY_STOPS = ("A recovery copy exported before holds the old root key, so it stops working: export a new one "
                  "afterwards (you will be offered to).")
RECOVERY_GONE = ("The root key changed, so no recovery copy opens this vault now (one exported before holds the "
                 "old key): export a new copy, or a lost key means lost data.")
EXPORT_AGAIN = "Export a new copy"
LOCKED_NOTICE = "Locked: every key was dropped from memory, in every FaceSeal program on this data."


def parse_typed_key(text: str, fmt: str) -> bytes:
    """The bytes of a typed key, by the CLI's parser; the error never repeats what was typed."""
    return parse_key(text, fmt, "the typed key")


def read_key_file(path: Path) -> bytes:
    """A key file, by the CLI's parser (``key import --file``): raw bytes, or their hex or base64."""
    try:
        return parse_key(path.read_bytes(), "file", str(path))
    except OSError:
        raise InvalidKeyMaterial(f"{path} cannot be read") from None


def kept_labels(choices: dict[str, bool]) -> str:
    """The kept items of a reset, in words."""
    kept = [KEEP_CHOICES[key][0].removeprefix("Keep ") for key, chosen in choices.items() if chosen]
    return ", ".join(kept) if kept else "nothing"


def summary(result: Result) -> str:
    """What a key operation's result means, in words (fingerprints are public; a result never holds a key)."""
    parts = []
    fingerprint = getattr(result, "root_fingerprint", None)
    previous = getattr(result, "previous_root_fingerprint", None)
    where = getattr(result, "root_where", None)
    warning = getattr(result, "warning", None)
    if fingerprint:
        parts.append(f"root fingerprint {fingerprint}")
    if previous:
        parts.append(f"the previous root {previous} was destroyed")
    if where:
        parts.append(f"kept in {where}")
    text = f" ({'; '.join(parts)})" if parts else ""
    if warning:
        text += f". Note: {warning}"
    return text


def report_root_change(page: Page, text: str, kind: str = "success") -> None:
    """``text``, then what the root key's change did to the recovery copy (ops.status says), with the way out.

    Used after Delete (crypto-shredding rotates the root), Rotate, Generate and Import. ``kind`` is the
    banner's while the recovery copy still opens the vault; a copy that no longer does is a warning.
    """
    def show(status: Status) -> None:
        if status.recovery_kit_exported:
            page.banner.show_message(kind, f"{text} The recovery copy still opens the vault.")
        else:
            page.banner.show_message("warning", f"{text} {RECOVERY_GONE}", EXPORT_AGAIN,
                                     lambda: page.ctx.navigate("Security").focus_export(), news=True)
        page.session.notify()

    page.run(lambda _r: page.session.call(ops.status), show)


def forget_if_covered(page: Page, status: Status) -> None:
    """Take down the "no recovery copy opens this vault" warning once a copy does (exported here or elsewhere)."""
    if status.recovery_kit_exported and RECOVERY_GONE in page.banner.text.text():
        page.banner.clear()


class SecurityPage(Page):
    title = "Security"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dialog: ConfirmDialog | None = None
        self.progress: WorkProgress | None = None
        self.kit_exported = False
        self.vault_buttons: list[QWidget] = []
        content = QWidget()
        column = QVBoxLayout(content)
        column.addWidget(self._recovery_box())
        column.addWidget(self._root_box())
        column.addWidget(self._rotation_box())
        column.addWidget(self._admin_box())
        column.addWidget(self._reset_box())
        column.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(content)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)

    # -------------------------------------------------------------- builders
    def _button(self, text: str, action: Callable[[], None], danger: bool = False,
                needs_vault: bool = True) -> QPushButton:
        button = QPushButton(text)
        button.setAccessibleName(text.rstrip("…"))
        button.clicked.connect(action)
        if danger:
            button.setProperty("role", "danger")
        if needs_vault:
            self.vault_buttons.append(button)
        return button

    @staticmethod
    def _sentence(key: str) -> QLabel:
        label = QLabel(CONSEQUENCES[key])
        label.setWordWrap(True)
        label.setObjectName("consequence")
        label.setAccessibleName(CONSEQUENCES[key])
        return label

    def _secret_field(self, name: str, placeholder: str, needs_vault: bool = True) -> tuple[QLabel, QLineEdit]:
        """A masked field with a real label (its buddy: Alt+letter and screen readers name the field)."""
        field = QLineEdit()
        field.setEchoMode(QLineEdit.EchoMode.Password)
        field.setAccessibleName(name)
        field.setPlaceholderText(placeholder)
        label = QLabel(name)
        label.setBuddy(field)
        if needs_vault:
            self.vault_buttons.append(field)
        return label, field

    def _root_box(self) -> QGroupBox:
        box = QGroupBox("Root key (bring your own key)")
        self.root_info = QLabel("—")
        self.root_info.setWordWrap(True)
        self.root_info.setAccessibleName("Root key")
        self.generate_button = self._button("Generate a new root key…", self.ask_generate)
        self.key_format = QComboBox()
        self.key_format.setAccessibleName("Key format")
        for fmt, label in KEY_FORMATS.items():
            self.key_format.addItem(label, fmt)
        self.vault_buttons.append(self.key_format)
        key_label, self.key_text = self._secret_field("Your key", "type or paste your 256-bit key")
        self.import_button = self._button("Import typed key…", self.ask_import_typed)
        self.import_file_button = self._button("Import from a key file…", self.ask_import_file)
        grid = QGridLayout(box)
        grid.addWidget(self.root_info, 0, 0, 1, 3)
        grid.addWidget(self.generate_button, 1, 0)
        grid.addWidget(self._sentence("generate"), 1, 1, 1, 2)
        grid.addWidget(key_label, 2, 0)
        grid.addWidget(self.key_text, 2, 1)
        grid.addWidget(self.key_format, 2, 2)
        grid.addWidget(self.import_button, 3, 2)
        grid.addWidget(self.import_file_button, 4, 0)
        grid.addWidget(self._sentence("import"), 4, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        return box

    def _recovery_box(self) -> QGroupBox:
        box = QGroupBox("Recovery copy")
        first, self.passphrase = self._secret_field("Passphrase", "as the rule below says")
        again, self.passphrase_again = self._secret_field("Passphrase again", "the same again")
        self.meter = PassphraseMeter()
        for field in (self.passphrase, self.passphrase_again):
            field.textChanged.connect(self._rate_passphrase)
        self.export_button = self._button("Export recovery copy…", self.ask_export)
        restore, self.restore_passphrase = self._secret_field("Passphrase of the copy to restore",
                                                              "the copy's passphrase", needs_vault=False)
        self.restore_button = self._button("Restore from a recovery copy…", self.ask_restore, needs_vault=False)
        grid = QGridLayout(box)
        grid.addWidget(first, 0, 0)
        grid.addWidget(self.passphrase, 0, 1)
        grid.addWidget(again, 1, 0)
        grid.addWidget(self.passphrase_again, 1, 1)
        grid.addWidget(self.export_button, 1, 2)
        grid.addWidget(self.meter, 2, 1, 1, 2)
        grid.addWidget(self._sentence("export"), 3, 0, 1, 3)
        grid.addWidget(restore, 4, 0)
        grid.addWidget(self.restore_passphrase, 4, 1)
        grid.addWidget(self.restore_button, 4, 2)
        grid.addWidget(self._sentence("restore"), 5, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        return box

    def _rate_passphrase(self) -> None:
        self.meter.rate(self.passphrase.text(), self.passphrase_again.text())

    def focus_export(self) -> None:
        """Bring the recovery copy's passphrase field into view, ready to type (Home's card, after a key change)."""
        self.scroll.ensureWidgetVisible(self.passphrase)
        self.passphrase.setFocus()

    def _rotation_box(self) -> QGroupBox:
        box = QGroupBox("Rotate, lock, revoke")
        self.deep = QCheckBox("Also reseal every template under fresh keys (slower)")
        self.deep.setAccessibleName("Also reseal every template")
        self.vault_buttons.append(self.deep)
        self.rotate_button = self._button("Rotate now…", self.ask_rotate)
        self.lock_button = self._button("Lock now", self.lock)
        self.revoke_button = self._button("Revoke root key…", self.ask_revoke, danger=True)
        grid = QGridLayout(box)
        grid.addWidget(self.rotate_button, 0, 0)
        grid.addWidget(self._sentence("rotate"), 0, 1)
        grid.addWidget(self.deep, 1, 1)
        grid.addWidget(self.lock_button, 2, 0)
        grid.addWidget(self._sentence("lock"), 2, 1)
        grid.addWidget(self.revoke_button, 3, 0)
        grid.addWidget(self._sentence("revoke"), 3, 1)
        grid.setColumnStretch(1, 1)
        return box

    def _admin_box(self) -> QGroupBox:
        box = QGroupBox("Admin passphrase")
        grid = QGridLayout(box)
        grid.addWidget(self._sentence("admin"), 0, 0, 1, 2)
        self.admin_state = QLabel("—")
        self.admin_state.setWordWrap(True)
        self.admin_state.setAccessibleName("Admin passphrase state")
        grid.addWidget(self.admin_state, 1, 0, 1, 2)
        current_label, self.admin_current = self._secret_field("Current admin passphrase",
                                                               "needed to change or remove it")
        new_label, self.admin_new = self._secret_field("New admin passphrase", "several uncommon words")
        again_label, self.admin_again = self._secret_field("New admin passphrase again", "the same again")
        for row, (label, field) in enumerate(((current_label, self.admin_current), (new_label, self.admin_new),
                                              (again_label, self.admin_again)), start=2):
            grid.addWidget(label, row, 0)
            grid.addWidget(field, row, 1)
        self.admin_set_button = self._button("Set admin passphrase", self.set_admin_passphrase)
        self.admin_remove_button = self._button("Remove admin passphrase…", self.ask_remove_admin_passphrase,
                                                danger=True)
        grid.addWidget(self.admin_set_button, 5, 0)
        grid.addWidget(self.admin_remove_button, 5, 1)
        grid.setColumnStretch(1, 1)
        return box

    def _current_admin_passphrase(self) -> str | None:
        """What is typed in "Current admin passphrase" (never a proof held from an earlier action), cleared."""
        current = self.admin_current.text() or None
        self.admin_current.clear()
        return current

    def set_admin_passphrase(self) -> None:
        """Set it, or change it with the current one typed above."""
        new, again = self.admin_new.text(), self.admin_again.text()
        if new != again:
            self.banner.show_message("error", "The two admin passphrases differ; nothing was changed.")
            return
        self.admin_new.clear()
        self.admin_again.clear()
        current = self._current_admin_passphrase()
        self.run(lambda _r: self.session.call(lambda v: ops.set_admin_passphrase(v, new, current)),
                 self._admin_changed)

    def ask_remove_admin_passphrase(self) -> None:
        self._confirm("Remove the admin passphrase?", "Anyone at this desktop could then delete people, reset the "
                      "vault or loosen the policy without being asked.", "Remove admin passphrase",
                      self._remove_admin_passphrase)

    def _remove_admin_passphrase(self) -> None:
        current = self._current_admin_passphrase()
        self.run(lambda _r: self.session.call(lambda v: ops.set_admin_passphrase(v, None, current)),
                 self._admin_changed)

    def _admin_changed(self, result: AdminPassphrase) -> None:
        text = result.summary()
        self.banner.show_message("success", f"{text[:1].upper()}{text[1:]}.")
        self.session.notify()

    def _reset_box(self) -> QGroupBox:
        box = QGroupBox("Reset everything")
        grid = QGridLayout(box)
        grid.addWidget(self._sentence("reset"), 0, 0, 1, 2)
        self.keep: dict[str, QCheckBox] = {}
        for row, (key, (label, sentence)) in enumerate(KEEP_CHOICES.items(), start=1):
            check = QCheckBox(label)
            check.setAccessibleName(label)
            self.keep[key] = check
            self.vault_buttons.append(check)
            note = QLabel(sentence)
            note.setObjectName("consequence")
            note.setWordWrap(True)
            grid.addWidget(check, row, 0)
            grid.addWidget(note, row, 1)
        self.reset_button = self._button("Reset everything…", self.ask_reset, danger=True)
        grid.addWidget(self.reset_button, len(KEEP_CHOICES) + 1, 0)
        grid.setColumnStretch(1, 1)
        return box

    # ------------------------------------------------------------------ state
    def load(self) -> None:
        self.show_vault_state(self.lock_banner)
        if self.session.is_open and self.banner.text.text() == LOCKED_NOTICE:
            self.banner.clear()  # unlocked since, here or in another process
        for widget in self.vault_buttons:
            widget.setEnabled(self.session.is_open)
        if self.session.is_open:
            self.run(lambda _r: self.session.call(ops.status), self._show_root)
        else:
            self.root_info.setText("The vault is not open: only restoring from a recovery copy is possible.")

    def _show_root(self, status: Status) -> None:
        forget_if_covered(self, status)
        self.kit_exported = status.recovery_kit_exported
        root = status.root_key
        self.root_info.setText(f"The root key lives in the {root.where}; fingerprint {root.fingerprint}.")
        self.admin_state.setText("Set: loosening security or destroying data asks for it." if status.admin_passphrase
                                 else "Not set: anyone at this desktop can weaken protection without being asked.")
        self.admin_set_button.setText("Change admin passphrase" if status.admin_passphrase
                                      else "Set admin passphrase")
        self.admin_remove_button.setEnabled(status.admin_passphrase)
        self.admin_current.setEnabled(status.admin_passphrase)

    def _confirm(self, title: str, message: str, confirm: str, then: Callable[[], None]) -> None:
        self.dialog = ConfirmDialog(self, title, message, confirm)
        self.dialog.accepted.connect(then)
        self.dialog.open()

    def _done(self, text: str, result: Result) -> None:
        self.banner.show_message("success", f"{text}{summary(result)}.")
        self.session.notify()

    # ---------------------------------------------------------- key actions
    def ask_generate(self) -> None:
        self._confirm("Generate a new root key?", f"{CONSEQUENCES['generate']} {RECOVERY_STOPS}",
                      "Generate new root key",
                      lambda: self._root_op(ops.generate_root_key, "A new root key is in place"))

    def _root_op(self, fn: Callable[[Vault], Result], done_text: str) -> None:
        """A key operation that replaces the root key; then what became of the recovery copy, and the way out."""
        self.banner.clear()
        self.run(lambda _r: self.session.call(fn),
                 lambda result: report_root_change(self, f"{done_text}{summary(result)}."))

    def ask_import_typed(self) -> None:
        try:
            key = parse_typed_key(self.key_text.text(), self.key_format.currentData())
        except InvalidKeyMaterial as error:
            self.banner.show_message("error", describe(error))
            return
        self._ask_import(key)

    def ask_import_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Your key file")
        if not name:
            return
        try:
            key = read_key_file(Path(name))
        except InvalidKeyMaterial as error:
            self.banner.show_message("error", describe(error))
            return
        self._ask_import(key)

    def _ask_import(self, key: bytes) -> None:
        def start() -> None:
            self.key_text.clear()
            self._root_op(lambda v: ops.import_root_key(v, key), "Your key is now the root key")

        self._confirm("Use your key as the root key?", f"{CONSEQUENCES['import']} {RECOVERY_STOPS}", "Use my key",
                      start)

    def ask_export(self) -> None:
        chosen = kit_destination(self, self.banner, self.passphrase, self.passphrase_again,
                                 "Type the same passphrase twice before exporting a recovery copy.",
                                 "Save the recovery copy")
        if chosen is None:
            return
        passphrase, name = chosen
        self.banner.clear()
        self.run(lambda _r: self.session.call(lambda v: ops.export_recovery_kit(v, Path(name), passphrase)),
                 lambda result: self._exported(name, result))

    def _exported(self, name: str, result: Result) -> None:
        """Written: only now are the fields cleared (a refusal leaves them as typed, to be amended)."""
        self.passphrase.clear()
        self.passphrase_again.clear()
        self._done(f"The recovery copy was written to {name}", result)

    def ask_restore(self) -> None:
        passphrase = self.restore_passphrase.text()
        if not passphrase:
            self.banner.show_message("error", "Type the recovery copy's passphrase first.")
            return
        name, _ = QFileDialog.getOpenFileName(self, "The recovery copy to restore")
        if not name:
            return
        self._confirm("Restore the root key from this copy?", CONSEQUENCES["restore"], "Restore",
                      lambda: self._restore(Path(name), passphrase))

    def _restore(self, path: Path, passphrase: str) -> None:
        self.restore_passphrase.clear()
        self.banner.clear()
        self.session.set_aside()
        self.run(lambda _r: ops.restore_recovery_kit(None, path, passphrase),
                 lambda result: self._reopened("The root key was restored", result),
                 lambda message: self._reopen_failed(message))

    def _reopened(self, text: str, result: Result) -> None:
        self.banner.show_message("success", f"{text}{summary(result)}.")
        self.session.open()

    def _reopen_failed(self, message: str) -> None:
        self.banner.show_message("error", message)
        self.session.open()

    def ask_revoke(self) -> None:
        kit = ("" if self.kit_exported else " No recovery copy of this root key was ever exported: once revoked, "
               "the data can never be opened again.")
        self._confirm("Revoke the root key?", f"{CONSEQUENCES['revoke']}{kit} This cannot be undone.",
                      "Revoke root key", self._revoke)

    def _revoke(self) -> None:
        self.banner.clear()
        self.run(lambda _r: self.session.call_and_reopen(ops.revoke_root_key),
                 lambda result: self._reopened("The root key was revoked", result), self._reopen_failed)

    # ------------------------------------------------ rotate, lock, reset
    def ask_rotate(self) -> None:
        what = DEEP_ROTATION if self.deep.isChecked() else CONSEQUENCES["rotate"]
        self._confirm("Rotate the root key now?", f"{what} {RECOVERY_STOPS}", "Rotate now", self.rotate)

    def rotate(self) -> None:
        deep = self.deep.isChecked()
        self.banner.clear()
        text = "Rotating the root key and resealing every template…" if deep else "Rotating the root key…"
        self.run(lambda _r: self.session.call(lambda v: ops.rotate(v, deep=deep)), self._rotated,
                 watch=lambda task: self._show_progress(text, task))

    def _show_progress(self, text: str, task: Task) -> None:
        self.progress = WorkProgress(self, "Rotating the root key", text, task)

    def _rotated(self, result: Rotation) -> None:
        resealed = f"; {result.templates_resealed} templates resealed" if result.deep else ""
        report_root_change(self, f"The root key was rotated: new fingerprint {result.root_fingerprint}{resealed}.")

    def lock(self) -> None:
        problem = self.session.lock()
        if problem:
            self.banner.show_message("error", problem)
        else:
            self.banner.show_message("info", LOCKED_NOTICE)

    def ask_reset(self) -> None:
        choices = {key: check.isChecked() for key, check in self.keep.items()}
        self._confirm("Reset everything?",
                      f"{CONSEQUENCES['reset']} Kept: {kept_labels(choices)}. This cannot be undone.",
                      "Reset everything", lambda: self._reset(choices))

    def _reset(self, choices: dict[str, bool]) -> None:
        self.banner.clear()
        self.run(lambda _r: self.session.call_and_reopen(lambda v: ops.reset(v, **choices)),
                 lambda result: self._was_reset(result, choices), self._reopen_failed)

    def _was_reset(self, result: Reset, choices: dict[str, bool]) -> None:
        self.banner.show_message(
            "success",
            f"Everything was reset: {result.identities_deleted} people and {result.templates_deleted} "
            f"templates deleted, {result.audit_events_deleted} audit events and "
            f"{result.outbox_events_deleted} outbox events deleted; "
            f"root key {'destroyed' if result.root_key_destroyed else 'kept (it is your variable)'}. "
            f"Kept: {kept_labels(choices)}.")
        self.session.open()
