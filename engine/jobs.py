"""The one progress/cancel protocol every long task takes (indexing, training, evaluation).

Why one object: the CLI renders it as a progress bar with ETA, the GUI as a QProgressBar, tests as
a list of snapshots, and the task code does not care which. The task calls :meth:`Job.status`,
:meth:`Job.progress` (throttled, so calling it per item is cheap), :meth:`Job.partial` for results
that are worth keeping if the job stops early, and :meth:`Job.check` between batches, which raises
:class:`Cancelled` once someone called :meth:`Job.cancel` from any thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


class Cancelled(Exception):
    """Raised inside a task by :meth:`Job.check` after :meth:`Job.cancel`; carries no error."""


def stop_signals() -> list[int]:
    """The signals that ask a running job to stop cleanly, as Ctrl-C does: SIGTERM (``kill``,
    logging out, a shutdown) and SIGHUP (the terminal closed), where the platform has them.
    The CLI and the window both turn them into a cancel that keeps finished work."""
    import signal

    return [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]


@dataclass(frozen=True)
class JobState:
    """An immutable snapshot sent to listeners (safe to hand to another thread)."""

    status: str
    done: float
    total: float | None
    elapsed_s: float
    rate: float | None  # units per second over the recent window
    eta_s: float | None
    cancelled: bool
    finished: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    #: (done, total) of what the time goes by, when it is not the count (see Job.progress)
    work: tuple[float, float] | None = None

    @property
    def fraction(self) -> float | None:
        """How far along in [0, 1] (by the work when reported, else done / total), or None
        when the total is unknown."""
        if self.work and self.work[1] > 0:
            return max(0.0, min(1.0, self.work[0] / self.work[1]))
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


Listener = Callable[[JobState], None]


class Job:
    """Progress, partial results and cancellation for one long task."""

    #: Seconds of history used for the rate (and ETA): long enough to smooth, short enough to adapt.
    RATE_WINDOW_S = 20.0

    def __init__(self, listener: Listener | None = None, *, min_interval_s: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._listeners: list[Listener] = [listener] if listener else []
        self._min_interval = min_interval_s
        self._clock = clock
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._started = clock()
        self._status = ""
        self._done = 0.0
        self._total: float | None = None
        self._metrics: dict[str, Any] = {}
        self._work: tuple[float, float] | None = None
        # (time, done, work done) over the last RATE_WINDOW_S: the rate and the ETA
        self._samples: deque[tuple[float, float, float]] = deque()
        self._last_emit = float("-inf")
        self._finished = False
        self.partial_results: list[Any] = []

    # -- called by the task ---------------------------------------------------------------------
    def status(self, text: str) -> None:
        """Say what the task is doing now ("Embedding report.pdf"); always delivered."""
        with self._lock:
            self._status = text
        self._emit(force=True)

    def progress(self, done: float, total: float | None = None, *,
                 work: tuple[float, float] | None = None, **metrics: Any) -> None:
        """Report ``done`` of ``total`` units, plus any metrics (loss, chunks); throttled.

        ``work`` is (done, total) of what the time goes by when the units differ in size:
        indexing counts files, but one 300-page PDF takes as long as a thousand notes, so by
        files its ETA swung from 2 h 48 min to 4 min within a minute on /usr/share/doc. When
        given, the ETA and :attr:`JobState.fraction` follow the work; the count is still shown.
        """
        now = self._clock()
        with self._lock:
            if total is not None:
                self._total = float(total)
            if done < self._done or (work and self._work and work[0] < self._work[0]):
                self._samples.clear()  # a new phase restarted the count: forget the old rate
            self._done = float(done)
            if work is not None:
                self._work = (float(work[0]), float(work[1]))
            self._metrics.update(metrics)
            self._samples.append((now, self._done, self._work[0] if self._work else 0.0))
            while len(self._samples) > 2 and now - self._samples[0][0] > self.RATE_WINDOW_S:
                self._samples.popleft()
        self._emit(force=self._total is not None and self._done >= self._total)

    def partial(self, result: Any) -> None:
        """Keep a result that stays valid if the job is cancelled later (a finished file...)."""
        with self._lock:
            self.partial_results.append(result)

    def cancelled(self) -> bool:
        """True once cancel was requested; tasks that prefer polling to exceptions use this."""
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if cancel was requested. Call it between batches."""
        if self._cancel.is_set():
            raise Cancelled()

    def finish(self) -> None:
        """Mark the job finished and send a last snapshot."""
        with self._lock:
            self._finished = True
        self._emit(force=True)

    # -- called by the owner (CLI, GUI, tests) ----------------------------------------------------
    def cancel(self) -> None:
        """Ask the task to stop at its next check; safe from any thread, idempotent."""
        self._cancel.set()
        self._emit(force=True)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def snapshot(self) -> JobState:
        """The current state, computed now."""
        with self._lock:
            now = self._clock()
            rate = work_rate = None
            if len(self._samples) >= 2:
                (t0, d0, w0), (t1, d1, w1) = self._samples[0], self._samples[-1]
                if t1 > t0 and d1 >= d0:
                    rate = (d1 - d0) / (t1 - t0)
                if t1 > t0 and w1 > w0:
                    work_rate = (w1 - w0) / (t1 - t0)
            eta = None
            if self._work and self._work[0] >= self._work[1] > 0:
                eta = 0.0
            elif self._work:
                eta = (self._work[1] - self._work[0]) / work_rate if work_rate else None
            elif rate and self._total is not None:
                eta = max(0.0, (self._total - self._done) / rate)
            elif self._total is not None and self._done >= self._total:
                eta = 0.0
            return JobState(status=self._status, done=self._done, total=self._total,
                            elapsed_s=now - self._started, rate=rate, eta_s=eta,
                            cancelled=self._cancel.is_set(), finished=self._finished,
                            metrics=dict(self._metrics), work=self._work)

    def _emit(self, force: bool = False) -> None:
        if not self._listeners:
            return
        now = self._clock()
        if not force and now - self._last_emit < self._min_interval:
            return
        self._last_emit = now
        state = self.snapshot()
        for listener in list(self._listeners):
            listener(state)


