"""The main window: a keyboard-reachable list of pages beside the page itself."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QMainWindow, QStackedWidget, QWidget

from app import workers
from app.delivery import Delivery
from app.pages.admin import AdminPage
from app.pages.audit import AuditPage
from app.pages.base import Context, Page
from app.pages.enrol import EnrolPage
from app.pages.home import HomePage
from app.pages.identities import IdentitiesPage
from app.pages.match import MatchPage
from app.pages.security import SecurityPage
from app.pages.settings import SettingsPage
from app.preferences import Preferences
from app.session import Session

PAGES: tuple[type[Page], ...] = (HomePage, EnrolPage, MatchPage, IdentitiesPage, SecurityPage, AuditPage,
                                 SettingsPage, AdminPage)


class MainWindow(QMainWindow):
    """Ctrl+1..8 jump to a page; Tab moves from the page list into the page."""

    def __init__(self, session: Session | None = None) -> None:
        super().__init__()
        self.setWindowTitle("FaceSeal")
        self.session = session or Session()
        self.delivery = Delivery(self.session)
        """Background telemetry delivery while telemetry is on (nothing runs while it is off)."""
        self.prefs = Preferences()
        ctx = Context(self.session, self.prefs, self.show_page)
        self.pages: dict[str, Page] = {}
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setAccessibleName("Pages")
        self.stack = QStackedWidget()
        for number, page_type in enumerate(PAGES, start=1):
            page = page_type(ctx)
            self.pages[page.title] = page
            self.stack.addWidget(page)
            self.nav.addItem(page.title)
            self.nav.item(number - 1).setToolTip(f"{page.title} (Ctrl+{number})")
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda title=page.title: self.show_page(title))
        self.nav.setFixedWidth(170)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setTabOrder(self.nav, self.stack)
        self.nav.setCurrentRow(0)
        self.nav.setFocus(Qt.FocusReason.OtherFocusReason)
        self.resize(1100, 720)
        self.session.open()

    def show_page(self, title: str) -> Page:
        page = self.pages[title]
        self.nav.setCurrentRow(self.stack.indexOf(page))
        return page

    @property
    def admin(self) -> AdminPage:
        page = self.pages[AdminPage.title]
        assert isinstance(page, AdminPage)
        return page

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Let running work finish (a rotation is never cut short), stop the admin API this window started and
        telemetry delivery cleanly, then drop the keys (this window's only)."""
        workers.stop_all()
        self.admin.shutdown()
        self.delivery.close()
        self.session.close()
        super().closeEvent(event)
