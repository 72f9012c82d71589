"""Benchmark hooks of the window, loaded only when ``SATCHEL_REPORT_SHOWN=answer`` asks for them.

``benchmarks/bench_launch.py`` measures what a user waits for: from launching Satchel to the
first token of the first RAG answer, and the memory after it. The window cannot be driven from
outside without a test harness, so :func:`gui.app.run`'s first-paint hook (the one
``bench_gui.py`` uses) hands over to :func:`ask_and_report` here, which types the question into
the chat exactly as a user would, and prints one line per event on stdout for the benchmark to
read (and time by its own clock):

- ``SATCHEL_ASKED <s>``: the question was sent (seconds since the process started Qt's module);
- ``SATCHEL_FIRST_TOKEN <s>``: the first streamed text reached the chat;
- ``SATCHEL_ANSWERED <s> <json>``: the answer ended (its timings, error, worker pid);
- ``SATCHEL_MEMORY <json>``: RSS of the window and of the engine worker (the answering
  process), and which large libraries the worker has loaded (:func:`worker_report`);

then the window closes. Nothing here runs, or is even imported, in normal use.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

#: Libraries worth knowing about in the answering process (size or start-up cost).
WATCHED_MODULES = ("torch", "sentence_transformers", "transformers", "onnxruntime", "tokenizers",
                   "scipy", "sklearn", "pandas", "lancedb", "pyarrow", "llama_cpp", "numpy",
                   "peft", "PySide6")


def worker_report(ctx: Any) -> dict[str, Any]:
    """Runs in the engine worker: its RSS (now and peak) and the watched libraries it loaded."""
    import resource

    import psutil

    loaded = sorted(m for m in WATCHED_MODULES if m in sys.modules)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return {"pid": os.getpid(), "rss": psutil.Process().memory_info().rss, "peak_rss": peak,
            "modules": loaded, "module_count": len(sys.modules)}


def _say(what: str, started: float, extra: str = "") -> None:
    print(f"{what} {time.monotonic() - started:.4f}{' ' + extra if extra else ''}", flush=True)


def ask_and_report(window: Any, question: str, started: float) -> None:
    """Send ``question`` from the chat (now, or ``SATCHEL_BENCH_DELAY_S`` seconds later, as
    a user who types would); report the first token, the end, the memory; then quit."""
    delay_s = float(os.environ.get("SATCHEL_BENCH_DELAY_S") or 0)
    if delay_s > 0:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(round(delay_s * 1000), lambda: _ask(window, question, started))
    else:
        _ask(window, question, started)


def _ask(window: Any, question: str, started: float) -> None:
    chat = window.chat
    window.show_screen("Chat")
    chat.question.setPlainText(question)
    handle = chat.ask()
    if handle is None:
        print("SATCHEL_ERROR the chat did not accept the question", flush=True)
        window.close()
        return
    _say("SATCHEL_ASKED", started)
    turn = chat.turns[-1]
    original = turn.append
    seen = [False]

    def append(text: str) -> None:
        if not seen[0]:
            seen[0] = True
            _say("SATCHEL_FIRST_TOKEN", started)
        original(text)

    turn.append = append  # type: ignore[method-assign]

    def answered(answer: Any) -> None:
        chat.answer_finished.disconnect(answered)
        t = answer.timings
        warm = window.warm_up_report
        _say("SATCHEL_ANSWERED", started, json.dumps({
            "warm_up": {"done": getattr(warm, "done", None),
                        "skipped": getattr(warm, "skipped", None)},
            "error": answer.error, "chars": len(answer.text or ""), "sources": len(
                answer.sources), "ttft_ms": t.ttft_ms, "retrieval_ms": t.retrieval_ms,
            "prompt_tokens": t.prompt_tokens, "reused_tokens": t.reused_tokens,
            "n_threads": getattr(t, "n_threads", 0)}))
        window.executor.submit(worker_report, label="Measuring", on_done=memory,
                               on_error=failed, notify=False)

    def memory(report: dict[str, Any]) -> None:
        import psutil

        report = {**report, "window_rss": psutil.Process().memory_info().rss,
                  "window_pid": os.getpid()}
        print(f"SATCHEL_MEMORY {json.dumps(report)}", flush=True)
        window.close()

    def failed(message: str) -> None:
        print(f"SATCHEL_ERROR {message}", flush=True)
        window.close()

    chat.answer_finished.connect(answered)
    window.executor.error.connect(failed)
