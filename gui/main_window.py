"""The main window: navigation, the always-visible mode switch, drops, shortcuts, status bar.

Why drops are caught application-wide: "drop files anywhere on the window" must hold over every
child widget too (tables, text views); an event filter on the application sees drag events
before any child can swallow them and routes file URLs to the Library's indexer. Closing the
window cancels the running work and waits for the worker without freezing: the window hides at
once and finishes closing when the worker is idle.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Generic, TypeVar

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from gui import ops, ops_lab
from gui.adapters import AdaptersScreen
from gui.chat import ChatScreen
from gui.compare import CompareScreen
from gui.context import AppContext
from gui.evaluate import EvaluateScreen
from gui.library import LibraryScreen
from gui.notify import MessageBar
from gui.server_panel import ServerPanel
from gui.settings_screen import SettingsScreen
from gui.state import SAMPLE_COLLECTION, GuiState
from gui.widgets import JobStrip, ModeSwitch
from gui.worker import Executor, TaskHandle

SCREENS = ("Chat", "Library", "Compare", "Adapters", "Evaluate", "Settings")
#: Times the warm-up is queued again after giving way to another task, at most.
WARM_UP_ROUNDS = 4
SCREEN_ICONS = (QStyle.StandardPixmap.SP_MessageBoxQuestion, QStyle.StandardPixmap.SP_DirIcon,
                QStyle.StandardPixmap.SP_FileDialogDetailedView,
                QStyle.StandardPixmap.SP_DriveHDIcon, QStyle.StandardPixmap.SP_DialogApplyButton,
                QStyle.StandardPixmap.SP_FileDialogContentsView)


ScreenT = TypeVar("ScreenT", bound=QWidget)


class LazyScreen(Generic[ScreenT]):
    """A screen as a typed attribute of the window, built the first time it is used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, window: MainWindow | None, owner: type) -> ScreenT:
        if window is None:
            raise AttributeError(self.name)
        return window.get_screen(self.name)  # type: ignore[return-value]


def process_rss(pid: int) -> int:
    """Resident memory of ``pid`` in bytes.

    Why not psutil here: this runs on the GUI thread every two seconds, and psutil's import
    (about 50 ms) and its child lookup (a scan of every process) are stalls; on Linux two small
    /proc reads give the same numbers in microseconds. Elsewhere psutil is used.
    """
    if sys.platform.startswith("linux"):
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    import psutil

    try:
        return int(psutil.Process(pid).memory_info().rss)
    except psutil.Error as exc:
        raise OSError(str(exc)) from None


def child_pids(pid: int) -> list[int]:
    """Direct and indirect children of ``pid`` (the worker's parser process)."""
    if sys.platform.startswith("linux"):
        out: list[int] = []
        todo = [pid]
        while todo:
            parent = todo.pop()
            found = []
            # each thread lists the children it started; a process may end while we look
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{parent}/task"):
                    with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as fh:
                        found += [int(c) for c in fh.read().split()]
            out += found
            todo += found
        return out
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def local_paths(event: QDropEvent | QEvent) -> list[str]:
    """Local files and folders carried by a drag/drop event."""
    mime = event.mimeData()  # type: ignore[attr-defined]
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


