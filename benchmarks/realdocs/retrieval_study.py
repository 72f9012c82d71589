"""The retrieval study of issue 16, on the DEVELOPMENT set only: one lever at a time.

    python -m benchmarks.realdocs.retrieval_study --fusion \
        [--configs 180/24 128/16 240/32 180/0 180/48]       # max_tokens/overlap, first = default

Each chunking config builds (once, cached under the bench data dir) a study table: 2-6 minutes
on 2 cores, for two embeddings of every chunk. Re-runs take seconds.

Why a study harness and not just the benchmark: each lever needs its own index (chunk size,
what is embedded, which text the full-text index sees), and fusion levers need only the ranked
lists. This script builds one study table per chunking config (the same loader and chunker as
the engine, the same MiniLM, LanceDB's native BM25 with the engine's FTS settings), caches it
under the bench data dir, fetches every question's ranked lists once, and re-fuses them offline
for every fusion variant (with the engine's own exact-match voter where it applies).

Levers (issue 16): chunk size and overlap; heading context (document title and heading path)
in the embedded text and in the BM25 text; BM25 field weights (a multi-match over the body and
the heading context with boosts); fusion weights and the RRF constant; GPT4All's
query-length-dependent BM25 weight. The report set is refused: reported numbers are never tuned.

Every row also prints how many questions ranked better / worse than the engine before issue 16
(a paired count: on 50 questions a mean that moves by one question is noise). Kept in the engine
(issue 16): the exact-code voter restricted to codes and BM25 weighted 1.5; the heading context
in the embedded text helped the fusion at the default chunking but churned (as many questions
worse as better across chunkings, and vectors alone got worse at three of five): not kept.
Later, scored by whether the first chunk holds the gold answer (what the answer prompt needs)
on each development set's own pages, the heading path in the BM25 text moved 4 of 170
questions' answer chunk to the top and none away: kept (``engine.index.search_text``).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.realdocs import retrieval  # noqa: E402
from benchmarks.realdocs.common import BENCH_HOME, use_data_dir  # noqa: E402

DEPTH = 40  # candidates per list, as engine.retrieve's hybrid search takes for k = 10
CONTEXT_CHARS = 160  # heading context kept in front of a chunk


def context_of(title: str, heading: str) -> str:
    """"Title > heading path", without repeating a title that the path already starts with."""
    parts = [p for p in (title.strip(), heading.strip()) if p]
    if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
        parts = parts[1:]
    text = " > ".join(parts)
    return text if len(text) <= CONTEXT_CHARS else text[:CONTEXT_CHARS - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class Config:
    max_tokens: int
    overlap: int

    @property
    def key(self) -> str:
        return f"c{self.max_tokens}o{self.overlap}"


def build_table(which: str, config: Config, embedder: Any) -> Any:
    """The study table of one chunking config (cached): chunks, contexts, two vectors each."""
    import lancedb
    import pyarrow as pa
    from lancedb.index import FTS

    from engine.index import chunk_id
    from engine.ingest import loaders
    from engine.ingest.chunker import chunk_document
    from engine.ingest.tokens import load_tokenizer

    files = retrieval.corpus_files(which)
    digest = hashlib.sha256("".join(f"{f}{f.stat().st_size}" for f in files).encode())
    name = f"{which}-{config.key}-{digest.hexdigest()[:10]}"
    db = lancedb.connect(str(BENCH_HOME / "study"))
    if name in db.list_tables().tables:
        return db.open_table(name)
    started = time.perf_counter()
    counter = load_tokenizer(embedder.folder)
    cols: dict[str, list[Any]] = {k: [] for k in (
        "chunk_id", "path", "page", "start", "end", "heading", "title", "text", "ctx",
        "text_ctx", "tokens")}
    for f in files:
        doc = loaders.load(str(f))
        for ch in chunk_document(doc, counter, max_tokens=config.max_tokens,
                                 overlap_tokens=config.overlap):
            ctx = context_of(doc.title or "", ch.heading)
            cols["chunk_id"].append(chunk_id(str(f), ch.ordinal, ch.content_hash))
            cols["path"].append(str(f))
            cols["page"].append(ch.page)
            cols["start"].append(ch.start)
            cols["end"].append(ch.end)
            cols["heading"].append(ch.heading)
            cols["title"].append(doc.title or "")
            cols["text"].append(ch.text)
            cols["ctx"].append(ctx)
            cols["text_ctx"].append(f"{ctx}\n\n{ch.text}" if ctx else ch.text)
            cols["tokens"].append(ch.tokens)
    plain = embedder.encode(cols["text"], token_counts=cols["tokens"])
    with_ctx = embedder.encode(cols["text_ctx"])
    dim = plain.shape[1]

    def vectors(matrix: Any) -> Any:
        return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1), pa.float32()), dim)

    table = pa.table({**cols, "vec_plain": vectors(plain), "vec_ctx": vectors(with_ctx)})
    tbl = db.create_table(name, table)
    for column in ("text", "ctx", "text_ctx"):
        tbl.create_index(column, config=FTS(with_position=False), replace=True)
    print(f"study table {name}: {len(cols['text'])} chunks in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    return tbl


# -------------------------------------------------------------------------------- ranked lists
def _hits(rows: list[dict[str, Any]], score_key: str) -> list[Any]:
    from engine.retrieve import Hit

    return [Hit(path=r["path"], page=int(r["page"]), text=r["text"],
                score=float(r.get(score_key) or 0.0), chunk_id=r["chunk_id"],
                start=int(r["start"]), end=int(r["end"]), heading=r["heading"] or "",
                collection="study") for r in rows]


_COLS = ["chunk_id", "path", "page", "start", "end", "heading", "text"]


def ranked_lists(tbl: Any, query: str, qvec: Any, boosts: tuple[float, ...]) -> dict[str, list]:
    """Every ranked list a lever may fuse, for one question on one study table."""
    from lancedb.query import MultiMatchQuery

    out: dict[str, list] = {}
    for column in ("vec_plain", "vec_ctx"):
        rows = (tbl.search(qvec, vector_column_name=column).distance_type("cosine")
                .select([*_COLS, "_distance"]).limit(DEPTH).to_list())
        out[column] = _hits(rows, "_distance")
    for column in ("text", "text_ctx"):
        rows = (tbl.search(query, query_type="fts", fts_columns=column)
                .select([*_COLS, "_score"]).limit(DEPTH).to_list())
        out[f"bm25_{column}"] = _hits(rows, "_score")
    for boost in boosts:
        q = MultiMatchQuery(query, ["text", "ctx"], boosts=[1.0, boost])
        rows = tbl.search(q, query_type="fts").select([*_COLS, "_score"]).limit(DEPTH).to_list()
        out[f"bm25_multi{boost:g}"] = _hits(rows, "_score")
    return out


# -------------------------------------------------------------------------------------- fusion
_STOP = frozenset("a an and are as at be but by for if in into is it no not of on or such that "
                  "the their then there these they this to was will with".split())


def gpt4all_bm25_weight(query: str) -> float:
    """GPT4All's LocalDocs weight for BM25 (database.cpp ``computeBM25Weight``, no exact-phrase
    case): 0.25 + 0.5 / (meaningful words)^2, so short queries lean on BM25, long ones on vectors.
    """
    words = [w for w in re.split(r"\s+", query.strip()) if w]
    meaningful = max(1, len([w for w in words if w.lower() not in _STOP]))
    return 0.25 + 0.5 * min(1.0, 1.0 / meaningful ** 2)


def weighted_rrf(lists: list[tuple[list[Any], float]], k_rrf: int, k: int) -> list[Any]:
    scores: dict[str, float] = {}
    first: dict[str, Any] = {}
    for hits, weight in lists:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (k_rrf + rank)
            first.setdefault(hit.chunk_id, hit)
    return [first[c] for c in sorted(scores, key=lambda c: (-scores[c], c))[:k]]


Fuser = Callable[[str, dict[str, list]], list[Any]]

#: Combinations of the levers that helped alone (printed with ``--fusion``).
COMBOS: dict[str, dict[str, Any]] = {
    "codes voter + ctx embedded": {"exact": "codes", "vec": "vec_ctx"},
    "codes voter + BM25 weight 2": {"exact": "codes", "w_text": 2.0},
    "codes voter + ctx embedded + BM25 w 1.5": {"exact": "codes", "vec": "vec_ctx",
                                                "w_text": 1.5},
    "codes voter + RRF k 10": {"exact": "codes", "k_rrf": 10},
    "codes voter + BM25 weight 1.5 + RRF k 10": {"exact": "codes", "w_text": 1.5, "k_rrf": 10},
    "codes voter + BM25 weight 1.5 + RRF k 30": {"exact": "codes", "w_text": 1.5, "k_rrf": 30},
    "codes voter + BM25 weight 2 + RRF k 10": {"exact": "codes", "w_text": 2.0, "k_rrf": 10},
    "no voter + ctx embedded + BM25 w 1.5": {"exact": "none", "vec": "vec_ctx", "w_text": 1.5},
    "ctx embedded + BM25 weight 1.5": {"vec": "vec_ctx", "w_text": 1.5},
    "ctx both + codes voter + BM25 weight 1.5": {"exact": "codes", "vec": "vec_ctx",
                                                 "bm25": "bm25_text_ctx", "w_text": 1.5},
}


def legacy_identifiers(query: str) -> list[str]:
    """The exact-match voter's rule before issue 16: codes AND plain words in capitals of 3+
    letters ("ROWID", "WAL"). Kept here so the study's baseline stays the old engine."""
    from engine.retrieve import _IDENTIFIER

    out = []
    for token in _IDENTIFIER.findall(query):
        has_digit = any(c.isdigit() for c in token)
        has_alpha = any(c.isalpha() for c in token)
        if (has_digit and has_alpha) or (token.isupper() and len(token) >= 3):
            out.append(token)
    return out


