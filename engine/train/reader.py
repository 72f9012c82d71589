"""Training data for the two adapters that make answers better: *reader* and *knowledge*.

Why not plain continued pre-training: measured on real manuals, an adapter trained on a
collection's raw text left closed-book answers at the base model's level, and the small default
model often ignores or misreads the passage retrieval found (FACTS.md). Two remedies, both built
from the user's own collection:

* **reader** ("answer from my documents", for the ``rag+adapter`` mode), after RAFT (Zhang et
  al. 2024): each example is the *exact* prompt Satchel sends at answer time (system prompt,
  numbered passages focused by :meth:`engine.answer.Assistant.prompt_for`, the question), made
  from Satchel's own retrieval of the question. A fraction ``p_oracle`` of examples holds the
  passage with the answer (the oracle) among distractors from *other* documents; the rest hold
  distractors only. With the default one passage per answer (``Settings.top_k``) an example
  shows the oracle alone, and by default every example does (:func:`default_p_oracle`: a
  distractor alone taught the reader to answer from outside the passage); the prompt stays the
  answer-time prompt. The target answer names the fact, quotes the oracle's sentence and cites
  its number ("2000: The maximum number of columns is 2000 ... [2]", :func:`answer_first`);
  without the oracle it is the sentence uncited (RAFT: this pushes the fact into the weights
  too). So the adapter learns to find the fact, copy its sentence, and cite it. Drafted
  questions are real questions, never fill-in-the-blanks (see :func:`draft_questions_for`),
  and ask for a name, an option or a file with "Which", as people do
  (:func:`engine.evaluate.draft.question_lead`).
  A reader answers from the layout it was trained on (passages and their token budget, kept in its
  manifest): the same development-set reader answered 0.78 from its 140 tokens and 0.68 from 200
  or 280; a reader trained on 200 tokens (the whole first chunk: the answer in the prompt for 0.97
  of the Debian Reference's questions) answered 121 of the three development sets' 170 questions
  (36 / 54 / 31) against 125 from 140 (38 / 53 / 34). Tried there and dropped: two passages per
  answer (the oracle beside a distractor, as RAFT trains) answered 0.62, 0.64 with only the pair's
  single best sentence favoured by the copy bias; answers that open with the passage they quote
  ("[2] ...", the bias then favouring that passage alone) 0.42, the citation being chosen before a
  word is read. Two passages lost again on git's pages, where retrieval puts the answer in the
  first two for 0.83 of questions but in the first for only 0.65: 0.48 (0.42 with RAFT's P=0.8)
  against 0.57 for a one-passage reader (rag: 0.42, and 0.40 with two passages). Also dropped,
  over the three development sets (170 questions; the same recipe retrained answered 127): twice
  the drafts and steps (240, 128 steps: git 0.57 against 0.58, and 9 minutes), twice the drafts
  asked for the same 64 steps (the Debian Policy Manual gave 141 of 240, 125 examples against
  108: 0.73 of its 60 questions against 0.82), and capping the drafted examples whose answer is
  the focused passage's first sentence at 25%, the share of real questions there (31-42% of
  drafted ones): 122; and the opposite, each of them seen twice (about
  half of the examples), since both modes miss most often in that first sentence: 122 (37 / 50 / 35
  against 38 / 53 / 34). And questions drafted from the answering sentence with the next one
  beside it (real questions often take their words from there, where the reader then starts):
  the Debian Reference's 60 answered 43 against 53.
  And reading the next passage when the reader declines the first: trained with half as many
  again examples showing the question's best-ranked passage without the answer, target "Not
  in this passage.", a git reader declined as often where the passage held the answer (5) as
  where it did not (5), answered 34 from the first passage against 37, and read in turn over
  three passages also 34: the small model cannot tell whether a passage answers.
  Readers retrained with the shipped recipe answered 125 of the 170; with them, also dropped:
  the adapter at 0.75 of its weight (124; 1.5 answered 35 of SQLite's 50 against 38) and no
  repetition penalty on its answers (126). And one example per step for four times the steps
  (the same examples seen; the knowledge adapter gained from small steps): 89 of SQLite's and
  the Debian Reference's 110 questions against 91.
  Where its misses are (same readers): with the answer in the prompt, it missed it in the
  focused passage's first sentence 7 times in 34 and in a later one 10 times in 108 (rag without
  a reader: 12 in 34 and 18 in 108); it started at a later sentence that shares the question's
  salient words, with or without the copy bias and the repetition penalty, so the choice is the
  model's own. Picking the quote by the reader's likelihood of each sentence instead of greedy
  decoding answered 1 of the first 10 SQLite questions against 7: greedy answers carry on past
  the sentence they start with, where the answer often is.
* **knowledge** (for the ``adapter`` mode, no retrieval): every distinctive fact of the
  collection asked several ways and answered by the fact (:mod:`engine.train.knowledge`).

Questions come from the user's pairs / question file (the oracle is the passage that contains
the answer; pairs whose answer no passage contains are dropped), or are drafted answer-first
from the passages (:mod:`engine.evaluate.draft`: a distinctive fact is picked in a sentence, the
model only phrases the question, and questions that give the answer away or are not about the
sentence are dropped), or both.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.jobs import Job, heavy_job
from engine.prompt import sentence_runs
from engine.train.data import Example, TrainDataError
from engine.train.model import release_memory

#: Fraction of reader examples that hold the oracle passage, by default. RAFT found ~0.8 best
#: with several passages per prompt, and so it stays when the layout shows several. With one
#: passage (Satchel's default layout) an oracle-free example shows a distractor alone, with the
#: fact as its target: it teaches answering from outside the passage. Measured (rag+adapter,
#: 135M): Debian Reference 0.70 at 0.8, 0.80 at 0.9, 0.85 at 1.0, rag 0.75; SQLite 0.80 at 0.8
#: and 0.78 at 1.0, rag 0.80.
MULTI_PASSAGE_P_ORACLE = 0.8
ONE_PASSAGE_P_ORACLE = 1.0


def default_p_oracle(top_k: int) -> float:
    """The oracle fraction for a reader whose prompts show ``top_k`` passages."""
    return ONE_PASSAGE_P_ORACLE if top_k <= 1 else MULTI_PASSAGE_P_ORACLE


#: The quoted sentence is cut to this many words around the answer: answer tokens cost time, and
#: a window that starts near the answer (not at the sentence's start) teaches finding it.
#: Tried and dropped: quotes led in by the previous sentence's last 14 words, since the reader
#: starts late. Over the three development sets they answered 133 of 170 against 125 from the
#: same day's shipped readers (41 / 53 / 39 against 38 / 53 / 34), but with the answer in the
#: first 25 words for 80 against 85, a citation in 0.56 / 0.77 / 0.60 of answers against 0.98 /
#: 0.88 / 0.78, and median answers of 122 / 112 / 128 tokens against 92 / 86 / 108: answers
#: started mid-sentence, repeated sentences and copied more of the passage, not read it better.
#: Also dropped (readers with "fact: quote [n]" targets, 124 of 170: 35 / 55 / 34): windows that
#: start where the sentence or a clause starts (after , ; : or a bracket) rather than a third of
#: the window before the answer, since a third of the misses started a quote just past the
#: answer ("3.x (which was ..." for "MySQL 3.x"): 119 (34 / 50 / 35), the answer in the first
#: 25 words for 90 against 95.
QUOTE_WORDS = 20


@dataclass(frozen=True)
class ReaderQuestion:
    """A question, its short gold answer, and the passage (chunk) that answers it."""

    question: str
    answer: str
    chunk_id: str
    origin: str  # "pairs.jsonl line 3", "drafted from guide.pdf p.4"
    sentence: str = ""  # the answering sentence, when known (drafted questions)


def answer_first(answer: str, quote: str, n: int) -> str:
    """A reader's target with its passage: the fact, then the sentence it is in, cited.

    Why the fact first: readers trained to quote the sentence alone answered as often over the
    three development sets (125 of 170 that day) as readers trained on "fact: quote [n]" (124:
    35 / 55 / 34), but named the answer in their first 25 words for 85 against 95 (each set
    gained 3-4), cited in 0.98 / 0.88 / 0.78 of answers against 0.94 / 0.88 / 0.92, and ran
    longer (median 92 / 86 / 108 tokens against 66 / 92 / 103): an answer that opens with
    "sqlite_sequence: SQLite keeps track of ..." is read at a glance and checked by its quote.
    Tried and dropped: the quote alone for questions that name their fact ("What is the
    SQLITE_CORRUPT error?", 40-45% of drafts), so that a reader does not learn to open with a
    word of the question: 126 (36 / 55 / 35) against 124, 14 answers changed either way, the
    answer in the first 25 words for 90 against 95.
    """
    return f"{answer}: {quote} [{n}]"


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def answer_in(answer: str, text: str) -> bool:
    """The filter every question passes: its answer occurs in the passage (case, spaces aside)."""
    a = normalize(answer).strip(" .")
    return bool(a) and a in normalize(text)


def _with_next_lines(runs: list[tuple[str, str]], at: int, max_words: int) -> str:
    """The line ``runs[at]`` with the lines of its block around it (a table's rows, a list's
    items: sentences separated by single line breaks), the following ones first, within
    ``max_words``; the line itself when it stands alone."""
    lo = hi = at
    used = len(runs[at][0].split())
    while (hi + 1 < len(runs) and runs[hi + 1][1] == "\n"
           and used + len(runs[hi + 1][0].split()) <= max_words):
        hi += 1
        used += len(runs[hi][0].split())
    while lo > 0 and runs[lo][1] == "\n" and used + len(runs[lo - 1][0].split()) <= max_words:
        lo -= 1
        used += len(runs[lo][0].split())
    return "\n".join(" ".join(sentence.split()) for sentence, _ in runs[lo:hi + 1])


def quote_for(answer: str, text: str, max_words: int = QUOTE_WORDS) -> str | None:
    """The sentence of ``text`` that contains ``answer``, cut to ``max_words`` around it.

    A table row or list item comes with its neighbouring rows while they fit in ``max_words``
    (the next ones first). Why: rows are separate lines in the prompt (see
    :func:`engine.prompt.sentence_runs`), and a reader trained to quote one bare row answered
    0.65 of the second development set (Debian Reference), against 0.70 with the rows around
    it: the small model often lands one row early, and the next row holds the answer.
    """
    runs = sentence_runs(text)
    for index, (raw, _) in enumerate(runs):
        sentence = " ".join(raw.split())
        if not sentence or not answer_in(answer, sentence):
            continue
        words = sentence.split()
        if len(words) <= max_words:
            return _with_next_lines(runs, index, max_words)
        low = [w.lower() for w in words]
        first = normalize(answer).split()[0]
        at = next((i for i, w in enumerate(low) if first in w), 0)
        start = max(0, min(at - max_words // 3, len(words) - max_words))
        piece = " ".join(words[start:start + max_words])
        if answer_in(answer, piece):
            return piece
        return sentence
    return None


# -- questions ------------------------------------------------------------------------------------
def _chunk_rows(collection: str, chunk_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of the collection's chunks (all, or those with ``chunk_ids``, 200 per query)."""
    from engine.index import Collection, sql_str

    coll = Collection.open(collection)
    columns = ["chunk_id", "path", "page", "heading", "text"]
    if chunk_ids is None:
        return coll.chunks.search().select(columns).limit(None).to_list()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(chunk_ids), 200):
        ids = ", ".join(sql_str(c) for c in chunk_ids[start:start + 200])
        rows += (coll.chunks.search().where(f"chunk_id IN ({ids})").select(columns)
                 .limit(None).to_list())
    return rows


