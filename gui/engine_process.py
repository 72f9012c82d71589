"""The engine worker process: where every call that touches the model or the index runs.

Why a process and not a thread: measured on this machine, importing torch, transformers,
sentence-transformers, gguf or LanceDB in a worker *thread* holds Python's GIL for 150-800 ms at
a time (extension-module initialisers and native loaders do not release it), and the window froze
for that long. In a separate process the GUI thread never competes for that GIL, a native crash
in llama.cpp takes down the worker instead of the window, and the window's process never loads a
heavy library at all.

The contract is still DESIGN.md's point 4: one serial executor, results back on the GUI thread
via signals. :class:`EngineProcess` is app-wide (one worker per window process, started on first
use, kept warm so the model stays loaded); each :class:`gui.worker.Executor` talks to it through
``submit``/``cancel``, and the worker's messages are read on the GUI thread when its pipe becomes
readable. Tasks are module-level functions (pickled by name) with picklable arguments and
results; results and events cross as plain records (:func:`gui.tasks.to_wire`), so reading them
never imports an engine module on the GUI thread.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

Message = tuple[Any, ...]
Sink = Callable[[Message], None]


# -- the child: runs tasks one after another ------------------------------------------------------
def worker_main(commands: Any, results: Any) -> None:
    """Entry point of the worker process: a command thread and two task lanes.

    The serial lane (the main thread) runs everything that touches the model or the index, one
    task after another. The quick lane (a second thread) runs short reads and writes that touch
    neither, such as the chat sessions' SQLite file, so the window never waits for them behind an
    indexing or training run, and never does their disk syncs itself. Each task runs with its
    own window's data dir (see :meth:`_TaskRunner.run` for how the two lanes keep theirs apart).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the window's process
    from engine import netguard

    netguard.install()  # nothing leaves the machine, from this process either
    from engine import storage

    storage.follow_settings()  # each window's data dir: the index where its settings say
    from gui import errors

    errors.LOG_NAME[0] = "worker.log"
    runner = _TaskRunner(results)
    lanes: dict[bool, queue.Queue[Message | None]] = {False: queue.Queue(), True: queue.Queue()}
    runner.serial_waiting = lambda: not lanes[False].empty()
    quick = threading.Thread(target=runner.loop, args=(lanes[True], False),
                             name="satchel-worker-quick", daemon=True)
    quick.start()
    threading.Thread(target=_read_commands, args=(commands, runner, lanes),
                     name="satchel-worker-commands", daemon=True).start()
    runner.loop(lanes[False], True)
    quick.join(10)
    with contextlib.suppress(Exception):  # exiting anyway
        from engine.llm import get_runtime

        get_runtime().unload()


def _read_commands(commands: Any, runner: _TaskRunner,
                   lanes: dict[bool, queue.Queue[Message | None]]) -> None:
    """The worker's command thread: queue tasks on their lane, cancel, stop."""
    while True:
        try:
            message = commands.recv()
        except (EOFError, OSError):
            message = ("stop",)
        if message[0] == "task":
            lanes[bool(message[-1])].put(message)
        elif message[0] == "cancel":
            runner.cancel(message[1])
        elif message[0] == "stop":
            runner.stop()
            for lane in lanes.values():
                lane.put(None)
            return


