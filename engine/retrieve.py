"""Search a collection by meaning (vector), by words (BM25 full text) or both (hybrid, RRF).

Why hybrid by default: on real manuals keyword search alone found the right file in the top 5 for
90% of questions, MiniLM vectors for 92.5%, and their fusion for 97.5% (FACTS.md). Exact names and
product codes are where vectors fail and BM25 shines; paraphrases are the opposite. Reciprocal
rank fusion needs no score calibration between the two, which is why it is the standard.

Queries always use the embedder that filled the collection, never whatever the settings say now.

A passage is listed once: copies of a file ("report.pdf" and "report (1).pdf", an attachment
forwarded three times, a licence paragraph in every file) have chunks of the very same text, and
listing each copy would fill the results, and the model's few passages, with one passage.
The best-ranked copy stays; the next different passage takes the freed place. So it goes for
near copies: one manual in PDF, HTML and Info, a report beside the PDF exported from it.

Measured and not shipped: reranking the first five hits by the chat model's own likelihood of the
question given each passage ("Passage: ... Please write a question based on this passage.",
UPR, Sachan et al. 2022), mixed with the fused rank (minus 0.1 per rank). With the 135M default
model the answer's chunk reached first place for 45 of git's 60 development questions against 40,
47 of SQLite's 50 against 44, but 57 of the Debian Reference's 60 against 58; and five more
passages to read cost about 0.8 s each on 2 cores, past the answer's 1.5 s median budget.
Nor reranking the first 2, 3 or 5 by MiniLM's similarity of the question to each focused
passage, to its best sentence, or to the whole chunk: over the four development sets (230
questions) the answer reached the prompt for 168-188 against 196 for the fused order, and 197
at best when another passage had to beat the first by 0.08-0.12 (which then rarely happens).
Nor a fourth voter for chunks under a section the query names whole (two or more content words
of the chunk's own heading, all in the question: asked for the default of Apache's "TimeOut"
directive, search ranked its section third): over the four development sets the answer reached
the prompt for 41 / 58 / 40 / 54 questions against 44 / 58 / 41 / 54, and rag answered 38 / 46 /
24 / 43 against 40 / 46 / 25 / 43.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine import storage
from engine.cjk_terms import has_pieces, searchable
from engine.errors import SatchelError
from engine.index import Collection, get_meta, sql_str
from engine.index_health import reading
from engine.ingest.file_names import valid_text
from engine.model_files import ENGLISH_ONLY_EMBEDDERS

MODES = ("vector", "text", "hybrid")
#: The k in 1/(k + rank): 60 is the value from the RRF paper and what LanceDB uses. On the dev
#: set of benchmarks/bench_retrieval.py 10-100 alone changed MRR@10 by <= 0.002; with the
#: weights below, 10 gained 0.013 (2 questions) but lost 0.004 at 240-token chunks: kept 60.
RRF_K = 60
#: Votes of each list in the hybrid fusion (weighted RRF): a BM25 rank counts 1.5 times a vector
#: rank. On the SQLite dev set of benchmarks/bench_retrieval.py (50 questions, 68 pages, 1,743
#: chunks) BM25 alone ranked the gold file first for 96% of questions, MiniLM alone for 82%; on
#: top of the code-only exact voter, weight 1.5 raised hybrid MRR@10 from 0.940 to 0.950 and was
#: never worse at four other chunk sizes/overlaps (8 questions ranked better, 1 worse, pooled).
#: 2.0 measured the same at the default chunking: the milder one is kept. GPT4All's
#: query-length rule (BM25 weight 0.25 + 0.5 / words^2, leaning on vectors for question-length
#: queries) measured worse at four of five chunkings (MRR@10 0.896 against 0.901 at the default).
TEXT_WEIGHT = 1.5
VECTOR_WEIGHT = 1.0
EXACT_WEIGHT = 1.0
COLUMNS = ["chunk_id", "path", "page", "start", "end", "heading", "text"]
#: Extra hits a single-list search asks for, so that copies listed once still leave ``k``.
COPIES_ROOM = 5
#: How deep a search looks for hits that are not copies of the ones above.
MAX_COPIES_DEPTH = 500


@dataclass(frozen=True)
class Hit:
    """One retrieved passage; ``score`` is higher-is-better within one result list."""

    path: str
    page: int
    text: str
    score: float
    chunk_id: str
    start: int
    end: int
    heading: str
    collection: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _path_filter(paths: list[str] | None) -> str | None:
    if not paths:
        return None
    parts = []
    for p in paths:
        p = os.path.abspath(os.path.expanduser(p))
        parts.append(f"path = {sql_str(p)}")
        # starts_with, not LIKE: '_' and '%' are ordinary characters in file names
        parts.append(f"starts_with(path, {sql_str(p.rstrip(os.sep) + os.sep)})")
    return "(" + " OR ".join(parts) + ")"


def _to_hits(rows: list[dict[str, Any]], scores: list[float], collection: str) -> list[Hit]:
    return [Hit(path=r["path"], page=int(r["page"]), text=r["text"], score=float(s),
                chunk_id=r["chunk_id"], start=int(r["start"]), end=int(r["end"]),
                heading=r["heading"] or "", collection=collection)
            for r, s in zip(rows, scores, strict=True)]


def _vector(coll: Collection, query: str, k: int, where: str | None) -> list[Hit]:
    from engine.embed import get_embedder

    vec = get_embedder(coll.meta.embedder_path).encode_query(query)
    q = coll.chunks.search(vec, vector_column_name="vector").distance_type("cosine")
    nprobes = coll.search_plan().nprobes
    if nprobes and where:  # a narrow path filter may need more partitions to fill k
        q = q.minimum_nprobes(nprobes).maximum_nprobes(0)
    elif nprobes:  # IVF_FLAT: exact distances within the probed partitions, no refine step
        q = q.nprobes(nprobes)
    if where:
        q = q.where(where, prefilter=True)
    rows = q.select([*COLUMNS, "_distance"]).limit(k).to_list()
    return _to_hits(rows, [1.0 - r["_distance"] for r in rows], coll.meta.name)


_WORD = re.compile(r"\w+")
#: A hit is a near copy of an earlier hit of another format when this share of its word triples
#: is in that one. The same manual shipped as PDF, HTML and Info, or a report kept as .docx and
#: as the .pdf exported from it, gives chunks of the same words cut at other places and written
#: a little differently (quotes, hyphenation, a heading joined in): on R's manual in three
#: formats such copies shared 0.81-1.0 of their triples (0.65-0.71 where the cuts fell far
#: apart), and the first three hits were one passage. Different passages that share boilerplate
#: stayed below: over the four development sets' questions (top 10 hits), git's merge.autoStash
#: against rebase.autoStash 0.60, two commands' common option 0.68. Hits of one format are
#: compared exactly only: a folder of one vendor's invoices, a log, a manual's repeated steps
#: differ in a few numbers, which is what the user asks about.
NEAR_COPY = 0.8
#: Fewer triples than this (a heading, a short line) are compared exactly only.
NEAR_COPY_MIN = 8


def _triples(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def _format_of(path: str) -> str | None:
    """The format of the file a hit comes from (the innermost part's: an attachment's own)."""
    from engine.ingest.document import PART_SEPARATOR
    from engine.ingest.loaders.formats import format_for_name

    return format_for_name(Path(path.rsplit(PART_SEPARATOR, 1)[-1]))[0]


def distinct(hits: list[Hit], k: int) -> list[Hit]:
    """The first ``k`` hits that are not copies of an earlier hit: copies listed once, and so
    are near copies in another format (:data:`NEAR_COPY`), such as one manual's passage in its
    PDF, HTML and Info files. The best-ranked copy stays, so the first hit never changes."""
    seen: set[str] = set()
    shown: list[tuple[str | None, set[tuple[str, ...]]]] = []
    out: list[Hit] = []
    for hit in hits:
        if hit.text in seen:
            continue
        fmt, triples = _format_of(hit.path), _triples(hit.text)
        need = NEAR_COPY * len(triples)
        if len(triples) >= NEAR_COPY_MIN and any(
                other != fmt and len(triples & earlier) >= need for other, earlier in shown):
            continue
        seen.add(hit.text)
        shown.append((fmt, triples))
        out.append(hit)
        if len(out) == k:
            break
    return out


def _text(coll: Collection, query: str, k: int, where: str | None) -> list[Hit]:
    # A plan read just before another process moved an older Satchel's index to the new
    # column still works for its few seconds: LanceDB searches an unindexed column in full.
    plan = coll.search_plan()
    if not plan.text_index:  # a run died before building it; the writer will
        return []
    words = searchable(query, plan.pieces)
    q = coll.chunks.search(words, query_type="fts", fts_columns=plan.text_index)
    if where:
        q = q.where(where, prefilter=True)
    rows = q.select([*COLUMNS, "_score"]).limit(k).to_list()
    return _to_hits(rows, [r.get("_score", 0.0) for r in rows], coll.meta.name)


_IDENTIFIER = re.compile(r"[\w][\w./:-]*[\w]", re.UNICODE)


def identifiers(query: str) -> list[str]:
    """Tokens of the query that look like codes users expect found verbatim.

    A token counts when it mixes letters and digits ("HRB-09", "v2.3", "ISO-9001") or joins
    capitalised parts with punctuation ("SQLITE_MAX_PAGE_SIZE", "SS.SSS"): exactly what
    embeddings blur and what BM25's tokenizer splits into common pieces.

    A plain word in capitals ("CTD", "ROWID", "WAL") does not count any more: BM25 already
    matches it as one term, weighted by how rare it is, while as a third voter it promoted every
    candidate that contained it. In documents where such words are everywhere (SQL keywords in
    the SQLite manual) that cost accuracy: restricting the voter to codes raised hybrid MRR@10
    on the dev set of benchmarks/bench_retrieval.py from 0.901 to 0.940 (no voter: 0.930): 3
    questions ranked better, none worse; at four other chunkings 3 better, at most 1 worse.
    """
    out = []
    for token in _IDENTIFIER.findall(query):
        has_digit = any(c.isdigit() for c in token)
        has_alpha = any(c.isalpha() for c in token)
        joined = not token.isalnum() and token.upper() == token and has_alpha
        if (has_digit and has_alpha) or (joined and len(token) >= 3):
            out.append(token)
    return out


def exact_matches(query: str, candidates: list[Hit]) -> list[Hit]:
    """Candidates containing the query's identifiers verbatim (case-insensitive), most first.

    Used as a third voter in the fusion: when a user types a product code, the passage that
    contains that code should win even if neither BM25 nor the embedding put it first.
    """
    ids = [t.lower() for t in identifiers(query)]
    if not ids:
        return []
    seen: dict[str, tuple[int, int, Hit]] = {}
    for order, hit in enumerate(candidates):
        text = hit.text.lower()
        count = sum(1 for t in ids if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w])", text))
        if count and hit.chunk_id not in seen:
            seen[hit.chunk_id] = (-count, order, hit)
    return [hit for _, _, hit in sorted(seen.values(), key=lambda v: (v[0], v[1]))]


def fuse(lists: list[list[Hit]], k: int, weights: list[float] | None = None) -> list[Hit]:
    """Weighted reciprocal rank fusion: list i votes weights[i] / (RRF_K + rank) for its hits
    (all weights 1 when ``weights`` is None: plain RRF)."""
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    for i, hits in enumerate(lists):
        weight = 1.0 if weights is None else weights[i]
        for rank, hit in enumerate(hits, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (RRF_K + rank)
            first.setdefault(hit.chunk_id, hit)
    ranked = sorted(scores, key=lambda cid: (-scores[cid], cid))
    return distinct([Hit(**{**asdict(first[cid]), "score": scores[cid]}) for cid in ranked], k)


def search(query: str, collection: str = "default", *, k: int = 5, mode: str = "hybrid",
           paths: list[str] | None = None) -> list[Hit]:
    """The best ``k`` passages for ``query``, best first. Raises SatchelError for bad input.

    Read-only: it never builds an index or compacts a table. A rebuild that completes while a
    search runs drops the generation the search opened; the search then runs once more on the
    new one.
    """
    query = valid_text(query or "").strip()  # a lone surrogate would fail the tokenizer
    if not query:
        raise SatchelError("the search query is empty")
    if mode not in MODES:
        raise SatchelError(f"unknown search mode {mode!r} (use vector, text or hybrid)")
    if k < 1:
        raise SatchelError("k must be at least 1")
    with reading(collection):  # a damaged collection is one line that says what to do
        coll = Collection.open(collection)
        try:
            return _search(coll, query, k, mode, paths)
        except Exception:
            # An object store's cached reads (up to a second old) are dropped and the search
            # runs once more on fresh ones; a local index caches nothing (refresh() is False).
            if not storage.refresh() and get_meta(collection).generation == coll.meta.generation:
                raise
        return _search(Collection.open(collection), query, k, mode, paths)


def _search(coll: Collection, query: str, k: int, mode: str,
            paths: list[str] | None) -> list[Hit]:
    if coll.count_chunks() == 0:
        return []
    where = _path_filter(paths)
    if mode in ("vector", "text"):  # room for a few copies, which are listed once
        run = _vector if mode == "vector" else _text

        def single(depth: int) -> tuple[list[Hit], bool]:
            hits = run(coll, query, depth, where)
            return distinct(hits, k), len(hits) == depth

        return _deepening(single, k, k + COPIES_ROOM)
    return _deepening(lambda depth: _hybrid(coll, query, k, depth, where), k, max(k * 4, 20))


def _deepening(search_at: Callable[[int], tuple[list[Hit], bool]], k: int,
               depth: int) -> list[Hit]:
    """``search_at(depth)`` (its distinct hits, and whether a list it read was full), asked
    four times deeper while copies leave fewer than ``k``: with more copies of one passage than
    the lists hold (a file kept by eight packages, an attachment forwarded in thirty mails) the
    search looks deeper rather than list fewer than asked for. The first depth is the only
    one in all other cases."""
    while True:
        shown, more = search_at(depth)
        if len(shown) == k or not more or depth >= MAX_COPIES_DEPTH:
            return shown
        depth *= 4


def _hybrid(coll: Collection, query: str, k: int, depth: int,
            where: str | None) -> tuple[list[Hit], bool]:
    """Fused vector and word search over ``depth`` hits of each; whether a list was full."""
    if (coll.meta.embedder in ENGLISH_ONLY_EMBEDDERS
            and has_pieces(query, coll.search_plan().pieces)):
        # An English embedder's vectors of Chinese, Japanese or Korean are noise: on the Debian
        # Reference in Chinese (benchmarks/bench_cjk_search.py, set zh, 52 questions) MiniLM
        # alone put the answer first for 0.31 of questions, word search for 0.92, and their
        # fusion for 0.63 (0.69 / 0.81 / 0.96 with the vectors' vote at 0.5 / 0.25 / 0). Of
        # Thai, Lao, Khmer and Burmese it sees nothing at all: every letter is [UNK]. An older
        # collection's word index cannot find these words yet: the vectors still vote.
        text_hits = _text(coll, query, depth, where)
        return (fuse([text_hits, exact_matches(query, text_hits)], k, [TEXT_WEIGHT, EXACT_WEIGHT]),
                len(text_hits) == depth)
    # The full-text search needs no query vector: it runs (in LanceDB's native threads) while this
    # thread embeds the query and searches the vectors; on 2 cores that hides most of its cost.
    text_result: list[list[Hit] | BaseException] = []

    def run_text() -> None:
        try:
            text_result.append(_text(coll, query, depth, where))
        except BaseException as exc:  # re-raised in the caller's thread
            text_result.append(exc)

    worker = threading.Thread(target=run_text, name="satchel-text-search", daemon=True)
    worker.start()
    try:
        vector_hits = _vector(coll, query, depth, where)
    finally:
        worker.join()
    text_hits = text_result[0]
    if isinstance(text_hits, BaseException):
        raise text_hits
    fused = fuse([vector_hits, text_hits, exact_matches(query, vector_hits + text_hits)], k,
                 [VECTOR_WEIGHT, TEXT_WEIGHT, EXACT_WEIGHT])
    return fused, depth in (len(vector_hits), len(text_hits))
