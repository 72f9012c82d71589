"""Word search and passage focus in Chinese and Japanese: this tree against a baseline, one run.

    python -m benchmarks.bench_cjk_search [--baseline REV] [--data-dir DIR]

Indexes the Debian Reference's Simplified Chinese and Japanese translations (sets ``zh`` and
``ja`` of ``benchmarks/realdocs/build.py``, 10 chapters each) with this tree and with
``--baseline`` (a git revision, checked out into a temporary worktree and run in its own process
and data dir), asks each set's questions (written in those languages, gold answers checked
against the text by ``build.py``) and prints, per tree, set and search mode:

* **hit@1 / hit@5**: a passage holding a gold answer is first / among the first five;
* **MRR@10** over the same passages;
* **in prompt** (hybrid): the gold answer is in the first passage *as the model is shown it*
  (:func:`engine.prompt.focus` with the default budget and the model's tokenizer).

Choices are made on ``zh`` only (a development set); ``ja`` is only reported. First run: a
few minutes per tree (embedding 20 chapters); later runs reuse the indexes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETS = ("zh", "ja")
MODES = ("text", "hybrid")
DEPTH = 10


def _gold(passage: str, answers: list[str]) -> bool:
    text = " ".join(passage.split()).lower()
    return any(" ".join(a.split()).lower() in text for a in answers)


def measure(data_dir: Path) -> dict[str, dict[str, float]]:
    """Index both sets (incremental) and score every question; runs in the tree on sys.path."""
    from benchmarks.realdocs.build import DEFAULT_OUT, build, questions
    from engine import netguard, paths
    from engine.answer import Assistant
    from engine.indexer import index_paths
    from engine.prompt import focus
    from engine.retrieve import search

    netguard.install()
    data_dir.mkdir(parents=True, exist_ok=True)
    paths.set_data_dir(data_dir)
    if not all((DEFAULT_OUT / s).is_dir() for s in SETS):
        build(DEFAULT_OUT)
    assistant = Assistant()
    assistant.ensure_model()
    budget = assistant.settings.context_tokens // assistant.settings.top_k
    out: dict[str, dict[str, float]] = {}
    for which in SETS:
        name = f"cjk-{which}"
        started = time.perf_counter()
        summary = index_paths([DEFAULT_OUT / which], name)
        if summary.files_indexed:
            print(f"  indexed {which}: {summary.files_indexed} files, {summary.chunks} chunks in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        items = questions(which)
        for mode in MODES:
            hit1 = hit5 = rr = shown = 0.0
            for item in items:
                hits = search(item["question"], collection=name, mode=mode, k=DEPTH)
                ranks = [i for i, h in enumerate(hits) if _gold(h.text, item["answers"])]
                hit1 += bool(ranks and ranks[0] == 0)
                hit5 += bool(ranks and ranks[0] < 5)
                rr += 1.0 / (ranks[0] + 1) if ranks else 0.0
                if mode == "hybrid" and hits:
                    focused = focus(hits[0].text, item["question"], budget,
                                    assistant.runtime.count_tokens)
                    shown += _gold(focused, item["answers"])
            n = len(items)
            row = {"questions": n, "hit@1": hit1 / n, "hit@5": hit5 / n, "MRR@10": rr / n}
            if mode == "hybrid":
                row["in prompt"] = shown / n
            out[f"{which}/{mode}"] = row
    return out


def run_tree(tree: Path, data_dir: Path) -> dict[str, dict[str, float]]:
    """:func:`measure` in a child process importing Satchel from ``tree``."""
    # this tree's benchmark code (the sets, the questions), then the tree's engine
    code = ("import json, sys; from pathlib import Path; "
            f"sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks.bench_cjk_search import measure; "
            "import benchmarks.realdocs.build; "
            "assert 'engine' not in sys.modules; "
            f"sys.path.insert(0, {str(tree)!r}); "
            f"print(json.dumps(measure(Path({str(data_dir)!r}))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, check=True,
                          stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="475f9f6",
                        help="git revision to compare with (default: before CJK word search)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path.home() / ".cache" / "satchel-bench" / "cjk")
    args = parser.parse_args(argv)
    results = {"this tree": run_tree(ROOT, args.data_dir / "this-tree")}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.baseline],
                       cwd=ROOT, check=True, capture_output=True)
        try:
            results[args.baseline] = run_tree(old, args.data_dir / f"baseline-{args.baseline}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT,
                           check=False, capture_output=True)
    print(f"{'tree':>10} {'set/mode':>10} {'n':>3} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>6} "
          f"{'in prompt':>9}")
    for tree, rows in results.items():
        for key, row in rows.items():
            prompt = f"{row['in prompt']:9.2f}" if "in prompt" in row else " " * 9
            print(f"{tree:>10} {key:>10} {row['questions']:3d} {row['hit@1']:6.2f} "
                  f"{row['hit@5']:6.2f} {row['MRR@10']:6.2f} {prompt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