def questions_from_file(path: str | Path, collection: str, *, search_mode: str = "hybrid",
                        job: Job | None = None) -> tuple[list[ReaderQuestion], int]:
    """The user's pairs (any format ``adapter train --data`` reads), each tied to its passage.

    The oracle is the best-ranked passage that contains the answer, among the question's own
    retrieval results first, then a keyword search for the answer itself. Returns the questions
    and how many pairs were dropped because no passage of the collection contains their answer.
    """
    from engine.retrieve import search
    from engine.train.data import from_pairs_file

    job = job or Job()
    out: list[ReaderQuestion] = []
    dropped = 0
    pairs = from_pairs_file(path)
    for i, ex in enumerate(pairs):
        job.check()
        job.progress(i, len(pairs))
        question = next(c for r, c in ex.messages if r == "user")
        answer = ex.messages[-1][1]
        hits = search(question, collection, k=10, mode=search_mode)
        oracle = next((h for h in hits if answer_in(answer, h.text)), None)
        if oracle is None:
            hits = search(answer, collection, k=10, mode="text")
            oracle = next((h for h in hits if answer_in(answer, h.text)), None)
        if oracle is None:
            dropped += 1
            continue
        out.append(ReaderQuestion(question, answer, oracle.chunk_id, ex.origin,
                                  quote_for(answer, oracle.text) or ""))
    return out, dropped


