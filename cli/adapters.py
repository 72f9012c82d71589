"""``satchel adapter train|list|remove|generate-qa``: LoRA adapters trained on the user's data.

Training shows its plan (steps, tokens, estimated duration, a few example lines) before the model
loads, then a progress bar with step, loss, held-out loss, tokens/s and ETA. Ctrl-C cancels at
the next step and keeps a checkpoint; the same command with ``--resume`` continues from it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from cli import print_json


def add_adapter(sub: argparse._SubParsersAction) -> None:
    """Register ``satchel adapter ...`` on the top-level subparsers."""
    p = sub.add_parser("adapter", help="train, list or remove LoRA adapters",
                       description="LoRA adapters trained on your own documents, on the CPU.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    tr = actions.add_parser(
        "train", help="train an adapter on a collection or a pairs file",
        description="Train a LoRA adapter on the CPU. Kinds: 'reader' (answer from my "
        "documents: learns to read and cite the passages retrieval finds; for the rag+adapter "
        "mode; the default with --collection), 'knowledge' (learns the collection's facts to "
        "answer without retrieval; for the adapter mode), 'text' (the collection's raw text) "
        "and 'pairs' (your JSONL/CSV of question/answer pairs; the default with --data only). "
        "Reader and knowledge adapters draft questions from the collection with the local "
        "model; --data adds your own questions to them.")
    tr.add_argument("--collection", metavar="NAME", help="the collection to learn from")
    tr.add_argument("--data", metavar="FILE", help="JSONL or CSV of question/answer, "
                    "prompt/completion or chat messages (or a question set)")
    tr.add_argument("--kind", choices=("reader", "knowledge", "text", "pairs"), default=None,
                    help="what the adapter is for (default: reader with --collection, pairs "
                    "with --data alone)")
    tr.add_argument("--draft", type=int, default=None, metavar="N",
                    help="reader: questions to draft from the collection (default 120); "
                    "knowledge: facts to learn (default: every distinctive fact); 0 = only "
                    "the questions in --data")
    tr.add_argument("--oracle", type=float, default=None, metavar="P",
                    help="reader: fraction of examples that hold the answering passage; the "
                    "rest show other documents' passages only (default 1.0 with one passage "
                    "per answer, 0.8 with several)")
    tr.add_argument("--preset", choices=("quick", "balanced", "thorough"), default="quick")
    tr.add_argument("--name", help="adapter name (default: the collection or file name)")
    tr.add_argument("--steps", type=int, default=None, help="exact number of training steps")
    tr.add_argument("--resume", action="store_true",
                    help="continue this run from its last checkpoint (after Ctrl-C or a crash)")
    tr.add_argument("--overwrite", action="store_true", help="replace an adapter of that name")
    tr.add_argument("--model", metavar="PATH", help="base GGUF (default: from settings)")
    tr.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                    help="compute precision of the frozen base (auto: bf16 where the CPU has it)")
    tr.add_argument("--json", action="store_true", help="print the result as JSON")
    tr.set_defaults(handler=run_train)

    ls = actions.add_parser("list", help="list adapters")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)

    rm = actions.add_parser("remove", help="delete an adapter")
    rm.add_argument("name")
    rm.set_defaults(handler=run_remove)

    gq = actions.add_parser("generate-qa", help="draft question/answer pairs from a collection",
                            description="Let the local model draft one question and answer per "
                            "passage of a collection; review the JSONL, then train on it with "
                            "--data.")
    gq.add_argument("--collection", required=True, metavar="NAME")
    gq.add_argument("--out", metavar="FILE", help="output JSONL (default: NAME-qa.jsonl)")
    gq.add_argument("--count", type=int, default=20, help="passages to draft from (default 20)")
    gq.add_argument("--model", metavar="PATH", help="GGUF to draft with (default: settings)")
    gq.set_defaults(handler=run_generate_qa)

    p.set_defaults(handler=lambda args: (p.print_help(), 0)[1])


def run_train(args: argparse.Namespace) -> int:
    from cli.progress import run_with_progress
    from engine.errors import SatchelError
    from engine.modes import RETRIEVAL_MODES
    from engine.train.trainer import TrainConfig, prepare, run
    from models.adapters import mode_for

    if not args.collection and not args.data:
        raise SatchelError("give what to train on: --collection NAME (and/or --data FILE)")
    kind = args.kind or ("reader" if args.collection else "pairs")
    config = TrainConfig(collection=args.collection, data_file=args.data, kind=kind,
                         draft=args.draft, p_oracle=args.oracle, settings=args.settings,
                         preset=args.preset,
                         name=args.name, max_steps=args.steps,
                         model_path=args.model or args.settings.model_path, resume=args.resume,
                         overwrite=args.overwrite, precision=args.precision)
    plan, _ = run_with_progress(lambda job: prepare(config, job), "Preparing", quiet=args.json)
    if plan is None:
        return 130
    err = sys.stderr
    print(f"training adapter {plan.name!r}: {plan.describe()}", file=err)
    for line in plan.data.preview(3):
        print(f"  e.g. {line}", file=err)
    existing = plan.checkpoint_step()
    damaged = plan.checkpoint_problem() if existing is None else None
    if damaged and not args.resume:
        print(f"note: {damaged.split(';')[0]}; it is replaced by this run", file=err)
    elif existing and not args.resume:
        print(f"note: discarding a checkpoint of this run at step {existing} (use --resume to "
              "continue it instead)", file=err)
    elif existing:
        print(f"resuming from the checkpoint at step {existing}", file=err)
    result, job = run_with_progress(lambda job: run(plan, job), f"Training {plan.name}",
                                    quiet=args.json)
    if result is None:
        steps = [r["checkpoint_step"] for r in job.partial_results if "checkpoint_step" in r]
        at = f" at step {steps[-1]}" if steps else ""
        print(f"satchel: training cancelled{at}; run the same command with --resume to "
              "continue", file=err)
        return 130
    m = result.metrics
    if args.json:
        print_json({"name": result.adapter.name, "path": str(result.adapter.path),
                     "metrics": m, "resumed_from": result.resumed_from})
        return 0
    print(f"adapter {result.adapter.name!r} saved: {result.adapter.path}")
    print(f"  held-out perplexity {m['heldout_ppl_before']:.2f} -> {m['heldout_ppl_after']:.2f} "
          "(learning; lower is better)")
    print(f"  control perplexity  {m['control_ppl_before']:.2f} -> {m['control_ppl_after']:.2f} "
          "(general text; a big rise means forgetting)")
    stop = f", stopped early at step {m['steps']}" if m["stopped_early"] else ""
    print(f"  {m['steps']} steps, best at step {m['best_step']}{stop}, "
          f"{m['tokens_per_s']:.0f} tokens/s")
    mode = mode_for(result.adapter)
    where = (f" --collection {shlex.quote(plan.config.collection)}"
             if mode in RETRIEVAL_MODES and plan.config.collection else "")
    print(f"use it with: satchel ask QUESTION --mode {mode}{where} "
          f"--adapter {shlex.quote(result.adapter.name)}")
    return 0


def adapters_json() -> list[dict[str, Any]]:
    """What ``adapter list --json`` prints (DESIGN.md contract)."""
    from models.adapters import adapter_kind, list_adapters

    out = []
    for e in list_adapters():
        entry = {"name": e.name, "kind": adapter_kind(e), "path": str(e.path),
                 "base_model": e.manifest.base_model_name or e.manifest.base_model_sha256[:12],
                 "created": e.manifest.created, "metrics": e.manifest.metrics}
        if "layout" in e.manifest.data_source:  # a reader: the passages it answers from
            entry["layout"] = e.manifest.data_source["layout"]
        out.append(entry)
    return out


def run_list(args: argparse.Namespace) -> int:
    data = adapters_json()
    if args.json:
        print_json(data)
    elif not data:
        print("no adapters yet; train one with: satchel adapter train --collection NAME")
    else:
        for a in data:
            m = a["metrics"]
            ppl = ""
            if {"heldout_ppl_before", "heldout_ppl_after"} <= set(m):
                ppl = f", held-out ppl {m['heldout_ppl_before']} -> {m['heldout_ppl_after']}"
            if {"control_ppl_before", "control_ppl_after"} <= set(m):
                ppl += f", control ppl {m['control_ppl_before']} -> {m['control_ppl_after']}"
            print(f"{a['name']} ({a['kind']}): base {a['base_model']}, created "
                  f"{a['created']}{ppl}{_reads(a.get('layout'))}")
    return 0


def _reads(raw: Any) -> str:
    """", reads 2 passages (280 tokens)" for a reader: the layout rag+adapter answers from."""
    from engine.answer import Layout

    layout = Layout.from_json(raw)
    if layout is None:
        return ""
    s = "" if layout.top_k == 1 else "s"
    return f", reads {layout.top_k} passage{s} ({layout.context_tokens} tokens)"


def run_remove(args: argparse.Namespace) -> int:
    from models.adapters import remove_adapter

    remove_adapter(args.name)
    print(f"removed adapter {args.name!r}")
    return 0


def run_generate_qa(args: argparse.Namespace) -> int:
    from cli.progress import run_with_progress
    from engine.train.generate_qa import generate_pairs, write_pairs

    out = Path(args.out or f"{args.collection}-qa.jsonl").expanduser()

    def task(job: Any) -> Any:
        return generate_pairs(args.collection, count=args.count,
                              model_path=args.model or args.settings.model_path, job=job)

    pairs, job = run_with_progress(task, f"Drafting Q&A from {args.collection}")
    if pairs is None:
        pairs = list(job.partial_results)
        print("satchel: cancelled; writing the pairs drafted so far", file=sys.stderr)
    write_pairs(pairs, out)
    print(f"wrote {len(pairs)} pairs to {out}; review and edit them, then train with: "
          f"satchel adapter train --data {out}")
    return 0 if pairs else 1
