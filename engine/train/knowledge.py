"""Training data for the *knowledge* adapter (``adapter`` mode: answers without retrieval).

What did not work, measured on the development sets: 120 drafted facts restated as questions
answered by their whole sentence, with early stopping on held-out examples. Closed-book
correctness stayed at 0.00: the held-out examples were *other* facts, which no training can
predict, so early stopping kept the weights of the first few dozen steps, and a 25-word sentence
is far harder to recall word for word than the fact in it. Even its own training questions were
answered 10 times in 40.

What works (SQLite development set, 50 hand-written questions, 135M model: **0.12** correct
closed-book against 0.02 for the base model and 0.00 for the recipe above): learn *every*
distinctive fact of the collection, each asked two or three ways, answered by the fact alone,
and train until the facts are known:

* the facts: every sentence's distinctive answers (:func:`engine.evaluate.draft.
  candidate_answers`: numbers, codes, names, options, paths; the first three), kept when they
  occur in at most :data:`MAX_CHUNKS_WITH_FACT` passages (a word on every page is no fact);
* for each fact, up to two questions the model drafts from its sentence (answer-first, as for
  the reader: the fact is picked, the model only phrases the question; greedy, then sampled
  retries) and a fill-in-the-blank of the sentence;
* the answer is the fact itself ("sqlite_sequence"), under Satchel's own system prompt for
  answers without passages, exactly as ``adapter`` mode asks;
* held out: the fill-in-the-blank of one fact in ten whose drafted questions are trained. So
  the held-out loss measures what matters, recalling a learned fact asked another way, and no
  fact is left unlearned. The trainer measures it once, at the end: there is no early stopping
  on facts that must be memorised.

A question the user wrote (``--data``) is one more way to ask its fact, answered by its answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from engine.jobs import Job
from engine.train.data import Example

#: A candidate answer found in more passages than this is no distinctive fact.
MAX_CHUNKS_WITH_FACT = 3
#: Distinctive answers taken per sentence, best first.
FACTS_PER_SENTENCE = 3
#: Questions drafted per fact at most, and model calls spent on each fact at most.
QUESTIONS_PER_FACT = 2
DRAFT_ATTEMPTS = 4
#: One fact in this many (among those with a drafted question) has its cloze held out.
HELDOUT_EVERY = 10


@dataclass(frozen=True)
class Fact:
    """A distinctive answer in one sentence of one passage."""

    chunk_id: str
    origin: str  # "drafted from guide.pdf p.4"
    sentence: str
    answer: str


def collection_facts(collection: str, limit: int | None = None) -> list[Fact]:
    """Every distinctive fact of ``collection``, in index order (``limit``: the first ones)."""
    from engine.evaluate.draft import candidate_answers, sentences, source_names
    from engine.train.reader import _chunk_rows

    rows = _chunk_rows(collection)
    rows.sort(key=lambda r: (r["path"], int(r["page"]), r["chunk_id"]))
    texts = [r["text"].lower() for r in rows]
    names = source_names(sorted({r["path"] for r in rows}))
    facts: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        origin = f"drafted from {names.get(row['path'], row['path'])} p.{row['page']}"
        for sentence in sentences(row["text"]):
            for answer in candidate_answers(sentence)[:FACTS_PER_SENTENCE]:
                low = answer.lower()
                if len(low) < 2 or (sentence, low) in seen:
                    continue
                if sum(1 for t in texts if low in t) > MAX_CHUNKS_WITH_FACT:
                    continue
                seen.add((sentence, low))
                facts.append(Fact(row["chunk_id"], origin, sentence, answer))
                if limit is not None and len(facts) >= limit:
                    return facts
    return facts


def draft_fact_questions(facts: list[Fact], *, assistant: Any, job: Job | None = None,
                         seed: int = 0) -> list[list[str]]:
    """Up to :data:`QUESTIONS_PER_FACT` distinct questions per fact (greedy first, then
    sampled), each passing the drafting filters; [] for a fact the model phrased badly."""
    from engine.evaluate.draft import _ask_model

    job = job or Job()
    out: list[list[str]] = []
    for i, fact in enumerate(facts):
        job.check()
        job.progress(i, len(facts), questions=sum(map(len, out)))
        got: list[str] = []
        for attempt in range(DRAFT_ATTEMPTS):
            question = _ask_model(assistant, fact.sentence, fact.answer,
                                  seed + i + 7919 * attempt,
                                  temperature=0.0 if attempt == 0 else 0.8)
            if question and question not in got:
                got.append(question)
            if len(got) >= QUESTIONS_PER_FACT:
                break
        out.append(got)
    job.progress(len(facts), len(facts), questions=sum(map(len, out)))
    return out


def _pair(origin: str, question: str, answer: str) -> Example:
    """A closed-book pair in the exact prompt ``adapter`` mode answers from."""
    from engine.answer import system_prompt

    return Example(origin, messages=(("system", system_prompt(False)), ("user", question),
                                     ("assistant", answer)))


def knowledge_examples(facts: list[Fact], questions: list[list[str]], *, seed: int = 0,
                       mine: list[tuple[str, str, str]] = ()) -> tuple[list[Example],
                                                                       list[Example]]:
    """(train, held-out) examples: each fact's drafted questions and its cloze, answered by
    the fact; the cloze of one fact in :data:`HELDOUT_EVERY` with a drafted question is held
    out. ``mine``: the user's own (origin, question, answer), all trained."""
    from engine.evaluate.draft import cloze

    drafted = [i for i, qs in enumerate(questions) if qs]
    rng = random.Random(f"knowledge:{seed}")
    held = set(rng.sample(drafted, len(drafted) // HELDOUT_EVERY)) if drafted else set()
    train: list[Example] = []
    heldout: list[Example] = []
    for i, (fact, asked) in enumerate(zip(facts, questions, strict=True)):
        train += [_pair(fact.origin, q, fact.answer) for q in asked]
        blank = _pair(fact.origin, cloze(fact.sentence, fact.answer), fact.answer)
        (heldout if i in held else train).append(blank)
    train += [_pair(origin, q, a) for origin, q, a in mine]
    rng.shuffle(train)
    return train, heldout


def cached_fact_questions(facts: list[Fact], *, assistant: Any, job: Job, seed: int,
                          key: str) -> list[list[str]]:
    """:func:`draft_fact_questions`, cached under ``key`` (the collection's version, the model,
    the seed): a resumed or repeated run does not draft again."""
    import json

    from engine import paths
    from engine.paths import atomic_write_text

    cache = paths.cache_dir() / "drafted" / f"{key}.json"
    cached = _read_cache(cache, len(facts))
    if cached is not None:
        return cached
    job.status(f"Drafting questions about {len(facts)} facts of your documents")
    asked = draft_fact_questions(facts, assistant=assistant, job=job, seed=seed)
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(cache, json.dumps(asked, ensure_ascii=False))
    return asked


def _read_cache(cache: Any, count: int) -> list[list[str]] | None:
    """The cached questions of ``count`` facts; None when there are none to trust (missing,
    unreadable, or drafted for another set of facts): then they are drafted again."""
    import json

    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(cached, list) or len(cached) != count:
        return None
    return [[str(q) for q in qs] for qs in cached]
