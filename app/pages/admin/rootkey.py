"""Root key location: where the root lives now, moving it into a PKCS#11 token (module, token label, PIN) or this
machine's TPM (made there, or imported after a recovery copy is written first), and back to the keychain, over
``ops.move_root_to_hsm`` / ``ops.move_root_to_tpm`` / ``ops.escrow_root_into_tpm`` / ``ops.move_root_to_keychain``."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from pathlib import Path

from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import packed
from app.widgets.confirm import ConfirmDialog
from app.widgets.passphrase import PassphraseMeter, kit_destination
from edge_core import ops
from edge_core.ops.keys import HSM_PIN_VARIABLE, PIN_HOMES
from edge_core.ops.results import RootChange, Status

HARDWARE_STORES = ("pkcs11", "tpm")
BOOT_STATE = ("Off unless you tick it: the TPM then uses the root only while this machine boots with the Secure Boot "
              "state it has now, so a disk moved to another machine or a tampered boot opens nothing; a firmware "
              "update or a Secure Boot change also locks the data until you boot as before.")
ESCROW = ("For an escrow copy: a new root is written first to a recovery copy you save (sealed under the passphrase "
          "below), then imported into the TPM. The TPM's copy can never be exported afterwards; the recovery copy is "
          "the way back after a new motherboard or a cleared TPM, and whoever holds it and its passphrase can open a "
          "copy of this data.")
TPM_GAINS_AND_COSTS = ("The TPM makes a new root that can never be copied off this machine, not by malware and not "
                       "by a backup. The cost: no recovery copy can hold it, so a new motherboard or a cleared TPM "
                       "loses the data unless you move the root back out first.")


class RootKeySection(Section):
    title = "Root key location"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.dialog: ConfirmDialog | None = None
        self.tpm_here = False
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setAccessibleName("Where the root key lives")
        now = QGroupBox("Where the root key lives now")
        QVBoxLayout(now).addWidget(self.where)

        self.module = QLineEdit()
        self.module.setPlaceholderText("/usr/lib/softhsm/libsofthsm2.so")
        self.module.setAccessibleName("PKCS#11 module")
        browse = QPushButton("Choose…")
        browse.setAccessibleName("Choose the PKCS#11 module file")
        browse.clicked.connect(self._choose_module)
        self.token = QLineEdit()
        self.token.setAccessibleName("Token label")
        self.key_label = QLineEdit()
        self.key_label.setPlaceholderText("optional: a label for the key object")
        self.key_label.setAccessibleName("Key label")
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setAccessibleName("Token PIN")
        self.keep_pin = QComboBox()
        self.keep_pin.setAccessibleName("Where to keep the PIN")
        self.keep_pin.addItem("In the OS keychain: every FaceSeal program finds it there", "keychain")
        self.keep_pin.addItem(f"Nowhere: I set {HSM_PIN_VARIABLE} for every FaceSeal program", "variable")
        self.keep_pin.setToolTip("; ".join(f"{home}: {what}" for home, what in PIN_HOMES.items()))
        self.move_in = QPushButton("Move the root into the token…")
        self.move_in.setProperty("role", "primary")
        self.move_in.setAccessibleName("Move the root into the token")
        self.move_in.clicked.connect(self.ask_move_in)
        into = QGroupBox("Move into a PKCS#11 token (YubiHSM, Nitrokey, SoftHSM2, a network HSM)")
        form = QFormLayout(into)
        form.addRow("Module", packed(self.module, browse))
        self.module.setMinimumWidth(380)
        form.addRow("Token label", self.token)
        form.addRow("Key label", self.key_label)
        form.addRow("PIN", self.pin)
        form.addRow("Keep the PIN", self.keep_pin)
        note = QLabel("The token makes a new root that never leaves it; the keys below are re-wrapped, no template "
                      "is touched. The PIN is kept where you choose (never in a file). A recovery copy cannot hold "
                      "a root inside a token: keep the token itself safe.")
        note.setWordWrap(True)
        note.setObjectName("consequence")
        form.addRow("", note)
        form.addRow("", packed(self.move_in))

        self.move_tpm = QPushButton("Move the root into this machine's TPM…")
        self.move_tpm.setAccessibleName("Move the root into this machine's TPM")
        self.move_tpm.clicked.connect(self.ask_move_tpm)
        self.tpm_note = QLabel()
        self.tpm_note.setWordWrap(True)
        self.tpm_note.setObjectName("consequence")
        self.bind_boot = QCheckBox("Bind it to this machine's boot state (Secure Boot, PCR 7)")
        self.bind_boot.setAccessibleName("Bind the root to this machine's boot state")
        bind_note = QLabel(BOOT_STATE)
        bind_note.setWordWrap(True)
        bind_note.setObjectName("consequence")
        self.escrow = QCheckBox("Write a recovery copy first, then import the root into the TPM")
        self.escrow.setAccessibleName("Write a recovery copy first, then import the root into the TPM")
        escrow_note = QLabel(ESCROW)
        escrow_note.setWordWrap(True)
        escrow_note.setObjectName("consequence")
        self.escrow_passphrase = QLineEdit()
        self.escrow_again = QLineEdit()
        for field, name in ((self.escrow_passphrase, "Recovery copy passphrase"),
                            (self.escrow_again, "Recovery copy passphrase again")):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setAccessibleName(name)
            field.setPlaceholderText(name)
            field.textChanged.connect(self._rate_escrow)
        self.escrow_meter = PassphraseMeter()
        self.escrow.toggled.connect(self._escrow_toggled)
        tpm = QGroupBox("Move into this machine's TPM 2.0")
        tpm_layout = QVBoxLayout(tpm)
        tpm_layout.addWidget(self.tpm_note)
        tpm_layout.addWidget(self.bind_boot)
        tpm_layout.addWidget(bind_note)
        tpm_layout.addWidget(self.escrow)
        tpm_layout.addWidget(escrow_note)
        for widget in (self.escrow_passphrase, self.escrow_again, self.escrow_meter):
            tpm_layout.addWidget(widget)
        tpm_layout.addLayout(packed(self.move_tpm))
        self._escrow_toggled(False)

        self.move_out = QPushButton("Move the root back to the keychain…")
        self.move_out.setAccessibleName("Move the root back to the keychain")
        self.move_out.clicked.connect(self.ask_move_out)
        back = QGroupBox("Back to the keychain")
        back_layout = QVBoxLayout(back)
        out_note = QLabel("A new software root is made in the keychain (or the key file) and the token's or TPM's "
                          "key object is destroyed. Export a new recovery copy afterwards.")
        out_note.setWordWrap(True)
        out_note.setObjectName("consequence")
        back_layout.addWidget(out_note)
        back_layout.addLayout(packed(self.move_out))

        layout = QVBoxLayout(self.body)
        layout.addWidget(now)
        layout.addWidget(into)
        layout.addWidget(tpm)
        layout.addWidget(back)
        layout.addStretch(1)

    def load(self) -> None:
        missing = ops.tpm_problem()  # offered only where a TPM answers this user
        self.tpm_here = missing is None
        self.tpm_note.setText(TPM_GAINS_AND_COSTS if missing is None else
                              f"Not offered here: {missing[0].upper()}{missing[1:]}.")
        self.in_vault(ops.status, self._show)

    def _show(self, status: Status) -> None:
        root = status.root_key
        self.where.setText(f"{root.where} (fingerprint {root.fingerprint}).")
        in_hardware = root.store in HARDWARE_STORES
        self.move_in.setEnabled(not in_hardware)
        self.move_tpm.setEnabled(not in_hardware and self.tpm_here)
        self.bind_boot.setEnabled(not in_hardware and self.tpm_here)
        self.escrow.setEnabled(not in_hardware and self.tpm_here)
        self.move_out.setEnabled(in_hardware)

    def _choose_module(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "The HSM's PKCS#11 module", "", "PKCS#11 modules (*.so *.dylib)")
        if name:
            self.module.setText(name)

    def ask_move_in(self) -> None:
        token = self.token.text().strip()
        self.dialog = ConfirmDialog(self, "Move the root into the token",
                                    f"A new root is made inside token '{token}' and the current root is destroyed. "
                                    "From then on nothing opens without the token and its PIN, and no recovery copy "
                                    "can hold the root.", "Move it into the token")
        self.dialog.accepted.connect(self._move_in)
        self.dialog.open()

    def _move_in(self) -> None:
        module, token = self.module.text().strip(), self.token.text().strip()
        label, pin, keep = self.key_label.text().strip() or None, self.pin.text(), self.keep_pin.currentData()
        self.pin.clear()  # the PIN leaves the field as soon as it is used
        self.banner.clear()
        self.in_vault(lambda vault: ops.move_root_to_hsm(vault, module, token, label, pin, keep), self._moved)

    def _escrow_toggled(self, on: bool) -> None:
        for widget in (self.escrow_passphrase, self.escrow_again, self.escrow_meter):
            widget.setVisible(on)

    def _rate_escrow(self) -> None:
        self.escrow_meter.rate(self.escrow_passphrase.text(), self.escrow_again.text())

    def ask_move_tpm(self) -> None:
        bound = " It will be bound to this boot state." if self.bind_boot.isChecked() else ""
        if not self.escrow.isChecked():
            self.dialog = ConfirmDialog(self, "Move the root into this machine's TPM",
                                        f"{TPM_GAINS_AND_COSTS} The current root is destroyed.{bound}",
                                        "Move it into the TPM")
            self.dialog.accepted.connect(self._move_tpm)
            self.dialog.open()
            return
        chosen = kit_destination(self, self.banner, self.escrow_passphrase, self.escrow_again,
                                 "Type the same recovery copy passphrase twice first.",
                                 "Save the recovery copy (the escrow copy)")
        if chosen is None:
            return
        passphrase, name = chosen
        self.dialog = ConfirmDialog(self, "Write a recovery copy, then import the root into the TPM",
                                    f"A new root is written to {name} first, then imported into this machine's TPM, "
                                    "and the current root is destroyed. The TPM's copy can never be exported "
                                    "afterwards: keep the recovery copy and its passphrase apart and safe, they are "
                                    f"the way back after a new motherboard or a cleared TPM.{bound}",
                                    "Write the copy and import")
        self.dialog.accepted.connect(lambda: self._escrow_tpm(Path(name), passphrase))
        self.dialog.open()

    def _move_tpm(self) -> None:
        self.banner.clear()
        bind = self.bind_boot.isChecked()
        self.in_vault(lambda vault: ops.move_root_to_tpm(vault, bind), self._moved)

    def _escrow_tpm(self, kit: Path, passphrase: str) -> None:
        self.banner.clear()
        bind = self.bind_boot.isChecked()
        self.escrow_passphrase.clear()  # the passphrase leaves the fields as soon as it is used
        self.escrow_again.clear()
        self.in_vault(lambda vault: ops.escrow_root_into_tpm(vault, kit, passphrase, bind), self._moved)

    def ask_move_out(self) -> None:
        self.dialog = ConfirmDialog(self, "Move the root back to the keychain",
                                    "A new root is made in the keychain and the token's or TPM's key is destroyed. "
                                    "Recovery copies made before do not open the new root.", "Move it back")
        self.dialog.accepted.connect(self._move_out)
        self.dialog.open()

    def _move_out(self) -> None:
        self.banner.clear()
        self.in_vault(ops.move_root_to_keychain, self._moved)

    def _moved(self, change: RootChange) -> None:
        text = (f"The root key now lives in: {change.root_where} (new fingerprint {change.root_fingerprint}; the "
                "previous root was destroyed).")
        if change.pin_kept:
            text += f" The PIN is {PIN_HOMES[change.pin_kept]}."
        if change.recovery_kit_exported:
            text += f" {change.warning[0].upper()}{change.warning[1:]}."
        self.banner.show_message("warning" if change.warning else "success", text)
        self.session.notify()