def draft_questions_for(collection: str, count: int, *, assistant: Any, job: Job | None = None,
                        seed: int = 0, per_fact: int = 1, cloze_fallback: bool = False,
                        journal: Path | None = None) -> list[ReaderQuestion]:
    """Up to ``count`` questions drafted answer-first by the model.

    ``per_fact`` > 1 drafts that many differently-worded questions about each fact (sampled):
    the knowledge adapter's restatements. ``cloze_fallback`` keeps a fill-in-the-blank for a
    fact whose question the model phrased badly instead of trying the chunk's next facts: many
    more examples per minute of drafting, for the knowledge adapter's restatements. The reader
    drafts real questions only: a cloze repeats the answering sentence, and a reader trained on
    mostly clozes learned to copy the question back ("The wal-index shared memory rarely
    exceeds. [1]") and to stop after the sentence that matched the question's words.

    ``journal``: a file that records each drafted chunk as it is finished; a run started again
    with the same file (same collection version, model and seed) drafts only the rest
    (a reader's 120 took about a minute of its 4-7 on the development collections).

    Questions that name their fact ("Which SQLITE_MAX_COLUMN value is the largest?", about half
    of the drafts) are kept (``about_ok``), although real questions never name their answer:
    they teach finding the sentence about a term the question names, which real questions
    do. Dropped instead (113 drafted, 100 examples), a reader answered 42 of the Debian Policy
    Manual's 60 questions against 49 and 47 (seeds 0 and 1; rag 43): stopped after that set.
    """
    from engine.evaluate.draft import append_journal, draft_questions, read_journal

    done = read_journal(journal) if journal is not None else []
    items = draft_questions(collection, count, settings=assistant.settings,
                            runtime=assistant.runtime, job=job, seed=seed,
                            cloze_fallback=cloze_fallback,
                            per_fact=per_fact, about_ok=not cloze_fallback,
                            which_first=not cloze_fallback, done=done,
                            on_chunk=None if journal is None else (
                                lambda record: append_journal(journal, record)))
    rows = {r["chunk_id"]: r for r in _chunk_rows(collection, sorted(
        {i.extra["chunk_id"] for i in items}))}
    out = []
    for item in items:
        cid = item.extra["chunk_id"]
        text = rows.get(cid, {}).get("text", "")
        if not answer_in(item.answers[0], text):  # the filter: answer must be in the passage
            continue
        out.append(ReaderQuestion(item.question, item.answers[0], cid,
                                  f"drafted from {item.sources[0]} p.{item.pages[0]}",
                                  item.extra.get("sentence") or quote_for(item.answers[0], text)
                                  or ""))
    return out


