"""The one background helper every screen uses (Anki's ``QueryOp`` idea, DESIGN.md point 4).

A screen calls ``executor.submit(ops.some_function, arg, ..., on_done=..., on_progress=...)``;
the function runs in the engine worker process (:mod:`gui.engine_process`), serially with every
other task that touches the model or the index, and its result, progress (the engine's
:class:`~engine.jobs.Job` snapshots), streamed events and errors come back on the GUI thread
as the worker's pipe is read by the event loop (no threads: see :mod:`gui.engine_process`
for why). Every error goes to one notifier (:attr:`Executor.error`): a
:class:`~engine.errors.SatchelError` as its one line, anything else as a short message with the
traceback in the worker's log.

Cancelling a task sets its Job's cancel flag and calls its stop callbacks in the worker (for an
answer, ``AnswerStream.stop``); it ends at its next check. :meth:`Executor.shutdown` cancels
everything this executor started and waits until the worker has finished with it, so closing the
window never leaves work running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine import paths
from engine.jobs import JobState
from gui.engine_process import EngineProcess, Message


class TaskHandle:
    """The GUI's grip on one submitted task: ``cancel()`` and whether it still runs."""

    def __init__(self, label: str, engine: EngineProcess) -> None:
        self.label = label
        self.id = 0
        self.started = False
        self.finished = False  # set on the GUI thread when the last callback ran
        self._engine = engine
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Ask the task to stop (idempotent); a queued task never starts."""
        if self._cancelled or self.finished:
            return
        self._cancelled = True
        self._engine.cancel(self.id)


class _Task:
    def __init__(self, handle: TaskHandle, callbacks: dict[str, Callable[..., None] | None],
                 notify: bool, quick: bool, background: bool = False) -> None:
        self.handle = handle
        self.callbacks = callbacks
        self.notify = notify
        self.quick = quick
        self.background = background


class Executor(QObject):
    """A serial background executor (in the engine worker) whose callbacks run on the GUI thread."""

    #: One-line message for the notifier (every failed task, unless it opted out).
    error = Signal(str)
    #: True while a task runs or waits; False when the queue drained.
    busy_changed = Signal(bool)
    #: The engine's runtime state after each task (model, adapter, threads), for the status bar.
    runtime_state = Signal(object)
    #: A task started (its label), for the status line.
    task_started = Signal(str)

    def __init__(self, parent: QObject | None = None, engine: EngineProcess | None = None) -> None:
        super().__init__(parent)
        self.engine = engine or EngineProcess.shared()
        self._tasks: dict[int, _Task] = {}
        self._pending = 0
        self._attached = False
        self._closed = False

    # -- GUI thread API ---------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, label: str = "",
               on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[JobState], None] | None = None,
               on_event: Callable[[Any], None] | None = None,
               on_cancelled: Callable[[], None] | None = None,
               progress_interval_s: float = 0.1, notify: bool = True,
               quick: bool = False, background: bool = False) -> TaskHandle:
        """Queue ``fn(ctx, *args)`` in the worker; callbacks run on the GUI thread.

        ``fn`` must be a module-level function (it is sent by name) and ``args`` picklable.
        ``on_error`` gets the one-line message (and the notifier gets it too unless
        ``notify=False``); ``on_cancelled`` runs instead of ``on_done`` when the task ended by
        cancellation. ``quick`` puts a short task that touches neither the model nor the index
        (chat sessions) beside the serial queue instead of behind it. ``background`` marks
        optional work that gives way to the next task (the warm-up): it does not count in
        :attr:`serial_busy`.
        """
        if self._closed:
            raise RuntimeError("the executor was shut down")
        handle = TaskHandle(label or getattr(fn, "__name__", "task"), self.engine)
        task = _Task(handle, {"done": on_done, "error": on_error, "progress": on_progress,
                              "event": on_event, "cancelled": on_cancelled}, notify, quick,
                     background)
        if not self._attached:
            self.engine.attach(self._sink)
            self._attached = True
        handle.id = self.engine.new_id()
        self._tasks[handle.id] = task  # registered before the worker can answer
        try:
            self.engine.submit(handle.id, self._sink, fn, args, str(paths.data_dir()),
                               progress_interval_s, on_progress is not None, quick)
        except Exception:
            self._tasks.pop(handle.id, None)
            raise
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        return handle

    @property
    def busy(self) -> bool:
        return self._pending > 0

    @property
    def serial_busy(self) -> bool:
        """True while a task of the serial lane (model, index) runs or waits: a new one queues
        (behind it; a background task gives way at its next step and is not counted)."""
        return any(not t.quick and not t.background for t in self._tasks.values())

    @property
    def alive(self) -> bool:
        """True from the first task until :meth:`shutdown` (this executor holds the worker)."""
        return self._attached

    def running(self) -> list[TaskHandle]:
        """Handles of tasks not finished yet, oldest first."""
        return [t.handle for t in self._tasks.values() if not t.handle.finished]

    def cancel_all(self) -> None:
        for handle in self.running():
            handle.cancel()

    def shutdown(self, timeout_s: float = 120.0) -> bool:
        """Cancel everything, wait until the worker finished with it, release the worker.

        True if every task ended in time. Callbacks that arrive later are dropped: the widgets
        they would update may be gone.
        """
        self._closed = True
        self.cancel_all()
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            self.engine.pump(0.05)  # on the GUI thread: nothing else would read the pipe
        ended = not self._tasks
        if self._attached:
            self.engine.detach(self._sink)
            self._attached = False
        return ended

    # -- messages from the worker (delivered on the GUI thread by the engine's pipe notifier) ----
    def _sink(self, message: Message) -> None:
        kind, tid = message[0], message[1]
        if kind == "state":
            if not self._closed:
                self.runtime_state.emit(message[2])
            return
        task = self._tasks.get(tid)
        if task is None:
            return
        cb = task.callbacks
        live = not self._closed
        if kind == "started":
            task.handle.started = True
            if live and not task.quick:  # quick tasks end before a status line could be read
                self.task_started.emit(task.handle.label)
        elif kind == "progress":
            if live and cb["progress"] is not None and not task.handle.finished:
                cb["progress"](message[2])
        elif kind == "event":
            if live and cb["event"] is not None:
                cb["event"](message[2])
        elif kind in EngineProcess.FINAL:
            self._finish(task, kind, message[2] if len(message) > 2 else None)

    def _finish(self, task: _Task, kind: str, value: Any) -> None:
        task.handle.finished = True
        self._tasks.pop(task.handle.id, None)
        cb = task.callbacks
        if not self._closed:
            if kind == "done" and cb["done"] is not None:
                cb["done"](value)
            elif kind == "cancelled" and cb["cancelled"] is not None:
                cb["cancelled"]()
            elif kind == "error":
                if task.notify:
                    self.error.emit(value)
                if cb["error"] is not None:
                    cb["error"](value)
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
