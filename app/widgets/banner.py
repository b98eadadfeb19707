"""One line of state at the top of a page: what happened, or what is wrong and the way out."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class Banner(QFrame):
    """A message with a kind (info, success, warning, error) and at most one action button.

    Errors are never a dialog the person must dismiss first: the banner stays
    on the page beside the thing that failed, with the button that fixes it.
    """

    def __init__(self, name: str = "Status message") -> None:
        super().__init__()
        self.setObjectName("banner")
        self.setAccessibleName(name)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        self.action.hide()
        self._callback: Callable[[], None] | None = None
        self.action.clicked.connect(self._run)
        self.news = False
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        self.hide()

    def show_message(self, kind: str, message: str, action: str | None = None,
                     callback: Callable[[], None] | None = None, news: bool | None = None) -> None:
        """``news``: what happened on this visit, gone when the page is shown again (success and info always are)."""
        self.news = kind in ("success", "info") if news is None else news
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.text.setText(message)
        self.text.setAccessibleName(message)
        self._callback = callback
        self.action.setVisible(bool(action))
        self.action.setText(action or "")
        self.action.setAccessibleName(action or "")
        self.show()

    def clear(self) -> None:
        self.news = False
        self.setProperty("kind", None)
        self.text.clear()
        self.hide()

    def _run(self) -> None:
        if self._callback is not None:
            self._callback()
