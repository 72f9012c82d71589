"""Issue 16's launch targets: ``python -m benchmarks.bench_launch``.

1. Launch to first token of the first RAG question: the sample corpus is indexed once with the
   CLI (``satchel index``, then one ``satchel search`` so first-use caches exist) into a fresh
   data dir; each launch copies that data dir (so no launch
   sees another's chat), spawns ``python main.py`` (the GUI path) with the first-paint hook of
   ``bench_gui.py`` in its "answer" mode (:mod:`gui.bench_hooks`): as soon as the window has
   painted, it types a question of ``engine/samples/qa.jsonl`` into the chat and sends it. The
   question is sent ``--typing-delay`` seconds (3 by default: typing a question takes longer)
   after the first paint, as a user would, so the background warm-up has had that long. The
   figure is what the user waits for: window shown after spawning, plus question sent to first
   token (the typing time itself excluded), median of ``--runs`` launches after one unmeasured
   launch that warms the page cache (a desktop launch is rarely the first). Target <= 2.0 s.
   The worst case is printed beside it: the question sent the instant the window paints,
   spawn to first token (nothing warmed; no target).
2. Memory after that one answer: RSS of the engine worker (the answering process: model, index,
   embedder) and, separately, of the window's process; target <= 500 MB for the worker. The
   large libraries the worker has loaded are printed (torch, sentence_transformers,
   transformers...), so an import that creeps back into the answering path is visible.

A real window under Xvfb when one is running or ``--xvfb`` starts one, offscreen otherwise
(the helpers of ``bench_gui.py``). Prints each launch, the medians, PASS/FAIL.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_gui import display_env  # noqa: E402 - after the path fix

FIRST_TOKEN_TARGET_S = 2.0
WORKER_RSS_TARGET_MB = 500.0
MB = 1 << 20


def prepare_home(base: Path, env: dict[str, str]) -> Path:
    """A data dir with the sample corpus indexed by the CLI, in the window's RAG mode."""
    from engine.samples import CORPUS_DIR

    home = base / "prepared"
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(home), "index",
                          str(CORPUS_DIR), "--collection", "sample", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"satchel index failed: {out.stderr.strip()[-2000:]}")
    summary = json.loads(out.stdout)
    if not summary.get("chunks"):
        raise RuntimeError(f"the sample corpus gave no chunks: {summary}")
    # one search, so what the query side makes once and keeps under the data dir (an exported
    # embedder) exists before the launches, as it does on a user's machine after the first use
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(home),
                          "search", "winter crew", "--collection", "sample", "--json"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"satchel search failed: {out.stderr.strip()[-2000:]}")
    (home / "gui-state.json").write_text(json.dumps(
        {"first_run_done": True, "active_collection": "sample", "mode": "rag"}))
    return home


def question(index: int) -> str:
    from engine.samples import CORPUS_DIR

    lines = (CORPUS_DIR.parent / "qa.jsonl").read_text(encoding="utf-8").splitlines()
    return json.loads(lines[index])["question"]


def launch(prepared: Path, env: dict[str, str], text: str, typing_delay_s: float,
           timeout_s: float = 600.0) -> dict[str, Any]:
    """One launch: spawn -> first paint -> question -> first token -> answer -> memory."""
    home = Path(tempfile.mkdtemp(prefix="satchel-bench-launch-"))
    shutil.rmtree(home)
    shutil.copytree(prepared, home)
    run_env = {**env, "SATCHEL_HOME": str(home), "SATCHEL_REPORT_SHOWN": "answer",
               "SATCHEL_BENCH_QUESTION": text, "SATCHEL_BENCH_DELAY_S": str(typing_delay_s)}
    result: dict[str, Any] = {}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=run_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        deadline = started + timeout_s
        for line in proc.stdout:
            now = time.monotonic() - started
            word, _, rest = line.strip().partition(" ")
            if word == "SATCHEL_WINDOW_SHOWN":
                result["shown_s"] = now
            elif word == "SATCHEL_ASKED":
                result["asked_s"] = now
            elif word == "SATCHEL_FIRST_TOKEN":
                result["first_token_s"] = now
            elif word == "SATCHEL_ANSWERED":
                result["answer"] = json.loads(rest.partition(" ")[2])
            elif word == "SATCHEL_MEMORY":
                result["memory"] = json.loads(rest)
            elif word == "SATCHEL_ERROR":
                result["error"] = rest
            if "memory" in result or "error" in result or time.monotonic() > deadline:
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(home, ignore_errors=True)
    if "memory" not in result and "error" not in result:
        stderr = proc.stderr.read() if proc.stderr else ""
        result["error"] = f"no report (exit code {proc.returncode}): {stderr.strip()[-1500:]}"
    return result


