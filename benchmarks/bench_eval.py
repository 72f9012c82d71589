"""Issue 6's performance target, measured on a full run: ``python -m benchmarks.bench_eval``.

Every question of the shipped set (``engine/samples/qa.jsonl``) goes through every mode on the
sample corpus, exactly as ``satchel eval --qa sample`` runs it, and the run time is split:

- *answers*: wall time inside ``Assistant.ask`` and its stream (retrieval for the prompt, prompt
  evaluation, generation): what the user would wait for anyway, asking these questions;
- *overhead*: everything else the evaluation adds (loading the set, the scoring retrieval,
  metrics, the journal, the report and its charts). Target: overhead < 5% of the run time.

The engine's own per-answer latency (``Answer.timings.total_ms``) is printed too: the gap between
it and the time inside ``ask`` is work ``ask`` does before timing starts (checking the model file).

Adapter modes need an adapter. With ``--data-dir`` the newest adapter trained for the model is
used; in a fresh temporary data dir (the default) a *random* LoRA is stored instead, so the cost
of the adapter modes is measured. Its answer-quality numbers mean nothing (it was never trained);
``--no-adapter`` leaves the adapter modes out.
"""

from __future__ import annotations

import argparse
import shutil
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

from engine import paths  # noqa: E402

COLLECTION = "sample"
RANDOM_ADAPTER = "random-lora"


def _progress_printer() -> Any:
    """A Job listener printing one line every 30 s (a bench log, not a progress bar)."""
    last = [0.0]

    def listener(state: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= 30 or state.finished:
            last[0] = now
            total = int(state.total) if state.total else "?"
            print(f"  [{state.elapsed_s:6.0f} s] {int(state.done)}/{total} {state.status}",
                  file=sys.stderr, flush=True)

    return listener


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", metavar="DIR", help="use this data dir (its index and "
                        "adapters) instead of a fresh temporary one")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="answer length limit (default: the settings' 256)")
    parser.add_argument("--no-adapter", action="store_true", help="leave adapter modes out")
    parser.add_argument("--out", metavar="DIR", help="report folder (default: under the data dir)")
    args = parser.parse_args(argv)

    from engine.evaluate import EvalConfig, evaluate, load_questions
    from engine.evaluate.metrics import SUMMARY_FIELDS
    from engine.evaluate.report import fmt
    from engine.indexer import index_paths
    from engine.jobs import Job
    from engine.samples import CORPUS_DIR, QA_SET_PATH
    from engine.settings import Settings

    temp = None if args.data_dir else Path(tempfile.mkdtemp(prefix="satchel-bench-eval-"))
    out = args.out or (tempfile.mkdtemp(prefix="satchel-eval-report-") if temp else None)
    paths.set_data_dir(args.data_dir or temp)
    try:
        started = time.perf_counter()
        summary = index_paths([CORPUS_DIR], COLLECTION)
        print(f"sample corpus indexed ({summary.files_indexed} new, {summary.files_unchanged} "
              f"unchanged files) in {time.perf_counter() - started:.1f} s (not part of the "
              "evaluation)", file=sys.stderr)
        modes: tuple[str, ...] | None = ("base", "rag") if args.no_adapter else None
        adapter_note = ""
        if not args.no_adapter:
            from engine.evaluate.runner import newest_adapter_for
            from engine.model_files import default_model_path

            if newest_adapter_for(default_model_path()) is None:
                from benchmarks.random_adapter import make_random_adapter

                make_random_adapter(RANDOM_ADAPTER)
                adapter_note = (f"adapter modes use {RANDOM_ADAPTER!r}, an untrained random "
                                "LoRA: their cost is real, their quality numbers are not")
        items = load_questions(QA_SET_PATH, limit=args.limit)
        config = EvalConfig(collection=COLLECTION, modes=modes, max_tokens=args.max_tokens,
                            resume=False, qa_file=str(QA_SET_PATH))
        result = evaluate(items, config, out, settings=Settings(),
                          job=Job(_progress_printer(), min_interval_s=1.0))
    finally:
        paths.set_data_dir(None)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    t = result.times
    answer_ms = sum(r["answer"]["timings"]["total_ms"] for r in result.rows if r["answer"])
    answers = sum(1 for r in result.rows if r["answer"])
    print(f"\nFull evaluation: {len(items)} questions x {len(result.modes)} modes "
          f"({', '.join(result.modes)}) = {answers} answers, model {result.meta['model']}, "
          f"max {result.meta['max_tokens']} answer tokens")
    print(f"  total run time            {t.total_s:9.1f} s")
    print(f"  inside answer generation  {t.generation_s:9.1f} s   (Assistant.ask + stream)")
    print(f"    engine-timed answers    {answer_ms / 1000:9.1f} s   (sum of Answer.timings."
          f"total_ms; the rest of ask() is set-up before timing starts: "
          f"{(t.generation_s - answer_ms / 1000) / max(1, answers) * 1000:.0f} ms per answer)")
    print(f"  evaluation overhead       {t.overhead_s:9.1f} s   = {t.overhead_pct:.2f}% of the "
          f"run (target < 5%: {'PASS' if t.overhead_pct < 5 else 'FAIL'})")
    for name, seconds in t.sections.items():
        print(f"    {name:<22}  {seconds:9.2f} s")
    print(f"    {'unaccounted':<22}  {t.overhead_s - sum(t.sections.values()):9.2f} s")
    print()
    width = max(len(label) for label in SUMMARY_FIELDS.values())
    print(f"{'metric':<{width}}  " + "  ".join(f"{m:>11}" for m in result.modes))
    for key, label in SUMMARY_FIELDS.items():
        values = [result.summary[m].get(key) for m in result.modes]
        if any(v is not None for v in values):
            print(f"{label:<{width}}  " + "  ".join(f"{fmt(key, v):>11}" for v in values))
    for note in [*result.notes, adapter_note]:
        if note:
            print(f"note: {note}")
    print(f"report: {result.report_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
