"""Numbered citation chips: show the passage, open the source file (at the page for PDFs).

Why a viewer table: ``xdg-open`` and ``QDesktopServices`` open a file but cannot ask for a page.
When the system's PDF viewer is one we know (Evince, Okular, Zathura, …), it is started with its
own page option; when it is a browser, a ``#page=N`` URL works (PDF.js and Chromium honour it);
otherwise the file opens at its first page and the popup already told the user which page to go
to. Nothing here blocks: viewers start detached.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QProcess, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.ingest.document import container_of, display_name
from engine.ingest.loaders.parts import extractable
from engine.places import place, short_line, source_line

if TYPE_CHECKING:
    from engine.prompt import Passage  # arrives as a gui.tasks.Record with the same attributes

#: Desktop file stem -> argv builder for viewers that can open a PDF at a page (1-based).
PAGE_VIEWERS: dict[str, Callable[[str, int], list[str]]] = {
    "org.gnome.evince": lambda p, n: ["evince", f"--page-index={n}", p],
    "evince": lambda p, n: ["evince", f"--page-index={n}", p],
    "atril": lambda p, n: ["atril", f"--page-index={n}", p],
    "xreader": lambda p, n: ["xreader", f"--page-index={n}", p],
    "org.kde.okular": lambda p, n: ["okular", "--page", str(n), p],
    "okularapplication_pdf": lambda p, n: ["okular", "--page", str(n), p],
    "org.pwmt.zathura": lambda p, n: ["zathura", "--page", str(n), p],
    "zathura": lambda p, n: ["zathura", "--page", str(n), p],
    "qpdfview": lambda p, n: ["qpdfview", f"{p}#{n}"],
    "mupdf": lambda p, n: ["mupdf", p, str(n)],
    "org.gnome.papers": lambda p, n: ["papers", f"--page-index={n}", p],
}
#: Default apps that understand a file URL with ``#page=N``.
FRAGMENT_VIEWERS = ("firefox", "chromium", "google-chrome", "microsoft-edge", "brave")


@functools.lru_cache(maxsize=1)
def default_pdf_app() -> str | None:
    """The desktop file stem of the system's PDF handler (Linux, via xdg-mime), or None."""
    if not sys.platform.startswith("linux") or not shutil.which("xdg-mime"):
        return None
    try:
        out = subprocess.run(["xdg-mime", "query", "default", "application/pdf"],
                             capture_output=True, text=True, timeout=2).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.removesuffix(".desktop") or None


def open_command(path: str, page: int, default_app: str | None,
                 which: Callable[[str], str | None] = shutil.which) -> list[str] | QUrl:
    """How to open ``path`` at ``page``: an argv for a page-aware viewer, or a URL to hand to the
    desktop (with ``#page=N`` when the default app is a browser)."""
    url = QUrl.fromLocalFile(os.path.abspath(path))
    if not path.lower().endswith(".pdf") or page <= 1:
        return url
    app = (default_app or "").lower()
    for stem, build in PAGE_VIEWERS.items():
        if app == stem.lower() or app.endswith("." + stem.lower()):
            argv = build(path, page)
            if which(argv[0]):
                return argv
    if any(name in app for name in FRAGMENT_VIEWERS):
        url.setFragment(f"page={page}")
    return url


#: Replaced in tests to record instead of launching a viewer.
def launch(target: list[str] | QUrl) -> bool:
    if isinstance(target, QUrl):
        return QDesktopServices.openUrl(target)
    ok, _pid = QProcess.startDetached(target[0], target[1:])
    return bool(ok)


def open_source(path: str, page: int) -> bool:
    """Open a cited file at its page as well as the system allows; False if nothing opened.

    A document inside an archive or attached to an e-mail is copied out (to the cache, removed
    with its collection: :mod:`engine.derived`) and opened at its page; another part of a file
    (a message in a mailbox, a document in an archive in an archive) opens the file that holds
    it.
    """
    if container_of(path) != path:
        from engine.derived import opened_copy_dir
        from engine.ingest.loaders.parts import extract_part

        copy = extract_part(path, opened_copy_dir(path))
        path, page = (str(copy), page) if copy is not None else (container_of(path), 1)
    if not os.path.exists(path):
        return False
    default = default_pdf_app() if path.lower().endswith(".pdf") else None
    return launch(open_command(path, page, default))