# -- reader examples ------------------------------------------------------------------------------
@dataclass
class ReaderStats:
    """What building the examples did, shown to the user and stored in the manifest."""

    questions: int = 0
    examples: int = 0
    with_oracle: int = 0
    dropped_cut_by_focus: int = 0  # the focused oracle lost the answer: not a fair example
    dropped_no_distractors: int = 0
    #: Per example: (question, oracle chunk id or "" when left out, chunk ids shown in order).
    layout: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def to_json(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "layout"}


def oracle_plan(n: int, p_oracle: float, seed: int) -> list[bool]:
    """Exactly ``round(p_oracle * n)`` of ``n`` examples hold the oracle, at seeded places."""
    if not 0.0 <= p_oracle <= 1.0:
        raise TrainDataError(f"the oracle fraction must be between 0 and 1 (got {p_oracle})")
    k = round(p_oracle * n)
    flags = [True] * k + [False] * (n - k)
    random.Random(f"oracle:{seed}").shuffle(flags)
    return flags


def _passage(row: Any, n: int) -> Any:
    from engine.prompt import Passage

    if isinstance(row, dict):
        return Passage(n=n, path=row["path"], page=int(row["page"]), text=row["text"],
                       score=0.0, chunk_id=row["chunk_id"], heading=row.get("heading") or "")
    return replace(row, n=n)


