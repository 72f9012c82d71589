"""The state every screen shares: settings, the active collection, mode and adapter, the
executor and the notifier, with signals when any of them change.

Why an object instead of screens reaching into the main window: each screen can be built and
tested alone with a context, and a change made on one screen (a new collection, an activated
adapter, new settings) reaches the others through one signal instead of cross-references.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine import settings as settings_io
from engine.settings import Settings
from gui.notify import MessageBar
from gui.state import SAMPLE_COLLECTION, GuiState, load_state, save_state
from gui.widgets import JobStrip
from gui.worker import Executor, TaskHandle


class AppContext(QObject):
    settings_changed = Signal()
    collections_changed = Signal(list)  # list[ops.CollectionInfo]
    active_collection_changed = Signal(str)
    mode_changed = Signal(str)
    adapter_changed = Signal(object, float)  # name or None, scale
    #: (inputs, collection): something asked for files to be indexed (drop, watcher, button)
    index_requested = Signal(list, str)

    def __init__(self, executor: Executor, messages: MessageBar, job_strip: JobStrip,
                 settings: Settings | None = None, state: GuiState | None = None) -> None:
        super().__init__()
        self.executor = executor
        self.messages = messages
        self.job_strip = job_strip
        self._jobs: list[tuple[TaskHandle, str]] = []
        self._shown: TaskHandle | None = None
        job_strip.cancel_requested.connect(self.cancel_current_job)
        if settings is None:
            settings, warnings = settings_io.load()
            for warning in warnings:
                messages.warning(warning)
        self.settings = settings
        self.state = state or load_state()
        self.collections: list = []
        executor.error.connect(messages.error)

    # -- long jobs (indexing, training, evaluation): shown in the job strip ------------------------
    def run_job(self, fn: Callable[..., Any], *args: Any, label: str,
                on_done: Callable[[Any], None] | None = None,
                on_error: Callable[[str], None] | None = None,
                on_progress: Callable[[Any], None] | None = None,
                on_cancelled: Callable[[], None] | None = None,
                on_event: Callable[[Any], None] | None = None) -> TaskHandle:
        """Submit a long job whose progress, ETA and Cancel button appear in the job strip."""
        holder: list[TaskHandle] = []

        def progress(state: Any) -> None:
            if self._jobs and self._jobs[0][0] is holder[0]:
                self.job_strip.update_state(state)
            if on_progress is not None:
                on_progress(state)

        def ended(callback: Callable[..., None] | None) -> Callable[..., None]:
            def run(*args: Any) -> None:
                self._jobs = [(h, lbl) for h, lbl in self._jobs if h is not holder[0]]
                self._show_next_job()
                if callback is not None:
                    callback(*args)
            return run

        handle = self.executor.submit(fn, *args, label=label, on_progress=progress,
                                      on_done=ended(on_done), on_error=ended(on_error),
                                      on_cancelled=ended(on_cancelled), on_event=on_event)
        holder.append(handle)
        self._jobs.append((handle, label))
        self._show_next_job()
        return handle

    def _show_next_job(self) -> None:
        if not self._jobs:
            self.job_strip.finish()
            self._shown = None
            return
        handle, label = self._jobs[0]
        if handle is not self._shown:
            self._shown = handle
            self.job_strip.start(label)

    def cancel_current_job(self) -> None:
        if self._jobs:
            self._jobs[0][0].cancel()

    @property
    def jobs(self) -> list[TaskHandle]:
        return [h for h, _ in self._jobs]

    # -- settings ---------------------------------------------------------------------------------
    def settings_copy(self) -> Settings:
        """A snapshot for a background task (the user may edit settings while it runs)."""
        return copy.deepcopy(self.settings)

    def apply_settings(self, new: Settings) -> None:
        self.settings = new
        settings_io.save(new)
        self.settings_changed.emit()

    # -- collection, mode, adapter ----------------------------------------------------------------
    @property
    def active_collection(self) -> str:
        return self.state.active_collection

    def set_active_collection(self, name: str) -> None:
        if name and name != self.state.active_collection:
            self.state.active_collection = name
            self.save()
            self.active_collection_changed.emit(name)

    def set_collections(self, infos: list) -> None:
        self.collections = infos
        names = [c.name for c in infos]
        if names and self.active_collection not in names:
            fallback = SAMPLE_COLLECTION if SAMPLE_COLLECTION in names else names[0]
            self.set_active_collection(fallback)
        self.collections_changed.emit(infos)

    @property
    def mode(self) -> str:
        return self.state.mode

    def set_mode(self, mode: str) -> None:
        if mode != self.state.mode:
            self.state.mode = mode
            self.save()
            self.mode_changed.emit(mode)

    @property
    def adapter(self) -> str | None:
        return self.state.adapter

    @property
    def adapter_scale(self) -> float:
        return self.state.adapter_scale

    def set_adapter(self, name: str | None, scale: float = 1.0) -> None:
        self.state.adapter, self.state.adapter_scale = name, float(scale)
        self.save()
        self.adapter_changed.emit(name, float(scale))

    def save(self) -> None:
        try:
            save_state(self.state)
        except OSError as exc:
            self.messages.warning(f"could not save the window state: {exc.strerror or exc}")
