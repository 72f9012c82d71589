"""Render an :class:`engine.jobs.Job` as a rich progress bar with rate and ETA.

The task runs in a worker thread so the main thread can turn Ctrl-C into ``job.cancel()``; the
task then stops at its next ``job.check()`` and whatever it finished is kept.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from engine.jobs import Cancelled, Job, JobState, format_eta

T = TypeVar("T")


def _metrics_text(state: JobState) -> str:
    parts = []
    for key, value in state.metrics.items():
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    if state.rate:
        parts.append(f"{state.rate:.1f}/s")
    parts.append(f"ETA {format_eta(state.eta_s)}")
    return "  ".join(parts)


#: Seconds between the plain progress lines written when stderr is not a terminal.
LOG_EVERY_S = 10.0


def _plain_line(state: JobState, description: str) -> str:
    """One progress line for a log: "Indexing: 120/4395  35.1/s  ETA 2 min 05 s"."""
    def n(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else f"{x:.1f}"

    count = (f"{n(state.done)}/{n(state.total)}" if state.total else
             n(state.done) if state.done else "")
    return f"{state.status or description}: " + "  ".join(
        x for x in (count, _metrics_text(state)) if x)


def run_with_progress(task: Callable[[Job], T], description: str, *,
                      quiet: bool = False) -> tuple[T | None, Job]:
    """Run ``task(job)`` with a live progress bar on stderr; returns (result, job).

    The result is None when the task was cancelled (Ctrl-C); ``job.partial_results`` then holds
    what it finished. Exceptions from the task are re-raised in the calling thread.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    # Not a terminal (a log file, cron, CI): rich draws no bar there (only a stray blank line),
    # so instead a plain line every LOG_EVERY_S seconds, and at each new status, shows that a
    # long job is moving. Jobs shorter than that (and quick one-line errors) write nothing.
    plain = not quiet and not console.is_terminal
    outcome: dict[str, Any] = {}
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), console=console, transient=True,
        disable=quiet or plain,
    )
    bar = progress.add_task(description, total=None, info="")
    last_line: dict[str, Any] = {"at": time.monotonic(), "status": None}

    def on_update(state: JobState) -> None:
        progress.update(bar, completed=state.done, total=state.total,
                        description=(state.status or description)[:60],
                        info=_metrics_text(state))
        if plain:
            now = time.monotonic()
            if now - last_line["at"] >= LOG_EVERY_S or (
                    state.status != last_line["status"] and state.elapsed_s >= LOG_EVERY_S):
                last_line.update(at=now, status=state.status)
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
    with progress:
        worker.start()
        # Wait on an Event, not on join(): a KeyboardInterrupt inside Thread.join(timeout)
        # can leave the thread looking finished (is_alive() False, join() returning at once)
        # while the job still runs, and the CLI would exit under a cancelling job.
        try:
            while not done.wait(0.1):
                pass
        except KeyboardInterrupt:
            print("cancelling... (finished work is kept)", file=sys.stderr)
            job.cancel()
            done.wait()
        worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result"), job