def reader_prompt(assistant: Any, question: str, passages: list[Any]) -> Any:
    """The answer-time RAG prompt for ``question`` over ``passages`` (numbered 1..n in order).

    The same :meth:`Assistant.prompt_for` an answer is generated from: focus budget, labels,
    system prompt and layout cannot drift apart between training and answering.
    """
    numbered = [_passage(p, n) for n, p in enumerate(passages, start=1)]
    return assistant.prompt_for(question, numbered, [], assistant.settings.max_answer_tokens)


def reader_examples(questions: list[ReaderQuestion], collection: str, *, assistant: Any,
                    p_oracle: float | None = None, seed: int = 0,
                    job: Job | None = None) -> tuple[list[Example], ReaderStats]:
    """RAFT examples in the exact answer-time prompt format (see the module docstring);
    ``p_oracle`` None: :func:`default_p_oracle` of the layout."""
    job = job or Job()
    k = max(1, assistant.settings.top_k)
    p_oracle = default_p_oracle(k) if p_oracle is None else p_oracle
    stats = ReaderStats(questions=len(questions))
    oracles = {r["chunk_id"]: r for r in _chunk_rows(collection, sorted(
        {q.chunk_id for q in questions}))}
    all_rows: list[dict[str, Any]] | None = None
    plan = oracle_plan(len(questions), p_oracle, seed)
    assistant.ensure_model()
    examples: list[Example] = []
    for i, (q, with_oracle) in enumerate(zip(questions, plan, strict=True)):
        job.check()
        job.progress(i, len(questions), examples=len(examples))
        oracle = oracles.get(q.chunk_id)
        if oracle is None:
            continue
        rng = random.Random(f"{seed}:{q.question}:{q.chunk_id}")
        retrieved, _ = assistant.retrieve(q.question, collection, k + 6)
        # what retrieval ranks for this question from other documents (measured on the dev
        # set: 40% correct against 36% with same-document hard negatives), never the answer
        distractors = [p for p in retrieved if p.path != oracle["path"]
                       and not answer_in(q.answer, p.text)]
        if len(distractors) < k:
            if all_rows is None:
                all_rows = _chunk_rows(collection)
            pool = [r for r in all_rows if r["path"] != oracle["path"]
                    and not answer_in(q.answer, r["text"])]
            have = {p.chunk_id for p in distractors}
            rng.shuffle(pool)
            distractors += [_passage(r, 0) for r in pool[: k - len(distractors) + 2]
                            if r["chunk_id"] not in have]
        wanted = k - 1 if with_oracle else k
        if len(distractors) < wanted:
            stats.dropped_no_distractors += 1
            continue
        chosen = distractors[:wanted]
        if with_oracle:
            chosen.insert(rng.randrange(len(chosen) + 1), _passage(oracle, 0))
        fitted = reader_prompt(assistant, q.question, chosen)
        shown = next((p for p in fitted.passages if p.chunk_id == q.chunk_id), None)
        if with_oracle:
            quote = quote_for(q.answer, shown.focused or shown.text) if shown else None
            if quote is None:
                stats.dropped_cut_by_focus += 1
                continue
            target = answer_first(q.answer, quote, shown.n)  # type: ignore[union-attr]
            stats.with_oracle += 1
        else:  # RAFT: the fact, uncited. Tried "The passages do not say." instead: with 20%
            # such examples the reader refused 46 of 50 dev questions (a constant short target
            # is the easiest thing to learn)
            target = (quote_for(q.answer, q.sentence) if q.sentence else None) or quote_for(
                q.answer, oracle["text"]) or q.answer
        messages = tuple((m["role"], m["content"]) for m in fitted.messages)
        stats.layout.append((q.question, q.chunk_id if with_oracle else "",
                             tuple(p.chunk_id for p in fitted.passages)))
        examples.append(Example(q.origin, messages=(*messages, ("assistant", target))))
    stats.examples = len(examples)
    job.progress(len(questions), len(questions), examples=len(examples))
    return examples, stats