class _TaskRunner:
    """Runs task messages and reports their outcome; shared by both lanes of the worker."""

    def __init__(self, results: Any) -> None:
        self._results = results
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._contexts: dict[int, Any] = {}  # tid -> TaskContext of a running task
        self._cancelled: set[int] = set()
        self._stopped = False  # after ("stop",): queued tasks end as "cancelled", unstarted
        #: True while a task waits on the serial lane (a background warm-up gives way to it)
        self.serial_waiting: Callable[[], bool] = lambda: False

    def send(self, message: Message) -> None:
        with self._send_lock:
            self._results.send(message)

    def cancel(self, tid: int) -> None:
        with self._lock:
            self._cancelled.add(tid)
            ctx = self._contexts.get(tid)
        if ctx is not None:
            ctx.cancel()

    def stop(self) -> None:
        """The worker is shutting down: cancel the running tasks, and never start a queued one.

        The mark is set under the same lock :meth:`run` registers a task with, so every task is
        either registered here (and cancelled) or sees the mark (and reports "cancelled").
        """
        with self._lock:
            self._stopped = True
            running = list(self._contexts.values())
        for ctx in running:
            ctx.cancel()

    def loop(self, lane: queue.Queue[Message | None], serial: bool) -> None:
        """Run one lane's tasks until its ``None``; ``serial`` is the model-and-index lane."""
        while (message := lane.get()) is not None:
            self.run(message, serial)
            if serial:
                _send_runtime_state(self.send)

    def run(self, message: Message, serial: bool = True) -> None:
        """Run one task and send its outcome.

        The data dir: the serial lane sets the process-wide one (:func:`engine.paths.set_data_dir`)
        because its tasks start threads that use it (the indexer's parse and write threads,
        hybrid search's text thread), and a new thread sees only process-wide state. The quick
        lane never touches that: it overrides the data dir for its own thread only
        (:func:`engine.paths.thread_data_dir`), so a quick task from a window with another data
        dir cannot switch it under a running serial task, nor the serial lane under it. Quick
        tasks must therefore not start threads that call :mod:`engine.paths` (they are short
        SQLite reads and writes).
        """
        from engine import paths
        from engine.jobs import Cancelled
        from gui import errors
        from gui.tasks import TaskContext, to_wire

        _, tid, fn, args, data_dir, interval, wants_progress, _quick = message
        with self._lock:
            skip = self._stopped or tid in self._cancelled
            self._cancelled.discard(tid)
            if not skip:
                ctx = TaskContext(lambda payload: self.send(("event", tid, to_wire(payload))),
                                  interval, self.serial_waiting if serial else None)
                self._contexts[tid] = ctx
        if skip:
            self.send(("cancelled", tid))
            return
        if wants_progress:
            ctx.job.add_listener(lambda state: self.send(("progress", tid, state)))
        outcome: Message
        if serial:
            paths.set_data_dir(data_dir)
        with contextlib.nullcontext() if serial else paths.thread_data_dir(data_dir):
            try:
                self.send(("started", tid))
                outcome = ("done", tid, to_wire(fn(ctx, *args)))
            except Cancelled:
                outcome = ("cancelled", tid)
            except BaseException as exc:  # every failure goes back as a message, never a crash
                outcome = ("error", tid, errors.describe_error(exc))  # logged in its data dir
            finally:
                with self._lock:
                    self._contexts.pop(tid, None)
                    self._cancelled.discard(tid)
            try:
                self.send(outcome)
            except Exception as exc:  # e.g. a result that cannot be pickled
                self.send(("error", tid, errors.describe_error(exc)))


def _send_runtime_state(send: Callable[[Message], None]) -> None:
    """Model, adapter and threads for the status bar, when a model runtime exists."""
    import sys

    if "engine.llm" not in sys.modules:
        return
    from engine.llm import get_runtime
    from gui.tasks import to_wire

    with contextlib.suppress(Exception):  # the status bar must never break a task
        send(("state", None, to_wire(get_runtime().state())))


