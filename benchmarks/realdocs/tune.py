"""Tune the answer path on the DEVELOPMENT set only: passages, focus budget, prompt wording.

    python -m benchmarks.realdocs.tune --top-k 3 2 --context-tokens 120 200 [--copy-bias 2 4]

Runs every combination over ``dev.jsonl`` (greedy, seed 0; a value left out is the shipped
default) and prints, per combination: correctness, "early" (the gold answer is in the first 25
words), "the gold answer is in the prompt" (did retrieval + focus keep it?), "the gold
answer is in a retrieved chunk" (before focus cut it), cites / cites correctly, and latency. The
report set is refused on purpose: numbers that are reported are never tuned on.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import sys
import time
from typing import Any

from benchmarks.realdocs.build import REPORT_SETS, SETS
from benchmarks.realdocs.common import collection_name, ensure_collection, qa_path, use_data_dir

#: Candidate system prompts for RAG answers (``--system NAME``); "current" is engine.prompt's.
SYSTEMS = {
    "current": None,
    "quote": ("Answer the question with the sentence from the passages that answers it, and "
              "cite its number like [1]. If no passage answers it, say you do not know."),
    "short": ("You are Satchel. Answer the question from the numbered passages in one short "
              "sentence that states the answer, then cite the passage like [1]."),
    "short2": ("You are Satchel. Answer the question from the numbered passages in one short "
               "sentence that states the answer, then cite the passage like [1]. If no passage "
               "holds the answer, say you do not know."),
    "facts": ("You are Satchel, an assistant for the user's own documents. Read the numbered "
              "passages, find the one that answers the question, and answer in one sentence "
              "using its exact words, then cite it like [1]. If none answers it, say you do "
              "not know."),
    "oneshot": ("You are Satchel, an assistant for the user's own documents. Answer the "
                "question from the numbered passages in one sentence, using the words of the "
                "passage that answers it, and cite it like [1]. If no passage answers it, say "
                "you do not know.\n\nExample:\nPassages:\n[1] (menu.txt) Lunch is served "
                "at noon.\n[2] (library.txt) The library opened in 1998. It holds 4,000 "
                "books.\n\nQuestion: How many books does the library hold?\nAnswer: The "
                "library holds 4,000 books [2]."),
    "oneshot2": ("Answer the question from the numbered passages: copy the sentence that "
                 "answers it and cite the passage number.\n\nExample:\nPassages:\n[1] "
                 "(menu.txt) Lunch is served at noon.\n[2] (library.txt) The library opened "
                 "in 1998. It holds 4,000 books.\n\nQuestion: How many books does the library "
                 "hold?\nAnswer: It holds 4,000 books [2]."),
}


#: The sets settings may be chosen on: all but the ones that are only ever reported.
DEVELOPMENT_SETS = tuple(name for name in SETS if name not in REPORT_SETS)

#: "early": the gold answer is within the answer's first words, so a setting that makes the model
#: ramble until it happens to quote the answer does not look better than one that answers.
EARLY_WORDS = 25


def use_system(name: str) -> None:
    import engine.answer
    import engine.prompt

    text = SYSTEMS[name] or engine.prompt.SYSTEM_RAG
    engine.answer.SYSTEM_RAG = text


def run_config(items: list[Any], settings: Any, mode: str, adapter: str | None,
               show: int, which: str = "dev") -> dict[str, float]:
    from engine.answer import Assistant
    from engine.evaluate.metrics import citation_correct, contains_answer

    assistant = Assistant(settings)
    rows = []
    for item in items:
        started = time.perf_counter()
        answer = assistant.ask(item.question, mode, collection=collection_name(which),
                               adapter=adapter, temperature=0.0, seed=0).consume()
        wall = time.perf_counter() - started
        srcs = [{"n": p.n, "path": p.path, "page": p.page, "text": p.text}
                for p in answer.sources]
        rows.append({
            "correct": contains_answer(answer.text, item.answers),
            "early": contains_answer(" ".join(answer.text.split()[:EARLY_WORDS]), item.answers),
            "in_prompt": contains_answer(answer.user_message, item.answers),
            "in_chunks": any(contains_answer(p.text, item.answers) for p in answer.sources),
            "cited": bool(answer.cited),
            "cite_ok": citation_correct(srcs, answer.cited, item.answers, item.sources,
                                        item.pages),
            "ms": wall * 1000, "prompt_tokens": answer.timings.prompt_tokens,
            "answer_tokens": answer.timings.completion_tokens,
            "text": answer.text, "q": item.question, "gold": item.answers[0]})
    for r in rows[:show]:
        flag = "OK " if r["correct"] else ("in " if r["in_prompt"] else "-- ")
        print(f"  {flag} {r['q'][:70]} | gold {r['gold']!r} | {r['text'][:150]!r}")
    n = len(rows)
    keys = ("correct", "early", "in_prompt", "in_chunks", "cited", "cite_ok")
    return {k: sum(r[k] for r in rows) / n for k in keys} | {
        "p50_ms": statistics.median(r["ms"] for r in rows),
        "prompt_tokens": statistics.mean(r["prompt_tokens"] for r in rows),
        "answer_tokens": statistics.median(r["answer_tokens"] for r in rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="dev",
                        help=f"a development set: {', '.join(DEVELOPMENT_SETS)} (never report)")
    # None: the shipped default (engine.settings.Settings)
    parser.add_argument("--top-k", type=int, nargs="+", default=[None])
    parser.add_argument("--context-tokens", type=int, nargs="+", default=[None])
    parser.add_argument("--copy-bias", type=float, nargs="+", default=[None])
    parser.add_argument("--mode", default="rag")
    parser.add_argument("--system", nargs="+", default=["current"], choices=sorted(SYSTEMS))
    parser.add_argument("--adapter", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show", type=int, default=0, help="print the first N answers")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--model", default=None, help="a GGUF file instead of the bundled model")
    args = parser.parse_args(argv)
    if args.set not in DEVELOPMENT_SETS:
        print(f"tune.py runs on the development sets only ({', '.join(DEVELOPMENT_SETS)}): the "
              "report set is never tuned on", file=sys.stderr)
        return 2
    use_data_dir(args.data_dir)
    from engine.evaluate import load_questions
    from engine.settings import Settings

    ensure_collection(args.set)
    items = load_questions(qa_path(args.set), limit=args.limit)
    print(f"{'system':>8} {'top_k':>5} {'ctx':>5} {'bias':>4} {'correct':>8} {'early':>6} "
          f"{'in prompt':>9} {'in chunks':>9} {'cited':>6} {'cite ok':>7} {'p50 ms':>7} "
          f"{'tokens':>6} {'answer':>6}")
    for system, k, ctx, bias in itertools.product(args.system, args.top_k, args.context_tokens,
                                                  args.copy_bias):
        use_system(system)
        chosen = {"top_k": k, "context_tokens": ctx, "copy_bias": bias}
        if args.model:
            chosen["model_path"] = args.model
        settings = dataclasses.replace(Settings(), **{
            key: value for key, value in chosen.items() if value is not None})
        r = run_config(items, settings, args.mode, args.adapter, args.show, args.set)
        print(f"{system:>8} {settings.top_k:>5} {settings.context_tokens:>5} "
              f"{settings.copy_bias:>4.1f} {r['correct']:>8.3f} {r['early']:>6.2f} "
              f"{r['in_prompt']:>9.3f} {r['in_chunks']:>9.3f} {r['cited']:>6.2f} "
              f"{r['cite_ok']:>7.2f} {r['p50_ms']:>7.0f} {r['prompt_tokens']:>6.0f} "
              f"{r['answer_tokens']:>6.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