class PassagePopup(QFrame):
    """The passage behind a chip: where it is from, its text, and a button to open the file."""

    open_requested = Signal(str, int)

    def __init__(self, passage: Passage, cited: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.passage = passage
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        # file names and headings come from documents: text, never markup
        where = f"<b>[{passage.n}] {escape(display_name(passage.path))}</b>"
        if at := place(passage.path, passage.page):
            where += f", {at}"
        if passage.heading:
            where += f" — {escape(passage.heading)}"
        if not cited:
            where += " <i>(retrieved, not cited)</i>"
        self.title = QLabel(where)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)  # long headings must wrap, not widen the popup past the window
        layout.addWidget(self.title)
        path_label = QLabel(passage.path)
        path_label.setWordWrap(True)
        path_label.setStyleSheet("color: palette(placeholder-text);")
        path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(path_label)
        self.text = QTextBrowser()
        self.text.setPlainText(passage.text)
        self.text.setMinimumSize(420, 140)
        self.setMaximumWidth(640)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addStretch(1)
        source = container_of(passage.path)
        # a document in an archive or attached to a message is copied out and opened itself
        # (open_source)
        member = extractable(passage.path)
        page_note = f" at page {passage.page}" if (source == passage.path or member) and \
            passage.path.lower().endswith(".pdf") else ""
        self.open_button = QPushButton(f"Open file{page_note}")
        self.open_button.setEnabled(os.path.exists(source))
        if not self.open_button.isEnabled():
            self.open_button.setToolTip("The file is no longer at this path")
        elif member:
            self.open_button.setToolTip(f"Opens a copy taken out of {os.path.basename(source)}")
        elif source != passage.path:
            self.open_button.setToolTip(f"Opens {os.path.basename(source)}, which holds this "
                                        "passage")
        self.open_button.clicked.connect(self._open)
        row.addWidget(self.open_button)
        layout.addLayout(row)

    def _open(self) -> None:
        self.open_requested.emit(self.passage.path, self.passage.page)
        self.close()


class CitationChip(QToolButton):
    """"[2] report.pdf p.4": hover for the passage, click for the popup with Open file."""

    opened = Signal(str, int)

    def __init__(self, passage: Passage, cited: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.passage = passage
        self.cited = cited
        name = display_name(passage.path)
        self.setText(f"[{passage.n}] {short_line(name, passage.path, passage.page)}")
        snippet = " ".join(passage.text.split())
        more = "…" if len(snippet) > 400 else ""
        self.setToolTip(f"{source_line(name, passage.path, passage.page)}\n\n"
                        f"{snippet[:400]}{more}")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        weight = "bold" if cited else "normal"
        border = "palette(highlight)" if cited else "palette(mid)"
        self.setStyleSheet(f"QToolButton {{ border: 1px solid {border}; border-radius: 9px; "
                           f"padding: 1px 8px; font-weight: {weight}; }}")
        self.clicked.connect(self.show_passage)
        self.popup: PassagePopup | None = None

    def show_passage(self) -> PassagePopup:
        self.popup = PassagePopup(self.passage, self.cited, self)
        self.popup.open_requested.connect(self._open)
        self.popup.adjustSize()
        # below the chip, kept inside the window (or the screen) horizontally and vertically
        area = self.window().frameGeometry()
        pos = self.mapToGlobal(self.rect().bottomLeft())
        size = self.popup.size()
        x = max(area.left(), min(pos.x(), area.right() - size.width()))
        y = pos.y() if pos.y() + size.height() <= area.bottom() else \
            self.mapToGlobal(self.rect().topLeft()).y() - size.height()
        self.popup.move(x, max(area.top(), y))
        self.popup.show()
        return self.popup

    def _open(self, path: str, page: int) -> None:
        self.opened.emit(path, page)
        open_source(path, page)
