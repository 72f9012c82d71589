"""Draft question/answer pairs from a collection with the local model itself, for review.

Why: users rarely have a Q&A file, and chat-formatted pairs teach an adapter to *answer* from
the documents while hurting general text less than plain continued pre-training (FACTS.md). The
model that will be adapted drafts one question and a short answer per passage; the result is a
JSON Lines file (``question``, ``answer``, ``source``, ``passage``) the user reads, edits or
prunes, then trains on with ``satchel adapter train --data FILE``. Small models draft imperfect
pairs, which is exactly why the file is written for review instead of being trained on directly.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.jobs import Job
from engine.train.data import TrainDataError, from_collection

#: Two short turns instead of one "write Q and A in this format" turn: a 135M model follows
#: "write a question" and "answer from the passage" reliably, but not a two-part output format.
QUESTION_PROMPT = ("Passage:\n{passage}\n\nWrite one question that this passage answers.")
ANSWER_PROMPT = ("Passage:\n{passage}\n\nAnswer the question using only the passage, in one "
                 "short sentence.\nQuestion: {question}")
_LABEL = re.compile(r"^\s*(question|answer|q|a)\s*[:.)-]\s*", re.I)


@dataclass(frozen=True)
class DraftPair:
    """One drafted pair and where it came from (kept in the file so the user can check it)."""

    question: str
    answer: str
    source: str
    passage: str


def parse_question(text: str) -> str | None:
    """The first line of a reply that is a question ("Question:" labels dropped), or None."""
    for line in text.splitlines():
        line = " ".join(_LABEL.sub("", line).split())
        if "?" in line:
            question = line[: line.index("?") + 1].strip(" *\"'")
            if len(question) >= 8:
                return question
    return None


def parse_answer(text: str) -> str | None:
    """The first non-empty line of a reply ("Answer:" labels dropped), or None."""
    for line in text.splitlines():
        line = " ".join(_LABEL.sub("", line).split()).strip(" *\"'")
        if line:
            return line[:400]
    return None


def supported_by(answer: str, passage: str, threshold: float = 0.8) -> bool:
    """True when the answer is in the passage: verbatim, or nearly all its content words are.

    A small model drafting "the answer" often invents one (a number or name the passage does
    not hold); training on such a pair teaches the adapter to make things up, so it is dropped.
    """
    from engine.prompt import terms

    if " ".join(answer.lower().split()).strip(" .") in " ".join(passage.lower().split()):
        return True
    words = terms(answer)
    if not words:
        return False
    return len(words & terms(passage)) / len(words) >= threshold


def _chat(llm: Any, prompt: str) -> str:
    reply = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}],
                                       temperature=0.0, max_tokens=80, seed=0)
    return reply["choices"][0]["message"]["content"] or ""


def pick_passages(passages: list[Any], count: int) -> list[Any]:
    """``count`` passages spread evenly over the collection (every document gets its turn)."""
    if count >= len(passages):
        return list(passages)
    step = len(passages) / count
    return [passages[int(i * step)] for i in range(count)]


def generate_pairs(collection: str, *, count: int = 20, model_path: str | Path | None = None,
                   job: Job | None = None, n_threads: int | None = None,
                   max_passage_chars: int = 1500) -> list[DraftPair]:
    """Draft up to ``count`` pairs (one per passage). Replies that miss the form, and answers
    the passage does not support (:func:`supported_by`), are skipped."""
    from llama_cpp import Llama

    from engine.model_files import resolve_model
    from engine.train.presets import cpu_threads

    if count < 1:
        raise TrainDataError("--count must be at least 1")
    job = job or Job()
    path, _info = resolve_model(model_path)
    passages = pick_passages(from_collection(collection), count)
    job.status("Loading the model")
    llm = Llama(str(path), n_ctx=2048, n_threads=n_threads or cpu_threads(), seed=0,
                verbose=False)
    pairs: list[DraftPair] = []
    try:
        for i, ex in enumerate(passages):
            job.check()
            job.status(f"Drafting a question about {ex.origin}")
            passage = ex.text[:max_passage_chars]
            question = parse_question(_chat(llm, QUESTION_PROMPT.format(passage=passage)))
            answer = parse_answer(_chat(llm, ANSWER_PROMPT.format(
                passage=passage, question=question))) if question else None
            if question and answer and supported_by(answer, passage):
                pairs.append(DraftPair(question, answer, ex.origin, passage))
                job.partial(pairs[-1])
            job.progress(i + 1, len(passages), drafted=len(pairs))
    finally:
        llm.close()
    return pairs


def write_pairs(pairs: list[DraftPair], out: Path) -> Path:
    """Write the pairs as JSON Lines (atomically), ready to review and then train on."""
    from engine.paths import atomic_write_text

    text = "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in pairs)
    atomic_write_text(out, text)
    return out
