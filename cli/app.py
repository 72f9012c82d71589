"""Argument parsing and dispatch for ``satchel``; every subcommand lives in its own module.

Errors the user can fix (:class:`engine.errors.SatchelError`) end the process with a one-line
message and exit status 2; argparse handles unknown commands and flags the same way. Bugs keep
their traceback. Ctrl-C exits with 130 after the running job has been asked to cancel.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from engine import __version__
from engine.errors import SatchelError
from engine.ingest.file_names import legacy_text

Handler = Callable[[argparse.Namespace], int]


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the stack, the bundled models and the network guard",
                       description="Check versions, data dir, bundled model and embedder, run the "
                       "default model for a few tokens, report CPU features and the network guard.")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-generate", action="store_true",
                   help="skip loading the model and generating a reply")

    def handler(args: argparse.Namespace) -> int:
        from cli.doctor import run_doctor

        return run_doctor(as_json=args.json, generate=not args.no_generate)

    p.set_defaults(handler=handler)


def _apply_global_flags(args: argparse.Namespace) -> None:
    """``--index-uri`` and ``--llm-url`` override their settings for this run."""
    for flag, name, example in (("--index-uri", "index_uri", "s3://bucket/satchel"),
                                ("--llm-url", "llm_url", "http://127.0.0.1:8080/v1")):
        value = getattr(args, name)
        if value is None:
            continue
        before = getattr(args.settings, name)
        setattr(args.settings, name, value)
        if args.settings.validate():  # resets the value it refused
            setattr(args.settings, name, before)
            raise SatchelError(f"{flag} {value!r} is not a valid address (e.g. {example})")
    # Where the index lives, for this process and data dir (no network I/O until it is used;
    # a URI or storage option that cannot work is a one-line error here).
    from engine import storage

    storage.configure_from(args.settings)


def build_parser() -> argparse.ArgumentParser:
    """The full parser; each ``_add_*`` registers one subcommand with a lazy handler."""
    parser = argparse.ArgumentParser(
        prog="satchel",
        description="Satchel: an offline assistant for your private documents.",
    )
    parser.add_argument("--version", action="version", version=f"satchel {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where Satchel keeps everything (default: $SATCHEL_HOME or the "
                        "platform's user data dir)")
    parser.add_argument("--index-uri", metavar="URI",
                        help="keep the index at URI instead of the data dir, e.g. "
                        "s3://bucket/satchel (the index_uri and storage_options settings)")
    parser.add_argument("--llm-url", metavar="URL",
                        help="answer with an OpenAI-compatible server at URL instead of the "
                        "in-process model, e.g. http://127.0.0.1:8080/v1 (the llm_url setting)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from cli import adapters, answering, evaluating, library, serving

    for add in (library.add_index, library.add_search, library.add_collections,
                answering.add_ask, answering.add_chat, answering.add_compare,
                adapters.add_adapter, evaluating.add_eval, answering.add_demo, serving.add_serve,
                _add_doctor):
        add(sub)
    return parser


def run(argv: list[str]) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        from engine import paths

        if args.data_dir:
            paths.set_data_dir(args.data_dir)
        paths.data_dir()  # fail early, with one line, when the data dir is unusable
        from engine import settings

        args.settings, warnings = settings.load()
        for warning in warnings:
            print(f"satchel: warning: {warning}", file=sys.stderr)
        _apply_global_flags(args)
        for name in ("query", "question"):  # typed in a terminal set to an older encoding
            if isinstance(getattr(args, name, None), str):
                setattr(args, name, legacy_text(getattr(args, name)))
        return int(args.handler(args) or 0)
    except SatchelError as exc:
        print(f"satchel: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as exc:  # a full disk is the user's to fix, not a bug
        from engine import paths
        from engine.errors import storage_full

        full = storage_full(exc, str(paths.data_dir(create=False)))
        if full is None:
            raise
        print(f"satchel: error: {full}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("satchel: interrupted", file=sys.stderr)
        return 130
