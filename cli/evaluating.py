"""``satchel eval`` (score the four modes on a question set) and ``satchel eval draft``.

``eval --json`` prints exactly ``{"report_dir": str, "modes": {MODE: {hit_at_5, mrr, correct,
token_f1, rouge_l, similarity, citation_correct, latency_p50_ms, latency_p95_ms, ttft_p50_ms,
tokens_per_s}}}``; notes (skipped modes, resumed rows) go to stderr. Ctrl-C cancels: finished
answers are kept in a journal and the same command continues from there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.answering import MODES

#: ``--qa sample``: the question set shipped for the sample corpus (collection of ``satchel demo``).
SAMPLE_QA = "sample"
SAMPLE_COLLECTION = "sample"


def add_eval(sub: argparse._SubParsersAction) -> None:
    """Register ``eval`` and its ``draft`` subcommand (handlers import the engine lazily)."""
    p = sub.add_parser(
        "eval", help="score the answer modes on a question set (or draft one)",
        description="Run every question of a question set (JSON Lines: question, answers, "
        "sources, pages) through each mode with temperature 0 and a fixed seed, and write a "
        "report (results.json, summary.md, PNG charts). `satchel eval draft` drafts a set from "
        "a collection.")
    p.add_argument("--qa", metavar="FILE", help="question set (JSON Lines); 'sample' = the set "
                   "shipped for the sample corpus (collection 'sample', see `satchel demo`)")
    p.add_argument("--collection", default=None, help="collection to retrieve from")
    p.add_argument("--modes", default=None, nargs="+", metavar="MODE",
                   help=f"modes to run, space- or comma-separated: {' '.join(MODES)} (default: "
                   "all; adapter modes are skipped when there is no adapter)")
    p.add_argument("--adapter", default=None,
                   help="adapter for the adapter modes (default: per mode, the newest "
                   "knowledge adapter for 'adapter' and the newest reader for 'rag+adapter')")
    p.add_argument("--reader-adapter", default=None, metavar="NAME",
                   help="adapter for rag+adapter only (overrides --adapter there)")
    p.add_argument("--model", default=None, help="a GGUF model file (default: settings)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="report folder (default: a new folder under the data dir's reports)")
    p.add_argument("--retrieval-only", action="store_true",
                   help="score retrieval (hit@k, MRR) without generating answers")
    p.add_argument("--search-mode", choices=("vector", "text", "hybrid"), default=None,
                   help="retrieval method (default: settings)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N questions")
    p.add_argument("--max-tokens", type=int, default=None, metavar="N",
                   help="answer length limit (default: settings)")
    p.add_argument("--seed", type=int, default=0, help="the fixed seed given to the model "
                   "(default 0; with temperature 0 the answers are greedy)")
    p.add_argument("--restart", action="store_true",
                   help="discard answers kept from an interrupted run instead of resuming")
    p.add_argument("--json", action="store_true", help="print the per-mode summary as JSON")
    p.set_defaults(handler=run_eval_command)

    subs = p.add_subparsers(dest="eval_command", metavar="[draft]", title="subcommand")
    d = subs.add_parser("draft", help="draft a question set from a collection",
                        description="Sample passages from a collection and draft one question "
                        "per passage (the bundled model phrases it; a fill-in-the-blank when it "
                        "cannot). The passage's file and page are the gold source; edit the "
                        "file before evaluating with it.")
    d.add_argument("--collection", default=None, help="collection to sample (default: settings)")
    d.add_argument("--out", required=True, metavar="FILE", help="question file to write")
    d.add_argument("--count", type=int, default=20, metavar="N", help="questions (default 20)")
    d.add_argument("--seed", type=int, default=0, help="sampling seed")
    d.add_argument("--no-model", action="store_true",
                   help="fill-in-the-blank questions only (fast, no model)")
    d.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    d.set_defaults(handler=run_draft_command)


def _modes(values: list[str] | None) -> tuple[str, ...] | None:
    """``--modes rag base`` or ``--modes rag,base`` -> ("rag", "base"); None: the default."""
    from engine.errors import SatchelError

    if values is None:
        return None
    modes = tuple(m.strip() for v in values for m in v.split(",") if m.strip())
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SatchelError(f"unknown mode {bad[0] if bad else ' '.join(values)!r} in --modes "
                           f"(use any of: {', '.join(MODES)})")
    return modes


def _qa_file(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The question file and the collection it implies (the sample set means 'sample')."""
    from engine.errors import SatchelError

    if not args.qa:
        raise SatchelError("satchel eval needs --qa FILE (or --qa sample for the shipped set; "
                           "draft one with `satchel eval draft --collection NAME --out FILE`)")
    if args.qa == SAMPLE_QA and not Path(args.qa).exists():
        from engine.samples import QA_SET_PATH

        return QA_SET_PATH, SAMPLE_COLLECTION
    return Path(args.qa), None


