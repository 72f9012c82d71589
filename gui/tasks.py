"""What a background task sees, inside the engine worker process (Qt-free).

Every function in :mod:`gui.ops` and :mod:`gui.ops_lab` takes a :class:`TaskContext` first: a
:class:`~engine.jobs.Job` whose snapshots travel back to the window as progress, ``emit`` for
streamed events (answer text), and ``on_cancel`` to register a thread-safe stop callback (an
``AnswerStream.stop``) that runs the moment the window asks to cancel.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from engine.jobs import Job

#: Modules whose classes the window's process has loaded anyway: their objects cross as they are.
WINDOW_MODULES = ("gui.", "engine.jobs", "engine.settings")


class Record(SimpleNamespace):
    """An engine result (an Answer, a Passage, an IndexSummary...) as plain attributes."""


def to_wire(value: Any) -> Any:
    """``value`` with every dataclass the window has not loaded turned into a :class:`Record`.

    Why: unpickling an ``engine.answer.Answer`` in the window imports ``engine.answer`` (and
    ``engine.llm``, ``engine.prompt``, ...) there, on the GUI thread, the first time one arrives:
    measured 50-80 ms, the longest stall of a streamed answer. Records unpickle without any
    import; the widgets only read attributes. Dataclasses of :data:`WINDOW_MODULES` keep their
    class, with their contents converted.
    """
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    if type(value) is list:
        return [to_wire(v) for v in value]
    if type(value) is tuple:
        return tuple(to_wire(v) for v in value)
    if type(value) is dict:
        return {k: to_wire(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        values = {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if type(value).__module__.startswith(WINDOW_MODULES):
            kept = copy.copy(value)
            for name, item in values.items():
                object.__setattr__(kept, name, item)  # frozen dataclasses too
            return kept
        return Record(**values)
    return value


class TaskContext:
    """Progress/cancel (the Job), streamed events, and stop callbacks for one task."""

    def __init__(self, emit: Callable[[Any], None], progress_interval_s: float = 0.1,
                 others_waiting: Callable[[], bool] | None = None) -> None:
        self._emit = emit
        self._others_waiting = others_waiting
        self.job = Job(min_interval_s=progress_interval_s)
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._cancelling = False  # guarded by _lock: set in the same step that takes the callbacks

    def emit(self, payload: Any) -> None:
        """Send ``payload`` to the task's ``on_event`` callback in the window."""
        self._emit(payload)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (thread-safe, e.g. ``AnswerStream.stop``) on cancellation: later,
        or right now (in this thread) if the task was already cancelled."""
        with self._lock:
            run_now = self._cancelling or self.job.cancelled()
            if not run_now:
                self._callbacks.append(callback)
        if run_now:
            callback()

    def cancel(self) -> None:
        """Called from the worker's command thread when the window cancels this task.

        The "cancelled" mark is set under the same lock as the callbacks are taken: a
        registration either lands before (its callback is in the list run here) or sees the mark
        and runs itself. Marking only through ``job.cancel()`` after the lock let a registration
        slip in between, onto a list nobody would run again, and the Stop was lost.
        """
        with self._lock:
            self._cancelling = True
            callbacks, self._callbacks = self._callbacks, []
        self.job.cancel()
        for callback in callbacks:
            callback()

    def cancelled(self) -> bool:
        return self.job.cancelled()

    def others_waiting(self) -> bool:
        """True while another task waits behind this one on the worker's serial lane: optional
        background work (the warm-up) ends early so the user's task runs next."""
        return self._others_waiting is not None and self._others_waiting()

    def check(self) -> None:
        """Raise :class:`~engine.jobs.Cancelled` if the task was cancelled."""
        self.job.check()


class StreamBatcher:
    """Join small pieces (tokens) and flush them at most every ``interval_s``.

    Why: one message per token at 70 tokens/s would cost the GUI thread a Markdown re-render per
    token; ~30 ms batches keep the text live and the GUI thread mostly idle.
    """

    def __init__(self, flush: Callable[[str], None], interval_s: float = 0.03) -> None:
        self._flush = flush
        self._interval = interval_s
        self._parts: list[str] = []
        self._last = 0.0

    def add(self, piece: str) -> None:
        self._parts.append(piece)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self.flush()
            self._last = now

    def flush(self) -> None:
        if self._parts:
            text, self._parts = "".join(self._parts), []
            self._flush(text)


def stream_pieces(pieces: Iterable[str], emit: Callable[[str], None],
                  interval_s: float = 0.03) -> None:
    """Drain ``pieces`` through a :class:`StreamBatcher`."""
    batcher = StreamBatcher(emit, interval_s)
    for piece in pieces:
        batcher.add(piece)
    batcher.flush()
