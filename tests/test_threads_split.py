"""Answering gives way to heavy jobs: the busy marker across processes, the per-answer thread
count, and the warm-up that evaluates the prompt's fixed start (real bundled model)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.answer import Assistant
from engine.jobs import heavy_job, heavy_jobs
from engine.llm import answer_threads
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

#: A heavy job in another process: marks itself, says so, and holds until stdin closes.
HOLDER = """
import sys
from engine.jobs import heavy_job
with heavy_job("indexing", "elsewhere"):
    print("MARKED", flush=True)
    sys.stdin.read()
"""


def start_holder() -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=dict(os.environ),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "MARKED"
    return proc


def end_holder(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(30) == 0


def test_a_heavy_job_in_another_process_is_seen_until_it_ends():
    assert heavy_jobs() == [] and answer_threads(2) == (2, 2)
    proc = start_holder()
    try:
        jobs = heavy_jobs()
        assert [(j.kind, j.detail, j.pid) for j in jobs] == [("indexing", "elsewhere", proc.pid)]
        assert answer_threads(2) == (1, 1)
        assert answer_threads(1) == (1, 1)  # never below one thread
        assert answer_threads(8) == (4, 4)  # an equal share of the cores
        with heavy_job("training", "here"):  # two jobs: a smaller share
            assert sorted(j.kind for j in heavy_jobs()) == ["indexing", "training"]
            assert answer_threads(6) == (2, 2)
        assert [j.kind for j in heavy_jobs()] == ["indexing"]
    finally:
        end_holder(proc)
    assert heavy_jobs() == [] and answer_threads(2) == (2, 2)


def test_the_marker_of_a_killed_job_is_ignored_and_removed(satchel_home):
    proc = start_holder()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    folder = satchel_home / "busy"
    assert [p.name for p in folder.iterdir() if p.suffix == ".job"]  # left behind
    assert heavy_jobs() == []
    assert not [p for p in folder.iterdir() if p.suffix == ".job"]  # and cleaned up


def test_no_data_dir_yet_means_no_heavy_jobs(satchel_home):
    assert not satchel_home.exists()
    assert heavy_jobs() == []
    assert not satchel_home.exists()  # asking never creates anything


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    a = Assistant(Settings(n_threads=2, temperature=0.0, max_answer_tokens=8))
    a.ensure_model()
    return a


def context_threads(assistant: Assistant) -> tuple[int, int]:
    import llama_cpp

    ctx = assistant.runtime._llm._ctx.ctx
    return llama_cpp.llama_n_threads(ctx), llama_cpp.llama_n_threads_batch(ctx)


def test_an_answer_uses_fewer_threads_while_a_heavy_job_runs_and_all_after(assistant):
    def ask() -> object:
        stream = assistant.ask("Name a primary colour.", "base")
        planned = (stream.answer.timings.n_threads, stream.answer.timings.n_threads_batch)
        answer = stream.consume()
        assert answer.text and not answer.error
        assert (answer.timings.n_threads, answer.timings.n_threads_batch) == planned
        return answer

    idle = ask()
    assert (idle.timings.n_threads, idle.timings.n_threads_batch) == (2, 2)
    assert context_threads(assistant) == (2, 2)
    proc = start_holder()
    try:
        busy = ask()
        assert (busy.timings.n_threads, busy.timings.n_threads_batch) == (1, 1)
        assert context_threads(assistant) == (1, 1)  # applied to llama.cpp, not just recorded
        assert assistant.runtime.state().n_threads == 1  # the status bar says so too
        assert busy.text == idle.text  # the same answer, only computed with fewer threads
        assert busy.to_json()["timings"]["n_threads"] == 1
    finally:
        end_holder(proc)
    after = ask()
    assert (after.timings.n_threads, after.timings.n_threads_batch) == (2, 2)
    assert context_threads(assistant) == (2, 2)


def test_warm_up_evaluates_the_prompt_start_the_first_answer_reuses(assistant):
    assistant.runtime._llm.reset()  # as after a fresh load: nothing evaluated yet
    prefix = assistant.prompt_prefix("base")
    _, tokens, _ = assistant.runtime.render([
        {"role": "system", "content": "You are Satchel, a helpful assistant. Answer briefly "
                                      "and accurately."},
        {"role": "user", "content": "What is a tide?"}])
    assert len(prefix) > 10 and tokens[: len(prefix)] == prefix
    report = assistant.warm_up("base")
    assert set(report.done) == {"model", "prompt"} and not report.interrupted
    assert report.skipped == {"embedder": "mode 'base' does not retrieve",
                              "index": "mode 'base' does not retrieve"}
    assert report.primed_tokens == len(prefix)
    answer = assistant.ask("What is a tide?", "base").consume()
    assert answer.text and answer.timings.reused_tokens >= len(prefix)
    # a cache that already starts with the prefix (that answer) is kept, not re-evaluated
    assert assistant.warm_up("base").primed_tokens == 0
    assert assistant.runtime.state().n_threads == 2


def test_warm_up_never_fails_and_gives_way(assistant):
    report = assistant.warm_up("rag", collection="not-indexed-yet")
    assert "model" in report.done and "prompt" in report.done
    assert "no collection named 'not-indexed-yet'" in report.skipped["embedder"]
    assert report.skipped["index"] == report.skipped["embedder"]
    missing = Assistant(Settings(model_path="/nowhere/model.gguf"))
    report = missing.warm_up("base")
    assert not report.done and "model" in report.skipped and "prompt" in report.skipped
    asked: list[float] = []
    report = assistant.warm_up("rag", interrupted=lambda: asked.append(time.monotonic()) or True)
    assert report.interrupted and not report.done and len(asked) == 4


def test_indexing_marks_itself_while_it_runs(tmp_path):
    from engine.indexer import index_paths
    from engine.jobs import Job

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tides.txt").write_text("The spring tide at Halcyon Reach peaks at 4.82 metres. " * 8)
    seen: list[list[str]] = []
    job = Job(lambda _state: seen.append([j.kind for j in heavy_jobs()]), min_interval_s=0.0)
    summary = index_paths([docs], "marked", job=job)
    assert summary.files_indexed == 1
    assert ["indexing"] in seen  # while it ran, an answer elsewhere would have taken fewer
    assert seen[0] == []  # scanning comes before the writer lock and the marker
    assert heavy_jobs() == []
