"""One generation at a time, in arrival order, each stoppable by the client that asked for it.

Why one thread: there is one model in memory and llama.cpp runs one sequence on it; answering
two requests at once would only split two cores between them (both slower) and thrash the
prompt cache. So requests queue, FIFO, on a single worker thread that prepares each answer
(retrieval, prompt) and streams its tokens into the request's asyncio queue. A request whose
client went away is dropped before it starts, or stopped at its next token when it runs.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from engine.answer import AnswerStream
from engine.errors import SatchelError

log = logging.getLogger("satchel.serve")

#: Pieces generated within this long after the last one sent travel together. Every send wakes
#: the event loop, the HTTP writer and the client, and on a 2-core laptop each wake-up takes a
#: core from llama.cpp's threads (which wait for each other at every layer): one event per
#: token cost ~5% of the token rate; a chunk every 25 ms is still smooth to read.
COALESCE_S = 0.025


@dataclass
class SchedulerStats:
    """Counters ``GET /health`` shows (and the tests read)."""

    queued: int = 0
    busy: bool = False
    completed: int = 0
    #: requests whose client left: dropped while queued, or stopped mid-generation
    disconnected: int = 0
    #: of those, generations cut short at a token (the model was running when the client left)
    stopped_mid_answer: int = 0
    failed: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Job:
    """One request's work: ``prepare`` runs on the worker, events arrive on the request's loop.

    Events are ``(kind, value)``: ``("start", Answer)`` once prepared (its sources are known),
    ``("piece", str)`` per text piece, ``("done", Answer)`` at the end, or ``("error",
    SatchelError)`` when preparing failed (bad collection, prompt too long...).
    """

    def __init__(self, prepare: Callable[[], AnswerStream],
                 loop: asyncio.AbstractEventLoop) -> None:
        self.prepare = prepare
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.cancelled = threading.Event()
        self._loop = loop

    def post(self, kind: str, value: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the server's loop is gone (shutting down): nobody listens
            self.cancelled.set()

    def cancel(self) -> None:
        """Thread-safe; the worker drops the job or stops its generation at the next token."""
        self.cancelled.set()


class Scheduler:
    """The FIFO of jobs and the one worker thread that runs them."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._stats = SchedulerStats()
        self._thread: threading.Thread | None = None
        self._current: Job | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="satchel-serve-worker",
                                                daemon=True)
                self._thread.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            self._stats.queued += 1
        self._jobs.put(job)

    def stats(self) -> SchedulerStats:
        with self._lock:
            return SchedulerStats(**asdict(self._stats))

    def close(self, timeout: float = 10.0) -> None:
        """Stop the running generation, drop the queue, and wait for the worker to end."""
        with self._lock:
            thread, self._thread = self._thread, None
            if self._current is not None:
                self._current.cancel()
        while True:  # queued jobs are cancelled, so the worker drops them without work
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancel()
                job.post("error", SatchelError("the server is shutting down"))
                with self._lock:
                    self._stats.queued -= 1
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            with self._lock:
                self._stats.queued -= 1
                if job.cancelled.is_set():
                    self._stats.disconnected += 1
                    continue
                self._stats.busy, self._current = True, job
            try:
                outcome = self._serve(job)
            finally:
                with self._lock:
                    self._stats.busy, self._current = False, None
            with self._lock:
                if outcome == "stopped":
                    self._stats.disconnected += 1
                    self._stats.stopped_mid_answer += 1
                elif outcome == "disconnected":
                    self._stats.disconnected += 1
                elif outcome == "failed":
                    self._stats.failed += 1
                else:
                    self._stats.completed += 1

    @staticmethod
    def _serve(job: Job) -> str:
        """Prepare and stream one job; returns how it ended."""
        try:
            stream = job.prepare()
        except SatchelError as exc:
            job.post("error", exc)
            return "failed"
        except Exception as exc:  # a bug must not take the worker (and every later request) down
            log.exception("preparing an answer failed")
            job.post("error", RuntimeError(f"internal error: {type(exc).__name__}: {exc}"))
            return "failed"
        if job.cancelled.is_set():
            return "disconnected"
        job.post("start", stream.answer)
        pending: list[str] = []
        last_post = 0.0
        for piece in stream:
            if job.cancelled.is_set():
                stream.stop()  # the runtime checks the flag before computing another token
                continue
            pending.append(piece)
            now = time.monotonic()
            if now - last_post >= COALESCE_S:  # the first piece goes at once
                job.post("piece", "".join(pending))
                pending.clear()
                last_post = now
        if pending:
            job.post("piece", "".join(pending))
        job.post("done", stream.answer)
        if job.cancelled.is_set():
            return "stopped" if stream.answer.stopped else "disconnected"
        return "failed" if stream.answer.error else "completed"
