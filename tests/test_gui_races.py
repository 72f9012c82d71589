"""Races in the GUI's engine worker (issue 12, item 4), each forced or hammered until the old code
lost it: a Stop must reach a running answer whenever it lands, the indexing task streams each
finished file exactly once, no queued task starts after shutdown, and each task lane keeps its
own data dir.

The worker's threads are driven in this process (no Qt, no spawned worker): the command thread
(:func:`gui.engine_process._read_commands`) and both lanes of a :class:`_TaskRunner`, wired with
in-process pipes, exactly as :func:`gui.engine_process.worker_main` wires them.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine import paths
from gui.engine_process import _read_commands, _TaskRunner
from gui.tasks import TaskContext, stream_pieces

FINAL = ("done", "error", "cancelled")


# -- 1. a Stop reaches a running generation, whenever it lands -----------------------------------
@pytest.fixture(scope="module")
def assistant():
    """The real assistant and bundled model, loaded once (base mode: no index needed)."""
    from engine.answer import Assistant
    from engine.settings import Settings

    assistant = Assistant(Settings(temperature=0.0))
    assistant.ensure_model()
    return assistant


def _after(delay_s: float, fn: Any) -> None:
    time.sleep(delay_s)
    fn()


def test_stop_reaches_the_answer_whenever_it_lands(assistant):
    """50 answers, each stopped from another thread at a random moment around the moment the
    task registers ``stream.stop`` (as :func:`gui.ops.ask` does). ``job.cancel()`` is slowed
    down a little: the old ``cancel`` took the callbacks, then marked the job, and a
    registration in between was dropped (the answer streamed on to its end)."""
    rng = random.Random(12)
    for run in range(50):
        ctx = TaskContext(lambda _payload: None, 0.0)
        mark_cancelled = ctx.job.cancel

        def slow_cancel(mark: Any = mark_cancelled) -> None:
            time.sleep(0.004)
            mark()

        ctx.job.cancel = slow_cancel  # type: ignore[method-assign]
        stream = assistant.ask("Write a very long story about a lighthouse keeper.", "base",
                               max_tokens=48)
        delay = rng.uniform(0.0, 0.008)  # the Stop, from the command thread
        stopper = threading.Thread(target=_after, args=(delay, ctx.cancel))
        stopper.start()
        time.sleep(rng.uniform(0.0, 0.008))  # the task, registering its stop callback
        ctx.on_cancel(stream.stop)
        stream_pieces(stream, lambda _text: None)
        stopper.join()
        answer = stream.answer
        assert answer.stopped, f"run {run}: the Stop was lost, {answer.timings.completion_tokens}" \
                               " tokens streamed"


# -- 2. finished files stream once each, whatever thread reports ----------------------------------
class _SlowSlices(list):
    """Partial results whose slices take a moment, so two listeners reading at once overlap for
    sure (the old listener then sent the same files twice)."""

    def __getitem__(self, key: Any) -> Any:
        value = super().__getitem__(key)
        if isinstance(key, slice):
            time.sleep(0.0005)
        return value


def test_indexing_streams_each_finished_file_once(monkeypatch):
    """Job listeners run in every thread that reports (here four, plus a cancel from the command
    thread): every finished file reaches the window exactly once."""
    from engine.settings import Settings
    from gui import ops

    files = [f"/docs/file-{i:03}.txt" for i in range(200)]

    def fake_index_paths(inputs: list[str], collection: str, *, job: Any, settings: Any,
                         retry_failed: bool) -> Any:
        job.partial_results = _SlowSlices()

        def report(mine: list[str]) -> None:
            for path in mine:
                job.partial(path)
                job.status(f"Finished {path}")  # always delivered: one listener call each

        threads = [threading.Thread(target=report, args=(files[i::4],)) for i in range(4)]
        threads.append(threading.Thread(target=lambda: (time.sleep(0.02), ctx.cancel())))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        job.finish()
        return SimpleNamespace(files_failed=[], files_skipped=[])

    monkeypatch.setattr("engine.indexer.index_paths", fake_index_paths)
    monkeypatch.setattr(ops, "_docs_or_empty", lambda _name: {})
    events: list[Any] = []
    ctx = TaskContext(events.append, 0.0)
    ops.index_files(ctx, ["/docs"], "docs", Settings())
    streamed = Counter(p for kind, batch in events if kind == "files" for p in batch)
    twice = sorted(p for p, n in streamed.items() if n > 1)
    assert not twice, f"{len(twice)} files streamed more than once, e.g. {twice[:3]}"
    assert sorted(streamed) == files


# -- the worker's threads, in this process -------------------------------------------------------
class _Pipe:
    """One end of an in-process pipe: what ``multiprocessing`` connections do, minus pickling."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()

    def send(self, message: Any) -> None:
        self._queue.put(message)

    def recv(self, timeout: float | None = None) -> Any:
        return self._queue.get(timeout=timeout)


