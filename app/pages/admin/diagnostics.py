"""Diagnostics: ``faceseal self-test`` run from the window, its report shown check by check.

The self-test swaps the process's data folder, keychain and root key for
throw-away ones while it runs and opens a window of its own, so it never runs
inside this window's process (whose vault is open): it runs as the very command
a person would type, in a child process, and its JSON report is read back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
)

from app.pages.admin.section import Section
from app.pages.base import Context
from app.widgets import button, packed
from edge_core import ops
from edge_core.errors import FaceSealError

TIMEOUT_S = 300


class SelfTestError(FaceSealError):
    """The self-test did not pass, or did not finish; the message is its own one line."""


def run_self_test() -> dict[str, Any]:
    """``faceseal self-test --json`` in a child process: its report, or SelfTestError with its one line."""
    command = [sys.executable, "self-test", "--json"] if getattr(sys, "frozen", False) else \
        [sys.executable, "-m", "app.launcher", "self-test", "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SelfTestError(f"the self-test did not finish within {TIMEOUT_S} s") from None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = {}
    if done.returncode != 0 or "checks" not in report:
        raise SelfTestError(report.get("error") or "the self-test ended without a report")
    return report


def describe_check(name: str, check: dict[str, Any]) -> str:
    """One line per check: its status and the facts it measured."""
    facts = ", ".join(f"{key} {value}" for key, value in check.items() if key not in ("status", "qt_messages"))
    return f"{name}: {check.get('status')}" + (f" ({facts})" if facts else "")


class DiagnosticsSection(Section):
    title = "Diagnostics"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.summary = QLabel("The self-test checks this installation in a throw-away folder: a vault is made, "
                              "sealed and reopened, the models find a drawn face, and a window opens. Your data, "
                              "keychain and preferences are never touched.")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Self-test summary")
        self.run_button = button("Run the self-test", self.start, "primary")
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Self-test report")
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The report appears here.")
        box = QGroupBox("Self-test")
        box_layout = QVBoxLayout(box)
        box_layout.addWidget(self.summary)
        box_layout.addLayout(packed(self.run_button))
        box_layout.addWidget(self.report, 1)
        self.tpm = QLabel()
        self.tpm.setWordWrap(True)
        self.tpm.setAccessibleName("TPM 2.0")
        machine = QGroupBox("This machine")
        machine_layout = QVBoxLayout(machine)
        machine_layout.addWidget(self.tpm)
        layout = QVBoxLayout(self.body)
        layout.addWidget(machine)
        layout.addWidget(box, 1)

    def load(self) -> None:
        """What this machine offers the root key beyond the keychain (the self-test runs on a throw-away vault)."""
        missing = ops.tpm_problem()
        self.tpm.setText("TPM 2.0: answers this user; Admin › Root key location can move the root into it."
                         if missing is None else f"TPM 2.0: not usable for the root here: {missing}.")

    def start(self) -> None:
        self.banner.show_message("info", "Running the self-test…")
        self.run_button.setEnabled(False)
        self.report.clear()
        self.run(lambda _r: run_self_test(), self._passed, self._failed)

    def _passed(self, report: dict[str, Any]) -> None:
        self.run_button.setEnabled(True)
        checks = report["checks"]
        self.banner.show_message("success", f"The self-test passed: FaceSeal {report['version']}, "
                                            f"{len(checks)} checks.")
        lines = [describe_check(name, check) for name, check in checks.items()]
        self.report.setPlainText("\n".join(lines) + "\n\n" + json.dumps(report, indent=2))

    def _failed(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.show_error(message)