def run_eval_command(args: argparse.Namespace) -> int:
    from engine.evaluate import EvalConfig, load_questions

    qa_path, implied = _qa_file(args)
    items = load_questions(qa_path, limit=args.limit)
    settings = args.settings
    if args.model:
        settings.model_path = args.model
    config = EvalConfig(collection=args.collection or implied, modes=_modes(args.modes),
                        adapter=args.adapter, reader_adapter=args.reader_adapter,
                        retrieval_only=args.retrieval_only,
                        search_mode=args.search_mode, max_tokens=args.max_tokens,
                        seed=args.seed, resume=not args.restart, qa_file=str(qa_path))
    return evaluate_and_print(items, config, args.out, settings, as_json=args.json)


def evaluate_and_print(items: list[Any], config: Any, out: str | None, settings: Any, *,
                       as_json: bool = False) -> int:
    """Run the evaluation under a progress bar, then print the table (or the --json object).

    Shared by ``satchel eval`` and ``satchel demo --eval``, so both report the same way.
    """
    from cli.progress import run_with_progress
    from engine.evaluate import evaluate

    result, job = run_with_progress(
        lambda job: evaluate(items, config, out, settings=settings, job=job),
        "Evaluating", quiet=as_json)
    if result is None:
        print(f"satchel: evaluation cancelled; {len(job.partial_results)} new answers are kept, "
              "run the same command to continue", file=sys.stderr)
        return 130
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if as_json:
        json.dump(result.to_cli_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print_summary(result)
    return 0


def run_demo_eval(args: argparse.Namespace, collection: str) -> int:
    """``satchel demo --eval``: the shipped question set on the freshly indexed sample corpus."""
    from engine.evaluate import EvalConfig, load_questions
    from engine.samples import QA_SET_PATH

    items = load_questions(QA_SET_PATH, limit=args.limit)
    print(f"Evaluating {len(items)} questions of the shipped set ({QA_SET_PATH.name}) in every "
          "mode; the same as `satchel eval --qa sample`.")
    config = EvalConfig(collection=collection, max_tokens=args.max_tokens,
                        qa_file=str(QA_SET_PATH))
    return evaluate_and_print(items, config, args.out, args.settings)


def print_summary(result: Any) -> None:
    """The per-mode table, the run time split, and where the report is."""
    from rich.console import Console
    from rich.table import Table

    from engine.evaluate.metrics import SUMMARY_FIELDS
    from engine.evaluate.report import fmt, time_line

    table = Table(title=f"{result.meta['questions']} questions, collection "
                        f"{result.meta['collection']}")
    table.add_column("metric")
    for mode in result.modes:
        table.add_column(mode, justify="right")
    for key, label in SUMMARY_FIELDS.items():
        values = [result.summary[m].get(key) for m in result.modes]
        if any(v is not None for v in values):
            table.add_row(label, *[fmt(key, v) for v in values])
    Console().print(table)
    if not result.meta.get("retrieval_only"):
        from engine.evaluate.advisor import advise

        print(advise(result.summary).sentence)
    print(time_line(result))
    print(f"report: {result.report_dir}")


def run_draft_command(args: argparse.Namespace) -> int:
    from cli.progress import run_with_progress
    from engine.errors import SatchelError
    from engine.evaluate import draft_questions, write_questions

    out = Path(args.out).expanduser()
    if out.exists() and not args.force:
        raise SatchelError(f"{out} exists; pass --force to overwrite it (your edits would be "
                           "lost)")
    collection = args.collection or args.settings.default_collection
    items, _ = run_with_progress(
        lambda job: draft_questions(collection, args.count, settings=args.settings, job=job,
                                    seed=args.seed, use_model=not args.no_model),
        f"Drafting questions from {collection}")
    if items is None:
        print("satchel: drafting cancelled; nothing written", file=sys.stderr)
        return 130
    path = write_questions(out, items)
    cloze = sum(1 for i in items if i.question.startswith("Fill in the blank"))
    print(f"wrote {len(items)} questions to {path} ({len(items) - cloze} phrased by the model, "
          f"{cloze} fill-in-the-blank); check and edit them, then run "
          f"`satchel eval --qa {path} --collection {collection}`")
    return 0