# -- caching the drafted questions ----------------------------------------------------------------
def cache_key(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[
        :16]


def save_questions(questions: list[ReaderQuestion], path: Path) -> Path:
    """The questions as JSON Lines (the user can review them; a resumed run reuses them)."""
    from dataclasses import asdict

    from engine.paths import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(asdict(q), ensure_ascii=False) + "\n"
                                    for q in questions))
    return path


def drafts_dir(collection: str) -> Path:
    """Where a collection's drafted questions are kept: with the collection's other derived
    files, which are removed with it (:func:`engine.paths.collection_cache`)."""
    from engine import paths

    return paths.collection_cache(collection) / "drafted"


def drop_other_drafts(kept: Path) -> None:
    """Delete the collection's other reader drafts (and stopped drafting journals) once
    ``kept`` is saved: they were drafted from an earlier version of the collection, or for
    another count or seed, and would pile up (about 37 KB per re-index) for a rare reuse.
    A knowledge adapter's drafts are kept per fact across versions (one file)."""
    for other in kept.parent.glob("reader-*.jsonl"):
        if other != kept:
            other.unlink(missing_ok=True)


def load_questions_cache(path: Path) -> list[ReaderQuestion] | None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [ReaderQuestion(**json.loads(line)) for line in lines if line.strip()]
    except (OSError, ValueError, TypeError):
        return None


# -- the training data of a reader or knowledge adapter -------------------------------------------
#: Drafted questions by default: enough examples to teach the reading habit while drafting and
#: training a 12-document collection stay within ~10 minutes on 2 cores (measured, see bench_modes).
#: A knowledge adapter learns every distinctive fact of the collection (None: no cap; a number
#: caps the facts): facts it never saw, it cannot recall (engine.train.knowledge).
DEFAULT_DRAFT: dict[str, int | None] = {"reader": 120, "knowledge": None}
KINDS = ("reader", "knowledge")


