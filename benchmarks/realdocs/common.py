"""Shared plumbing for the real-document measurements: data dir, collections, question sets.

Everything lives in one persistent bench data dir (``~/.cache/satchel-bench/home`` unless
``--data-dir``), so the index and the trained adapters survive between runs of the tuning and
report scripts; the collections are ``realdocs-dev`` and ``realdocs-report``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.realdocs.build import DEFAULT_OUT, HERE, SETS, build  # noqa: E402

BENCH_HOME = DEFAULT_OUT.parent / "home"


def collection_name(which: str) -> str:
    return f"realdocs-{which}"


def qa_path(which: str) -> Path:
    return HERE / f"{which}.jsonl"


def use_data_dir(data_dir: str | Path | None) -> Path:
    """Point Satchel at the bench data dir (with the network guard on, as the app runs)."""
    from engine import netguard, paths

    netguard.install()
    home = Path(data_dir or BENCH_HOME).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    paths.set_data_dir(home)
    return home


def ensure_collection(which: str, settings: Any = None) -> str:
    """Build the documents when missing and index them (incremental: a no-op when indexed)."""
    from engine.indexer import index_paths

    if which not in SETS:
        raise SystemExit(f"unknown set {which!r}; use one of {', '.join(SETS)}")
    folder = DEFAULT_OUT / which
    if not folder.is_dir() or not any(folder.iterdir()):
        build(DEFAULT_OUT)
    started = time.perf_counter()
    name = collection_name(which)
    summary = index_paths([folder], name, settings=settings)
    if summary.files_indexed:
        print(f"indexed {summary.files_indexed} files of {which} ({summary.chunks} chunks) in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return name


def progress_printer(every_s: float = 30.0) -> Any:
    """A Job listener printing one line every ``every_s`` seconds (a bench log)."""
    last = [0.0]

    def listener(state: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or state.finished:
            last[0] = now
            total = int(state.total) if state.total else "?"
            print(f"  [{state.elapsed_s:6.0f} s] {int(state.done)}/{total} {state.status}",
                  file=sys.stderr, flush=True)

    return listener
