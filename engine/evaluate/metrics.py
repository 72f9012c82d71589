"""Scores for one answer against its gold data, and their summary per mode.

Pure Python with no dependencies, except :func:`fill_similarity`, which needs the embedder.

Why these: hit@k and MRR tell whether retrieval put a gold passage in front of the model at all
(no answer can be better than its passages); *correct* is the question-set contract (the answer
contains a gold answer, case-insensitive); token F1 and ROUGE-L give partial credit and punish
rambling, which matters with a 135M model that pads a right number with wrong sentences; the
embedder's cosine catches paraphrases ("ten days" vs "10 days"); citation correctness checks the
passage the answer points the user to, which is what a user actually verifies.

Text normalisation for F1 and ROUGE-L follows SQuAD: lower case, punctuation and the articles
a/an/the removed, whitespace tokens. "4.82" becomes "482" on both sides, so numbers still match.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from engine.ingest.document import container_of

if TYPE_CHECKING:
    from engine.evaluate.questions import QAItem

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}‘’“”–—…]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")

#: Ranks scored for retrieval; 5 is the contract's hit@5 and the depth of MRR.
RETRIEVAL_DEPTH = 5
HIT_KS = (1, 3, 5)


# ------------------------------------------------------------------------------------- answers
def normalize(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _PUNCT.sub("", text.lower())
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """The question-set rule: ``text`` contains any gold answer, case-insensitive.

    Whitespace runs count as one space on both sides (answers copied from a table cell or a line
    break still match); nothing else is normalised, so "14" does not match "fourteen".
    """
    hay = " ".join(text.lower().split())
    return any(" ".join(a.lower().split()) in hay for a in answers if a.strip())


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall (bag of words, SQuAD style)."""
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, two rows of memory)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, gold: str) -> float:
    """ROUGE-L F1: LCS-based precision and recall over normalised tokens (order matters)."""
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def best(metric: Any, prediction: str, answers: Iterable[str]) -> float:
    """The best score of ``prediction`` against any of the accepted answers."""
    return max((metric(prediction, a) for a in answers), default=0.0)


def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    """Cosine similarity (the embedder's vectors are normalised, but do not rely on it)."""
    dot = sum(float(x) * float(y) for x, y in zip(u, v, strict=True))
    nu = math.sqrt(sum(float(x) * float(x) for x in u))
    nv = math.sqrt(sum(float(y) * float(y) for y in v))
    return dot / (nu * nv) if nu and nv else 0.0


# ------------------------------------------------------------------------------------- sources
def _norm_path(path: str) -> str:
    path = path.replace("\\", "/").strip()
    while path.startswith("./"):
        path = path[2:]
    return path.lower()


def source_matches(path: str, source: str) -> bool:
    """True when ``source`` (a file name or path suffix) names ``path``, on a folder boundary.

    Case-insensitive, because people type file names and Windows/macOS ignore case anyway.
    "report.pdf" matches ".../docs/report.pdf" but not ".../docs/annual_report.pdf". A part of
    a file (a message of "inbox.mbox", an attachment) matches the file and its own part path.
    """
    s = _norm_path(source).lstrip("/")
    if not s:
        return False
    for candidate in dict.fromkeys((path, container_of(path))):
        p = _norm_path(candidate)
        if p == s or p.endswith("/" + s):
            return True
    return False


def is_gold(path: str, page: int, sources: Sequence[str], pages: Sequence[int],
            use_pages: bool = True) -> bool:
    """A passage is gold when it comes from a gold source and, if pages are given, a gold page."""
    if not any(source_matches(path, s) for s in sources):
        return False
    return not (use_pages and pages) or page in pages


def gold_rank(ranked: Sequence[tuple[str, int]], sources: Sequence[str], pages: Sequence[int],
              use_pages: bool = True) -> int | None:
    """1-based rank of the first gold passage among ``(path, page)`` pairs, or None."""
    for rank, (path, page) in enumerate(ranked, start=1):
        if is_gold(path, page, sources, pages, use_pages):
            return rank
    return None


def retrieval_scores(rank: int | None, depth: int = RETRIEVAL_DEPTH) -> dict[str, float]:
    """hit@1/3/5 and the reciprocal rank (0 when no gold passage is within ``depth``)."""
    scores = {f"hit_at_{k}": float(rank is not None and rank <= k) for k in HIT_KS}
    scores["rr"] = 1.0 / rank if rank is not None and rank <= depth else 0.0
    return scores


def citation_correct(passages: Sequence[dict[str, Any]], cited: Sequence[int],
                     answers: Sequence[str], sources: Sequence[str],
                     pages: Sequence[int]) -> bool:
    """Some cited passage contains a gold answer or comes from a gold source (and page).

    An answer that cites nothing is not correctly cited: the user has nothing to check.
    """
    by_n = {p["n"]: p for p in passages}
    for n in cited:
        p = by_n.get(n)
        if p is None:
            continue
        if contains_answer(p["text"], answers) or (
                sources and is_gold(p["path"], int(p["page"]), sources, pages)):
            return True
    return False


# ------------------------------------------------------------------------------------- rows
def retrieval_record(hits: list[Any], item: QAItem) -> dict[str, Any]:
    """The scored ranking of one question: the top hits and the rank of the first gold one."""
    ranked = [(h.path, h.page) for h in hits]
    return {
        "ranked": [{"path": h.path, "page": h.page, "chunk_id": h.chunk_id,
                    "score": round(h.score, 6)} for h in hits],
        "gold_rank": gold_rank(ranked, item.sources, item.pages) if item.sources else None,
        "gold_rank_file": (gold_rank(ranked, item.sources, item.pages, use_pages=False)
                           if item.sources else None),
    }