# -- the parent: one process per window process, shared by executors -----------------------------
class EngineProcess:
    """Starts the worker on first use and routes its messages to the submitting executors.

    Everything here runs on the GUI thread: the worker's results pipe is watched with a
    ``QSocketNotifier``, so messages are read by the event loop itself. There is deliberately no
    reader thread: nothing in the window's process has to hand Qt objects across threads, there
    is no thread to stop when a window closes, and callbacks run in the order messages arrive.
    """

    _shared: EngineProcess | None = None

    #: message kinds that end a task
    FINAL = ("done", "error", "cancelled")
    #: GUI-thread time one notifier activation may spend delivering messages
    SLICE_S = 0.012

    @classmethod
    def shared(cls) -> EngineProcess:
        """The application's worker (created on the GUI thread, like everything here)."""
        if cls._shared is None:
            cls._shared = EngineProcess()
        return cls._shared

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._process: Any = None
        self._commands: Any = None
        self._results: Any = None
        self._notifier: Any = None
        self._sinks: dict[int, Sink] = {}  # task id -> the executor's sink
        self._clients: list[Sink] = []  # attached executors (runtime state goes to all)
        self._atexit_registered = False
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        try:
            return self._process is not None and self._process.is_alive()
        except ValueError:  # closed
            return False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    def _start(self) -> None:
        from PySide6.QtCore import QSocketNotifier

        ctx = multiprocessing.get_context("spawn")
        commands_read, commands_write = ctx.Pipe(duplex=False)
        results_read, results_write = ctx.Pipe(duplex=False)
        # Not a daemon: the indexer starts its own parser process, which daemons may not do.
        # An atexit hook stops it instead (before multiprocessing would wait on it forever).
        process = ctx.Process(target=worker_main, args=(commands_read, results_write),
                              name="satchel-engine", daemon=False)
        process.start()
        if not self._atexit_registered:
            atexit.register(self.stop, 10.0)
            self._atexit_registered = True
        commands_read.close()
        results_write.close()
        self._process, self._commands, self._results = process, commands_write, results_read
        self._notifier = QSocketNotifier(results_read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(lambda *_args: self.pump(0.0, self.SLICE_S))

    def attach(self, sink: Sink) -> None:
        """An executor starts using the worker (runtime-state messages go to every client)."""
        if sink not in self._clients:
            self._clients.append(sink)

    def detach(self, sink: Sink) -> None:
        """An executor is done; later messages for its tasks are dropped. The worker stays warm
        for the next window and ends with the application."""
        if sink in self._clients:
            self._clients.remove(sink)
        self._sinks = {t: s for t, s in self._sinks.items() if s is not sink}

    def stop(self, timeout_s: float = 30.0) -> None:
        """End the worker: tasks are cancelled, the model unloaded, the process joined."""
        process, commands = self._process, self._commands
        if process is None:
            return
        self._stopping = True
        try:
            with contextlib.suppress(OSError, ValueError):
                commands.send(("stop",))
            deadline = time.monotonic() + timeout_s
            while process.is_alive() and time.monotonic() < deadline:
                if self._results is None:
                    process.join(0.05)
                else:
                    self.pump(0.05)  # keep reading: a worker blocked on a full pipe never exits
        finally:
            self._stopping = False
        if process.is_alive():
            process.terminate()
            process.join(5)
        if process.is_alive():
            process.kill()
            process.join(5)
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
        for conn in (self._commands, self._results):
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
        if self._process is not None:
            with contextlib.suppress(ValueError, AssertionError):
                self._process.join(0.1)
                self._process.close()
        self._process = self._commands = self._results = self._notifier = None

    # -- tasks ------------------------------------------------------------------------------------
    def new_id(self) -> int:
        """A task id, handed out before submitting so the caller can register the task first."""
        return next(self._ids)

    def submit(self, tid: int, sink: Sink, fn: Callable[..., Any], args: tuple[Any, ...],
               data_dir: str, progress_interval_s: float, wants_progress: bool,
               quick: bool = False) -> int:
        """Queue ``fn(ctx, *args)`` in the worker (started if needed); returns ``tid``.

        ``quick`` tasks run on the worker's second lane, beside the serial one (see
        :func:`worker_main`): only for short work that touches neither the model nor the index.
        """
        if not self.running:
            if self._process is not None:
                self._worker_died()
            self._start()
        self._sinks[tid] = sink
        try:
            self._commands.send(("task", tid, fn, args, data_dir, progress_interval_s,
                                 wants_progress, quick))
        except Exception:
            self._sinks.pop(tid, None)
            raise
        return tid

    def cancel(self, tid: int) -> None:
        if self._commands is not None and tid in self._sinks:
            with contextlib.suppress(OSError, ValueError):
                self._commands.send(("cancel", tid))

    def pump(self, timeout_s: float, budget_s: float | None = None) -> None:
        """Read and deliver the messages waiting (up to ``timeout_s`` for the first one).

        Called by the socket notifier (timeout 0, with a time budget) and by code that must
        wait for the worker on the GUI thread (shutdown, stop). With ``budget_s``, delivery
        stops once that much time went into callbacks; the notifier fires again for the rest
        at the event loop's next turn, so a burst of messages (progress, text) never holds the
        GUI thread for long and paint and input events get their turn in between.
        """
        results = self._results
        if results is None:
            return
        deadline = time.monotonic() + budget_s if budget_s is not None else None
        try:
            ready = results.poll(timeout_s)
            while ready:
                self._deliver(results.recv())
                if deadline is not None and time.monotonic() >= deadline:
                    return
                ready = self._results is results and results.poll(0)
        except (EOFError, OSError):
            if self._stopping:  # the worker is exiting as asked: stop reading its pipe
                if self._notifier is not None:
                    self._notifier.setEnabled(False)
                with contextlib.suppress(OSError):
                    results.close()
                self._results = None
            else:
                self._worker_died()

    def _deliver(self, message: Message) -> None:
        kind, tid = message[0], message[1]
        if kind == "state":
            targets = list(self._clients)
        else:
            sink = self._sinks.get(tid)
            targets = [sink] if sink is not None else []
            if kind in self.FINAL:
                self._sinks.pop(tid, None)
        for sink in targets:
            sink(message)

    def _worker_died(self) -> None:
        """The worker ended unexpectedly (a native crash): fail its tasks, restart on next use."""
        process = self._process
        code = None
        if process is not None:
            process.join(1)
            code = process.exitcode
        pending, self._sinks = self._sinks, {}
        self._close_pipes()
        for tid, sink in pending.items():
            sink(("error", tid, f"the engine worker stopped unexpectedly (exit code {code}); "
                               "it restarts with the next task"))
