"""``satchel ask``, ``chat``, ``compare`` and ``demo``: questions answered in the four modes.

Without ``--json`` answers stream to the terminal as they are generated, then the numbered
sources and a timing line; Ctrl-C stops the answer (not the program) in ``chat``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cli import print_json
from engine.ingest.document import PART_SEPARATOR, container_of, display_name
from engine.ingest.file_names import legacy_text
from engine.modes import MODES
from engine.places import short_line, source_line


def _common(p: argparse.ArgumentParser, modes: bool = True) -> None:
    p.add_argument("--collection", default=None, help="collection to retrieve from")
    if modes:
        p.add_argument("--mode", choices=MODES, default="rag")
    p.add_argument("--adapter", default=None, help="adapter name (for adapter modes)")
    p.add_argument("--model", default=None, help="a GGUF model file (default: settings)")
    p.add_argument("--temperature", type=float, default=None)


def _assistant(args: argparse.Namespace):
    from engine.answer import Assistant

    settings = args.settings
    if getattr(args, "model", None):
        settings.model_path = args.model
    return Assistant(settings)


def source_name(path: str) -> str:
    """How a source is named in the terminal, as the window names it: the file, and for a
    part the file that holds it ("inbox.mbox › 3 › invoice.pdf", "archive.pst › Inbox › 3");
    a compressed file's one document by its own name ("grep.info" for grep.info.gz)."""
    holder = container_of(path)
    inner = path[len(holder) + len(PART_SEPARATOR):] if holder != path else ""
    if inner and PART_SEPARATOR not in inner and os.path.basename(holder).startswith(
            inner + "."):
        return inner
    return display_name(path)


def _print_sources(answer: Any) -> None:
    if answer.sources:
        print("\nSources:")
        for p in answer.sources:
            mark = "*" if p.n in answer.cited else " "
            snippet = " ".join(p.text.split())
            where = source_line(source_name(p.path), p.path, p.page) + (
                f" - {p.heading}" if p.heading else "")  # the section: a manual's node, a chapter
            print(f"{mark}[{p.n}] {where}: {snippet[:160]}{'...' if len(snippet) > 160 else ''}")
    t = answer.timings
    print(f"({answer.mode}; retrieval {t.retrieval_ms:.0f} ms, prompt {t.prompt_tokens} tokens "
          f"({t.reused_tokens} cached), first token {t.ttft_ms:.0f} ms, "
          f"{t.completion_tokens} tokens at {t.tokens_per_s:.1f}/s, total {t.total_ms:.0f} ms)",
          file=sys.stderr)


def stream_to_terminal(stream: Any) -> Any:
    """Print pieces as they come; Ctrl-C stops this answer only. Returns the Answer."""
    try:
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        stream.stop()
        for _ in stream:
            pass
        print(" [stopped]", end="")
    print()
    answer = stream.answer
    if answer.finish_reason == "repeat":
        print("(stopped: the answer began repeating itself)", file=sys.stderr)
    if answer.error:
        print(f"satchel: {answer.error}", file=sys.stderr)
    return answer


def add_ask(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ask", help="ask a question about your documents",
                       description="Answer a question in one of the four modes: base (model "
                       "only), rag (with retrieved passages), adapter, rag+adapter.")
    p.add_argument("question", metavar="QUESTION")
    _common(p)
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.set_defaults(handler=run_ask)


def run_ask(args: argparse.Namespace) -> int:
    if args.adapter:
        from models.adapters import mode_note

        note = mode_note(args.adapter, args.mode)
        if note:
            print(note, file=sys.stderr)
    assistant = _assistant(args)
    stream = assistant.ask(args.question, args.mode, collection=args.collection,
                           adapter=args.adapter, temperature=args.temperature)
    if args.json:
        answer = stream.consume()
        print_json(answer.to_json())
        return 1 if answer.error else 0
    answer = stream_to_terminal(stream)
    _print_sources(answer)
    return 1 if answer.error else 0


