"""The one notifier: errors and notices as an inline message bar, tracebacks to the log file.

Why inline and not a modal box: a failed file or a bad setting is routine for a document app; a
modal dialog per error stops the user (and a test) cold, while a bar at the top of the window says
it once and stays out of the way. User errors (:class:`~engine.errors.SatchelError`) are shown as
their one line; anything else is a bug: a short message, with the full traceback written under
``paths.logs_dir()`` so it can be reported.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from gui.errors import describe_error, log_file

__all__ = ["MessageBar", "describe_error", "log_file"]


class MessageBar(QFrame):
    """A dismissable one-line message at the top of the window; errors stay, notices fade."""

    #: Emitted with (level, text) for every message shown (tests and the log listen).
    shown = Signal(str, str)

    NOTICE_MS = 8000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setAutoRaise(True)
        close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self._icon)
        layout.addWidget(self._text, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.history: list[tuple[str, str]] = []
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    def error(self, text: str) -> None:
        self._show("error", text)

    def warning(self, text: str) -> None:
        self._show("warning", text)

    def info(self, text: str) -> None:
        self._show("info", text)

    def _show(self, level: str, text: str) -> None:
        icons = {"error": QStyle.StandardPixmap.SP_MessageBoxCritical,
                 "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
                 "info": QStyle.StandardPixmap.SP_MessageBoxInformation}
        size = self.fontMetrics().height()
        self._icon.setPixmap(self.style().standardIcon(icons[level]).pixmap(size, size))
        self._text.setText(text)
        # Colours come from the palette (light or dark): errors use the highlight role's contrast
        # pair only as a border so the text stays in the normal, readable text colour.
        role = QPalette.ColorRole.Highlight if level != "info" else QPalette.ColorRole.Mid
        self.setStyleSheet("#MessageBar { border: 1px solid palette(%s); border-radius: 4px; "
                           "background: palette(alternate-base); }"
                           % ("highlight" if role == QPalette.ColorRole.Highlight else "mid"))
        self.history.append((level, text))
        self.show()
        if level == "error":
            self._timer.stop()
        else:
            self._timer.start(self.NOTICE_MS)
        self.shown.emit(level, text)
