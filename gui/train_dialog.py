"""The train dialog: choose the data (with a preview), a preset, see the estimate; then watch the
loss curve (held-out too), tokens/s and ETA, cancel and resume.

Why two steps: training costs minutes to hours of CPU; the user should see what the model will
learn and how long it will take before paying for it, which is what the engine's
``prepare`` (data, packing, estimate; no model load) gives. The run itself goes through the
shared worker as a job, so it also shows in the window's job strip when this dialog is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from engine.jobs import JobState, format_eta
from gui import ops_lab
from gui.context import AppContext
from gui.lossplot import LossCurve
from gui.widgets import hint, spin_box
from gui.worker import TaskHandle

#: The kinds of adapter trained from a collection, the one for RAG+adapter first (the default).
KINDS = (
    ("reader", "Answer from my documents — reads and cites the passages search finds "
               "(for RAG+adapter; drafts questions first)"),
    ("knowledge", "Know my documents — learns every fact to answer without search "
                  "(for Adapter mode; drafts questions about each fact first: the longest)"),
    ("text", "Documents' text — continued pre-training on the raw text"),
)

PRESET_NOTES = {
    "quick": "a few minutes: learns the documents' vocabulary and main facts",
    "balanced": "longer: rank 16, more steps, stops early when held-out loss stalls",
    "thorough": "much longer: rank 32, up to 1,500 steps; for bigger document sets",
}


class TrainDialog(QDialog):
    """Non-modal: closing it while training keeps the run going (see the job strip)."""

    trained = Signal(object)  # engine.train.TrainResult
    progressed = Signal(object)  # JobState, after the widgets were updated

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Train an adapter")
        self.setModal(False)
        self.resize(720, 560)
        self.prepared: ops_lab.PreparedRun | None = None
        self.handle: TaskHandle | None = None
        self.stopped_at: int | None = None
        self.pages = QStackedWidget()
        self.pages.addWidget(self._setup_page())
        self.pages.addWidget(self._progress_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        #: Replaceable in tests (modal file dialog).
        self.ask_data_file: Callable[[], str] = self._ask_data_file

    # -- page 1: data, preset, estimate -----------------------------------------------------------
    def _setup_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("<b>What should the adapter learn from?</b>"))
        grid = QGridLayout()
        self.from_collection = QRadioButton("Documents in a collection")
        self.from_file = QRadioButton("Question–answer pairs (JSONL or CSV)")
        group = QButtonGroup(self)
        group.addButton(self.from_collection)
        group.addButton(self.from_file)
        self.from_collection.setChecked(True)
        self.collection = QComboBox()
        self.data_file = QLineEdit()
        self.data_file.setPlaceholderText("question/answer, prompt/completion or messages")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.kind.setToolTip("A reader adapter is trained on the exact prompt Satchel answers "
                             "from (question + numbered passages) and learns to name the "
                             "answer, quote it and cite the passage that holds it")
        grid.addWidget(self.from_collection, 0, 0)
        grid.addWidget(self.collection, 0, 1, 1, 2)
        grid.addWidget(self.kind, 1, 1, 1, 2)
        grid.addWidget(self.from_file, 2, 0)
        grid.addWidget(self.data_file, 2, 1)
        grid.addWidget(browse, 2, 2)
        layout.addLayout(grid)
        form = QFormLayout()
        self.preset = QComboBox()
        for name in ("quick", "balanced", "thorough"):
            self.preset.addItem(f"{name.capitalize()} — {PRESET_NOTES[name]}", name)
        self.steps = spin_box(0, 100_000, special="as the preset says")
        self.seq_len = spin_box(0, 8192, 64, special="as the preset says")
        self.seq_len.setToolTip("Tokens per training block: shorter blocks make each step "
                                "faster, but every example must fit in one")
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (from the data source)")
        form.addRow("Preset", self.preset)
        form.addRow("Steps", self.steps)
        form.addRow("Sequence length", self.seq_len)
        form.addRow("Adapter name", self.name)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.check_button = QPushButton("Check data and estimate")
        row.addWidget(self.check_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(QLabel("Preview of the training examples"))
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        layout.addWidget(self.preview, 1)
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        layout.addWidget(self.plan_label)
        self.estimate_label = QLabel()
        layout.addWidget(self.estimate_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Start training")
        self.start_button.setEnabled(False)
        self.resume_setup_button = QPushButton("Resume")
        self.resume_setup_button.hide()
        close = QPushButton("Close")
        buttons.addWidget(self.resume_setup_button)
        buttons.addWidget(self.start_button)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.check_button.clicked.connect(self.check)
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_setup_button.clicked.connect(lambda: self.start(resume=True))
        close.clicked.connect(self.close)
        for w in (self.from_collection, self.from_file):
            w.toggled.connect(self._invalidate)
        self.collection.currentIndexChanged.connect(self._invalidate)
        self.kind.currentIndexChanged.connect(self._invalidate)
        self.from_collection.toggled.connect(self.kind.setEnabled)
        self.data_file.textChanged.connect(self._invalidate)
        self.preset.currentIndexChanged.connect(self._invalidate)
        self.steps.valueChanged.connect(self._invalidate)
        self.seq_len.valueChanged.connect(self._invalidate)
        self.name.textChanged.connect(self._invalidate)
        return page

    def set_collections(self, names: list[str], active: str) -> None:
        current = self.collection.currentText() or active
        self.collection.blockSignals(True)
        self.collection.clear()
        self.collection.addItems(names)
        self.collection.setCurrentText(current if current in names else active)
        self.collection.blockSignals(False)

    def _browse(self) -> None:
        path = self.ask_data_file()
        if path:
            self.data_file.setText(path)
            self.from_file.setChecked(True)

    def _ask_data_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Training pairs", "",
                                              "Pairs (*.jsonl *.csv);;All files (*)")
        return path

    def _invalidate(self, *_args: Any) -> None:
        if self.handle is None or self.handle.finished:
            self.prepared = None
            self.start_button.setEnabled(False)
            self.resume_setup_button.hide()
            self.estimate_label.setText("")

    def check(self) -> TaskHandle:
        """Prepare the run in the worker: data, packing, estimate, resumable checkpoint."""
        collection = self.collection.currentText() if self.from_collection.isChecked() else None
        data_file = self.data_file.text().strip() if self.from_file.isChecked() else None
        kind = self.kind.currentData() if collection else "pairs"
        preset = self.preset.currentData()
        name = self.name.text().strip() or None
        steps = self.steps.value() or None
        seq_len = self.seq_len.value() or None
        settings = self.ctx.settings_copy()
        self.check_button.setEnabled(False)
        self.plan_label.setText(
            "Drafting questions and building examples in the answer prompt format (a few "
            "minutes)…" if kind == "reader" else
            "Drafting questions about every fact of the documents (a few minutes for a dozen "
            "documents)…" if kind == "knowledge" else "Reading and tokenizing the data…")

        def done(prepared: ops_lab.PreparedRun) -> None:
            self.check_button.setEnabled(True)
            self.prepared = prepared
            self.preview.setPlainText("\n\n".join(prepared.preview))
            self.plan_label.setText(prepared.describe)
            self.estimate_label.setText(f"<b>Estimated duration: "
                                        f"{format_eta(prepared.estimate_s)}</b>")
            self.start_button.setEnabled(True)
            step = prepared.checkpoint_step
            self.resume_setup_button.setVisible(step is not None)
            if step is not None:
                self.resume_setup_button.setText(f"Resume from step {step}")

        def failed(message: str) -> None:
            self.check_button.setEnabled(True)
            self.plan_label.setText(message)

        return self.ctx.executor.submit(
            ops_lab.prepare_training, collection, data_file, preset, name, steps, settings,
            seq_len, False, kind, label="Preparing the training data", on_done=done,
            on_error=failed)

    # -- page 2: the run --------------------------------------------------------------------------
    def _progress_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.run_title = QLabel()
        layout.addWidget(self.run_title)
        self.curve = LossCurve()
        layout.addWidget(self.curve, 1)
        stats = QGridLayout()
        self.stat_labels: dict[str, QLabel] = {}
        for i, (key, label) in enumerate((("step", "Step"), ("loss", "Loss"),
                                          ("heldout", "Held-out loss"),
                                          ("tps", "Tokens/s"), ("eta", "ETA"))):
            stats.addWidget(hint(label), 0, i)
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            stats.addWidget(value, 1, i)
            self.stat_labels[key] = value
        layout.addLayout(stats)
        self.run_status = QLabel()
        self.run_status.setWordWrap(True)
        layout.addWidget(self.run_status)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; a checkpoint is kept")
        self.resume_button = QPushButton("Resume")
        self.resume_button.hide()
        self.back_button = QPushButton("New run…")
        self.back_button.hide()
        close = QPushButton("Close")
        for b in (self.cancel_button, self.resume_button, self.back_button, close):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.back_button.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        close.clicked.connect(self.close)
        return page

    @property
    def running(self) -> bool:
        return self.handle is not None and not self.handle.finished

    def start(self, resume: bool = False) -> TaskHandle | None:
        prepared = self.prepared
        if prepared is None or self.running:
            return None
        self.pages.setCurrentIndex(1)
        self.run_title.setText(f"<b>Training “{prepared.name}”</b> — {prepared.steps} "
                               f"steps, estimated {format_eta(prepared.estimate_s)}")
        if not resume:
            self.curve.clear(prepared.steps)
        self.curve.total_steps = prepared.steps
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()
        self.resume_button.hide()
        self.back_button.hide()
        self.run_status.setText("Starting…")
        self._last_heldout: float | None = None

        def done(result: Any) -> None:
            m = result.metrics
            before = m.get("heldout_loss_before")
            if before is not None and not any(step == 0 for step, _ in self.curve.heldout):
                self.curve.heldout.insert(0, (0, float(before)))  # where training started from
                self.curve.update()
            self.stopped_at = None
            self.cancel_button.hide()
            self.back_button.show()
            def ppl(key: str) -> str:
                value = m.get(key)
                return f"{value:,.1f}" if isinstance(value, (int, float)) else "?"

            self.run_status.setText(
                f"Saved adapter “{result.adapter.name}”: held-out perplexity "
                f"{ppl('heldout_ppl_before')} → {ppl('heldout_ppl_after')}, control "
                f"{ppl('control_ppl_before')} → {ppl('control_ppl_after')} (lower is better; "
                "a rising control means the model forgets general text — use a scale below 1)."
                + (" Stopped early: held-out loss stopped improving." if result.stopped_early
                   else ""))
            self.trained.emit(result)

        def cancelled() -> None:
            self.stopped_at = int(self.curve.train[-1][0]) if self.curve.train else 0
            self.cancel_button.hide()
            self.resume_button.show()
            self.back_button.show()
            self.resume_button.setText(f"Resume from step {self.stopped_at}")
            self.run_status.setText("Cancelled. The run was checkpointed: Resume continues "
                                    "where it stopped.")

        def failed(message: str) -> None:
            self.cancel_button.hide()
            self.back_button.show()
            self.run_status.setText(message)

        self.handle = self.ctx.run_job(
            ops_lab.run_training, prepared.plan_id, resume,
            label=f"Training adapter “{prepared.name}”", on_done=done, on_error=failed,
            on_cancelled=cancelled, on_progress=self._progress)
        return self.handle

    def _progress(self, state: JobState) -> None:
        m = state.metrics
        step = state.done
        prepared = self.prepared
        if "loss" in m and state.total:
            self.curve.add_train(step, float(m["loss"]))
        held = m.get("heldout_loss")
        if held is not None and prepared is not None and (
                held != self._last_heldout or step % prepared.eval_every == 0):
            self.curve.add_heldout(step, float(held))
            self._last_heldout = held
        if state.total:
            self.stat_labels["step"].setText(f"{step:g} / {state.total:g}")
        if "loss" in m:
            self.stat_labels["loss"].setText(f"{m['loss']:.3f}")
        if held is not None:
            self.stat_labels["heldout"].setText(f"{held:.3f}")
        if "tokens_per_s" in m:
            self.stat_labels["tps"].setText(f"{m['tokens_per_s']:.0f}")
        if state.total and step:
            self.stat_labels["eta"].setText(format_eta(state.eta_s))
        self.run_status.setText("Cancelling after this step…" if state.cancelled
                                else state.status)
        self.progressed.emit(state)

    def cancel(self) -> None:
        if self.running:
            self.handle.cancel()  # type: ignore[union-attr]
            self.cancel_button.setEnabled(False)
            self.run_status.setText("Cancelling after this step…")
