"""Admin: everything an administrator can do with the command line, in tabs, one section module per concern,
each thin over ``edge_core.ops`` (the lock stays on the Security page, the audit log on the Audit page)."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout

from app.pages.admin.api import ApiSection
from app.pages.admin.diagnostics import DiagnosticsSection
from app.pages.admin.models import ModelsSection
from app.pages.admin.policy import PolicySection
from app.pages.admin.rootkey import RootKeySection
from app.pages.admin.section import Section
from app.pages.admin.signin import SignInSection
from app.pages.admin.telemetry import TelemetrySection
from app.pages.base import Context, Page

SECTIONS: tuple[type[Section], ...] = (PolicySection, TelemetrySection, RootKeySection, ApiSection, SignInSection,
                                       ModelsSection, DiagnosticsSection)


class AdminPage(Page):
    title = "Admin"
    needs_vault = False

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Admin sections")
        self.sections: dict[str, Section] = {}
        for section_type in SECTIONS:
            section = section_type(ctx)
            self.sections[section.title] = section
            self.tabs.addTab(section, section.title)
        self.tabs.currentChanged.connect(lambda _index: self.load())
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def load(self) -> None:
        """Only the section in view is read (the others are read when they are opened)."""
        current = self.tabs.currentWidget()
        if isinstance(current, Section):
            current.refresh()

    def open_section(self, title: str) -> Section:
        section = self.sections[title]
        self.tabs.setCurrentWidget(section)
        return section

    def shutdown(self) -> None:
        """The window closes: stop what a section started (the admin API, the sign-in agent)."""
        for section in self.sections.values():
            section.shutdown()