def score_row(item: QAItem, mode: str, retrieval: dict[str, Any] | None,
              answer: dict[str, Any] | None, similarity: float | None) -> dict[str, float | None]:
    """Every metric of one row (None where it does not apply). Pure: no model, no index."""
    out: dict[str, float | None] = dict.fromkeys(
        ("hit_at_1", "hit_at_3", "hit_at_5", "rr", "hit_at_5_file", "correct", "token_f1",
         "rouge_l", "similarity", "citation_correct", "cited"))
    if retrieval is not None and item.sources:
        out.update(retrieval_scores(retrieval["gold_rank"]))
        file_rank = retrieval["gold_rank_file"]
        out["hit_at_5_file"] = float(file_rank is not None and file_rank <= RETRIEVAL_DEPTH)
    if answer is not None:
        text = answer["answer"]
        out["correct"] = float(contains_answer(text, item.answers))
        out["token_f1"] = best(token_f1, text, item.answers)
        out["rouge_l"] = best(rouge_l, text, item.answers)
        out["similarity"] = similarity
        if "rag" in mode:
            out["cited"] = float(bool(answer["cited"]))
            out["citation_correct"] = float(citation_correct(
                answer["sources"], answer["cited"], item.answers, item.sources, item.pages))
    return out


def fill_similarity(rows: list[dict[str, Any]], embedder_name: str | None) -> None:
    """Set ``metrics.similarity`` of answered rows: cosine to the closest gold answer.

    Done once for all rows at the end, in one batch: the embedder encodes a batch of 200 short
    texts in about the time of a few single calls, and a resumed run scores old rows the same
    way. Empty answers score 0 without encoding.
    """
    todo = [r for r in rows if r.get("answer") is not None
            and r["metrics"].get("similarity") is None]
    if not todo:
        return
    texts = [r["answer"]["answer"] for r in todo]
    golds = sorted({a for r in todo for a in r["gold"]["answers"]})
    if not any(t.strip() for t in texts):
        for r in todo:
            r["metrics"]["similarity"] = 0.0
        return
    from engine.embed import get_embedder

    embedder = get_embedder(embedder_name)
    vectors = embedder.encode([t or " " for t in texts] + golds, batch_size=64)
    gold_vec = dict(zip(golds, vectors[len(texts):], strict=True))
    for r, text, vec in zip(todo, texts, vectors[:len(texts)], strict=True):
        r["metrics"]["similarity"] = (max(cosine(vec, gold_vec[a]) for a in r["gold"]["answers"])
                                      if text.strip() else 0.0)


# ------------------------------------------------------------------------------------- summary
def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation (numpy's default); None when empty."""
    data = sorted(float(v) for v in values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    data = [float(v) for v in values if v is not None]
    return sum(data) / len(data) if data else None


#: Summary fields in table order, with the label the report shows.
SUMMARY_FIELDS: dict[str, str] = {
    "hit_at_1": "hit@1", "hit_at_3": "hit@3", "hit_at_5": "hit@5", "mrr": "MRR",
    "hit_at_5_file": "file hit@5", "correct": "correct", "token_f1": "token F1",
    "rouge_l": "ROUGE-L", "similarity": "similarity", "citation_correct": "citation correct",
    "cited": "cites a source", "latency_p50_ms": "latency p50 ms",
    "latency_p95_ms": "latency p95 ms", "ttft_p50_ms": "first token p50 ms",
    "prompt_tokens": "prompt tokens", "completion_tokens": "completion tokens",
    "tokens_per_s": "tokens/s",
}


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-mode summary of finished rows (all of one mode): means, percentiles, counts.

    Retrieval and citation fields are None for modes without retrieval; answer fields are None
    for retrieval-only rows. Means skip rows where a metric does not apply (no gold sources).
    """
    metrics = [r["metrics"] for r in rows]
    answered = [r for r in rows if r.get("answer") is not None]
    timings = [r["answer"]["timings"] for r in answered]

    def m(key: str) -> float | None:
        return mean(x.get(key) for x in metrics)

    ranks = [x.get("rr") for x in metrics]
    out: dict[str, Any] = {
        "n": len(rows),
        "hit_at_1": m("hit_at_1"), "hit_at_3": m("hit_at_3"), "hit_at_5": m("hit_at_5"),
        "mrr": mean(ranks), "hit_at_5_file": m("hit_at_5_file"),
        "correct": m("correct"), "token_f1": m("token_f1"), "rouge_l": m("rouge_l"),
        "similarity": m("similarity"), "citation_correct": m("citation_correct"),
        "cited": m("cited"),
        "latency_p50_ms": percentile([t["total_ms"] for t in timings], 50),
        "latency_p95_ms": percentile([t["total_ms"] for t in timings], 95),
        "ttft_p50_ms": percentile([t["ttft_ms"] for t in timings if t["ttft_ms"] > 0], 50),
        "prompt_tokens": mean(t["prompt_tokens"] for t in timings),
        "completion_tokens": mean(t["completion_tokens"] for t in timings),
        "tokens_per_s": percentile([t["tokens_per_s"] for t in timings
                                    if t["tokens_per_s"] > 0], 50),
        "errors": sum(1 for r in answered if r["answer"].get("error")),
    }
    return out
