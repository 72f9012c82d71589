"""Evaluate: run a question set through the modes and see the per-mode table and charts.

Why the charts are the report's PNGs: the engine already draws them (matplotlib, in the worker,
into the report folder); showing the same files means the screen and the report never disagree,
and the GUI thread only scales images. A run is resumable: cancelling keeps every finished answer
and running the same set again continues where it stopped (the engine's journal).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.modes import ADAPTER_MODES, MODE_LABELS, MODES
from gui import ops_lab
from gui.context import AppContext
from gui.widgets import hint, sidebar_layout, spin_box
from gui.worker import TaskHandle

SAMPLE_LABEL = "Sample questions about Halcyon Reach"
RATE_KEYS = {"hit_at_1", "hit_at_3", "hit_at_5", "mrr", "hit_at_5_file", "correct", "token_f1",
             "rouge_l", "similarity", "citation_correct", "cited"}


def fmt_value(key: str, value: object) -> str:
    if value is None:
        return "–"
    if key in RATE_KEYS and isinstance(value, (int, float)):
        return f"{value:.3f}"
    if key.endswith("_ms") and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


class EvaluateScreen(QWidget):
    finished = Signal(object)  # ops_lab.EvalOutcome

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.handle: TaskHandle | None = None
        self.outcome: ops_lab.EvalOutcome | None = None
        self.chart_pixmaps: list[QPixmap] = []
        # -- left: what to run
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<h3>Evaluate</h3>"))
        form = QFormLayout()
        qrow = QHBoxLayout()
        self.qa_combo = QComboBox()
        self.qa_combo.addItem(SAMPLE_LABEL, "sample")
        browse = QPushButton("Choose…")
        qrow.addWidget(self.qa_combo, 1)
        qrow.addWidget(browse)
        form.addRow("Question set", qrow)
        self.collection = QComboBox()
        form.addRow("Collection", self.collection)
        self.limit = spin_box(0, 100_000, special="all")
        form.addRow("Questions", self.limit)
        modes = QVBoxLayout()
        self.mode_boxes: dict[str, QCheckBox] = {}
        for mode in MODES:
            box = QCheckBox(MODE_LABELS[mode])
            box.setChecked(mode not in ADAPTER_MODES)  # adapter modes need an adapter
            modes.addWidget(box)
            self.mode_boxes[mode] = box
        form.addRow("Modes", modes)
        self.retrieval_only = QCheckBox("Score retrieval only (fast, no answers)")
        form.addRow("", self.retrieval_only)
        ll.addLayout(form)
        ll.addWidget(hint("Answers are greedy (temperature 0) so runs are comparable. Cancel "
                          "keeps finished answers: running the same set again continues."))
        row = QHBoxLayout()
        self.run_button = QPushButton("Run evaluation")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        ll.addLayout(row)
        ll.addStretch(1)
        # -- right: results
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        self.result_title = QLabel("No evaluation yet.")
        self.result_title.setWordWrap(True)
        self.open_button = QPushButton("Open report")
        self.open_button.setEnabled(False)
        head.addWidget(self.result_title, 1)
        head.addWidget(self.open_button)
        rl.addLayout(head)
        #: The mode advisor's sentence: which mode to use for this collection, with the numbers.
        self.advice = QLabel()
        self.advice.setWordWrap(True)
        self.advice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.advice.hide()
        rl.addWidget(self.advice)
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.notes = hint("")
        self.charts_area = QScrollArea()
        self.charts_area.setWidgetResizable(True)
        self.charts_area.setFrameShape(QFrame.Shape.NoFrame)
        self.charts_holder = QWidget()
        self.charts_layout = QGridLayout(self.charts_holder)
        self.charts_area.setWidget(self.charts_holder)
        results = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.table, 1)
        tl.addWidget(self.notes)
        results.addWidget(top)
        results.addWidget(self.charts_area)
        results.setSizes([330, 380])
        rl.addWidget(results, 1)
        sidebar_layout(self, left, right, (300, 700))
        browse.clicked.connect(self.choose_file)
        self.qa_combo.currentIndexChanged.connect(self._qa_changed)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_report)
        ctx.collections_changed.connect(lambda _c: self._fill_collections())
        ctx.adapter_changed.connect(lambda *_a: self._update_modes())
        #: Replaceable in tests (modal dialog / the desktop's file opener).
        self.ask_qa_file: Callable[[], str] = self._ask_qa_file
        self.open_url: Callable[[QUrl], object] = QDesktopServices.openUrl
        self._loaded = False
        self._fill_collections()
        self._update_modes()

    def showEvent(self, event: object) -> None:
        super().showEvent(event)
        if not self._loaded:
            self._loaded = True
            self.ctx.executor.submit(ops_lab.latest_report, label="Reading the last report",
                                     on_done=lambda o: o is not None and self.outcome is None
                                     and self.show_outcome(o))

    # -- inputs -----------------------------------------------------------------------------------
    def _fill_collections(self) -> None:
        names = [c.name for c in self.ctx.collections] or [self.ctx.active_collection]
        current = self.collection.currentText()
        self.collection.clear()
        self.collection.addItems(names)
        if self.qa_combo.currentData() == "sample" and "sample" in names:
            self.collection.setCurrentText("sample")
        elif current in names:
            self.collection.setCurrentText(current)

    def _qa_changed(self) -> None:
        if self.qa_combo.currentData() == "sample":
            self.collection.setCurrentText("sample")

    def _update_modes(self) -> None:
        """Adapter modes run the active adapter, each only if the adapter answers in it: a
        reader shown no passages answers from nothing, so its Adapter row would mislead."""
        name = self.ctx.adapter
        fits = ops_lab.adapter_modes(name) if name else ()
        for mode in ADAPTER_MODES:
            box = self.mode_boxes[mode]
            ok = mode in fits
            box.setEnabled(ok)
            if not ok:
                box.setChecked(False)
            box.setToolTip("" if ok else "Activate an adapter first" if not name else
                           f"The active adapter “{name}” reads passages: it answers in "
                           f"{MODE_LABELS[fits[0]]} mode")

    def choose_file(self) -> None:
        path = self.ask_qa_file()
        if path:
            self.qa_combo.addItem(os.path.basename(path), path)
            self.qa_combo.setCurrentIndex(self.qa_combo.count() - 1)

    def _ask_qa_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Question set", "",
                                              "Question sets (*.jsonl);;All files (*)")
        return path

    def qa_path(self) -> str:
        data = self.qa_combo.currentData()
        if data == "sample":
            from engine.samples import QA_SET_PATH

            return str(QA_SET_PATH)
        return str(data)

    # -- running ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.handle is not None and not self.handle.finished

    def run(self) -> TaskHandle | None:
        if self.running:
            return None
        modes = tuple(m for m, box in self.mode_boxes.items() if box.isChecked())
        if not modes:
            self.ctx.messages.error("choose at least one mode to evaluate")
            return None
        qa, collection = self.qa_path(), self.collection.currentText()
        limit = self.limit.value() or None
        retrieval_only = self.retrieval_only.isChecked()
        adapter, scale = self.ctx.adapter, self.ctx.adapter_scale
        settings = self.ctx.settings_copy()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

        def ended() -> None:
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)

        def done(outcome: ops_lab.EvalOutcome) -> None:
            ended()
            self.show_outcome(outcome)
            self.finished.emit(outcome)

        def cancelled() -> None:
            ended()
            self.result_title.setText("Cancelled. Finished answers are kept: run the same set "
                                      "again to continue.")

        self.handle = self.ctx.run_job(
            ops_lab.run_evaluation, qa, collection, modes, adapter, scale, limit,
            retrieval_only, settings, label="Evaluating", on_done=done,
            on_error=lambda _m: ended(), on_cancelled=cancelled)
        return self.handle

    def cancel(self) -> None:
        if self.running:
            self.handle.cancel()  # type: ignore[union-attr]

    # -- results ----------------------------------------------------------------------------------
    def show_outcome(self, outcome: ops_lab.EvalOutcome) -> None:
        """The per-mode table (metrics as rows, modes as columns), notes and the charts."""
        self.outcome = outcome
        meta = outcome.meta
        questions = meta.get("questions", "?")
        self.result_title.setText(f"<b>{questions} questions</b>, collection "
                                  f"{meta.get('collection', '?')} · {outcome.time_line}")
        self.advice.setText(f"<b>Recommendation:</b> {outcome.advice}" if outcome.advice else "")
        self.advice.setVisible(bool(outcome.advice))
        fields = ops_lab.summary_fields()
        keys = [k for k in fields if any(outcome.summary[m].get(k) is not None
                                         for m in outcome.modes)]
        self.table.clear()
        self.table.setRowCount(len(keys))
        self.table.setColumnCount(len(outcome.modes))
        self.table.setHorizontalHeaderLabels([MODE_LABELS.get(m, m) for m in outcome.modes])
        self.table.setVerticalHeaderLabels([fields[k] for k in keys])
        for i, key in enumerate(keys):
            for j, mode in enumerate(outcome.modes):
                item = QTableWidgetItem(fmt_value(key, outcome.summary[mode].get(key)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.notes.setText("\n".join(outcome.notes))
        while self.charts_layout.count():
            item = self.charts_layout.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.chart_pixmaps = []
        self.chart_labels: list[QLabel] = []
        for path in outcome.charts:
            pixmap = QPixmap(path)
            if pixmap.isNull():
                continue
            self.chart_pixmaps.append(pixmap)
            label = QLabel()
            label.setToolTip(os.path.basename(path))
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            n = len(self.chart_labels)
            self.charts_layout.addWidget(label, n // 2, n % 2)
            self.chart_labels.append(label)
        self._fit_charts()
        self.open_button.setEnabled(True)

    def _fit_charts(self) -> None:
        """Two charts per row, scaled to the space there is (scaling only, on the GUI thread)."""
        width = max(160, (self.charts_area.viewport().width() - 24) // 2)
        for label, pixmap in zip(getattr(self, "chart_labels", []), self.chart_pixmaps,
                                 strict=False):
            label.setPixmap(pixmap.scaledToWidth(min(width, pixmap.width()),
                                                 Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)
        self._fit_charts()

    def open_report(self) -> None:
        if self.outcome is None:
            return
        summary = os.path.join(self.outcome.report_dir, "summary.md")
        target = summary if os.path.exists(summary) else self.outcome.report_dir
        self.open_url(QUrl.fromLocalFile(target))