def format_eta(seconds: float | None) -> str:
    """Human ETA: "12 s", "3 min 05 s", "1 h 02 min"; "?" when unknown."""
    if seconds is None:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# -- heavy jobs: a cross-process "the CPU is taken" signal ----------------------------------------
#: Folder (under the data dir) where running heavy jobs leave their markers.
BUSY_DIR = "busy"


@dataclass(frozen=True)
class HeavyJob:
    """A CPU-bound job running now, in this process or another one using the same data dir."""

    kind: str  # "indexing" | "training" | "training-data"
    detail: str  # the collection or adapter it works on
    pid: int


@contextmanager
def heavy_job(kind: str, detail: str = "") -> Iterator[None]:
    """Mark a CPU-bound job (indexing, training) as running for the duration of the block.

    Why: llama.cpp with every core collapses when another job holds one of them (its threads
    spin-wait on each other at every layer), so the answering process, which may be another
    process (``satchel index`` beside the window, ``satchel serve`` beside a training run), asks
    :func:`heavy_jobs` before each answer and takes fewer threads (:func:`engine.llm.
    answer_threads`). The marker is a small file under the data dir holding an exclusive
    ``flock``: the kernel drops the lock when the process ends, however it ends, so a marker
    left by a killed job is recognised (and removed) by the next reader, and a reused pid can
    never keep it alive. Best effort: a data dir that cannot be written only loses the signal.
    """
    import fcntl
    import json
    import uuid

    from engine import paths
    from engine.errors import SatchelError

    fh = None
    final = None
    try:
        folder = paths.data_dir() / BUSY_DIR
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temp = folder / f".{name}.tmp"
        fh = open(temp, "w", encoding="utf-8")  # noqa: SIM115 - held for the whole block
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        json.dump({"kind": kind, "detail": detail, "pid": os.getpid()}, fh)
        fh.flush()
        final = folder / f"{name}.job"
        os.replace(temp, final)  # locked before it is visible: a reader never sees it unlocked
    except (OSError, SatchelError):
        if fh is not None:
            fh.close()
        fh = final = None
    try:
        yield
    finally:
        if final is not None:
            with contextlib.suppress(OSError):
                final.unlink()
        if fh is not None:
            fh.close()


def heavy_jobs() -> list[HeavyJob]:
    """The heavy jobs running now (any process on this data dir); markers of dead ones are
    removed. Cheap (a directory listing and a lock attempt per marker: microseconds), so it is
    asked before every answer."""
    import fcntl
    import json

    from engine import paths

    folder = paths.data_dir(create=False) / BUSY_DIR
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".job"))
    except OSError:
        return []
    out: list[HeavyJob] = []
    for name in names:
        path = folder / name
        try:
            fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError:  # finished meanwhile
            continue
        with fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the job runs
                try:
                    raw = json.loads(fh.read() or "{}")
                except ValueError:
                    raw = {}
                out.append(HeavyJob(str(raw.get("kind", name.split("-")[0])),
                                    str(raw.get("detail", "")), int(raw.get("pid", 0))))
                continue
            except OSError:
                continue
            with contextlib.suppress(OSError):  # its process is gone: the marker is stale
                path.unlink()
    return out