def describe(i: int, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"  launch {i}: FAILED {r['error']}"
    a, m = r.get("answer", {}), r["memory"]
    wait = r["first_token_s"] - r["asked_s"]
    return (f"  launch {i}: window {r['shown_s']:.2f} s, asked {r['asked_s']:.2f} s, first token "
            f"{r['first_token_s']:.2f} s (waited {wait:.2f} s; retrieval "
            f"{a.get('retrieval_ms', 0):.0f} ms, prompt {a.get('prompt_tokens')} tokens, "
            f"{a.get('reused_tokens')} reused, {a.get('n_threads')} threads); worker "
            f"{m['rss'] / MB:.0f} MB, window {m['window_rss'] / MB:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="launches to time (median)")
    parser.add_argument("--xvfb", action="store_true", help="start a private Xvfb (real X "
                        "window) instead of using $DISPLAY or offscreen")
    parser.add_argument("--question", type=int, default=1,
                        help="line of engine/samples/qa.jsonl to ask (0-based)")
    parser.add_argument("--typing-delay", type=float, default=3.0, metavar="S",
                        help="send the question S seconds after the first paint (default 3)")
    parser.add_argument("--quick", action="store_true", help="one launch, no warm-up launch")
    args = parser.parse_args(argv)
    xvfb, env = display_env(args.xvfb)
    base = Path(tempfile.mkdtemp(prefix="satchel-bench-launch-base-"))
    text = question(args.question)
    try:
        prepared = prepare_home(base, env)
        print(f"question: {text!r} ({env['QT_QPA_PLATFORM']}, typing delay "
              f"{args.typing_delay:g} s)")
        if not args.quick:
            launch(prepared, env, text, args.typing_delay)  # warms the page cache, not counted
        results, instant = [], []
        for i in range(1 if args.quick else args.runs):
            r = launch(prepared, env, text, args.typing_delay)
            print(describe(i + 1, r), flush=True)
            results.append(r)
        if args.typing_delay > 0:
            print("worst case, the question sent at the first paint:")
            for i in range(1 if args.quick else args.runs):
                r = launch(prepared, env, text, 0.0)
                print(describe(i + 1, r), flush=True)
                instant.append(r)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
        shutil.rmtree(base, ignore_errors=True)
    good = [r for r in results if "error" not in r]
    if not good:
        return 1
    waited = statistics.median(r["first_token_s"] - r["asked_s"] for r in good)
    shown = statistics.median(r["shown_s"] for r in good)
    first = statistics.median(r["shown_s"] + r["first_token_s"] - r["asked_s"] for r in good)
    if not args.typing_delay:
        first = statistics.median(r["first_token_s"] for r in good)
    worker = statistics.median(r["memory"]["rss"] for r in good) / MB
    window = statistics.median(r["memory"]["window_rss"] for r in good) / MB
    ok_first = first <= FIRST_TOKEN_TARGET_S
    ok_rss = worker <= WORKER_RSS_TARGET_MB
    print(f"launch to first token (median of {len(good)}; window {shown:.2f} s + question to "
          f"first token {waited:.2f} s, typing excluded): {first:.2f} s; target <= "
          f"{FIRST_TOKEN_TARGET_S} s  {'PASS' if ok_first else 'FAIL'}")
    if cold := [r for r in instant if "error" not in r]:
        print(f"worst case, asked at the first paint: spawn to first token "
              f"{statistics.median(r['first_token_s'] for r in cold):.2f} s (median of "
              f"{len(cold)}; the model, embedder and index load on that question)")
    print(f"answering process (engine worker) RSS after one RAG answer: {worker:.0f} MB (peak "
          f"{statistics.median(r['memory']['peak_rss'] for r in good) / MB:.0f} MB); target "
          f"<= {WORKER_RSS_TARGET_MB:.0f} MB  {'PASS' if ok_rss else 'FAIL'}")
    print(f"window process RSS: {window:.0f} MB")
    modules = good[-1]["memory"]["modules"]
    heavy = [m for m in ("torch", "sentence_transformers", "transformers") if m in modules]
    print(f"large libraries in the worker: {', '.join(modules) or 'none'} "
          f"({good[-1]['memory']['module_count']} modules); "
          f"{'torch stack loaded: ' + ', '.join(heavy) if heavy else 'no torch stack'}")
    return 0 if ok_first and ok_rss and len(good) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