def load_purpose_data(kind: str, collection: str, *, data_file: str | Path | None = None,
                      draft: int | None = None, p_oracle: float | None = None,
                      seed: int = 0, settings: Any = None, job: Job | None = None) -> Any:
    """TrainingData for a reader or knowledge adapter of ``collection``.

    Questions: the user's file (if given), plus ``draft`` drafted ones (default
    :data:`DEFAULT_DRAFT`; 0 with a file means "only my questions"). Drafted questions are
    cached per collection version, model and seed, so a resumed or repeated run does not draft
    again; they are kept with the collection and removed with it (:func:`drafts_dir`). The
    model and the embedder are released before returning (training needs the memory).
    """
    from engine.answer import Assistant
    from engine.index import Collection
    from engine.model_files import default_model_path, model_sha256
    from engine.settings import Settings
    from engine.train.data import TrainingData, control_texts, split_heldout

    if kind not in KINDS:
        raise TrainDataError(f"unknown adapter kind {kind!r}; use one of {', '.join(KINDS)}")
    job = job or Job()
    settings = settings or Settings()
    coll = Collection.open(collection)
    if not coll.count_chunks():
        raise TrainDataError(f"collection {collection!r} has no text to train on; index some "
                             "files into it first")
    draft = DEFAULT_DRAFT[kind] if draft is None else draft
    if draft is not None and draft < 0:
        raise TrainDataError("the number of drafted questions cannot be negative")
    if draft == 0 and data_file is None:
        raise TrainDataError("nothing to train on: give a question file or let Satchel draft "
                             "questions (--draft N)")
    if p_oracle is None:
        p_oracle = default_p_oracle(settings.top_k)
    source: dict[str, Any] = {"kind": kind, "name": collection, "p_oracle": p_oracle}
    if kind == "reader":  # rag+adapter answers from the layout the reader was trained on
        from engine.answer import Layout

        source["layout"] = Layout(settings.top_k, settings.context_tokens).to_json()
    assistant = Assistant(settings)
    questions: list[ReaderQuestion] = []
    heldout: list[Example] | None = None
    try:
        if data_file is not None:
            job.status("Finding the passage of each of your questions")
            mine, dropped = questions_from_file(data_file, collection,
                                                search_mode=settings.retrieval_mode, job=job)
            questions += mine
            source.update(path=str(Path(data_file).expanduser().resolve()),
                          from_file=len(mine), dropped_not_in_collection=dropped)
        model = Path(settings.model_path).expanduser() if settings.model_path else (
            default_model_path())
        key_parts = {"coll": [collection, coll.chunks.version, coll.count_chunks()],
                     "model": model_sha256(model), "count": draft, "seed": seed}
        if kind == "knowledge" and draft != 0:
            from engine.train.knowledge import (
                cached_fact_questions,
                collection_facts,
                knowledge_examples,
                usable_questions,
            )

            facts = collection_facts(collection, draft)
            if not facts and not questions:
                raise TrainDataError(f"no fact to learn in collection {collection!r}: no "
                                     "sentence holds a distinctive number, code or name")
            key = cache_key(coll=collection, model=key_parts["model"], seed=seed, v=14)
            asked = cached_fact_questions(  # per fact: not the collection's version nor count
                facts, assistant=assistant, job=job, seed=seed,
                cache=drafts_dir(collection) / f"knowledge-{key}.json")
            mine = [(q.origin, q.question, q.answer) for q in questions]
            examples, heldout = knowledge_examples(facts, asked, seed=seed, mine=mine)
            usable = usable_questions(facts, asked)
            source.update(facts=len(facts), drafted=sum(map(len, asked)),
                          drafted_used=sum(map(len, usable)),
                          facts_asked=sum(1 for a in usable if a))
        elif draft:
            key = cache_key(**key_parts, per_fact=1, clozes=False, v=13)
            cache = drafts_dir(collection) / f"reader-{key}.jsonl"
            drafted = load_questions_cache(cache)
            if drafted is None:
                job.status("Drafting questions from your documents")
                journal = cache.with_name(f"reader-{key}.partial.jsonl")
                drafted = draft_questions_for(collection, draft, assistant=assistant, job=job,
                                              seed=seed, journal=journal)
                save_questions(drafted, cache)
                drop_other_drafts(cache)
            questions += drafted
            source.update(drafted=len(drafted), drafted_asked=draft, drafted_file=str(cache))
        if not questions and heldout is None:
            raise TrainDataError(f"no usable question for collection {collection!r}: no "
                                 "passage contains the answers given, and none could be drafted")
        if kind == "reader":
            job.status("Building examples in the answer prompt format")
            examples, stats = reader_examples(questions, collection, assistant=assistant,
                                              p_oracle=p_oracle, seed=seed, job=job)
            source["examples_stats"] = stats.to_json()
        elif heldout is None:  # knowledge from the user's questions alone (--draft 0)
            from engine.train.knowledge import knowledge_examples

            examples, heldout = knowledge_examples(
                [], [], mine=[(q.origin, q.question, q.answer) for q in questions])
    finally:
        assistant.runtime.unload()
        from engine.embed import release_embedders

        release_embedders()
        release_memory()
    source["questions"] = len(questions)
    if heldout is None:
        train, heldout = split_heldout(examples, 0.1, seed=seed)
        source["examples"] = len(train) + len(heldout)
    else:  # knowledge: held out are other wordings of trained facts (engine.train.knowledge);
        # with none (few facts, or the user's questions alone), a sample of the trained ones,
        # counted once: facts are to be memorised, so none is kept from training
        train = examples
        source["examples"] = len(train) + len(heldout)
        heldout = heldout or split_heldout(examples, 0.1, seed=seed)[1]
    return TrainingData(source, train, heldout, control_texts())