class MainWindow(QMainWindow):
    closed = Signal()
    #: The window has painted for the first time (the warm-up starts then).
    first_painted = Signal()

    def __init__(self, settings: object | None = None, state: GuiState | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Satchel")
        self.resize(1180, 760)
        self.setAcceptDrops(True)
        self.executor = Executor(self)
        self.messages = MessageBar()
        self.job_strip = JobStrip()
        self.ctx = AppContext(self.executor, self.messages, self.job_strip,
                              settings=settings, state=state)  # type: ignore[arg-type]
        ctx = self.ctx
        # -- top bar: mode switch with the model and adapter in use, active collection
        top = QWidget()
        tl = QHBoxLayout(top)
        tl.setContentsMargins(8, 6, 8, 2)
        tl.addWidget(QLabel("Mode"))
        self.mode_switch = ModeSwitch()
        tl.addWidget(self.mode_switch)
        tl.addSpacing(12)
        tl.addWidget(QLabel("Collection"))
        self.collection_combo = QComboBox()
        self.collection_combo.setMinimumWidth(140)
        tl.addWidget(self.collection_combo)
        tl.addSpacing(12)
        self.model_label = QLabel()
        self.model_label.setStyleSheet("color: palette(placeholder-text);")
        tl.addWidget(self.model_label, 1)
        # -- navigation and screens
        self.nav = QListWidget()
        self.nav.setFixedWidth(132)
        for i, name in enumerate(SCREENS):
            item = QListWidgetItem(self.style().standardIcon(SCREEN_ICONS[i]), name)
            item.setToolTip(f"{name} (Ctrl+{i + 1})")
            self.nav.addItem(item)
        self.stack = QStackedWidget()
        self.chat = ChatScreen(ctx)
        self.library = LibraryScreen(ctx)
        # Chat and Library are needed at once (first screen, drops); the others are built the
        # first time they are shown, which keeps the window's first paint quick.
        self._built: dict[str, QWidget] = {"Chat": self.chat, "Library": self.library}
        for name in SCREENS:
            self.stack.addWidget(self._built.get(name) or QWidget())
        body = QWidget()
        bl = QHBoxLayout(body)
        bl.setContentsMargins(8, 4, 8, 4)
        bl.addWidget(self.nav)
        right = QVBoxLayout()
        right.addWidget(self.messages)
        right.addWidget(self.stack, 1)
        bl.addLayout(right, 1)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(top)
        cl.addWidget(body, 1)
        cl.addWidget(self.job_strip)
        self.setCentralWidget(central)
        # -- status bar: model, adapter, threads, memory
        self.status_model = QLabel()
        self.status_adapter = QLabel()
        self.status_threads = QLabel()
        self.status_memory = QLabel()
        for w in (self.status_model, self.status_adapter, self.status_threads,
                  self.status_memory):
            self.statusBar().addPermanentWidget(w)
        self._runtime_state: object | None = None
        self._memory_timer = QTimer(self)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start(2000)
        self._closing = False
        self._waiting_to_close = False
        self._painted = False
        self._warm_up_wanted: ops.WarmUpRequest | None = None
        self._warm_up_rounds = 0
        #: the warm-up task once submitted, and the engine's report when it ended
        self.warm_up_handle: TaskHandle | None = None
        self.warm_up_report: object | None = None
        # -- wiring
        self.nav.currentRowChanged.connect(self._show_index)
        self.mode_switch.set_mode(ctx.mode)
        self.mode_switch.mode_changed.connect(ctx.set_mode)
        ctx.mode_changed.connect(self.mode_switch.set_mode)
        ctx.adapter_changed.connect(lambda *_a: self._update_model_labels())
        ctx.settings_changed.connect(self._update_model_labels)
        ctx.collections_changed.connect(self._fill_collections)
        ctx.active_collection_changed.connect(lambda _n: self._fill_collections(ctx.collections))
        self.collection_combo.activated.connect(self._collection_picked)
        self.executor.runtime_state.connect(self._runtime_changed)
        self.executor.task_started.connect(lambda label: self.statusBar().showMessage(label, 4000))
        self.mode_switch.set_adapter_available(ctx.adapter is not None)
        self._install_shortcuts()
        self.nav.setCurrentRow(0)
        self._update_model_labels()
        QTimer.singleShot(0, self._update_memory)
        QApplication.instance().installEventFilter(self)

    # -- start-up ---------------------------------------------------------------------------------
    def startup(self, first_run: bool | None = None, preload: bool = True,
                watch: bool = True) -> None:
        """Background start-up after the window is visible: collections, the first-run sample
        corpus, watched folders, then (``preload``) the warm-up, so the first question is quick."""
        ctx = self.ctx
        self.library.refresh()
        first = first_run if first_run is not None else not ctx.state.first_run_done
        if first:
            from engine.samples import CORPUS_DIR

            def sample_ready(outcome: ops.IndexOutcome) -> None:
                self.library.indexed.disconnect(sample_ready)
                if outcome.summary.cancelled:
                    return
                ctx.state.first_run_done = True
                ctx.set_active_collection(SAMPLE_COLLECTION)
                ctx.save()
                ctx.messages.info("The sample documents are ready: ask a question, or drop your "
                                  "own files anywhere on this window to add them.")

            self.library.indexed.connect(sample_ready)
            self.library.index([str(CORPUS_DIR)], SAMPLE_COLLECTION,
                               label="Preparing the sample documents")
        if ctx.adapter is not None:
            def check_adapter(rows: list) -> None:
                if ctx.adapter not in {r.name for r in rows}:
                    ctx.messages.warning(f"the adapter {ctx.adapter!r} is gone; using none")
                    ctx.set_adapter(None)

            self.executor.submit(ops_lab.list_adapters, ctx.settings.model_path,
                                 label="Reading adapters", on_done=check_adapter)
        if watch:
            self.library.start_watchers()
        if preload:
            self.warm_up(SAMPLE_COLLECTION if first else None)
            # What the next question needs changed: get that ready too (what is loaded already
            # costs nothing, and the warm-up gives way to any task the user starts).
            for signal in (ctx.mode_changed, ctx.active_collection_changed, ctx.adapter_changed,
                           ctx.settings_changed):
                signal.connect(self._rewarm)

    def warm_up(self, collection: str | None = None) -> None:
        """Get the first answer ready in the background once the window has painted: the model,
        the active collection's embedder and tables, the prompt's fixed start
        (:func:`gui.ops.warm_up`). It queues behind the start-up work, gives way to any task the
        user starts, and never reports an error (a first run has no collection yet)."""
        ctx = self.ctx
        self._warm_up_wanted = ops.WarmUpRequest(ctx.mode, collection or ctx.active_collection,
                                                 ctx.adapter, ctx.adapter_scale,
                                                 ctx.settings_copy())
        if self._painted:
            self._submit_warm_up()

    def _rewarm(self, *_args: object) -> None:
        if not self._closing:
            self._warm_up_rounds = 0  # a new need: its own rounds of giving way
            self.warm_up()

    def _submit_warm_up(self) -> None:
        req, self._warm_up_wanted = self._warm_up_wanted, None
        if req is None or self._closing:
            return

        def done(report: object) -> None:
            self.warm_up_report = report
            # It gave way to a task (the user's, or start-up work such as listing files) before
            # it was done: the rest runs after that task; what is loaded already costs nothing.
            if getattr(report, "interrupted", False) and self._warm_up_rounds < WARM_UP_ROUNDS:
                self.warm_up()

        self._warm_up_rounds += 1
        self.warm_up_handle = self.executor.submit(ops.warm_up, req, label="Getting ready",
                                                   on_done=done, notify=False, background=True)

    def _first_paint(self) -> None:
        self._painted = True
        self.first_painted.emit()
        self._submit_warm_up()

    # -- labels -----------------------------------------------------------------------------------
    def _fill_collections(self, infos: list) -> None:
        names = [c.name for c in infos]
        active = self.ctx.active_collection
        if active not in names:
            names.append(active)
        self.collection_combo.blockSignals(True)
        self.collection_combo.clear()
        self.collection_combo.addItems(names)
        self.collection_combo.setCurrentText(active)
        self.collection_combo.blockSignals(False)

    def _collection_picked(self, index: int) -> None:
        self.ctx.set_active_collection(self.collection_combo.itemText(index))

    def _model_name(self) -> str:
        """The file the user picked (GGUF ``general.name`` values are often cryptic)."""
        path = self.ctx.settings.model_path
        return os.path.basename(path) if path else "SmolLM2-135M-Instruct (bundled)"

    def _update_model_labels(self) -> None:
        ctx = self.ctx
        adapter = f"{ctx.adapter} ×{ctx.adapter_scale:g}" if ctx.adapter else "none"
        self.model_label.setText(f"Model: {self._model_name()} · Adapter: {adapter}")
        self.status_model.setText(f"Model: {self._model_name()}")
        self.status_adapter.setText(f"Adapter: {adapter}")
        state = self._runtime_state
        threads = getattr(state, "n_threads", 0) or ctx.settings.n_threads
        self.status_threads.setText(f"Threads: {threads or 'auto'}")
        loaded = getattr(state, "model_name", None)
        tip = f"Loaded: {loaded} (context {state.n_ctx} tokens)" if loaded else "Not loaded yet"
        self.status_model.setToolTip(tip)  # type: ignore[union-attr]
        self.model_label.setToolTip(tip)
        self.mode_switch.set_adapter_available(ctx.adapter is not None)

    def _runtime_changed(self, state: object) -> None:
        self._runtime_state = state
        self._update_model_labels()

    def _update_memory(self) -> None:
        """Window process plus the engine worker (and its parser child), in MB."""
        pid = self.executor.engine.pid
        worker = 0
        try:
            window = process_rss(os.getpid())
            if pid is not None:
                worker = sum(process_rss(p) for p in [pid, *child_pids(pid)])
        except OSError:  # a process ended while it was read, or no /proc: say nothing
            self.status_memory.setText("")
            return
        mb = 1 << 20
        self.status_memory.setText(f"Memory: {(window + worker) / mb:,.0f} MB")
        self.status_memory.setToolTip(f"window {window / mb:,.0f} MB, engine worker "
                                      f"{worker / mb:,.0f} MB")

    # -- screens ----------------------------------------------------------------------------------
    def get_screen(self, name: str) -> QWidget:
        """The screen called ``name``, built on first use."""
        built = self._built.get(name)
        if built is not None:
            return built
        factories = {"Compare": CompareScreen, "Adapters": AdaptersScreen,
                     "Evaluate": EvaluateScreen, "Settings": SettingsScreen}
        widget = factories[name](self.ctx)
        if isinstance(widget, SettingsScreen):
            widget.reindex_requested = self.library.reindex
        index = SCREENS.index(name)
        placeholder = self.stack.widget(index)
        current = self.stack.currentIndex()
        self.stack.insertWidget(index, widget)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.stack.setCurrentIndex(current)
        self._built[name] = widget
        return widget

    compare = LazyScreen[CompareScreen]("Compare")
    adapters = LazyScreen[AdaptersScreen]("Adapters")
    evaluate = LazyScreen[EvaluateScreen]("Evaluate")
    settings_screen = LazyScreen[SettingsScreen]("Settings")

    def _show_index(self, index: int) -> None:
        if 0 <= index < len(SCREENS):
            self.get_screen(SCREENS[index])
            self.stack.setCurrentIndex(index)

    # -- navigation and shortcuts -----------------------------------------------------------------
    def show_screen(self, name: str) -> None:
        self.nav.setCurrentRow(SCREENS.index(name))

    def _install_shortcuts(self) -> None:
        for i in range(len(SCREENS)):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self,
                      lambda i=i: self.nav.setCurrentRow(i))
        QShortcut(QKeySequence("Ctrl+,"), self, lambda: self.show_screen("Settings"))
        QShortcut(QKeySequence("Ctrl+L"), self, self.focus_question)
        QShortcut(QKeySequence("Ctrl+O"), self, self._add_files)
        QShortcut(QKeySequence("Escape"), self, self.stop_answers)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._ask_here)

    def focus_question(self) -> None:
        if self.stack.currentWidget() is self._built.get("Compare"):
            self.compare.question.setFocus()
            return
        self.show_screen("Chat")
        self.chat.focus_question()

    def _ask_here(self) -> None:
        if self.stack.currentWidget() is self._built.get("Compare"):
            self.compare.compare()
        else:
            self.show_screen("Chat")
            self.chat.ask()

    def stop_answers(self) -> None:
        self.chat.stop()
        if "Compare" in self._built:
            self.compare.stop()

    def _add_files(self) -> None:
        self.show_screen("Library")
        self.library.add_files()

    # -- drag and drop anywhere -------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if not self._painted and kind == QEvent.Type.Paint and watched is self:
            self._painted = True  # once; the work runs after this paint, not inside it
            QTimer.singleShot(0, self._first_paint)
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop) and \
                isinstance(watched, QWidget) and watched.window() is self:
            paths = local_paths(event)
            if paths:
                if kind == QEvent.Type.Drop:
                    self.handle_drop(paths)
                event.acceptProposedAction()  # type: ignore[attr-defined]
                return True
        return super().eventFilter(watched, event)

    def dragEnterEvent(self, event: QEvent) -> None:
        if local_paths(event):
            event.acceptProposedAction()  # type: ignore[attr-defined]

    def dropEvent(self, event: QDropEvent) -> None:
        paths = local_paths(event)
        if paths:
            event.acceptProposedAction()
            self.handle_drop(paths)

    def handle_drop(self, paths: list[str]) -> None:
        """Files or folders were dropped: index them and show the Library with the progress."""
        self.show_screen("Library")
        self.library.index(paths)

    # -- theme ------------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """Follow a light/dark switch made while the window is open: style sheets here only
        name palette roles, but Qt resolves them when applied, so they are applied again."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            for widget in self.findChildren(QWidget):
                sheet = widget.styleSheet()
                if sheet:
                    widget.setStyleSheet(sheet)

    # -- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Cancel running work; hide at once and finish closing when the worker is idle."""
        if not self._closing:
            self._closing = True
            self.library.stop_watchers()
            self.executor.cancel_all()
        if self.executor.busy:
            self.hide()
            if not self._waiting_to_close:
                self._waiting_to_close = True
                self.executor.busy_changed.connect(self._close_when_idle)
            event.ignore()
            return
        self._memory_timer.stop()
        for panel in self.findChildren(ServerPanel):
            panel.shutdown()  # a server this window started ends with it
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.executor.shutdown()
        self.closed.emit()
        event.accept()

    def _close_when_idle(self, busy: bool) -> None:
        if not busy:
            QTimer.singleShot(0, self.close)
