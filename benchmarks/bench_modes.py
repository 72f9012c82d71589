"""Issue 11's targets on real documents: the four modes with a reader and a knowledge adapter.

    python -m benchmarks.bench_modes [--set report] [--retrain] [--limit N]

On the chosen set (default: the REPORT set, the Debian Developer's Reference, which nothing was
tuned on; ``--set dev`` for the SQLite pages, ``--set dev2`` for the Debian Reference), with
the bundled 135M model at temperature 0:

1. index the set's documents (``benchmarks/realdocs/build.py`` fetches them from Debian);
2. train a *reader* adapter (``satchel adapter train --collection C --kind reader``) and a
   *knowledge* adapter (``--kind knowledge``), each in a child process timed wall-clock, with its
   peak RSS (the reader target: <= 10 minutes and <= 3 GB for a 12-document collection);
3. evaluate all four modes on the set's questions (``adapter`` mode with the knowledge adapter,
   ``rag+adapter`` with the reader) and print correctness, citations and latency against the
   targets: rag >= 0.60, rag+adapter >= rag + 0.10, adapter >= base + 0.15, rag p50 <= 1.5 s;
   then the mode advisor's sentence.

Adapters are kept in the bench data dir and reused unless ``--retrain``. Run it alone: training
and latency are timed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.realdocs.build import SETS
from benchmarks.realdocs.common import (
    ROOT,
    ensure_collection,
    progress_printer,
    qa_path,
    use_data_dir,
)


def peak_tree_rss(proc: subprocess.Popen, every_s: float = 0.2) -> float:
    """Wait for ``proc``; the largest RSS its process tree held at once (GB), sampled.

    The tree, not one process: the reader's data is built in a child process that exits before
    training starts, and what a user needs is the most memory held at any one moment.
    """
    import psutil

    def rss(p: psutil.Process) -> int:
        try:
            return p.memory_info().rss
        except psutil.Error:  # it just exited
            return 0

    peak = 0
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, sum(rss(p) for p in [root, *root.children(recursive=True)]))
        time.sleep(every_s)
    return peak / 2**30


def train(kind: str, collection: str, name: str, home: Path, extra: list[str]) -> dict:
    """Train in a child process (the CLI, as a user runs it); wall time and peak RSS."""
    started = time.perf_counter()
    cmd = [sys.executable, str(ROOT / "main.py"), "--data-dir", str(home), "adapter", "train",
           "--collection", collection, "--kind", kind, "--name", name, "--overwrite", "--json",
           *extra]
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, text=True)
        rss = peak_tree_rss(proc)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"training the {kind} adapter failed (exit {proc.returncode})")
        out.seek(0)
        result = json.loads(out.read())
    return {"seconds": seconds, "peak_rss_gb": rss, "metrics": result["metrics"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="report", choices=tuple(SETS))
    parser.add_argument("--retrain", action="store_true", help="train the adapters again")
    parser.add_argument("--no-knowledge", action="store_true",
                        help="skip the knowledge adapter (adapter mode uses the reader)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--train-args", default="", help="extra `adapter train` arguments")
    args = parser.parse_args(argv)
    home = use_data_dir(args.data_dir)
    from engine.evaluate import EvalConfig, evaluate, load_questions
    from engine.evaluate.advisor import advise
    from engine.jobs import Job
    from engine.settings import Settings
    from models.adapters import list_adapters

    collection = ensure_collection(args.set)
    kinds = ["reader"] + ([] if args.no_knowledge else ["knowledge"])
    names = {k: f"bench-{args.set}-{k}" for k in kinds}
    have = {a.name for a in list_adapters()}
    trained: dict[str, dict] = {}
    for kind in kinds:
        if args.retrain or names[kind] not in have:
            print(f"training the {kind} adapter on {collection}...", file=sys.stderr, flush=True)
            trained[kind] = train(kind, collection, names[kind], home,
                                  args.train_args.split())
    items = load_questions(qa_path(args.set), limit=args.limit)
    config = EvalConfig(collection=collection, modes=("base", "rag", "adapter", "rag+adapter"),
                        adapter=names.get("knowledge", names["reader"]),
                        reader_adapter=names["reader"], resume=False, qa_file=str(qa_path(
                            args.set)))
    result = evaluate(items, config, None, settings=Settings(),
                      job=Job(progress_printer(), min_interval_s=1.0))
    s = result.summary

    def c(mode: str) -> float:
        return s[mode]["correct"] or 0.0

    print(f"\n{args.set} set: {len(items)} questions, collection {collection}, model "
          f"{result.meta['model']}, temperature 0, load {os.getloadavg()[0]:.1f}")
    print(f"{'mode':<12} {'correct':>8} {'cites':>6} {'cite ok':>8} {'p50 s':>6} "
          f"{'ttft p50 s':>10} {'prompt tok':>10}")
    for mode in result.modes:
        m = s[mode]
        cites = "–" if m.get("cited") is None else f"{m['cited']:.2f}"
        ok = "–" if m.get("citation_correct") is None else f"{m['citation_correct']:.2f}"
        print(f"{mode:<12} {c(mode):>8.3f} {cites:>6} {ok:>8} "
              f"{(m['latency_p50_ms'] or 0) / 1000:>6.2f} {(m['ttft_p50_ms'] or 0) / 1000:>10.2f}"
              f" {m['prompt_tokens'] or 0:>10.0f}")
    for kind, t in trained.items():
        rss = "n/a" if t["peak_rss_gb"] is None else f"{t['peak_rss_gb']:.2f} GB"
        mm = t["metrics"]
        print(f"{kind} adapter: trained in {t['seconds'] / 60:.1f} min, peak RSS {rss}, "
              f"{mm['steps']} steps, {mm['train_examples']} examples, held-out ppl "
              f"{mm['heldout_ppl_before']} -> {mm['heldout_ppl_after']}, control ppl "
              f"{mm['control_ppl_before']} -> {mm['control_ppl_after']}")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    rag_p50 = (s["rag"]["latency_p50_ms"] or 0) / 1000
    print("\ntargets:")
    print(f"  rag correct {c('rag'):.3f} >= 0.60: {verdict(c('rag') >= 0.60)}")
    print(f"  rag+adapter {c('rag+adapter'):.3f} >= rag + 0.10 = {c('rag') + 0.10:.3f}: "
          f"{verdict(c('rag+adapter') >= c('rag') + 0.10 - 1e-9)}")
    print(f"  adapter {c('adapter'):.3f} >= base + 0.15 = {c('base') + 0.15:.3f}: "
          f"{verdict(c('adapter') >= c('base') + 0.15 - 1e-9)}")
    print(f"  rag latency p50 {rag_p50:.2f} s <= 1.5 s: {verdict(rag_p50 <= 1.5)}")
    if "reader" in trained:
        t = trained["reader"]
        print(f"  reader training {t['seconds'] / 60:.1f} min <= 10 min: "
              f"{verdict(t['seconds'] <= 600)}; peak RSS "
              f"{t['peak_rss_gb'] or 0:.2f} GB <= 3 GB: "
              f"{verdict((t['peak_rss_gb'] or 0) <= 3.0)}")
    print(f"\nadvisor: {advise(s).sentence}")
    print(f"report: {result.report_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
