"""Compare: one question answered in all four modes, side by side, with sources and timings.

Why stream each column: four CPU answers take a while; showing each as it is generated (base,
RAG, then the adapter modes, in the engine's order that switches adapter weights once) keeps the
screen alive and lets the user stop early.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.modes import MODE_LABELS, MODES
from gui import ops
from gui.chat import timing_text
from gui.citations import CitationChip
from gui.context import AppContext
from gui.widgets import MODE_TIPS, FlowLayout, MarkdownView, hint
from gui.worker import TaskHandle


class ModeColumn(QFrame):
    """One mode's answer, its sources (chips) and its timings."""

    def __init__(self, mode: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = mode
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{MODE_LABELS[mode]}</b>")
        title.setToolTip(MODE_TIPS[mode])
        layout.addWidget(title)
        self.subtitle = hint(MODE_TIPS[mode])
        layout.addWidget(self.subtitle)
        self.view = MarkdownView()
        layout.addWidget(self.view)
        layout.addWidget(hint("Sources"))
        self.chips_box = QWidget()
        self.chips = FlowLayout(self.chips_box)
        layout.addWidget(self.chips_box)
        self.no_sources = hint("—")
        layout.addWidget(self.no_sources)
        self.timings = hint("")
        layout.addWidget(self.timings)
        layout.addStretch(1)
        self.text = ""
        self.answer = None

    def reset(self, note: str = "Waiting…") -> None:
        self.text = ""
        self.answer = None
        self.view.set_markdown("")
        self._clear_chips()
        self.no_sources.show()
        self.timings.setText(note)

    def _clear_chips(self) -> None:
        while self.chips.count():
            item = self.chips.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()

    def started(self, answer: object) -> None:
        self.timings.setText("Answering…")
        self._show_sources(answer.sources, None)  # type: ignore[attr-defined]

    def append(self, text: str) -> None:
        self.text += text
        self.view.set_markdown(self.text)

    def finish(self, answer: object) -> None:
        self.answer = answer
        if answer.error and not answer.text:  # type: ignore[attr-defined]
            self.view.set_markdown(f"_{answer.error}_")  # type: ignore[attr-defined]
            self.timings.setText("")
        else:
            self.view.set_markdown(answer.text or "_(no answer)_")  # type: ignore[attr-defined]
            self.timings.setText(("Stopped · " if answer.stopped else "")  # type: ignore
                                 + timing_text(answer).replace(" · ", "\n"))
        self._show_sources(answer.sources, answer.cited)  # type: ignore[attr-defined]

    def _show_sources(self, sources: list, cited: list[int] | None) -> None:
        self._clear_chips()
        for p in sources:
            chip = CitationChip(p, cited is None or p.n in cited)
            self.chips.addWidget(chip)
        self.no_sources.setVisible(not sources)


class CompareScreen(QWidget):
    """A question box and four columns, one per mode."""

    finished = Signal(list)  # list[engine.answer.Answer]

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.handle: TaskHandle | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.question = QLineEdit()
        self.question.setPlaceholderText("A question to answer in all four modes")
        self.question.setAcceptDrops(False)
        self.run_button = QPushButton("Compare")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        row.addWidget(self.question, 1)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.note = hint("")
        layout.addWidget(self.note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        grid = QGridLayout(holder)
        grid.setContentsMargins(0, 0, 0, 0)
        self.columns: dict[str, ModeColumn] = {}
        for i, mode in enumerate(MODES):
            column = ModeColumn(mode)
            column.reset("")
            grid.addWidget(column, 0, i, Qt.AlignmentFlag.AlignTop)
            grid.setColumnStretch(i, 1)
            self.columns[mode] = column
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self.run_button.clicked.connect(self.compare)
        self.question.returnPressed.connect(self.compare)
        self.stop_button.clicked.connect(self.stop)
        ctx.active_collection_changed.connect(lambda _n: self._update_note())
        ctx.adapter_changed.connect(lambda *_a: self._update_note())
        self._update_note()

    def _update_note(self) -> None:
        adapter = (f"adapter “{self.ctx.adapter}” ×{self.ctx.adapter_scale:g}"
                   if self.ctx.adapter else "no adapter active (adapter modes are skipped)")
        self.note.setText(f"RAG modes use the collection “{self.ctx.active_collection}”; "
                          f"{adapter}.")

    @property
    def busy(self) -> bool:
        return self.handle is not None and not self.handle.finished

    def compare(self) -> TaskHandle | None:
        question = self.question.text().strip()
        if not question or self.busy:
            return None
        ctx = self.ctx
        for column in self.columns.values():
            column.reset()
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        settings = ctx.settings_copy()
        collection, adapter, scale = ctx.active_collection, ctx.adapter, ctx.adapter_scale

        def on_event(event: tuple) -> None:
            mode, kind, value = event
            column = self.columns[mode]
            if kind == "started":
                column.started(value)
            elif kind == "text":
                column.append(value)
            else:
                column.finish(value)

        def done(answers: list) -> None:
            self._done()
            self.finished.emit(answers)

        self.handle = ctx.executor.submit(
            ops.compare, question, collection, adapter, scale, settings, MODES,
            label="Comparing modes", on_event=on_event, on_done=done,
            on_error=lambda _m: self._done(), on_cancelled=self._stopped)
        return self.handle

    def stop(self) -> None:
        if self.busy:
            self.handle.cancel()  # type: ignore[union-attr]

    def _stopped(self) -> None:
        for column in self.columns.values():
            if column.answer is None:
                column.timings.setText("Stopped")
        self._done()

    def _done(self) -> None:
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.handle = None
