"""Settings: the model (any GGUF, with its metadata), generation, retrieval, chunking, the API.

Why it reads model files in the worker: a GGUF header parse walks the tensor table (and a user's
model may be many GB on a slow disk); the form stays responsive and shows the metadata when it
arrives. Changes that invalidate the index (chunk size, overlap, embedder) are called out, with a
button to re-index right away; the engine rebuilds a collection for new chunking on its next run.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.llm_weights import wants_copy
from engine.settings import Settings
from gui import ops
from gui.context import AppContext
from gui.scale_panel import ScalePanel
from gui.server_panel import ServerPanel
from gui.widgets import form_group, hint, spin_box

REINDEX_FIELDS = ("chunk_tokens", "chunk_overlap", "embedder")
BUNDLED_EMBEDDER = "all-MiniLM-L6-v2 (bundled)"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def model_metadata(entry: Any) -> list[tuple[str, str]]:
    """Label/value rows for a models.store.ModelEntry (or its error)."""
    if entry is None:
        return []
    if entry.info is None:
        return [("Problem", entry.error or "unreadable")]
    i = entry.info
    params = f"{i.parameters / 1e6:.0f} M" if i.parameters < 1e9 else f"{i.parameters / 1e9:.1f} B"
    template = "yes" if i.has_chat_template else "no: probably a base model, answers may be poor"
    quant = i.quantization or "?"
    if wants_copy(i.quantization, i.size_bytes):
        quant += " (runs as a Q8_0 copy: prompts are read 1.6x faster)"
    return [("File", os.path.basename(i.path)), ("Architecture", i.architecture),
            ("Parameters", params), ("Quantization", quant),
            ("Context length", f"{i.context_length:,}" if i.context_length else "?"),
            ("Layers / width", f"{i.block_count} / {i.embedding_length}"),
            ("Chat template", template), ("Size on disk", human_size(i.size_bytes))]


class SettingsScreen(QWidget):
    saved = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.models: list[Any] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        # -- model
        model_box = QGroupBox("Language model")
        ml = QVBoxLayout(model_box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setMinimumWidth(320)
        self.add_model_button = QPushButton("Add a GGUF file…")
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.add_model_button)
        ml.addLayout(row)
        self.meta_form = QFormLayout()
        ml.addLayout(self.meta_form)
        layout.addWidget(model_box)
        # -- generation
        gen_box, gf = form_group("Generation")
        self.threads = spin_box(0, 256, special="Automatic (one per core)")
        self.threads.setMinimumWidth(220)
        self.n_ctx = spin_box(256, 1_048_576, 256)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.05)
        self.max_tokens = spin_box(1, 8192)
        self.copy_bias = QDoubleSpinBox()
        self.copy_bias.setRange(0.0, 20.0)
        self.copy_bias.setSingleStep(0.5)
        self.copy_bias.setSpecialValueText("Off")
        self.copy_bias.setToolTip("How strongly answers from documents keep to the passages' "
                                  "own words (names, numbers, codes); a reader adapter's a "
                                  "quarter more. 0 turns it off.")
        gf.addRow("Threads", self.threads)
        gf.addRow("Context size (tokens)", self.n_ctx)
        gf.addRow("Temperature", self.temperature)
        gf.addRow("Longest answer (tokens)", self.max_tokens)
        gf.addRow("Quote the passages", self.copy_bias)
        layout.addWidget(gen_box)
        # -- retrieval and chunking
        ret_box, rf = form_group("Retrieval and indexing")
        self.top_k = spin_box(1, 50)
        self.top_k.setToolTip("A reader adapter (\"answer from my documents\") keeps the "
                              "passages it was trained on; retrain it to use a new count")
        self.retrieval_mode = QComboBox()
        self.retrieval_mode.addItems(["hybrid", "vector", "text"])
        self.chunk_tokens = spin_box(16, 8192)
        self.chunk_overlap = spin_box(0, 4096)
        erow = QHBoxLayout()
        self.embedder = QComboBox()
        self.embedder_button = QPushButton("Choose folder…")
        erow.addWidget(self.embedder, 1)
        erow.addWidget(self.embedder_button)
        rf.addRow("Passages per answer (top-k)", self.top_k)
        rf.addRow("Search", self.retrieval_mode)
        rf.addRow("Chunk size (tokens)", self.chunk_tokens)
        rf.addRow("Chunk overlap (tokens)", self.chunk_overlap)
        rf.addRow("Embedder", erow)
        self.ocr = QCheckBox("Read scanned PDF pages and images with OCR (Tesseract; slow: "
                             "seconds per page)")
        rf.addRow("Scans", self.ocr)
        layout.addWidget(ret_box)
        self.reindex_note = QLabel()
        self.reindex_note.setWordWrap(True)
        layout.addWidget(self.reindex_note)
        self.reindex_button = QPushButton("Re-index the active collection now")
        self.reindex_button.hide()
        layout.addWidget(self.reindex_button)
        self.server = ServerPanel()
        layout.addWidget(self.server)
        self.scale = ScalePanel()
        layout.addWidget(self.scale)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        self.status = hint("")
        buttons.addWidget(self.status, 1)
        self.revert_button = QPushButton("Revert")
        self.save_button = QPushButton("Save")
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)
        # -- wiring
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.load_from_settings)
        self.add_model_button.clicked.connect(self.add_model)
        self.embedder_button.clicked.connect(self.choose_embedder)
        self.model_combo.currentIndexChanged.connect(lambda _i: self._show_metadata())
        for spin in (self.chunk_tokens, self.chunk_overlap):
            spin.valueChanged.connect(lambda _v: self._update_reindex_note())
        self.embedder.currentIndexChanged.connect(lambda _i: self._update_reindex_note())
        self.reindex_button.clicked.connect(self._reindex)
        #: Replaceable in tests (modal file dialogs).
        self.ask_model_file: Callable[[], str] = self._ask_model_file
        self.ask_embedder_folder: Callable[[], str] = self._ask_embedder_folder
        self.reindex_requested: Callable[[str], object] | None = None
        self._models_loaded = False
        self.load_from_settings()

    # -- loading ----------------------------------------------------------------------------------
    def load_from_settings(self) -> None:
        s = self.ctx.settings
        self.threads.setValue(s.n_threads)
        self.n_ctx.setValue(s.n_ctx)
        self.temperature.setValue(s.temperature)
        self.max_tokens.setValue(s.max_answer_tokens)
        self.copy_bias.setValue(s.copy_bias)
        self.top_k.setValue(s.top_k)
        self.retrieval_mode.setCurrentText(s.retrieval_mode)
        self.chunk_tokens.setValue(s.chunk_tokens)
        self.chunk_overlap.setValue(s.chunk_overlap)
        self.ocr.setChecked(s.ocr)
        self.server.load(s)
        self.scale.load(s)
        self.embedder.blockSignals(True)
        self.embedder.clear()
        self.embedder.addItem(BUNDLED_EMBEDDER, None)
        if s.embedder:
            self.embedder.addItem(s.embedder, s.embedder)
            self.embedder.setCurrentIndex(1)
        self.embedder.blockSignals(False)
        self.status.setText("")
        self._update_reindex_note()
        if self._models_loaded:
            self.refresh_models()

    def showEvent(self, event: object) -> None:
        """Read the model files the first time the screen is shown (not at window start-up)."""
        super().showEvent(event)
        if not self._models_loaded:
            self._models_loaded = True
            self.refresh_models()

    def refresh_models(self, select: str | None = None) -> None:
        def done(models: list[Any]) -> None:
            self.models = models
            wanted = select or self.ctx.settings.model_path
            self.model_combo.blockSignals(True)
            self.model_combo.clear()
            for entry in models:
                label = entry.name + ("" if entry.info else "  (unusable)")
                self.model_combo.addItem(label, None if entry.bundled else entry.path)
                if (entry.bundled and not wanted) or (wanted and entry.path == wanted):
                    self.model_combo.setCurrentIndex(self.model_combo.count() - 1)
            self.model_combo.blockSignals(False)
            self._show_metadata()

        self.ctx.executor.submit(ops.list_models, label="Reading models", on_done=done)

    def current_entry(self) -> Any:
        i = self.model_combo.currentIndex()
        return self.models[i] if 0 <= i < len(self.models) else None

    def _show_metadata(self) -> None:
        while self.meta_form.rowCount():
            self.meta_form.removeRow(0)
        for label, value in model_metadata(self.current_entry()):
            text = QLabel(value)
            text.setWordWrap(True)
            self.meta_form.addRow(label, text)

    def metadata(self) -> dict[str, str]:
        return dict(model_metadata(self.current_entry()))

    # -- editing ----------------------------------------------------------------------------------
    def edited(self) -> Settings:
        """The settings as the form shows them (not saved yet)."""
        s = copy.deepcopy(self.ctx.settings)
        s.model_path = self.model_combo.currentData()
        s.n_threads = self.threads.value()
        s.n_ctx = self.n_ctx.value()
        s.temperature = round(self.temperature.value(), 3)
        s.max_answer_tokens = self.max_tokens.value()
        s.copy_bias = round(self.copy_bias.value(), 2)
        s.top_k = self.top_k.value()
        s.retrieval_mode = self.retrieval_mode.currentText()
        s.chunk_tokens = self.chunk_tokens.value()
        s.chunk_overlap = self.chunk_overlap.value()
        s.embedder = self.embedder.currentData()
        s.ocr = self.ocr.isChecked()
        self.server.apply(s)
        self.scale.apply(s)
        return s

    def needs_reindex(self, new: Settings | None = None) -> bool:
        new = new or self.edited()
        return any(getattr(new, f) != getattr(self.ctx.settings, f) for f in REINDEX_FIELDS)

    def _update_reindex_note(self) -> None:
        if self.needs_reindex():
            self.reindex_note.setText("⚠ Chunk size, overlap and embedder decide how documents "
                                      "are indexed: after saving, collections must be re-indexed "
                                      "(each is rebuilt the next time it is indexed).")
        else:
            self.reindex_note.setText("")

    def save(self) -> None:
        new = self.edited()
        problems = new.validate()
        if problems:
            self.ctx.messages.error(problems[0])
            return
        reindex = self.needs_reindex(new)
        ocr_on = new.ocr and not self.ctx.settings.ocr  # scans read without OCR can be read now
        self.ctx.apply_settings(new)
        self.status.setText("Saved.")
        self._update_reindex_note()
        self.reindex_button.setVisible(reindex or ocr_on)
        if reindex:
            self.ctx.messages.warning("The new chunking or embedder applies to new indexing: "
                                      "re-index your collections to use it.")
        elif ocr_on:
            self.ctx.messages.info("OCR is on: re-index a collection to read the scanned pages "
                                   "and images it holds that were left unread.")
        self.saved.emit()

    def _reindex(self) -> None:
        self.reindex_button.hide()
        if self.reindex_requested is not None:
            self.reindex_requested(self.ctx.active_collection)

    def add_model(self) -> None:
        path = self.ask_model_file()
        if not path:
            return

        def done(entry: Any) -> None:
            self.ctx.messages.info(f"Added {entry.name}; press Save to use it.")
            self.refresh_models(select=entry.path)

        self.ctx.executor.submit(ops.register_model, path, label="Reading a model",
                                 on_done=done)

    def choose_embedder(self) -> None:
        folder = self.ask_embedder_folder()
        if not folder:
            return

        def done(result: tuple[str, str]) -> None:
            name, resolved = result
            self.embedder.addItem(f"{name} ({resolved})", resolved)
            self.embedder.setCurrentIndex(self.embedder.count() - 1)

        self.ctx.executor.submit(ops.embedder_info, folder,
                                 label="Checking an embedder", on_done=done)

    def _ask_model_file(self) -> str:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", os.path.expanduser("~"),
                                              "GGUF models (*.gguf);;All files (*)")
        return path

    def _ask_embedder_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Choose a sentence-transformers folder")
