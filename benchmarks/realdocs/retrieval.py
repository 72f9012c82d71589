"""Retrieval measurement on the real documents: the corpus, the metrics and the naive baseline.

* Corpus: a set's gold pages (``<out>/<set>/``, ``build.py``) plus its distractor pages
  (``distractors.py``), so that finding the gold file is not a given.
* Metrics, per question, over the ranked passages: file hit@1, hit@5 (a passage of a gold file
  at rank <= k) and MRR@10 (1 / rank of the first gold passage, 0 past rank 10). Ranks count
  passages, not distinct files: what the answer prompt sees is the first passages.
* Naive baseline (issue 16): fixed 1,000-character chunks of the same extracted text, no overlap,
  BM25 (LanceDB's native full-text search, default tokenizer) and MiniLM vectors fused by plain
  reciprocal rank fusion (k = 60). It is what a first RAG prototype does; Satchel must not do
  worse than it.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.realdocs import distractors
from benchmarks.realdocs.build import DEFAULT_OUT, build
from benchmarks.realdocs.common import BENCH_HOME, qa_path

NAIVE_CHARS = 1000
RRF_K = 60
DEPTH = 10  # passages scored per question (MRR@10)


@dataclass(frozen=True)
class Question:
    text: str
    sources: tuple[str, ...]


def questions(which: str) -> list[Question]:
    out = []
    for line in qa_path(which).read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            out.append(Question(raw["question"], tuple(raw.get("sources") or ())))
    return out


def corpus_folders(which: str) -> tuple[Path, Path]:
    """(gold folder, distractor folder) of a set, built/downloaded when missing."""
    gold = DEFAULT_OUT / which
    if not gold.is_dir() or not any(gold.iterdir()):
        build(DEFAULT_OUT)
    return gold, distractors.ensure(which)


def corpus_files(which: str) -> list[Path]:
    gold, extra = corpus_folders(which)
    return sorted(gold.glob("*.html")) + sorted(extra.rglob("*.html"))


def is_gold(path: str, question: Question, gold_folder: Path) -> bool:
    """A passage is gold when it comes from one of the set's own pages named by ``sources``."""
    p = Path(path)
    return p.parent == gold_folder and p.name in question.sources


def score(ranked: Sequence[Sequence[str]], items: Sequence[Question], gold_folder: Path
          ) -> dict[str, Any]:
    """hit@1, hit@5, MRR@10 over questions; ``ranked[i]`` is question i's passage paths."""
    ranks = []
    for paths, q in zip(ranked, items, strict=True):
        rank = next((i for i, p in enumerate(paths[:DEPTH], 1) if is_gold(p, q, gold_folder)), 0)
        ranks.append(rank)
    n = max(1, len(ranks))
    return {"hit@1": sum(r == 1 for r in ranks) / n,
            "hit@5": sum(1 <= r <= 5 for r in ranks) / n,
            "mrr@10": sum(1 / r for r in ranks if r) / n,
            "ranks": ranks}


def fmt(m: dict[str, Any]) -> str:
    return f"{m['hit@1']:6.3f} {m['hit@5']:6.3f} {m['mrr@10']:7.3f}"


# ----------------------------------------------------------------------------------- naive
def page_texts(files: Sequence[Path]) -> dict[str, str]:
    """Satchel's own HTML loader's text of each page (the baseline differs only in chunking)."""
    from engine.ingest import loaders

    out = {}
    for f in files:
        doc = loaders.load(str(f))
        out[str(f)] = "\n\n".join(p.text for p in doc.pages)
    return out


def _fingerprint(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f}\0{f.stat().st_size}\0{f.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class NaiveIndex:
    """Fixed-size chunks in a LanceDB table of their own (BM25 index + MiniLM vectors)."""

    def __init__(self, which: str, embedder: Any) -> None:
        self.which = which
        self.embedder = embedder
        self.table: Any = None

    def ensure(self) -> NaiveIndex:
        import lancedb
        import pyarrow as pa
        from lancedb.index import FTS

        files = corpus_files(self.which)
        name = f"naive-{self.which}-{_fingerprint(files)}-{NAIVE_CHARS}"
        db = lancedb.connect(str(BENCH_HOME / "naive"))
        if name in db.list_tables().tables:
            self.table = db.open_table(name)
            return self
        started = time.perf_counter()
        paths, texts = [], []
        for path, text in page_texts(files).items():
            for start in range(0, len(text), NAIVE_CHARS):
                piece = text[start:start + NAIVE_CHARS].strip()
                if piece:
                    paths.append(path)
                    texts.append(piece)
        vectors = self.embedder.encode(texts)
        dim = vectors.shape[1]
        rows = pa.table({"path": paths, "text": texts,
                         "vector": pa.FixedSizeListArray.from_arrays(
                             pa.array(vectors.reshape(-1), type=pa.float32()), dim)})
        for old in db.list_tables().tables:
            if old.startswith(f"naive-{self.which}-"):
                db.drop_table(old)
        self.table = db.create_table(name, rows)
        self.table.create_index("text", config=FTS(with_position=False))
        print(f"naive {self.which}: {len(texts)} chunks of {NAIVE_CHARS} characters embedded in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        return self

    def search(self, query: str, k: int = DEPTH, depth: int = 40) -> list[str]:
        """Plain RRF of the BM25 and vector rankings: the paths of the best ``k`` chunks."""
        vec = self.embedder.encode_query(query)
        by_vector = (self.table.search(vec, vector_column_name="vector").distance_type("cosine")
                     .select(["path", "_distance"]).with_row_id(True).limit(depth).to_list())
        by_text = (self.table.search(query, query_type="fts").select(["path", "_score"])
                   .with_row_id(True).limit(depth).to_list())
        scores: dict[int, float] = {}
        path_of: dict[int, str] = {}
        for rows in (by_vector, by_text):
            for rank, row in enumerate(rows, start=1):
                scores[row["_rowid"]] = scores.get(row["_rowid"], 0.0) + 1 / (RRF_K + rank)
                path_of[row["_rowid"]] = row["path"]
        best = sorted(scores, key=lambda r: (-scores[r], r))[:k]
        return [path_of[r] for r in best]


def run(search: Callable[[str], list[str]], items: Sequence[Question], gold_folder: Path
        ) -> dict[str, Any]:
    """Scores of ``search`` (question -> ranked passage paths) over the questions."""
    return score([search(q.text) for q in items], items, gold_folder)
