"""The recovery copy's passphrase rule and a strength meter, shown while typing: before any file is chosen."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QProgressBar, QVBoxLayout, QWidget

from app.widgets.banner import Banner
from app.workers import describe
from edge_core.errors import UsageError
from edge_core.ops.keys import check_kit_passphrase, rate_kit_passphrase


class PassphraseMeter(QWidget):
    """The rule in one sentence, then how the typed passphrase measures up (``ops``'s own rating, never a copy).

    Only the strength and ops's sentence are shown: the passphrase itself never is.
    """

    def __init__(self) -> None:
        super().__init__()
        empty = rate_kit_passphrase("")
        self.rule = QLabel(f"The passphrase needs at least {empty.min_length} characters and a strength of "
                           f"{empty.needed} of 4 or more (several uncommon words); it is checked as you type, "
                           "before you choose where to save the copy.")
        self.rule.setWordWrap(True)
        self.rule.setObjectName("consequence")
        self.rule.setAccessibleName("Passphrase rule")
        self.bar = QProgressBar()
        self.bar.setRange(0, 4)
        self.bar.setTextVisible(True)
        self.bar.setAccessibleName("Passphrase strength")
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("Passphrase verdict")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.rule)
        layout.addWidget(self.bar)
        layout.addWidget(self.verdict)
        self.rate("", "")

    def rate(self, passphrase: str, again: str) -> bool:
        """Show how ``passphrase`` measures up (and whether ``again`` matches it); True when it can be used."""
        rating = rate_kit_passphrase(passphrase)
        self.bar.setValue(rating.strength)
        self.bar.setFormat(f"strength {rating.strength} of 4 (at least {rating.needed} needed)")
        self.bar.setAccessibleDescription(self.bar.format())
        if not passphrase:
            text = "Type a passphrase for the recovery copy."
        elif rating.problem is not None:
            text = describe(UsageError(rating.problem))
        elif passphrase != again:
            text = "Strong enough. Type the same passphrase again below it."
        else:
            text = "Strong enough, and typed the same twice."
        self.verdict.setText(text)
        self.verdict.setAccessibleDescription(text)
        return rating.acceptable and passphrase == again


def kit_destination(parent: QWidget, banner: Banner, field: QLineEdit, again: QLineEdit, mismatch: str,
                    title: str) -> tuple[str, str] | None:
    """The recovery copy's passphrase, typed twice and held to ops's rule, then where to save the copy:
    ``(passphrase, file name)``, or ``None`` with the reason in ``banner`` (or the file dialog cancelled). The
    fields stay as typed, to be amended; the caller clears them once the copy is written."""
    passphrase = field.text()
    if not passphrase or passphrase != again.text():
        banner.show_message("error", mismatch)
        return None
    try:  # the rule of ops (zxcvbn), before a file is chosen
        check_kit_passphrase(passphrase)
    except UsageError as error:
        banner.show_message("error", describe(error))
        return None
    name, _ = QFileDialog.getSaveFileName(parent, title, "faceseal-recovery-kit")
    return (passphrase, name) if name else None
