"""Chat: streamed, cited answers in sessions, with follow-up questions.

Why per-turn widgets instead of one big document: while an answer streams, only its own Markdown
is re-rendered (a few lines), so a long session costs the GUI thread nothing extra; each turn owns
its citation chips, which need to be real buttons. Sessions live in the engine's SessionStore
(SQLite); the question, its history lookup and saving the finished turn run in the worker with
the answer, and listing, opening, renaming and exporting sessions run in the worker's quick lane,
so the GUI thread never waits for a disk sync.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.modes import MODE_LABELS
from gui import ops
from gui.citations import CitationChip
from gui.context import AppContext
from gui.widgets import FlowLayout, MarkdownView, hint, sidebar_layout
from gui.worker import TaskHandle

if TYPE_CHECKING:
    from engine.prompt import Passage

WELCOME = ("Ask anything about your documents. The sample documents of Halcyon Reach are ready "
           "to try; drop your own files or folders anywhere on this window to add them.")


def timing_text(answer: object) -> str:
    t = answer.timings  # type: ignore[attr-defined]
    parts = []
    if t.retrieval_ms:
        parts.append(f"retrieval {t.retrieval_ms:.0f} ms")
    parts.append(f"first token {t.ttft_ms:.0f} ms")
    parts.append(f"{t.completion_tokens} tokens at {t.tokens_per_s:.1f}/s")
    parts.append(f"total {t.total_ms / 1000:.1f} s")
    return " · ".join(parts)


class TurnWidget(QFrame):
    """One question and its answer: streamed Markdown, citation chips, timings."""

    source_opened = Signal(str, int)

    def __init__(self, question: str, mode: str, detail: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Turn")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 10)
        head = QLabel(f"<b>{_escape(question)}</b>")
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(head)
        tag = MODE_LABELS.get(mode, mode) + (f" · {detail}" if detail else "")
        self.tag = hint(tag)
        layout.addWidget(self.tag)
        self.answer_view = MarkdownView()
        layout.addWidget(self.answer_view)
        self.chips_box = QWidget()
        self.chips = FlowLayout(self.chips_box)
        layout.addWidget(self.chips_box)
        self.footer = hint("")
        layout.addWidget(self.footer)
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(rule)
        self.text = ""
        self.sources: list[Passage] = []
        self.chip_widgets: list[CitationChip] = []
        self.answer = None
        self.set_waiting()

    def set_waiting(self, note: str = "Thinking…") -> None:
        self.footer.setText(note)

    def set_sources(self, sources: list[Passage], cited: list[int] | None = None) -> None:
        self.sources = list(sources)
        for chip in self.chip_widgets:
            self.chips.removeWidget(chip)
            chip.deleteLater()
        self.chip_widgets = []
        for passage in self.sources:
            chip = CitationChip(passage, cited is None or passage.n in cited)
            chip.opened.connect(self.source_opened)
            self.chips.addWidget(chip)
            self.chip_widgets.append(chip)
        self.chips_box.setVisible(bool(self.sources))
        self.chips_box.updateGeometry()

    def append(self, text: str) -> None:
        if not self.text:
            self.footer.setText("Answering…")
        self.text += text
        self.answer_view.set_markdown(self.text)

    def finish(self, answer: object) -> None:
        """Show the final text, mark the cited sources, and the timings."""
        self.answer = answer
        text = answer.text or self.text  # type: ignore[attr-defined]
        self.answer_view.set_markdown(text or "_(no answer)_")
        self.set_sources(answer.sources, answer.cited)  # type: ignore[attr-defined]
        note = timing_text(answer)
        if answer.stopped:  # type: ignore[attr-defined]
            note = "Stopped · " + note
        if answer.error:  # type: ignore[attr-defined]
            note = f"{answer.error}"  # type: ignore[attr-defined]
        self.footer.setText(note)

    def fail(self, message: str) -> None:
        self.answer_view.set_markdown(self.text or "_(no answer)_")
        self.footer.setText(message)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SessionList(QWidget):
    """Saved chats, most recent first: new, rename (edit in place), delete, export Markdown.

    Every read and write of the session store runs in the worker's quick lane: SQLite syncs the
    disk on each write (20-30 ms here) and its first use imports a chain of engine modules, both
    too long for the GUI thread while an answer streams.
    """

    session_selected = Signal(object)  # int | None
    #: The list was filled from the store (after every refresh).
    refreshed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Start a new chat (Ctrl+N)")
        layout.addWidget(self.new_button)
        self.list = QListWidget()
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setEditTriggers(QListWidget.EditTrigger.EditKeyPressed
                                  | QListWidget.EditTrigger.DoubleClicked)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        self.export_button = QPushButton("Export…")
        for b in (self.rename_button, self.delete_button, self.export_button):
            row.addWidget(b)
        layout.addLayout(row)
        self.new_button.clicked.connect(lambda: self.session_selected.emit(None))
        self.rename_button.clicked.connect(self._start_rename)
        self.delete_button.clicked.connect(self.delete_current)
        self.export_button.clicked.connect(self.export_current)
        self.list.currentItemChanged.connect(self._current_changed)
        self.list.itemChanged.connect(self._renamed)
        #: Replaceable in tests: asks before deleting; returns True to go ahead.
        self.confirm: Callable[[str], bool] = self._confirm
        #: Replaceable in tests: where to export; returns a path or "" to cancel.
        self.ask_export_path: Callable[[str], str] = self._ask_export_path
        self._filling = False
        self._update_buttons()

    def refresh(self, select: int | None = None,
                then: Callable[[], None] | None = None) -> None:
        """Re-read the saved chats (in the worker's quick lane), keep ``select`` selected, then
        call ``then``."""
        def fill(infos: list) -> None:
            self._filling = True
            self.list.clear()
            for info in infos:
                item = QListWidgetItem(info.title)
                item.setData(Qt.ItemDataRole.UserRole, info.id)
                item.setToolTip(f"{info.title}\n{info.turns} question"
                                f"{'s' if info.turns != 1 else ''}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.list.addItem(item)
                if info.id == select:
                    self.list.setCurrentItem(item)
            self._filling = False
            self._update_buttons()
            self.refreshed.emit()
            if then is not None:
                then()

        self.ctx.executor.submit(ops.list_sessions, label="Reading chats", on_done=fill,
                                 quick=True)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _update_buttons(self) -> None:
        has = self.list.currentItem() is not None
        for b in (self.rename_button, self.delete_button, self.export_button):
            b.setEnabled(has)

    def _current_changed(self, item: QListWidgetItem | None, _prev: object) -> None:
        if not self._filling:
            self.session_selected.emit(item.data(Qt.ItemDataRole.UserRole) if item else None)
        self._update_buttons()

    def _start_rename(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def _renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        sid = item.data(Qt.ItemDataRole.UserRole)
        # a refused name (empty) is its one-line message; the list shows the stored title again
        self.ctx.executor.submit(ops.rename_session, sid, item.text(), label="Renaming a chat",
                                 on_done=lambda _t: self.refresh(select=sid),
                                 on_error=lambda _m: self.refresh(select=sid), quick=True)

    def delete_current(self) -> None:
        sid = self.current_id()
        item = self.list.currentItem()
        if sid is None or item is None or not self.confirm(f"Delete the chat “{item.text()}”?"):
            return

        def deleted(_sid: int) -> None:
            self.refresh()
            self.session_selected.emit(None)

        self.ctx.executor.submit(ops.delete_session, sid, label="Deleting a chat",
                                 on_done=deleted, quick=True)

    def export_current(self) -> None:
        sid = self.current_id()
        item = self.list.currentItem()
        if sid is None or item is None:
            return
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in item.text())[:60]
        target = self.ask_export_path(f"{safe.strip() or 'chat'}.md")
        if not target:
            return
        self.ctx.executor.submit(
            ops.export_session, sid, target, label="Exporting a chat", quick=True,
            on_done=lambda path: self.ctx.messages.info(f"Exported the chat to {path}"))

    def _confirm(self, text: str) -> bool:
        answer = QMessageBox.question(self, "Satchel", text)
        return answer == QMessageBox.StandardButton.Yes

    def _ask_export_path(self, suggested: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Export chat as Markdown",
                                              os.path.join(os.path.expanduser("~"), suggested),
                                              "Markdown (*.md)")
        return path


class ChatScreen(QWidget):
    """Sessions on the left, the transcript in the middle, the question box at the bottom."""

    answer_finished = Signal(object)  # engine.answer.Answer (as a gui.tasks.Record)
    source_opened = Signal(str, int)
    #: A saved session's turns are on screen (its id).
    session_shown = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session_id: int | None = None
        self.handle: TaskHandle | None = None
        self.turns: list[TurnWidget] = []
        self.sessions = SessionList(ctx)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.transcript = QWidget()
        self.transcript_layout = QVBoxLayout(self.transcript)
        self.welcome = QLabel(WELCOME)
        self.welcome.setWordWrap(True)
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setStyleSheet("color: palette(placeholder-text); padding: 40px;")
        self.transcript_layout.addWidget(self.welcome)
        self.transcript_layout.addStretch(1)
        self.scroll.setWidget(self.transcript)
        rl.addWidget(self.scroll, 1)
        box = QHBoxLayout()
        self.question = QPlainTextEdit()
        self.question.setPlaceholderText("Ask a question (Ctrl+Enter to send, Ctrl+L to focus)")
        self.question.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 14)
        self.question.setAcceptDrops(False)  # dropped files go to the window (indexing)
        box.addWidget(self.question, 1)
        buttons = QVBoxLayout()
        self.ask_button = QPushButton("Ask")
        self.ask_button.setDefault(True)
        self.ask_button.setToolTip("Ask (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer (Esc)")
        self.stop_button.setEnabled(False)
        buttons.addWidget(self.ask_button)
        buttons.addWidget(self.stop_button)
        box.addLayout(buttons)
        rl.addLayout(box)
        sidebar_layout(self, self.sessions, right)
        self.ask_button.clicked.connect(self.ask)
        self.stop_button.clicked.connect(self.stop)
        # Ctrl+Enter is the window's shortcut (asks on Chat, compares on Compare).
        QShortcut(QKeySequence("Ctrl+N"), self, lambda: self.open_session(None),
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.sessions.session_selected.connect(self.open_session)
        # Saved sessions are read just after the window's first paint (SQLite, milliseconds).
        QTimer.singleShot(0, self._load_sessions)

    def _load_sessions(self) -> None:
        """Fill the session list and reopen the chat the user had open last time."""
        last = self.ctx.state.last_session

        def reopen() -> None:
            if last is not None and self.sessions.current_id() == last and \
                    self.session_id is None and not self.turns:
                self.open_session(last)

        self.sessions.refresh(select=last, then=reopen)

    # -- sessions ---------------------------------------------------------------------------------
    def open_session(self, session_id: int | None) -> None:
        """Show a saved session (its turns become the history of the next question).

        The turns are read in the worker's quick lane; a reply that arrives after the user
        moved on to another chat is dropped.
        """
        if self.busy:
            self.stop()
        for turn in self.turns:
            self.transcript_layout.removeWidget(turn)
            turn.deleteLater()
        self.turns = []
        self.session_id = session_id
        self.ctx.state.last_session = session_id
        self.ctx.save()
        self.welcome.setVisible(session_id is None)
        if session_id is None:
            self.sessions.list.clearSelection()
            self.sessions.list.setCurrentItem(None)
            return

        def show(saved: list[ops.SavedTurn]) -> None:
            if self.session_id != session_id:
                return
            for i, t in enumerate(saved):  # before any question asked while they were read
                turn = self._add_turn(t.question, t.mode, t.adapter or "", index=i)
                turn.append(t.answer)
                turn.set_sources(t.sources, t.cited)
                turn.footer.setText(_stored_timing(t.timings))
            self.welcome.setVisible(not self.turns)
            self.session_shown.emit(session_id)

        self.ctx.executor.submit(ops.session_turns, session_id, label="Opening a chat",
                                 on_done=show, quick=True)

    def _add_turn(self, question: str, mode: str, detail: str,
                  index: int | None = None) -> TurnWidget:
        """A turn widget at ``index`` in the transcript (default: the end)."""
        turn = TurnWidget(question, mode, detail)
        turn.source_opened.connect(self.source_opened)
        index = len(self.turns) if index is None else index
        # the welcome label comes first in the layout, the stretch last
        self.transcript_layout.insertWidget(index + 1, turn)
        self.turns.insert(index, turn)
        self.welcome.hide()
        return turn

    # -- asking -----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.handle is not None and not self.handle.finished

    def focus_question(self) -> None:
        self.question.setFocus()
        self.question.selectAll()

    def ask(self) -> TaskHandle | None:
        """Send the question box's text in the current mode; returns the task handle."""
        question = self.question.toPlainText().strip()
        if not question or self.busy:
            return None
        ctx = self.ctx
        mode = ctx.mode
        detail = []
        if "rag" in mode:
            detail.append(f"collection {ctx.active_collection}")
        if "adapter" in mode and ctx.adapter:
            detail.append(f"adapter {ctx.adapter} ×{ctx.adapter_scale:g}")
        turn = self._add_turn(question, mode, ", ".join(detail))
        if ctx.executor.serial_busy:
            turn.set_waiting("Waiting for the running job to finish…")
        req = ops.AskRequest(question, mode, ctx.active_collection, ctx.adapter,
                             ctx.adapter_scale, self.session_id, ctx.settings_copy())
        self.question.clear()
        self.stop_button.setEnabled(True)
        self.ask_button.setEnabled(False)

        def on_event(event: tuple) -> None:
            kind, value = event
            if turn not in self.turns:  # another session was opened meanwhile
                return
            if kind == "session":  # the worker created this chat's session
                self.session_id = ctx.state.last_session = value
                ctx.save()
            elif kind == "sources":
                turn.set_sources(value)
            else:
                turn.append(value)
                self._scroll_to_end()

        def on_done(answer: object) -> None:
            if turn in self.turns:
                turn.finish(answer)
            self._done()
            self.sessions.refresh(select=self.session_id)
            self.answer_finished.emit(answer)

        def on_error(message: str) -> None:
            if turn in self.turns:
                turn.fail(message)
            self._done()

        def on_cancelled() -> None:
            if turn in self.turns:
                turn.fail("Stopped before the answer started")
            self._done()

        self.handle = ctx.executor.submit(ops.ask, req, label="Answering",
                                          on_event=on_event, on_done=on_done,
                                          on_error=on_error, on_cancelled=on_cancelled)
        self._scroll_to_end()
        return self.handle

    def stop(self) -> None:
        if self.handle is not None and not self.handle.finished:
            self.handle.cancel()

    def _done(self) -> None:
        self.stop_button.setEnabled(False)
        self.ask_button.setEnabled(True)
        self.handle = None

    def _scroll_to_end(self) -> None:
        bar = self.scroll.verticalScrollBar()
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()))


def _stored_timing(t: dict) -> str:
    if not t:
        return ""
    return (f"first token {t.get('ttft_ms', 0):.0f} ms · {t.get('completion_tokens', 0)} tokens "
            f"· total {t.get('total_ms', 0) / 1000:.1f} s")
