"""The progress/cancel protocol: rate, ETA, throttling, cancel across threads, partials."""

from __future__ import annotations

import threading

import pytest

from engine.jobs import Cancelled, Job, format_eta


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_rate_and_eta_from_recent_progress():
    clock = FakeClock()
    job = Job(clock=clock)
    job.progress(0, 100)
    clock.t += 10
    job.progress(20, 100)
    state = job.snapshot()
    assert state.rate == pytest.approx(2.0)
    assert state.eta_s == pytest.approx(40.0)
    assert state.fraction == pytest.approx(0.2)
    assert state.elapsed_s == pytest.approx(10.0)


def test_updates_are_throttled_but_status_and_completion_are_not():
    clock = FakeClock()
    seen = []
    job = Job(seen.append, min_interval_s=1.0, clock=clock)
    for i in range(50):
        job.progress(i, 100)
    assert len(seen) == 1  # first update only; the rest fall inside the interval
    job.status("phase two")
    assert seen[-1].status == "phase two"
    job.progress(100, 100, chunks=7)
    assert seen[-1].done == 100 and seen[-1].metrics == {"chunks": 7}
    job.finish()
    assert seen[-1].finished


def test_cancel_from_another_thread_stops_the_task_at_its_next_check():
    job = Job()
    started = threading.Event()
    processed = []

    def task() -> None:
        started.set()
        try:
            for i in range(10_000):
                job.check()
                processed.append(i)
                job.partial(i)
                threading.Event().wait(0.001)
        except Cancelled:
            pass

    worker = threading.Thread(target=task)
    worker.start()
    started.wait()
    job.cancel()
    worker.join(5)
    assert not worker.is_alive()
    assert job.cancelled() and job.snapshot().cancelled
    assert len(processed) < 10_000
    assert job.partial_results == processed


def test_eta_and_fraction_follow_the_work_when_units_differ_in_size():
    """Ten small files done in 10 s, one big one left that holds nine tenths of the bytes: by
    files the ETA would say 1 s; by the work it says 90 s, and the bar is at a tenth."""
    clock = FakeClock()
    job = Job(clock=clock)
    job.progress(0, 11, work=(0, 1000))
    clock.t += 10
    job.progress(10, 11, work=(100, 1000))
    state = job.snapshot()
    assert state.rate == pytest.approx(1.0)  # still files per second, as the count shows
    assert state.eta_s == pytest.approx(90.0)
    assert state.fraction == pytest.approx(0.1)
    clock.t += 20  # the big file: no file finished, but a third of its bytes embedded
    job.progress(10, 11, work=(400, 1000))
    assert job.snapshot().eta_s == pytest.approx(40.0)  # 300 in the last 20 s, 600 to go
    job.progress(11, 11, work=(1000, 1000))
    assert job.snapshot().eta_s == 0.0 and job.snapshot().fraction == 1.0


def test_new_phase_resets_rate():
    clock = FakeClock()
    job = Job(clock=clock)
    job.progress(0, 10)
    clock.t += 1
    job.progress(10, 10)
    clock.t += 1
    job.progress(0, 1000)  # second phase starts over
    assert job.snapshot().rate is None


@pytest.mark.parametrize("seconds,text", [(None, "?"), (4.4, "4 s"), (65, "1 min 05 s"),
                                          (3720, "1 h 02 min")])
def test_format_eta(seconds, text):
    assert format_eta(seconds) == text