def legacy_matches(query: str, candidates: list[Any]) -> list[Any]:
    """:func:`engine.retrieve.exact_matches` with :func:`legacy_identifiers`."""
    from engine import retrieve

    original = retrieve.identifiers
    try:
        retrieve.identifiers = legacy_identifiers  # type: ignore[assignment]
        return retrieve.exact_matches(query, candidates)
    finally:
        retrieve.identifiers = original  # type: ignore[assignment]


def fuser(vec: str = "vec_plain", bm25: str = "bm25_text", w_text: float = 1.0,
          w_vec: float = 1.0, k_rrf: int = 60, exact: str = "legacy", w_exact: float = 1.0,
          gpt4all: bool = False, only: str | None = None) -> Fuser:
    """A fusion recipe over the ranked lists; the defaults are the engine's hybrid BEFORE
    issue 16 (plain vectors, equal weights, the legacy voter).

    ``exact``: the exact-identifier voter: "legacy" (codes and capitalised words, the old
    engine), "codes" (the engine's :func:`engine.retrieve.exact_matches` now: codes only) or
    "none".
    """
    from engine.retrieve import exact_matches

    def run(query: str, lists: dict[str, list]) -> list[Any]:
        if only:
            return lists[only][:retrieval.DEPTH]
        v, t = lists[vec], lists[bm25]
        wt, wv = w_text, w_vec
        if gpt4all:
            bm = gpt4all_bm25_weight(query)
            wt, wv = 2 * bm, 2 * (1 - bm)  # same sum as the equal-weight RRF (1 + 1)
        voters = [(v, wv), (t, wt)]
        if exact == "legacy":
            voters.append((legacy_matches(query, v + t), w_exact))
        elif exact == "codes":
            voters.append((exact_matches(query, v + t), w_exact))
        return weighted_rrf(voters, k_rrf, retrieval.DEPTH)

    return run


