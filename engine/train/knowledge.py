"""Training data for the *knowledge* adapter (``adapter`` mode: answers without retrieval).

What did not work, measured on the development sets: 120 drafted facts restated as questions
answered by their whole sentence, with early stopping on held-out examples. Closed-book
correctness stayed at 0.00: the held-out examples were *other* facts, which no training can
predict, so early stopping kept the weights of the first few dozen steps, and a 25-word sentence
is far harder to recall word for word than the fact in it. Even its own training questions were
answered 10 times in 40.

What works (SQLite development set, 50 hand-written questions, 135M model: **0.18** correct
closed-book against 0.02 for the base model and 0.00 for the recipe above): learn *every*
distinctive fact of the collection, each asked two or three ways, answered by the fact alone,
and train each pair apart from the others until the facts are known:

* the facts: every sentence's distinctive answers (:func:`engine.evaluate.draft.
  candidate_answers`: numbers, codes, names, options, paths; the first three), kept when they
  occur in at most :data:`MAX_CHUNKS_WITH_FACT` passages (a word on every page is no fact) or
  are quantities;
* for each fact, up to two questions the model drafts from its sentence (answer-first, as for
  the reader: the fact is picked, the model only phrases the question; greedy, then sampled
  retries), less those that cannot teach it (:func:`usable_questions`), and a fill-in-the-blank
  of the sentence after the section it is from (:func:`fact_cloze`);
* the answer is the fact itself ("sqlite_sequence"), under Satchel's own system prompt for
  answers without passages, exactly as ``adapter`` mode asks;
* held out: the fill-in-the-blank of one fact in ten whose drafted questions are trained. So
  the held-out loss measures what matters, recalling a learned fact asked another way, and no
  fact is left unlearned. The trainer measures it once, at the end: there is no early stopping
  on facts that must be memorised.

A question the user wrote (``--data``) is one more way to ask its fact, answered by its answer.

Each pair is learned as it is asked, alone: pairs packed in one block start again at position 0
and never see each other (:mod:`engine.train.packing`), in small steps of two blocks. Before,
the pairs of a block read each other and every epoch repeated the same blocks, so the adapter
learned an answer *after its neighbours*: training loss 0.004, yet "How many tables does the
join SQLite support?", one of its own training questions, was answered "Tcl/Ruby/Perl" when
asked alone. On the SQLite development set: 0.12 -> 0.14 with the pairs apart, 0.18 with
small steps as well (0.20 with one pair per block, which took 42 minutes against 30).

Tried on the same set and dropped: answering a question with the fact's sentence (cut to 20
words around it), so that a model landing on the right sentence but the wrong fact in it would
still state the right one: 0.06, the small model wrote fluent sentences that were not in the
documents, and control perplexity rose from 12 to 58. Quantities and sections in the blanks
answered 0.12 as before, and 0.12 again with the question filter: kept, as the adapter now
learns the gold answers of 22 questions against 17, though a third more facts (493 against 371)
cost 22 minutes of training against 17.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.jobs import Job
from engine.train.data import Example

#: A candidate answer found in more passages than this is no distinctive fact, unless it is a
#: quantity (:data:`_QUANTITY`): "2000" is on many pages of a manual (dates, versions), yet "the
#: default SQLITE_MAX_COLUMN is 2000" is a fact. Exempting quantities found the gold answer of
#: 22 development questions in 50 against 17 (SQLite), 24 in 60 against 22 (Debian Reference).
MAX_CHUNKS_WITH_FACT = 3
_QUANTITY = re.compile(r"(?:EUR |USD |\$|€)?\d[\d.,]*(?: [A-Za-z]+)?")
#: Distinctive answers taken per sentence, best first.
FACTS_PER_SENTENCE = 3
#: Questions drafted per fact at most, and model calls spent on each fact at most.
QUESTIONS_PER_FACT = 2
DRAFT_ATTEMPTS = 4
#: Drafted questions are written to the cache after this many facts: a cancelled run (its
#: process is ended at once) keeps what it drafted, and the next one drafts only the rest.
SAVE_EVERY = 20
#: One fact in this many (among those with a drafted question) has its cloze held out.
HELDOUT_EVERY = 10


@dataclass(frozen=True)
class Fact:
    """A distinctive answer in one sentence of one passage."""

    chunk_id: str
    origin: str  # "drafted from guide.pdf p.4"
    sentence: str
    answer: str
    heading: str = ""  # the passage's section path ("Limits In SQLite > Maximum Length")


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
                if not _QUANTITY.fullmatch(answer) and (
                        sum(1 for t in texts if low in t) > MAX_CHUNKS_WITH_FACT):
                    continue
                seen.add((sentence, low))
                facts.append(Fact(row["chunk_id"], origin, sentence, answer,
                                  " ".join(str(row.get("heading") or "").split())))
                if limit is not None and len(facts) >= limit:
                    return facts
    return facts


def draft_fact_questions(facts: list[Fact], *, assistant: Any, job: Job | None = None,
                         seed: int = 0, on_fact: Callable[[Fact, list[str]], None] | None = None
                         ) -> list[list[str]]:
    """Up to :data:`QUESTIONS_PER_FACT` distinct questions per fact (greedy first, then
    sampled), each passing the drafting filters; [] for a fact the model phrased badly.
    ``on_fact(fact, questions)`` is called as each fact is done."""
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
        if on_fact is not None:
            on_fact(fact, got)
    job.progress(len(facts), len(facts), questions=sum(map(len, out)))
    return out


def _pair(origin: str, question: str, answer: str) -> Example:
    """A closed-book pair in the exact prompt ``adapter`` mode answers from."""
    from engine.answer import system_prompt

    return Example(origin, messages=(("system", system_prompt(False)), ("user", question),
                                     ("assistant", answer)))


#: A question that asks for a quantity ("How many ...", "... the maximum number of columns").
_ASKS_QUANTITY = re.compile(
    r"^how (?:many|much|large|big|long|old|often|far|fast|high|small)\b|"
    r"\b(?:how many|number of|maximum|minimum|size of|default value)\b", re.IGNORECASE)


def usable_questions(facts: list[Fact], questions: list[list[str]]) -> list[list[str]]:
    """The drafted questions worth training: not one asking for a quantity whose fact is none
    ("What is the maximum number of columns?" -> SQLITE_MAX_COLUMN, beside the "2000" of the
    same sentence), and not one drafted alike for two facts (the same words cannot have two
    answers). On the SQLite pages these were 134 of 503 drafted questions."""
    def norm(question: str) -> str:
        return " ".join(question.lower().split())

    count: dict[str, int] = {}
    for asked in questions:
        for q in {norm(q) for q in asked}:
            count[q] = count.get(q, 0) + 1
    return [[q for q in asked if count[norm(q)] == 1 and not (
        _ASKS_QUANTITY.search(q) and not any(c.isdigit() for c in fact.answer))]
        for fact, asked in zip(facts, questions, strict=True)]


#: The section path named in a fill-in-the-blank is cut to its last words.
HEADING_WORDS = 12


def fact_cloze(fact: Fact) -> str:
    """The fact's sentence with the fact blanked, after the section it is from. A sentence
    often needs its section to mean anything ("- The SQLITE_TMPDIR environment variable", in
    "Temporary File Storage Locations"), and a user's question names the topic, not the page.
    """
    from engine.evaluate.draft import cloze

    return cloze(fact.sentence, fact.answer, " ".join(fact.heading.split()[-HEADING_WORDS:]))


def knowledge_examples(facts: list[Fact], questions: list[list[str]], *, seed: int = 0,
                       mine: list[tuple[str, str, str]] = ()) -> tuple[list[Example],
                                                                       list[Example]]:
    """(train, held-out) examples: each fact's drafted questions and its cloze, answered by
    the fact; the cloze of one fact in :data:`HELDOUT_EVERY` with a drafted question is held
    out. ``mine``: the user's own (origin, question, answer), all trained."""
    questions = usable_questions(facts, questions)
    drafted = [i for i, qs in enumerate(questions) if qs]
    rng = random.Random(f"knowledge:{seed}")
    held = set(rng.sample(drafted, len(drafted) // HELDOUT_EVERY)) if drafted else set()
    train: list[Example] = []
    heldout: list[Example] = []
    for i, (fact, asked) in enumerate(zip(facts, questions, strict=True)):
        train += [_pair(fact.origin, q, fact.answer) for q in asked]
        blank = _pair(fact.origin, fact_cloze(fact), fact.answer)
        (heldout if i in held else train).append(blank)
    train += [_pair(origin, q, a) for origin, q, a in mine]
    rng.shuffle(train)
    return train, heldout


def cached_fact_questions(facts: list[Fact], *, assistant: Any, job: Job, seed: int,
                          cache: Path) -> list[list[str]]:
    """:func:`draft_fact_questions`, cached per fact in ``cache`` (a file for the collection,
    the model and the seed): a resumed or repeated run does not draft again, and after the
    collection changed only its new facts are drafted."""
    import json

    from engine.paths import atomic_write_text

    known = _read_cache(cache)
    new = [f for f in facts if _fact_key(f) not in known]
    unsaved = 0

    def save() -> None:
        nonlocal unsaved
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps(known, ensure_ascii=False))
        unsaved = 0

    def keep(fact: Fact, asked: list[str]) -> None:
        nonlocal unsaved
        known[_fact_key(fact)] = asked
        unsaved += 1
        if unsaved >= SAVE_EVERY:
            save()

    if new:
        job.status(f"Drafting questions about {len(new)} facts of your documents")
        draft_fact_questions(new, assistant=assistant, job=job, seed=seed, on_fact=keep)
        save()
    return [known[_fact_key(f)] for f in facts]


def _fact_key(fact: Fact) -> str:
    return f"{fact.answer}\x1f{fact.sentence}"


def _read_cache(cache: Any) -> dict[str, list[str]]:
    """The cached questions by fact; empty when there are none to trust (missing or
    unreadable): then they are drafted again."""
    import json

    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(cached, dict):
        return {}
    return {str(k): [str(q) for q in qs] for k, qs in cached.items() if isinstance(qs, list)}
