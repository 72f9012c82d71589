"""Reading files again, and copies, cost the parsing, not the embedding:
``python benchmarks/bench_reread.py``.

When a file is read again (its reader has a newer revision, or the user edited it), the indexer
keeps the vector of every chunk whose text came out the same (:mod:`engine.indexer`). Three cases,
each timed with that reuse and without it (``_known_vectors`` returning nothing: every chunk
embedded again, as before the reuse existed), in alternating order, median of per-round ratios:

1. **a newer reader**: the whole benchmark corpus of ``bench_index`` (copies of the sample
   corpus plus generated Markdown, PDF and DOCX of real prose) indexed, then every document's
   reader tag cleared, as an index written by an earlier version has it, and indexed again.
   Target: time with reuse / time without <= 0.50.
2. **one paragraph edited** in a long Markdown document (~40,000 words), indexed again.
   Target: <= 0.30.
3. **copies**: a folder holding the corpus and a backup copy of it (one folder copied, and one
   zipped), indexed into a new collection. A copy's chunks take the vectors of the first
   file's chunks instead of being embedded again. Target: <= 0.60 (two of the three copies
   cost their reading only).

Absolute times move with the machine's load (printed); both sides of a ratio share it.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_index import (  # noqa: E402
    build_corpus,
    fresh_home,
    load,
    median,
    paragraph,
    sentence_pool,
)
from engine import paths  # noqa: E402


@contextlib.contextmanager
def without_reuse() -> Iterator[None]:
    """Every chunk of a file read again is embedded again (the behaviour before reuse)."""
    import engine.indexer as indexer

    original, recent = indexer._known_vectors, indexer.RECENT_VECTORS
    indexer._known_vectors = lambda *_args: {}  # type: ignore[assignment]
    indexer.RECENT_VECTORS = 0
    try:
        yield
    finally:
        indexer._known_vectors = original  # type: ignore[assignment]
        indexer.RECENT_VECTORS = recent


def timed_pair(prepare: Callable[[], None], folder: Path, rounds: int,
               check: Callable[[Any], None]) -> dict[str, Any]:
    """``rounds`` rounds of (reuse, full) or (full, reuse): ``prepare`` before each run."""
    from engine.indexer import index_paths

    runs: list[dict[str, float]] = []
    last: dict[str, Any] = {}
    for r in range(rounds):
        order = ("reuse", "full") if r % 2 == 0 else ("full", "reuse")
        run: dict[str, float] = {}
        for side in order:
            prepare()
            with without_reuse() if side == "full" else contextlib.nullcontext():
                t0 = time.perf_counter()
                summary = index_paths([folder])
                run[side] = time.perf_counter() - t0
            check(summary)
            last[side] = summary
        runs.append(run)
        print(f"  round {r + 1}: with reuse {run['reuse']:6.2f} s, without {run['full']:6.2f} s, "
              f"ratio {run['reuse'] / run['full']:.3f} {load()}", flush=True)
    return {"ratio": median([r["reuse"] / r["full"] for r in runs]),
            "reuse_s": median([r["reuse"] for r in runs]),
            "full_s": median([r["full"] for r in runs]),
            "chunks": last["reuse"].chunks, "reused": last["reuse"].chunks_reused,
            "files": last["reuse"].files_indexed}


def bench_newer_reader(base: Path, pool: list[str], scale: int, rounds: int) -> dict[str, Any]:
    from engine import index
    from engine.indexer import index_paths

    corpus = build_corpus(base / "corpus", pool, scale)
    fresh_home(base, "reader")
    first = index_paths([corpus])

    def older() -> None:  # as an index written by an earlier version of the readers
        index.Collection.open("default").docs.update(values={"reader": ""})

    def check(summary: Any) -> None:
        if summary.files_reread != first.files_indexed or summary.files_failed:
            raise SystemExit(f"expected every file read again: {summary.to_json()}")

    return timed_pair(older, corpus, rounds, check)


def bench_edit(base: Path, pool: list[str], rounds: int) -> dict[str, Any]:
    from engine.indexer import index_paths

    rng = random.Random(5)
    folder = base / "long"
    folder.mkdir()
    doc = folder / "handbook.md"
    sections = [f"## Section {i}: {rng.choice(pool)[:50]}\n\n" + "\n\n".join(
        paragraph(rng, pool, 4, 8) for _ in range(6)) for i in range(60)]
    doc.write_text("# Handbook\n\n" + "\n\n".join(sections))
    fresh_home(base, "edit")
    index_paths([folder])
    edits = iter(range(10_000))

    def edit() -> None:  # a different sentence of section 30 each time
        text = doc.read_text()
        head, _, rest = text.partition("## Section 30:")
        doc.write_text(f"{head}## Section 30:{rest.replace('.', f' (rev {next(edits)}).', 1)}")

    def check(summary: Any) -> None:
        if summary.files_indexed != 1 or summary.files_failed:
            raise SystemExit(f"expected the edited file indexed: {summary.to_json()}")

    return timed_pair(edit, folder, rounds, check)


def bench_copies(base: Path, pool: list[str], scale: int, rounds: int) -> dict[str, Any]:
    folder = base / "with-copies"
    corpus = build_corpus(folder / "documents", pool, scale)
    shutil.copytree(corpus, folder / "backup" / "documents")
    shutil.make_archive(str(folder / "backup" / "documents-2024"), "zip", corpus)
    runs = iter(range(10_000))

    def new_collection() -> None:
        fresh_home(base, f"copies-{next(runs)}")

    def check(summary: Any) -> None:
        if summary.files_failed or summary.files_indexed < 3:
            raise SystemExit(f"expected the folder indexed: {summary.to_json()}")

    return timed_pair(new_collection, folder, rounds, check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per case")
    parser.add_argument("--scale", type=int, default=2, help="corpus size of case 1 (bench_index)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="satchel-reread-"))
    started = time.perf_counter()
    try:
        pool = sentence_pool()
        print(f"1. a newer reader: the corpus read again {load()}", flush=True)
        reader = bench_newer_reader(base, pool, args.scale, args.rounds)
        print(f"2. one paragraph edited in a long document {load()}", flush=True)
        edit = bench_edit(base, pool, args.rounds)
        print(f"3. a folder with copies indexed into a new collection {load()}", flush=True)
        copies = bench_copies(base, pool, args.scale, args.rounds)
    finally:
        paths.set_data_dir(None)
        shutil.rmtree(base, ignore_errors=True)
    print()
    for name, r in (("newer reader", reader), ("edit", edit), ("copies", copies)):
        print(f"{name}: {r['files']} file(s), {r['chunks']} chunks, {r['reused']} kept their "
              f"vectors; median {r['reuse_s']:.2f} s with reuse, {r['full_s']:.2f} s without")
    results = [("newer reader: time with reuse / without", reader["ratio"], 0.50),
               ("one paragraph edited: time with reuse / without", edit["ratio"], 0.30),
               ("copies: time with reuse / without", copies["ratio"], 0.60)]
    print(f"\n{'target':52s} {'measured':>9s}  {'goal':>8s}")
    for name, value, goal in results:
        print(f"{name:52s} {value:9.3f}  {'<= ' + format(goal, '.2f'):>8s}  "
              f"{'PASS' if value <= goal else 'FAIL'}")
    print(f"(total {time.perf_counter() - started:.0f} s; {load()})")
    return 0 if all(value <= goal for _, value, goal in results) else 1


if __name__ == "__main__":
    sys.exit(main())