# -- building the data in a child process ---------------------------------------------------------
def _child_main(conn: Any, data_dir: str, kwargs: dict[str, Any]) -> None:
    """Child: build the data with its own Job whose progress goes up the pipe."""
    from engine import netguard, paths
    from engine.errors import SatchelError
    from engine.jobs import Cancelled

    netguard.install()
    paths.set_data_dir(data_dir)

    def relay(state: Any) -> None:
        conn.send(("state", (state.status, state.done, state.total, dict(state.metrics))))

    try:
        data = load_purpose_data(job=Job(relay, min_interval_s=0.2), **kwargs)
        conn.send(("done", data))
    except (SatchelError, Cancelled) as exc:
        conn.send(("error", str(exc) or type(exc).__name__))
    except Exception as exc:  # a bug: say where, one line, the parent raises it
        import traceback

        last = traceback.extract_tb(exc.__traceback__)[-1]
        conn.send(("crash", f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:"
                            f"{last.lineno})"))
    finally:
        conn.close()


def build_in_child(kind: str, collection: str, *, job: Job | None = None,
                   **kwargs: Any) -> Any:
    """:func:`load_purpose_data` in a spawned child process; returns its TrainingData.

    Why a child: drafting and retrieval load llama.cpp, the embedder and LanceDB, whose memory
    a Python process does not give back; with them resident, the training process peaked at
    3.3 GB. In a child that has exited before the trainer loads, training peaks alone. Cancel
    ends the child at once: the questions drafted so far are kept as they come (a knowledge
    adapter's per fact, a reader's per chunk in a journal), so a second run does not draft
    them again.
    """
    job = job or Job()
    with heavy_job("training-data", collection):  # drafting runs llama.cpp and the embedder
        return _build_in_child(kind, collection, job, kwargs)


def _build_in_child(kind: str, collection: str, job: Job, kwargs: dict[str, Any]) -> Any:
    import multiprocessing as mp

    from engine import paths
    from engine.jobs import Cancelled

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, name="satchel-train-data",
                       args=(child, str(paths.data_dir()),
                             {"kind": kind, "collection": collection, **kwargs}))
    proc.start()
    child.close()
    try:
        while True:
            if job.cancelled():
                raise Cancelled()
            if not parent.poll(0.2):
                if not proc.is_alive() and not parent.poll(0):
                    raise TrainDataError(f"building the training data stopped unexpectedly "
                                         f"(exit code {proc.exitcode})")
                continue
            try:
                what, payload = parent.recv()
            except EOFError:
                raise TrainDataError("building the training data stopped unexpectedly "
                                     f"(exit code {proc.exitcode})") from None
            if what == "state":
                status, done, total, metrics = payload
                job.status(status)
                job.progress(done, total, **metrics)
            elif what == "done":
                return payload
            elif what == "error":
                raise TrainDataError(payload)
            else:
                raise RuntimeError(f"building the training data failed: {payload}")
    except BaseException:
        if proc.is_alive():
            proc.terminate()
        raise
    finally:
        if proc.is_alive():
            proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
        parent.close()
