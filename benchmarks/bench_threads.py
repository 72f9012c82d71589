"""Issue 16's thread split: ``python -m benchmarks.bench_threads``.

llama.cpp with every core collapses when another job holds a core: its threads meet at a barrier
after every layer and spin there, so one descheduled thread stalls them all. This measures, on
this machine, a RAG-sized answer (the bundled model, a ~250-token prompt of two sample-corpus
passages, greedy) with every combination of ``n_threads`` (generation, one token at a time) and
``n_threads_batch`` (prompt processing) from 1 to the core count, switched per answer on one
loaded model (``llama_set_n_threads``, as the engine does), in three conditions:

- idle: nothing else running (whatever else the machine runs is in the printed load average);
- training: another process runs a CPU-bound training step loop (a torch MLP forward/backward
  with AdamW on every core, as ``engine.train`` does) under a heavy-job marker;
- indexing: another process indexes a generated corpus into fresh collections again and again
  (the real ``engine.indexer.index_paths``: isolated parse process, embedder, LanceDB).

Printed per condition and split: time to first token (median), generation tokens/s (median),
and the time of a whole 40-token answer computed from the two. It also prints the split
:func:`engine.llm.answer_threads` chooses in each condition (read from the load's marker), so
the engine's rule can be checked against the table. Samples taken while the load was between two
indexing runs (no marker) are dropped. Configurations run interleaved, in a new order per round,
so drift in the machine's load spreads over all of them.

``--quick`` runs one round per condition (a check that it works, not figures).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
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

from engine import netguard  # noqa: E402

netguard.install()

ANSWER_TOKENS = 40


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f}, {five:.1f} on {os.cpu_count()} cores"


# -- the loads, each run as a child process: python -m benchmarks.bench_threads --child KIND ------
def child_training(seconds: float) -> None:
    """A CPU-bound training step loop on every core, marked as a heavy job."""
    import torch

    from engine.jobs import heavy_job
    from engine.train.presets import cpu_threads

    torch.set_num_threads(cpu_threads())
    model = torch.nn.Sequential(torch.nn.Linear(576, 1536), torch.nn.GELU(),
                                torch.nn.Linear(1536, 576))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = torch.randn(4, 128, 576)
    deadline = time.monotonic() + seconds
    with heavy_job("training", "bench_threads"):
        print("READY", flush=True)
        while time.monotonic() < deadline:
            loss = model(batch).pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()


def child_indexing(seconds: float, corpus: str) -> None:
    """Index ``corpus`` into a fresh collection again and again (the indexer marks itself)."""
    from engine import index
    from engine.indexer import index_paths

    deadline = time.monotonic() + seconds
    print("READY", flush=True)
    run = 0
    while time.monotonic() < deadline:
        name = f"load{run}"
        index_paths([corpus], name)
        index.remove_collection(name)
        run += 1


def start_load(kind: str, home: Path, seconds: float, corpus: Path | None) -> subprocess.Popen:
    args = [sys.executable, "-m", "benchmarks.bench_threads", "--child", kind,
            "--seconds", str(seconds)]
    if corpus is not None:
        args += ["--corpus", str(corpus)]
    proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "SATCHEL_HOME": str(home)},
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"the {kind} load did not start (exit code {proc.wait()})")
    return proc


def wait_for_marker(timeout_s: float = 300.0) -> None:
    from engine.jobs import heavy_jobs

    deadline = time.monotonic() + timeout_s
    while not heavy_jobs():
        if time.monotonic() > deadline:
            raise RuntimeError("the load never marked itself as a heavy job")
        time.sleep(0.2)


def stop_load(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# -- the measurement -----------------------------------------------------------------------------
def rag_prompt(runtime: Any) -> list[int]:
    """A RAG prompt the size the engine sends: two passages of the sample corpus, a question."""
    from engine.prompt import SYSTEM_RAG, Passage, build_messages
    from engine.samples import CORPUS_DIR

    passages = []
    for n, name in enumerate(("data_management.md", "lab_booking.rst"), start=1):
        text = " ".join((CORPUS_DIR / name).read_text(encoding="utf-8").split())[:360]
        passages.append(Passage(n=n, path=str(CORPUS_DIR / name), page=1, text=text,
                                score=1.0, chunk_id=str(n)))
    messages = build_messages(SYSTEM_RAG, [], "How long can a lab be booked for?",
                              passages)
    return runtime.render(messages)[1]


def one_answer(runtime: Any, tokens: list[int], threads: tuple[int, int]) -> tuple[float, float]:
    """(time to first token in ms, generation tokens/s) of one answer, prompt not cached."""
    from engine.llm import GenerationStats

    stats = GenerationStats()
    runtime._require().reset()  # the whole prompt is evaluated every time
    list(runtime.generate(tokens, max_tokens=ANSWER_TOKENS, temperature=0.0, stats=stats,
                          threads=threads))  # run the answer to its end
    return stats.ttft_ms, stats.tokens_per_s


def measure(runtime: Any, tokens: list[int], configs: list[tuple[int, int]], rounds: int,
            need_marker: bool) -> dict[tuple[int, int], dict[str, list[float]]]:
    from engine.jobs import heavy_jobs

    out: dict[tuple[int, int], dict[str, list[float]]] = {
        c: {"ttft": [], "tps": []} for c in configs}
    rng = random.Random(16)
    for _ in range(rounds):
        order = list(configs)
        rng.shuffle(order)
        for config in order:
            if need_marker and not heavy_jobs():
                continue  # between two indexing runs: not under load
            ttft, tps = one_answer(runtime, tokens, config)
            if need_marker and not heavy_jobs():
                continue
            out[config]["ttft"].append(ttft)
            out[config]["tps"].append(tps)
    return out


def report(name: str, results: dict[tuple[int, int], dict[str, list[float]]],
           chosen: tuple[int, int]) -> None:
    print(f"\n{name} ({load_average()}); the engine chooses n_threads={chosen[0]}, "
          f"n_threads_batch={chosen[1]}")
    print(f"  {'n_threads':>9} {'batch':>5} {'first token ms':>15} {'gen tok/s':>10} "
          f"{'40-token answer s':>18} {'samples':>8}")
    for (gen, batch), r in sorted(results.items()):
        if not r["ttft"]:
            print(f"  {gen:>9} {batch:>5} {'-':>15} {'-':>10} {'-':>18} {0:>8}")
            continue
        ttft = statistics.median(r["ttft"])
        tps = statistics.median(r["tps"])
        whole = ttft / 1000 + (ANSWER_TOKENS - 1) / tps if tps else float("nan")
        mark = " <- engine" if (gen, batch) == chosen else ""
        print(f"  {gen:>9} {batch:>5} {ttft:>15.0f} {tps:>10.1f} {whole:>18.2f} "
              f"{len(r['ttft']):>8}{mark}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="answers per split and condition")
    parser.add_argument("--load", default="idle,training,indexing",
                        help="conditions to run, comma-separated (idle, training, indexing)")
    parser.add_argument("--quick", action="store_true", help="one round: checks it works")
    parser.add_argument("--child", choices=("training", "indexing"), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "training":
        child_training(args.seconds)
        return 0
    if args.child == "indexing":
        child_indexing(args.seconds, args.corpus)
        return 0
    rounds = 1 if args.quick else args.rounds
    base = Path(tempfile.mkdtemp(prefix="satchel-bench-threads-"))
    home = base / "home"
    os.environ["SATCHEL_HOME"] = str(home)
    from engine.llm import Runtime, answer_threads, default_threads

    cores = default_threads()
    configs = list(itertools.product(range(1, cores + 1), repeat=2))
    runtime = Runtime()
    try:
        runtime.load(None, n_threads=cores)
        tokens = rag_prompt(runtime)
        print(f"bundled model, {len(tokens)}-token RAG prompt, {ANSWER_TOKENS}-token answers, "
              f"{cores} threads at most, {rounds} round(s) per split")
        one_answer(runtime, tokens, (cores, cores))  # warm the caches
        for condition in [c.strip() for c in args.load.split(",") if c.strip()]:
            corpus = None
            if condition == "indexing":
                from benchmarks.bench_index import build_corpus, sentence_pool

                corpus = base / "corpus"
                if not corpus.exists():
                    build_corpus(corpus, sentence_pool(), 1)
            proc = None
            if condition != "idle":
                proc = start_load(condition, home, 3600.0, corpus)
            try:
                if proc is not None:
                    wait_for_marker()
                    time.sleep(2.0)  # past the load's own start-up
                chosen = answer_threads()
                results = measure(runtime, tokens, configs, rounds, proc is not None)
            finally:
                if proc is not None:
                    stop_load(proc)
            report(condition, results, chosen)
        print(f"\nafter the loads the engine chooses {answer_threads()} (expected "
              f"{(cores, cores)})")
    finally:
        runtime.unload()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
