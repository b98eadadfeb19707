"""The consent text as a person reads it before agreeing, the same at enrolment and when they consent again."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.widgets.confirm import ConfirmDialog
from edge_core.ops.results import ConsentTerms


def consent_dialog(parent: QWidget, name: str, terms: ConsentTerms, when: str) -> ConfirmDialog:
    """A dialog showing ``terms`` to ``name`` (``when``: "before anything is captured", ...); Cancel is the default,
    so pressing Enter never records a consent nobody gave."""
    dialog = ConfirmDialog(parent, "Consent", f"Show this to {name} {when}.\n\n{terms.text}\n\nKept: "
                           f"{terms.kept_for}.\n(consent text version {terms.version})", f"{name} consents")
    dialog.confirm_button.setProperty("role", "primary")
    return dialog
