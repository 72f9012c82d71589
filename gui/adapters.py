"""Adapters: the trained LoRA adapters (activate, scale, delete) and the way into training.

Why the list checks compatibility: llama.cpp would load an adapter trained on another model file
if the shapes happen to fit and quietly produce nonsense; the engine's manifest check says why an
adapter does not fit the model in use, and the screen shows it before the user activates it.
Activating only records the choice (name, scale); the engine loads and switches the adapter when
an answer needs it, which costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.modes import MODE_LABELS
from gui import ops_lab
from gui.context import AppContext
from gui.train_dialog import TrainDialog
from gui.widgets import hint

COLUMNS = ("Adapter", "Trained on", "Data", "Held-out perplexity", "Control perplexity",
           "Created", "Status")


def _ppl(metrics: dict, kind: str) -> str:
    before, after = metrics.get(f"{kind}_ppl_before"), metrics.get(f"{kind}_ppl_after")
    if before is None or after is None:
        return "–"
    return f"{before:,.1f} → {after:,.1f}"


class AdaptersScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[ops_lab.AdapterRow] = []
        self.dialog: TrainDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel("<h3>Adapters</h3>"))
        top.addStretch(1)
        self.train_button = QPushButton("Train a new adapter…")
        top.addWidget(self.train_button)
        layout.addLayout(top)
        layout.addWidget(hint("A LoRA adapter teaches the model your documents' vocabulary and "
                              "facts, trained here on the CPU. Use it with the Adapter and "
                              "RAG+Adapter modes, and check on Compare and Evaluate whether it "
                              "helps."))
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.
                                                           ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.empty = hint("No adapters yet: train one from your documents with “Train a new "
                          "adapter…”.")
        layout.addWidget(self.empty)
        row = QHBoxLayout()
        row.addWidget(QLabel("Scale"))
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.0, 2.0)
        self.scale.setSingleStep(0.1)
        self.scale.setValue(ctx.adapter_scale)
        self.scale.setToolTip("How strongly the adapter changes the model: below 1 keeps more of "
                              "its general knowledge")
        row.addWidget(self.scale)
        self.activate_button = QPushButton("Activate")
        self.deactivate_button = QPushButton("Deactivate")
        self.delete_button = QPushButton("Delete")
        for b in (self.activate_button, self.deactivate_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        self.active_label = QLabel()
        row.addWidget(self.active_label)
        layout.addLayout(row)
        self.train_button.clicked.connect(self.open_training)
        self.activate_button.clicked.connect(self.activate_selected)
        self.deactivate_button.clicked.connect(lambda: self.ctx.set_adapter(None))
        self.delete_button.clicked.connect(self.delete_selected)
        self.scale.valueChanged.connect(self._scale_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        ctx.adapter_changed.connect(lambda *_a: self._show())
        ctx.settings_changed.connect(self.refresh)
        #: Replaceable in tests (modal dialog).
        self.confirm: Callable[[str], bool] = self._confirm
        self._loaded = False
        self._show()

    def showEvent(self, event: object) -> None:
        super().showEvent(event)
        if not self._loaded:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the adapter store in the worker (manifests, compatibility with the model)."""
        self._loaded = True
        model = self.ctx.settings.model_path

        def done(rows: list[ops_lab.AdapterRow]) -> None:
            self.rows = rows
            names = {r.name for r in rows}
            if self.ctx.adapter and self.ctx.adapter not in names:
                self.ctx.set_adapter(None)
            self._show()

        self.ctx.executor.submit(ops_lab.list_adapters, model,
                                 label="Reading adapters", on_done=done)

    def _show(self) -> None:
        selected = self.selected_name()
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            active = r.name == self.ctx.adapter
            status = f"active ×{self.ctx.adapter_scale:g}" if active else (
                "ready" if r.compatible else "does not fit this model")
            cells = (r.name, r.base_model, r.source, _ppl(r.metrics, "heldout"),
                     _ppl(r.metrics, "control"), r.created, status)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, r.name)
                if not r.compatible:
                    item.setToolTip(r.problem)
                font = item.font()
                font.setBold(active)
                item.setFont(font)
                self.table.setItem(i, j, item)
            if r.name == selected:
                self.table.selectRow(i)
        self.empty.setVisible(not self.rows)
        adapter = self.ctx.adapter
        self.active_label.setText(f"Active: {adapter} ×{self.ctx.adapter_scale:g}" if adapter
                                  else "No adapter active")
        self._update_buttons()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def select(self, name: str) -> None:
        for i, r in enumerate(self.rows):
            if r.name == name:
                self.table.selectRow(i)

    def _update_buttons(self) -> None:
        name = self.selected_name()
        row = next((r for r in self.rows if r.name == name), None)
        self.activate_button.setEnabled(row is not None and row.compatible)
        self.delete_button.setEnabled(row is not None)
        self.deactivate_button.setEnabled(self.ctx.adapter is not None)

    def activate_selected(self) -> None:
        name = self.selected_name()
        if name:
            self.ctx.set_adapter(name, self.scale.value())
            mode = next((r.mode for r in self.rows if r.name == name), "adapter")
            self.ctx.messages.info(f"Adapter “{name}” is active: ask in {MODE_LABELS[mode]} "
                                   "mode to use it.")

    def _scale_changed(self, value: float) -> None:
        if self.ctx.adapter:
            self.ctx.set_adapter(self.ctx.adapter, value)

    def delete_selected(self) -> None:
        name = self.selected_name()
        if not name or not self.confirm(f"Delete the adapter “{name}”? This cannot be undone."):
            return
        if name == self.ctx.adapter:
            self.ctx.set_adapter(None)
        self.ctx.executor.submit(ops_lab.delete_adapter, name,
                                 label="Deleting an adapter", on_done=lambda _n: self.refresh())

    def _confirm(self, text: str) -> bool:
        return QMessageBox.question(self, "Satchel", text) == QMessageBox.StandardButton.Yes

    # -- training ---------------------------------------------------------------------------------
    def open_training(self) -> TrainDialog:
        """Show the train dialog (the same one while a run is going)."""
        if self.dialog is None:
            self.dialog = TrainDialog(self.ctx, self)
            self.dialog.trained.connect(self._trained)
        names = [c.name for c in self.ctx.collections] or [self.ctx.active_collection]
        self.dialog.set_collections(names, self.ctx.active_collection)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _trained(self, result: object) -> None:
        from models.adapters import mode_for

        entry = result.adapter  # type: ignore[attr-defined]
        self.ctx.messages.info(f"Adapter “{entry.name}” is trained; select it and press "
                               f"Activate, then ask in {MODE_LABELS[mode_for(entry)]} mode.")
        self.refresh()