def add_chat(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="interactive chat (sessions are saved)",
                       description="Interactive chat. Commands: /mode MODE, /adapter NAME|off, "
                       "/new, /sessions, /open ID, /export FILE, /quit.")
    _common(p)
    p.add_argument("--session", type=int, default=None, help="continue a saved session by id")
    p.set_defaults(handler=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    from engine.errors import SatchelError
    from engine.sessions import SessionStore

    assistant = _assistant(args)
    store = SessionStore()
    session = args.session if args.session is not None else store.create()
    history = store.history(session)
    mode, adapter = args.mode, args.adapter
    print(f"Satchel chat (session {session}, mode {mode}). /quit to leave, /help for commands.")
    if hasattr(sys.stdin, "reconfigure"):  # a byte that is not UTF-8 is read, not a traceback
        sys.stdin.reconfigure(errors="surrogateescape")
    while True:
        try:
            line = legacy_text(input(f"[{mode}] > ")).strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line.startswith("/"):
            cmd, _, arg = line.partition(" ")
            arg = arg.strip()
            if cmd in ("/quit", "/exit"):
                return 0
            if cmd == "/mode" and arg in MODES:
                mode = arg
            elif cmd == "/adapter":
                adapter = None if arg in ("", "off") else arg
            elif cmd == "/new":
                session, history = store.create(), []
            elif cmd == "/sessions":
                for s in store.list():
                    print(f"  {s.id}: {s.title} ({s.turns} turns)")
            elif cmd == "/open" and arg.isdigit():
                try:
                    history, session = store.history(int(arg)), int(arg)
                except SatchelError as exc:
                    print(f"satchel: {exc}")
            elif cmd == "/export" and arg:
                with open(arg, "w", encoding="utf-8") as fh:
                    fh.write(store.export_markdown(session))
                print(f"exported to {arg}")
            else:
                print("commands: /mode base|rag|adapter|rag+adapter, /adapter NAME|off, /new, "
                      "/sessions, /open ID, /export FILE, /quit")
            continue
        try:
            stream = assistant.ask(line, mode, collection=args.collection, history=history,
                                   adapter=adapter, temperature=args.temperature)
        except SatchelError as exc:
            print(f"satchel: {exc}")
            continue
        answer = stream_to_terminal(stream)
        _print_sources(answer)
        if not answer.error:
            store.add_turn(session, answer)
            history.append(answer.history_turn())


def add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="one question through all four modes, side by side")
    p.add_argument("question", metavar="QUESTION")
    _common(p, modes=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_compare)


def print_compare_table(answers: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=True, title=answers[0].question if answers else "")
    for a in answers:
        table.add_column(a.mode + (f" ({a.adapter})" if a.adapter else ""), overflow="fold")
    table.add_row(*[a.error if a.error and not a.text else a.text for a in answers])
    table.add_row(*["\n".join(f"{'*' if p.n in a.cited else ' '}[{p.n}] "
                              f"{short_line(source_name(p.path), p.path, p.page)}"
                              for p in a.sources)
                    or "-" for a in answers])
    table.add_row(*[(f"first token {a.timings.ttft_ms:.0f} ms\n{a.timings.prompt_tokens} prompt "
                     f"tokens\n{a.timings.tokens_per_s:.0f} tok/s\ntotal "
                     f"{a.timings.total_ms:.0f} ms") if a.text else "" for a in answers])
    Console().print(table)


def run_compare(args: argparse.Namespace) -> int:
    assistant = _assistant(args)
    answers = assistant.compare(args.question, collection=args.collection, adapter=args.adapter,
                                temperature=args.temperature)
    if args.json:
        print_json([a.to_json() for a in answers])
    else:
        print_compare_table(answers)
    return 0


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="index the sample corpus and answer a question in every mode",
                       description="Index the bundled sample corpus into collection 'sample', "
                       "then compare the four modes on one question or, with --eval, score "
                       "them on the shipped question set.")
    p.add_argument("--question", default=None, help="ask this instead of the sample question")
    p.add_argument("--eval", action="store_true",
                   help="evaluate every mode on the shipped question set and write a report")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="with --eval: only the first N questions")
    p.add_argument("--max-tokens", type=int, default=None, metavar="N",
                   help="with --eval: answer length limit (default: settings)")
    p.add_argument("--out", default=None, metavar="DIR", help="with --eval: report folder")
    p.set_defaults(handler=run_demo)


DEMO_COLLECTION = "sample"


def run_demo(args: argparse.Namespace) -> int:
    from cli.progress import run_with_progress
    from engine.indexer import index_paths
    from engine.samples import CORPUS_DIR

    summary, _ = run_with_progress(
        lambda job: index_paths([CORPUS_DIR], DEMO_COLLECTION, job=job, settings=args.settings),
        "Indexing the sample corpus")
    if summary is None:
        return 130
    print(f"Sample corpus: {summary.files_indexed + summary.files_unchanged} files in collection "
          f"{DEMO_COLLECTION!r} ({summary.files_indexed} newly indexed).")
    if args.eval:
        from cli.evaluating import run_demo_eval

        return run_demo_eval(args, DEMO_COLLECTION)
    adapter = _demo_adapter()
    question = args.question or "How many people were in the 2025 winter crew at Halcyon Reach?"
    assistant = _assistant(args)
    answers = assistant.compare(question, collection=DEMO_COLLECTION, adapter=adapter,
                                temperature=0.0)
    print_compare_table(answers)
    return 0


def _demo_adapter() -> str | None:
    """The newest adapter trained for the bundled model, if any."""
    from engine.evaluate.runner import newest_adapter_for
    from engine.model_files import default_model_path

    return newest_adapter_for(default_model_path())
