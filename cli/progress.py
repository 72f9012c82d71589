"""Render an :class:`engine.jobs.Job` as a rich progress bar with rate and ETA.

The task runs in a worker thread so the main thread can turn Ctrl-C, SIGTERM and SIGHUP into
``job.cancel()``; the task then stops at its next ``job.check()`` and whatever it finished is kept.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from engine.jobs import Cancelled, Job, JobState, format_eta, stop_signals

T = TypeVar("T")


def _metrics_text(state: JobState) -> str:
    parts = []
    for key, value in state.metrics.items():
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    if state.cancelled:  # what is left is wrapping up (saving, optimizing), not the rest
        return "  ".join(parts)
    if state.rate:
        parts.append(f"{state.rate:.1f}/s")
    parts.append(f"ETA {format_eta(state.eta_s)}")
    return "  ".join(parts)


#: Seconds between the plain progress lines written when stderr is not a terminal.
LOG_EVERY_S = 10.0


def _plain_line(state: JobState, description: str) -> str:
    """One progress line for a log: "Indexing: 120/4395  35.1/s  ETA 2 min 05 s"."""
    return f"{state.status or description}: " + "  ".join(
        x for x in (_count_text(state), _metrics_text(state)) if x)


def _count_text(state: JobState) -> str:
    """The count: "120/4395" (files, steps), or "120" when the total is unknown."""
    def n(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:.1f}"

    return (f"{n(state.done)}/{n(state.total)}" if state.total else
            n(state.done) if state.done else "")


def _say(line: str) -> None:
    """A line on stderr, which may be gone (SIGHUP: the terminal was closed)."""
    with suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


@contextmanager
def _signals_cancel(job: Job) -> Iterator[list[str]]:
    """SIGTERM (``kill``, a service manager, a shutdown) and SIGHUP (the terminal closed) cancel
    the job as Ctrl-C does, so an indexing run keeps its finished files and a training saves a
    checkpoint to resume from, instead of dying mid-step. Yields the signals' names as they come.
    Only the main thread can install handlers; elsewhere the defaults stay."""
    got: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def cancel(signum: int, _frame: Any) -> None:
        got.append(signal.Signals(signum).name)
        job.cancel()

    wanted = stop_signals()
    previous = {s: signal.signal(s, cancel) for s in wanted}
    try:
        yield got
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_with_progress(task: Callable[[Job], T], description: str, *,
                      quiet: bool = False) -> tuple[T | None, Job]:
    """Run ``task(job)`` with a live progress bar on stderr; returns (result, job).

    The result is None when the task was cancelled (Ctrl-C); ``job.partial_results`` then holds
    what it finished. Exceptions from the task are re-raised in the calling thread.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    console = Console(stderr=True)
    # Not a terminal (a log file, cron, CI): rich draws no bar there (only a stray blank line),
    # so instead a plain line every LOG_EVERY_S seconds shows that a long job is moving (not one
    # per status: indexing names each file). Jobs shorter than that, and quick one-line errors,
    # write nothing.
    plain = not quiet and not console.is_terminal
    outcome: dict[str, Any] = {}
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[info]}"), console=console, transient=True,
        disable=quiet or plain,
    )
    bar = progress.add_task(description, total=None, info="", count="")
    last_line = {"at": time.monotonic()}

    def on_update(state: JobState) -> None:
        # the bar shows the work done (bytes when indexing), the count the files or steps
        fraction = state.fraction
        progress.update(bar, completed=fraction * 1000 if fraction is not None else 0,
                        total=1000 if fraction is not None else None,
                        description=(state.status or description)[:60],
                        info=_metrics_text(state), count=_count_text(state))
        if plain:
            now = time.monotonic()
            if now - last_line["at"] >= LOG_EVERY_S:
                last_line["at"] = now
                print(_plain_line(state, description), file=sys.stderr, flush=True)

    job = Job(on_update, min_interval_s=0.2)

    done = threading.Event()

    def target() -> None:
        try:
            outcome["result"] = task(job)
        except Cancelled:
            outcome["result"] = None
        except BaseException as exc:  # re-raised in the caller's thread below
            outcome["error"] = exc
        finally:
            job.finish()
            done.set()

    worker = threading.Thread(target=target, name="satchel-job", daemon=True)
    with progress, _signals_cancel(job) as signalled:
        worker.start()
        # Wait on an Event, not on join(): a KeyboardInterrupt inside Thread.join(timeout)
        # can leave the thread looking finished (is_alive() False, join() returning at once)
        # while the job still runs, and the CLI would exit under a cancelling job.
        try:
            while not done.wait(0.1) and not signalled:
                pass
            if signalled:
                _say(f"{signalled[0]}: cancelling... (finished work is kept)")
                done.wait()
        except KeyboardInterrupt:
            _say("cancelling... (finished work is kept)")
            job.cancel()
            done.wait()
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result"), job