def evaluate(per_q: list[dict[str, list]], items: list, gold: Path, fuse_fn: Fuser
             ) -> dict[str, Any]:
    ranked = [[h.path for h in fuse_fn(q.text, lists)] for q, lists in zip(items, per_q,
                                                                            strict=True)]
    return retrieval.score(ranked, items, gold)


def paired(before: list[int], after: list[int]) -> tuple[int, int]:
    """Questions whose gold rank got better / worse (rank 0 = not in the top 10): a paired
    count says more than a difference of means on 50 questions."""
    def rr(rank: int) -> float:
        return 1 / rank if rank else 0.0

    up = sum(rr(a) > rr(b) for b, a in zip(before, after, strict=True))
    down = sum(rr(a) < rr(b) for b, a in zip(before, after, strict=True))
    return up, down


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="which", default="dev")
    parser.add_argument("--configs", nargs="+", default=["180/24"],
                        help="chunking configs max_tokens/overlap (the first is the base)")
    parser.add_argument("--boosts", nargs="*", type=float, default=[0.5, 1.0, 2.0])
    parser.add_argument("--fusion", action="store_true", help="also sweep fusion levers")
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    if args.which != "dev":
        parser.error("the study runs on the dev set only: reported numbers are never tuned on")
    use_data_dir(args.data_dir)
    from engine.embed import get_embedder

    embedder = get_embedder(None)
    items = retrieval.questions("dev")
    gold, _ = retrieval.corpus_folders("dev")
    qvecs = [embedder.encode_query(q.text) for q in items]
    print(f"{'lever':58s} {'hit@1':>6s} {'hit@5':>6s} {'MRR@10':>7s}   up down "
          "(questions ranked better / worse than before issue 16)")
    for spec in args.configs:
        config = Config(*(int(x) for x in spec.split("/")))
        tbl = build_table("dev", config, embedder)
        per_q = [ranked_lists(tbl, q.text, v, tuple(args.boosts)) for q, v in zip(
            items, qvecs, strict=True)]
        variants: dict[str, Fuser] = {
            "hybrid before issue 16": fuser(),
            "vector only": fuser(only="vec_plain"),
            "text only": fuser(only="bm25_text"),
            "heading ctx embedded": fuser(vec="vec_ctx"),
            "vector only, ctx embedded": fuser(only="vec_ctx"),
            "heading ctx in BM25 text": fuser(bm25="bm25_text_ctx"),
            "text only, ctx in BM25 text": fuser(only="bm25_text_ctx"),
            "ctx embedded + in BM25 text": fuser(vec="vec_ctx", bm25="bm25_text_ctx"),
        }
        for boost in args.boosts:
            variants[f"BM25 multi-match body 1 + ctx {boost:g}"] = fuser(
                bm25=f"bm25_multi{boost:g}")
        if args.fusion:
            variants["no exact-match voter"] = fuser(exact="none")
            variants["exact voter weight 0.5"] = fuser(w_exact=0.5)
            variants["exact voter for codes only"] = fuser(exact="codes")
            for wt in (1.5, 2.0, 3.0):
                variants[f"BM25 weight {wt:g} (vector 1)"] = fuser(w_text=wt)
            for kr in (10, 20, 30, 100):
                variants[f"RRF k {kr}"] = fuser(k_rrf=kr)
            variants["GPT4All query-length BM25 weight"] = fuser(gpt4all=True)
            variants["engine now (codes voter, BM25 weight 1.5)"] = fuser(exact="codes",
                                                                          w_text=1.5)
            for name, kw in COMBOS.items():
                variants[name] = fuser(**kw)
        base: list[int] | None = None
        for label, fn in variants.items():
            m = evaluate(per_q, items, gold, fn)
            base = base or m["ranks"]
            up, down = paired(base, m["ranks"])
            print(f"{config.key + ' ' + label:58s} {retrieval.fmt(m)}   {up:2d} {down:2d}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
