"""The CLI's progress when stderr is not a terminal (a log file, cron, CI): plain lines."""

from __future__ import annotations

import time

import pytest

from cli import progress
from engine.jobs import Job


def _steps(job: Job, pause: float, steps: int = 4) -> str:
    job.status("Reading files")
    for i in range(1, steps + 1):
        time.sleep(pause)
        job.progress(i, steps, skipped=0)
    return "done"


def test_a_long_job_writes_plain_progress_lines(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.25)
    result, _job = progress.run_with_progress(lambda job: _steps(job, 0.3), "Indexing")
    assert result == "done"
    lines = capsys.readouterr().err.splitlines()
    assert lines and all(line.startswith("Reading files: ") for line in lines), lines
    assert any("/4" in line and "ETA" in line for line in lines), lines


def test_a_cancelled_job_wrapping_up_shows_no_eta_of_the_rest() -> None:
    from engine.jobs import JobState

    running = JobState("Embedding a.pdf", 1738, 4417, 1449.0, 0.4, 7200.0, False, False,
                       {"chunks": 215972})
    assert progress._plain_line(running, "Indexing") == (
        "Embedding a.pdf: 1738/4417  chunks 215972  0.4/s  ETA 2 h 00 min")
    wrapping_up = JobState("Optimizing the index", 1738, 4417, 1449.0, 0.4, 7200.0, True, False,
                           {"chunks": 215972})
    assert progress._plain_line(wrapping_up, "Indexing") == (
        "Optimizing the index: 1738/4417  chunks 215972")


def test_a_short_job_or_a_quiet_one_writes_nothing(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    result, _job = progress.run_with_progress(lambda job: _steps(job, 0.01), "Indexing")
    assert result == "done" and capsys.readouterr().err == ""
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.05)
    progress.run_with_progress(lambda job: _steps(job, 0.1), "Indexing", quiet=True)
    assert capsys.readouterr().err == ""


def test_sigterm_cancels_the_job_and_keeps_what_it_finished(
        capsys: pytest.CaptureFixture[str]) -> None:
    """``kill`` (a service manager, a shutdown) stops a job as Ctrl-C does: the task sees the
    cancel at its next check and what it finished is kept; the old handler is back after."""
    import os
    import signal
    import threading

    finished: list[int] = []

    def task(job: Job) -> str:
        for i in range(200):
            job.check()
            time.sleep(0.02)
            finished.append(i)
            if i == 5:
                threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return "all"

    before = signal.getsignal(signal.SIGTERM)
    result, job = progress.run_with_progress(task, "Indexing")
    assert result is None and job.cancelled() and 5 < len(finished) < 200
    assert "SIGTERM: cancelling... (finished work is kept)" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before