class _Worker:
    """The command thread and both lanes of :func:`worker_main`, wired to in-process pipes."""

    def __init__(self) -> None:
        self.commands, self.results = _Pipe(), _Pipe()
        runner = _TaskRunner(self.results)
        lanes: dict[bool, queue.Queue[Any]] = {False: queue.Queue(), True: queue.Queue()}
        self.threads = [
            threading.Thread(target=runner.loop, args=(lanes[False], True), name="serial"),
            threading.Thread(target=runner.loop, args=(lanes[True], False), name="quick"),
            threading.Thread(target=_read_commands, args=(self.commands, runner, lanes),
                             name="commands"),
        ]
        for t in self.threads:
            t.start()
        self.outcomes: dict[int, tuple[Any, ...]] = {}

    def submit(self, tid: int, fn: Any, *args: Any, data_dir: Path | None = None,
               quick: bool = False) -> None:
        home = str(data_dir or paths.data_dir())
        self.commands.send(("task", tid, fn, args, home, 0.0, False, quick))

    def _read(self, timeout: float) -> None:
        message = self.results.recv(timeout=timeout)
        if message[0] in FINAL:
            self.outcomes[message[1]] = message

    def wait(self, *tids: int, timeout: float = 10.0) -> None:
        """Read results until each of ``tids`` has ended."""
        deadline = time.monotonic() + timeout
        while not all(tid in self.outcomes for tid in tids):
            self._read(max(0.0, deadline - time.monotonic()))

    def stop(self) -> None:
        """Send ("stop",), wait for every thread, then read what is left."""
        self.commands.send(("stop",))
        for t in self.threads:
            t.join(10)
        assert not any(t.is_alive() for t in self.threads), "the worker did not stop"
        while True:
            try:
                self._read(0.0)
            except queue.Empty:
                return


# -- 3. after ("stop",) queued tasks end unstarted ------------------------------------------------
def test_stop_cancels_queued_tasks_without_starting_them():
    """A running task on each lane, another queued behind it; ("stop",) comes: the running ones
    are cancelled and the queued ones report "cancelled" without ever running."""
    running = {False: threading.Event(), True: threading.Event()}
    ran: list[str] = []

    def long_task(ctx: TaskContext, quick: bool) -> None:
        running[quick].set()
        while True:
            ctx.check()
            time.sleep(0.005)

    def queued_task(ctx: TaskContext, name: str) -> str:
        ran.append(name)
        return name

    worker = _Worker()
    worker.submit(1, long_task, False)
    worker.submit(2, queued_task, "serial")
    worker.submit(3, long_task, True, quick=True)
    worker.submit(4, queued_task, "quick", quick=True)
    assert running[False].wait(5) and running[True].wait(5)
    worker.stop()
    assert ran == [], f"queued tasks started after stop: {ran}"
    assert {tid: m[0] for tid, m in worker.outcomes.items()} == {
        1: "cancelled", 2: "cancelled", 3: "cancelled", 4: "cancelled"}


# -- 4. each lane keeps its own data dir ----------------------------------------------------------
def test_each_lane_keeps_its_own_data_dir(tmp_path):
    """A serial task and a quick task from windows with different data dirs run at the same time;
    each sees its own dir from start to end, and so do threads the serial task starts (the
    indexer's parse and write threads). Two rounds, the dirs swapped in the second."""
    home_a, home_b = (tmp_path / "home-a").resolve(), (tmp_path / "home-b").resolve()
    seen: dict[tuple[int, str], Path] = {}

    def task(ctx: TaskContext, tid: int, both_set: threading.Barrier, starts_thread: bool) -> None:
        seen[tid, "start"] = paths.data_dir()
        both_set.wait()  # the other lane's task has started (and set its data dir) too
        seen[tid, "end"] = paths.data_dir()
        if starts_thread:
            helper = threading.Thread(
                target=lambda: seen.__setitem__((tid, "thread"), paths.data_dir()))
            helper.start()
            helper.join()
        both_set.wait()

    worker = _Worker()
    expected: dict[tuple[int, str], Path] = {}
    for serial, quick, serial_home, quick_home in [(1, 2, home_a, home_b), (3, 4, home_b, home_a)]:
        both_set = threading.Barrier(2, timeout=5)
        worker.submit(serial, task, serial, both_set, True, data_dir=serial_home)
        worker.submit(quick, task, quick, both_set, False, data_dir=quick_home, quick=True)
        expected.update({(serial, "start"): serial_home, (serial, "end"): serial_home,
                         (serial, "thread"): serial_home,
                         (quick, "start"): quick_home, (quick, "end"): quick_home})
    worker.wait(1, 2, 3, 4)
    worker.stop()
    assert all(m[0] == "done" for m in worker.outcomes.values()), worker.outcomes
    wrong = {key: str(seen.get(key)) for key in expected if seen.get(key) != expected[key]}
    assert not wrong, f"tasks saw another lane's data dir: {wrong}"
