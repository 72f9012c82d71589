"""Library: collections, indexing with per-file status, watched folders, remove and re-index.

Indexing runs in the worker with the engine's Job driving the window's progress strip (ETA,
Cancel); the table (:mod:`gui.files_model`) lists files as the indexer finishes them, and what each
one became (indexed, unchanged, failed with the reason, skipped) when the run ends.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui import ops
from gui.context import AppContext
from gui.files_model import FilesModel
from gui.state import SAMPLE_COLLECTION, USER_COLLECTION
from gui.widgets import hint, sidebar_layout


class LibraryScreen(QWidget):
    """Collections on the left; files, indexing and watched folders on the right."""

    indexed = Signal(object)  # ops.IndexOutcome

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.watchers: dict[str, Any] = {}  # folder -> engine.watch.FolderWatcher
        # Watcher callbacks come from watchdog's thread; widgets may only be touched on the GUI
        # thread, so the changed folder is queued and picked up here by a timer.
        self._changes: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._watch_timer = QTimer(self)
        self._watch_timer.setInterval(250)
        self._watch_timer.timeout.connect(self._drain_changes)
        self._pending_new: list[str] = []
        self.index_handle = None
        self._indexing_into: str | None = None  # the collection of the run being shown
        self._live: Any = None  # the run whose finished files the table lists
        self._started = False  # nothing touches the index before start-up (window first)
        self._table_collection: str | None = None  # whose files the table shows
        # -- collections sidebar
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(QLabel("<b>Collections</b>"))
        self.collections = QListWidget()
        sl.addWidget(self.collections, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New…")
        self.remove_button = QPushButton("Remove")
        self.reindex_button = QPushButton("Re-index")
        self.reindex_button.setToolTip("Scan this collection's files and folders again: new "
                                       "and changed files are indexed, files read by an earlier "
                                       "version of Satchel are read again (also needed after "
                                       "changing chunk size or embedder)")
        for b in (self.new_button, self.remove_button, self.reindex_button):
            row.addWidget(b)
        sl.addLayout(row)
        # -- main area
        main = QWidget()
        ml = QVBoxLayout(main)
        ml.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        ml.addWidget(self.header)
        actions = QHBoxLayout()
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.setToolTip("Index files into this collection (Ctrl+O)")
        self.add_folder_button = QPushButton("Add folder…")
        actions.addWidget(self.add_files_button)
        actions.addWidget(self.add_folder_button)
        self.drop_hint = hint("")
        actions.addWidget(self.drop_hint, 1)
        ml.addLayout(actions)
        self.table_title = QLabel()
        ml.addWidget(self.table_title)
        self.model = FilesModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideLeft)  # paths: keep their ends
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 230)
        header.resizeSection(1, 110)
        header.resizeSection(2, 290)
        header.resizeSection(3, 200)
        ml.addWidget(self.table, 1)
        watch_box = QGroupBox("Watched folders (re-indexed automatically when files change)")
        wl = QHBoxLayout(watch_box)
        self.watched = QListWidget()
        self.watched.setMaximumHeight(90)
        wl.addWidget(self.watched, 1)
        wb = QVBoxLayout()
        self.watch_button = QPushButton("Watch folder…")
        self.unwatch_button = QPushButton("Stop watching")
        wb.addWidget(self.watch_button)
        wb.addWidget(self.unwatch_button)
        wb.addStretch(1)
        wl.addLayout(wb)
        ml.addWidget(watch_box)
        sidebar_layout(self, side, main)
        # -- wiring
        self.collections.currentItemChanged.connect(self._collection_clicked)
        self.new_button.clicked.connect(self.new_collection)
        self.remove_button.clicked.connect(self.remove_current)
        self.reindex_button.clicked.connect(lambda: self.reindex(self.ctx.active_collection))
        self.add_files_button.clicked.connect(self.add_files)
        self.add_folder_button.clicked.connect(self.add_folder)
        self.watch_button.clicked.connect(self.watch_folder)
        self.unwatch_button.clicked.connect(self.unwatch_selected)
        ctx.collections_changed.connect(self._show_collections)
        ctx.active_collection_changed.connect(lambda _name: self._show_active())
        #: Replaceable in tests (modal dialogs).
        self.confirm: Callable[[str], bool] = self._confirm
        self.ask_name: Callable[[], str] = self._ask_name
        self.ask_files: Callable[[], list[str]] = self._ask_files
        self.ask_folder: Callable[[], str] = self._ask_folder
        self._show_watched()
        self._show_active()

    # -- collections ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the collections (in the worker); the context broadcasts the result."""
        self._started = True
        self.ctx.executor.submit(ops.list_collections, label="Reading collections",
                                 on_done=self.ctx.set_collections)

    def _show_collections(self, infos: list[ops.CollectionInfo]) -> None:
        self.collections.blockSignals(True)
        self.collections.clear()
        names = [c.name for c in infos]
        self._pending_new = [n for n in self._pending_new if n not in names]
        for info in infos:
            label = (f"{info.name}  (damaged: Re-index rebuilds it)" if info.damaged else
                     f"{info.name}  ({info.documents} docs, {info.chunks} chunks)")
            self._add_item(info.name, label)
        for name in self._pending_new:
            self._add_item(name, f"{name}  (empty)")
        if self._indexing_into and self._indexing_into not in names + self._pending_new:
            self._add_item(self._indexing_into, f"{self._indexing_into}  (indexing…)")
        self.collections.blockSignals(False)
        self._show_active()

    def _add_item(self, name: str, label: str) -> None:
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, name)
        self.collections.addItem(item)
        if name == self.ctx.active_collection:
            self.collections.setCurrentItem(item)

    def _collection_clicked(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is not None:
            self.ctx.set_active_collection(item.data(Qt.ItemDataRole.UserRole))

    def _show_active(self) -> None:
        name = self.ctx.active_collection
        info = next((c for c in self.ctx.collections if c.name == name), None)
        if info is None:
            busy = self.index_handle is not None and not self.index_handle.finished
            self.header.setText(f"<h3>{name}</h3>" + ("Indexing: files are listed as they are "
                                                      "done, each one's outcome when the run "
                                                      "ends." if busy else
                                                      "Empty: add files to start."))
        else:
            self.header.setText(f"<h3>{name}</h3>{info.documents} documents, {info.chunks} "
                                f"chunks · embedder {info.embedder} · {info.chunk_tokens}-token "
                                "chunks")
        self.drop_hint.setText(f"Drop files or folders anywhere on this window to index them "
                               f"into “{self.target_collection()}”.")
        for i in range(self.collections.count()):
            item = self.collections.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                self.collections.blockSignals(True)
                self.collections.setCurrentItem(item)
                self.collections.blockSignals(False)
        self.remove_button.setEnabled(info is not None)
        self.reindex_button.setEnabled(info is not None)
        # The table keeps a run's per-file outcome until another collection is chosen.
        if self.index_handle is None and self._started and name != self._table_collection:
            self.show_documents()

    def show_documents(self) -> None:
        """Fill the table with what the active collection holds."""
        name = self.ctx.active_collection
        self._table_collection = name

        def done(rows: list[ops.FileStatus]) -> None:
            if name == self.ctx.active_collection:
                older = sum(r.outdated for r in rows)
                self.table_title.setText(f"In “{name}”: {len(rows)} files" + (
                    f" ({older} to read again, read by an earlier version of Satchel or while "
                    f"OCR was off: Re-index reads {'them' if older > 1 else 'it'})"
                    if older else ""))
                self.model.set_rows(rows, self.style())

        self.ctx.executor.submit(ops.collection_files, name, self.ctx.settings.ocr,
                                 label="Reading documents", on_done=done)

    def new_collection(self) -> None:
        from engine import index
        from engine.errors import SatchelError

        name = self.ask_name().strip()
        if not name:
            return
        try:
            index.validate_name(name)
        except SatchelError as exc:
            self.ctx.messages.error(str(exc))
            return
        if name not in self._pending_new and name not in [c.name for c in self.ctx.collections]:
            self._pending_new.append(name)
        self.ctx.set_active_collection(name)
        self._show_collections(self.ctx.collections)

    def remove_current(self) -> None:
        name = self.ctx.active_collection
        if not self.confirm(f"Remove the collection “{name}”, its index and the questions "
                            "drafted from it? Your files and adapters are not touched."):
            return

        def done(_name: str) -> None:
            self.ctx.state.sources.pop(name, None)
            self.ctx.save()
            self.ctx.messages.info(f"Removed the collection “{name}”.")
            self.refresh()

        self.ctx.executor.submit(ops.remove_collection, name,
                                 label="Removing a collection", on_done=done)

    # -- indexing ---------------------------------------------------------------------------------
    def target_collection(self) -> str:
        """Where new files go: the active collection, except the sample (kept pristine)."""
        active = self.ctx.active_collection
        return USER_COLLECTION if active == SAMPLE_COLLECTION else active

    def index(self, inputs: list[str], collection: str | None = None, *,
              remember: bool = True, label: str = "") -> Any:
        """Index files/folders in the background; the table shows each file's outcome."""
        inputs = [os.path.abspath(p) for p in inputs if p]
        if not inputs:
            return None
        collection = collection or self.target_collection()
        if remember:
            known = self.ctx.state.sources.setdefault(collection, [])
            known += [p for p in inputs if p not in known]
            self.ctx.save()
        settings = self.ctx.settings_copy()
        label = label or (f"Indexing {os.path.basename(inputs[0]) or inputs[0]}"
                 + (f" and {len(inputs) - 1} more" if len(inputs) > 1 else "")
                 + f" into “{collection}”")
        return self._run_index(label, collection, ops.index_files, inputs, collection,
                               settings)

    def reindex(self, name: str) -> Any:
        sources = list(self.ctx.state.sources.get(name, []))
        sources += [f for f, coll in self.ctx.state.watched.items() if coll == name]
        settings = self.ctx.settings_copy()
        return self._run_index(f"Re-indexing “{name}”", name, ops.reindex, name, sources,
                               settings)

    def _run_index(self, label: str, collection: str, fn: Callable[..., ops.IndexOutcome],
                   *args: Any) -> Any:
        def finished_files(event: tuple) -> None:
            kind, paths = event
            if kind != "files":
                return
            if self._live is not handle:  # the first files of this run: the table is its own
                self._live = handle
                self.model.set_rows([], self.style())
                self._table_collection = collection
            self.model.append_rows([ops.FileStatus(p, "done") for p in paths])
            self.table_title.setText(f"Indexing into “{collection}”: {len(self.model.rows)} "
                                     "files done so far")

        def ended() -> None:
            self.index_handle = self._live = None
            if self._indexing_into == collection:
                self._indexing_into = None

        def done(outcome: ops.IndexOutcome) -> None:
            ended()
            s = outcome.summary
            text = (f"{s.files_indexed} indexed, {s.files_unchanged} unchanged, "
                    f"{len(s.files_failed)} failed, {s.files_removed} removed"
                    + (f", {len(s.files_skipped)} skipped" if s.files_skipped else "")
                    + (f" ({s.files_reread} read again with today's readers)"
                       if s.files_reread else "")
                    + f" in {s.seconds:.1f} s")
            self.table_title.setText(f"Last run into “{collection}”: {text}"
                                     + (" (cancelled; finished files are kept)"
                                        if s.cancelled else ""))
            self.model.set_rows(outcome.files, self.style())
            self._table_collection = collection
            if s.rebuilt and s.repaired:
                self.ctx.messages.info(f"“{collection}” was rebuilt from its files because "
                                       f"{s.repaired}.")
            elif s.rebuilt:
                self.ctx.messages.info(f"“{collection}” was rebuilt for the new chunking or "
                                       "embedder settings.")
            elif getattr(s, "rebuild_pending", False):
                self.ctx.messages.info(f"The rebuild of “{collection}” for the new settings is "
                                       "not finished; it keeps answering from the previous "
                                       "settings. Re-index to finish it.")
            if s.files_failed:
                self.ctx.messages.warning(f"{len(s.files_failed)} file(s) could not be indexed; "
                                          "see the reasons in the Library.")
            if collection != self.ctx.active_collection and not s.cancelled and \
                    self.ctx.active_collection == SAMPLE_COLLECTION:
                self.ctx.set_active_collection(collection)
            self.refresh()
            self.indexed.emit(outcome)

        def failed(_message: str) -> None:
            ended()
            self.refresh()

        def cancelled() -> None:
            ended()
            self.table_title.setText("Indexing cancelled; finished files are kept.")
            self.refresh()

        handle = self.ctx.run_job(fn, *args, label=label, on_done=done, on_error=failed,
                                  on_cancelled=cancelled, on_event=finished_files)
        self.index_handle = handle
        self._indexing_into = collection
        self._show_collections(self.ctx.collections)
        return handle

    def add_files(self) -> None:
        self.index(self.ask_files())

    def add_folder(self) -> None:
        folder = self.ask_folder()
        if folder:
            self.index([folder])

    # -- watched folders --------------------------------------------------------------------------
    def _show_watched(self) -> None:
        self.watched.clear()
        for folder, collection in sorted(self.ctx.state.watched.items()):
            item = QListWidgetItem(f"{folder}  →  {collection}")
            item.setData(Qt.ItemDataRole.UserRole, folder)
            self.watched.addItem(item)
        self.unwatch_button.setEnabled(bool(self.ctx.state.watched))

    def watch_folder(self, folder: str | None = None) -> None:
        folder = folder or self.ask_folder()
        if not folder:
            return
        folder = os.path.abspath(folder)
        collection = self.target_collection()
        self.ctx.state.watched[folder] = collection
        settings = self.ctx.settings
        if folder not in settings.watched_folders:
            settings.watched_folders = [*settings.watched_folders, folder]
            self.ctx.apply_settings(settings)
        self.ctx.save()
        self._show_watched()
        self._start_watcher(folder)
        self.index([folder], collection, remember=False)

    def unwatch_selected(self) -> None:
        item = self.watched.currentItem() or self.watched.item(0)
        if item is None:
            return
        folder = item.data(Qt.ItemDataRole.UserRole)
        self.ctx.state.watched.pop(folder, None)
        settings = self.ctx.settings
        settings.watched_folders = [f for f in settings.watched_folders if f != folder]
        self.ctx.apply_settings(settings)
        self.ctx.save()
        watcher = self.watchers.pop(folder, None)
        if watcher is not None:
            watcher.stop()
        if not self.watchers:
            self._watch_timer.stop()
        self._show_watched()

    def start_watchers(self) -> None:
        """Watch every remembered folder and catch up on changes made while Satchel was closed."""
        for folder, collection in list(self.ctx.state.watched.items()):
            if not os.path.isdir(folder):
                self.ctx.messages.warning(f"watched folder {folder} is gone; not watching it")
                continue
            self._start_watcher(folder)
            self.index([folder], collection, remember=False)

    def _start_watcher(self, folder: str) -> None:
        if folder in self.watchers or not os.path.isdir(folder):
            return
        from engine.watch import FolderWatcher

        self.watchers[folder] = FolderWatcher(
            [folder], lambda _changed, f=folder: self._changes.put(f)).start()
        self._watch_timer.start()

    def _drain_changes(self) -> None:
        folders: set[str] = set()
        while True:
            try:
                folders.add(self._changes.get_nowait())
            except queue.Empty:
                break
        for folder in sorted(folders):
            collection = self.ctx.state.watched.get(folder)
            if collection is not None and folder in self.watchers:
                self.index([folder], collection, remember=False)

    def stop_watchers(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        self.watchers.clear()
        self._watch_timer.stop()

    # -- dialogs (replaced in tests) --------------------------------------------------------------
    def _confirm(self, text: str) -> bool:
        return QMessageBox.question(self, "Satchel", text) == QMessageBox.StandardButton.Yes

    def _ask_name(self) -> str:
        name, ok = QInputDialog.getText(self, "New collection", "Name (letters, digits, - _ .):")
        return name if ok else ""

    def _ask_files(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the library")
        return files

    def _ask_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self, "Choose a folder")
