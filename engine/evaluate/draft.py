"""Draft a question set from a collection: sampled chunks -> question + gold answer + gold source.

Why answer-first: asked to "write a question and its answer" about a passage, the bundled 135M
model invents answers that are not in the text most of the time (tried: 1 of 12 usable). So the
answer is picked here, deterministically, as a distinctive fact of one sentence (a number with its
unit, a code like HRB-07, a name, a file path or command-line option), and the model is only asked
to phrase a question whose answer it is. The question is checked (ends with "?", does not give the
answer away, is about the sentence's words); when it fails, a cloze question is made from the
sentence instead ("Fill in the blank: ..."). Either way the gold answer occurs in the chunk and the
chunk's file and page are recorded as gold, so the draft is scoreable as is; the user then edits
the wording.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from engine.errors import SatchelError
from engine.evaluate.questions import QAItem
from engine.jobs import Job
from engine.prompt import KEYED_ROW, sentences_of
from engine.settings import Settings

_UNIT = (r"(?:\s?(?:%|percent|per cent|km|m|metres|meters|mm|cm|kg|g|t|tonnes|knots|kn|hours?|"
         r"days?|weeks?|months?|years?|minutes?|people|persons|pairs|pups|tags|litres|liters|GB|"
         r"MB|kW|million|billion|thousand|EUR|USD)\b)?")
#: A number, not a piece of one: "4.0.3" is a version, not "4.0"; an address (127.0.0.1:80) none.
_NUMBER = re.compile(r"(?<![\w.,:-])(?:EUR |USD |\$|€)?\d(?:[\d,]*\d)?(?:\.\d+)*(?![\d:]|\.\d)"
                     + _UNIT)
#: A section number ("4.5." in "Valgrind behaves unexpectedly: 4.5.; B: ..."), from a table of
#: contents run into the text: a dotted number closed by a full stop that does not end the
#: sentence.
_SECTION = re.compile(r"\d+(?:\.\d+)+\.(?!\d)(?=.*\S)")
#: A statement has a lower-case word: a sentence without one is a heading, a navigation label
#: or a reference ("Acting on Cachegrind's Information 5.8.", "(VEE 2007), San Diego, ...");
#: a table row ("Name: Ada; Role: Engineer") is kept. In a real manual (Valgrind's) these were
#: 5 of the first 24 facts drafted.
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]{4,}\b")
_WORDNUM = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
                      + _UNIT.replace(")?", ")", 1).replace("(?:\\s?", "(?:\\s", 1),
                      re.IGNORECASE)
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_PLACE = re.compile(r"\b(?:Hut|Store|Room|Block|Gate|Zone|Pier|Bay) [A-Z0-9]\b")
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
                   r"(?![\w-]|\.\w)")  # not the start of a file name (SomePackage-2.2.tar.gz)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|of|de|van))*"
                   r"[ -][A-Z][a-z]+\b")
#: Identifiers, the facts of technical manuals: snake_case names, ALL-CAPS keywords (VACUUM,
#: SQLITE_BUSY), function names with their parentheses (memcmp()). Common ones ("SQL", "API")
#: are dropped later as not distinctive (found in many sampled passages).
_IDENT = re.compile(r"(?<![\w.-])(?:[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]|[A-Z]{3,}"
                    r"[A-Z0-9]*|[a-z][a-z0-9_]*\(\))(?:\(\))?(?![\w-])")
#: Capitalised function words: a "name" holding one is a Title Case heading run into the text
#: ("Maximum Number Of Tables In A Join SQLite does not ..."), not a name. In the SQLite pages
#: 15 of the first 60 facts drafted for a reader were such fragments ("Does Not Work The Same
#: As", "If An Existing Table Is"), giving questions no passage answers.
_HEADING_WORDS = frozenset("Of In The A An Is Are Not Does Do For To Or And If How By On At With "
                           "As Be Can From Into Than That This What When Why".split())
#: The facts of software manuals that carry no capital or digit: file paths (debian/control,
#: /etc/apt/sources.list), command-line options (--amend), e-mail addresses and dotted names
#: (core.editor, sources.list). Without them, in two manuals of prose about tools (git's pages,
#: the Debian Developer's Reference) 36-43% of the passages had no candidate fact (SQLite's
#: pages: 4%), drafting fell short of the questions asked, and a reader drafted from git's pages
#: practised numbers and capitals only: with them it answered 0.57 of git's development
#: questions against 0.47 (rag 0.42). Hyphenated words were tried too and dropped: they are
#: mostly plain English ("zero-configuration", "low-level"), which gave questions about nothing.
_PATH = re.compile(r"(?<![\w/.:@-])(?:~/[\w.+-]+(?:/[\w.+*-]+)*|\.{0,2}/?[A-Za-z0-9_][\w.+-]*"
                   r"(?:/[\w.+*-]+)+)/?(?<![.-])(?![\w/])")
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?![\w-])")  # no value
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?<![.-])")
_DOTTED = re.compile(r"(?<![\w./*@-])[A-Za-z][\w-]*(?:\.[A-Za-z_][\w-]*)+(?![\w/@])")
#: Slash pairs of plain English ("and/or", "input/output"), not paths.
_NOT_PATHS = frozenset("and/or either/or input/output read/write client/server he/she his/her "
                       "yes/no on/off true/false".split())
_DATE = re.compile(r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|"
                   r"October|November|December)\b")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
#: Footnote markers ("... maintainer scripts [57].", "... in general.[92]"): numbers, never facts.
#: In a prose manual (Debian's New Maintainers' Guide) they were 9 of the 17 drafted numbers.
_FOOTNOTE = re.compile(r"\[\d{1,3}\]")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = set("what which who whom whose when where why how does do did is are was were the a an "
            "of in on at to for from by with and or it its this that there their they be been "
            "has have had many much long".split())
EXAMPLE_SENTENCE = "The library opened in 1998 and holds 4,000 books."
EXAMPLE_ANSWER = "4,000 books"
EXAMPLE_QUESTION = "How many books does the library hold?"
SYSTEM = "You write one quiz question. Reply with the question only."


def candidate_answers(sentence: str) -> list[str]:
    """Distinctive facts in a sentence, best first: dates, numbers with units, codes, names.

    Bare years are last: "2025" is on every page of a 2025 report and makes a poor question.
    Footnote markers ("[57]") are not numbers of the text.
    """
    found: list[tuple[int, int, str]] = []
    for pattern in (_DATE, _TIME):
        found += [(0, m.start(), m.group()) for m in pattern.finditer(sentence)]
    for pattern in (_PLACE, _WORDNUM):
        found += [(1, m.start(), m.group()) for m in pattern.finditer(sentence)]
    for m in _CODE.finditer(sentence):
        found.append((1, m.start(), m.group()))
    for pattern, priority in ((_EMAIL, 1), (_PATH, 2), (_OPTION, 2), (_DOTTED, 2)):
        for m in pattern.finditer(sentence):
            text = m.group()
            if pattern is _DOTTED and min(len(part) for part in text.split(".")) < 2:
                continue  # "e.g", "i.e"
            if text.lower() in _NOT_PATHS or any(text in f[2] for f in found):
                continue
            found.append((priority, m.start(), text))
    for m in _IDENT.finditer(sentence):
        if not any(m.group() in f[2] for f in found) and m.start() > 0:
            found.append((2, m.start(), m.group()))
    numbers = _FOOTNOTE.sub(lambda m: " " * len(m.group()), sentence)  # same positions
    for m in _NUMBER.finditer(numbers):
        text = m.group().strip()
        if any(text in f[2] or f[2] in text for f in found) or text.count(",") > 1:
            continue
        if _SECTION.match(numbers, m.start()):
            continue
        priority = 4 if _YEAR.match(text) else (1 if " " in text or not text.isdigit() else 3)
        found.append((priority, m.start(), text))
    for m in _NAME.finditer(sentence):
        if not _HEADING_WORDS.intersection(re.split(r"[ -]", m.group())):
            found.append((2, m.start(), m.group()))
    seen: set[str] = set()
    out: list[str] = []
    for _, _, text in sorted(found):
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


def sentences(text: str) -> list[str]:
    """Sentences and table rows of a chunk, whitespace-collapsed, 5 to 60 words; headings,
    labels and references are not sentences (see ``_LOWER_WORD``)."""
    parts = (" ".join(s.split()) for s in sentences_of(text))
    return [s for s in parts if 5 <= len(s.split()) <= 60
            and (_LOWER_WORD.search(s) or KEYED_ROW.fullmatch(s.rstrip(".")))]


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def acceptable_question(question: str, answer: str, sentence: str, *,
                        about_ok: bool = False) -> bool:
    """A drafted question is kept only if it can be a fair question about this sentence.

    ``about_ok``: a question *about* the fact ("What is the maint-guide package?") is kept
    too; the answer is then the sentence. Not for a question set (it names its gold answer),
    but a fair question for a reader to quote the sentence for.
    """
    q = question.strip()
    words = q.split()
    if not q.endswith("?") or not 4 <= len(words) <= 30 or "\n" in q:
        return False
    if answer.lower() in q.lower() and not about_ok:
        return False  # gives the answer away
    sent = _content(sentence)
    if len(_content(q) & sent) < 2:
        return False  # not about this sentence
    example = _content(EXAMPLE_SENTENCE) - sent
    if _content(q) & example:
        return False  # copied the few-shot example
    # a year needs a when/which-year question, not "what is the cost"
    return not _YEAR.match(answer) or bool(re.search(r"\b(when|year)\b", q, re.IGNORECASE))


def cloze(sentence: str, answer: str, about: str = "") -> str:
    """A fill-in-the-blank question: the sentence with the answer blanked out (``about``: the
    section it is from, named before it)."""
    blanked = sentence.replace(answer, "____", 1)
    where = f" ({about})" if about else ""
    return f'Fill in the blank{where}: "{blanked}"'


def source_names(paths: list[str]) -> dict[str, str]:
    """The shortest path suffix that names each file uniquely (usually just its file name)."""
    names: dict[str, str] = {}
    split = {p: p.replace("\\", "/").split("/") for p in paths}
    for p, parts in split.items():
        for n in range(1, len(parts) + 1):
            suffix = "/".join(parts[-n:])
            clash = any(q != p and "/".join(other[-n:]) == suffix for q, other in split.items())
            if not clash:
                names[p] = suffix
                break
        else:
            names[p] = p
    return names


def _sample(coll: Any, count: int, seed: int) -> list[dict[str, Any]]:
    """Chunks round-robin across files (shuffled with ``seed``), about 4x ``count`` of them."""
    from engine.index import sql_str

    table = coll.chunks.search().select(["chunk_id", "path"]).limit(None).to_arrow()
    by_path: dict[str, list[str]] = defaultdict(list)
    for cid, path in zip(table["chunk_id"].to_pylist(), table["path"].to_pylist(), strict=True):
        by_path[path].append(cid)
    rng = random.Random(seed)
    order = sorted(by_path)
    rng.shuffle(order)
    for path in order:
        by_path[path].sort()
        rng.shuffle(by_path[path])
    picked: list[str] = []
    want = max(count * 4, count + 8)
    while len(picked) < want and any(by_path.values()):
        for path in order:
            if by_path[path]:
                picked.append(by_path[path].pop())
    rows: list[dict[str, Any]] = []
    for start in range(0, len(picked), 200):
        ids = ", ".join(sql_str(c) for c in picked[start:start + 200])
        rows += (coll.chunks.search().where(f"chunk_id IN ({ids})")
                 .select(["chunk_id", "path", "page", "text"]).limit(None).to_list())
    position = {cid: i for i, cid in enumerate(picked)}
    return sorted(rows, key=lambda r: position[r["chunk_id"]])


class ChunkDrafted(NamedTuple):
    """What drafting made of one sampled chunk: a record of a drafting journal.

    ``index`` is the chunk's place in the sample (fixed by the collection's version and the
    seed), ``answer`` the fact it used ("" when it had none) and ``items`` the questions kept.
    """

    index: int
    answer: str
    items: list[QAItem]

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "answer": self.answer,
                "items": [item.to_json() for item in self.items]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ChunkDrafted:
        items = []
        for data in raw["items"]:
            data = dict(data)
            items.append(QAItem(question=str(data.pop("question")),
                                answers=tuple(map(str, data.pop("answers"))),
                                sources=tuple(map(str, data.pop("sources", ()))),
                                pages=tuple(map(int, data.pop("pages", ()))), extra=data))
        return cls(int(raw["index"]), str(raw["answer"]), items)


def read_journal(path: Path) -> list[ChunkDrafted]:
    """The chunks a drafting journal records, in order, and the file cut back to them.

    Reading stops at the first line that is not a whole record (a run killed while writing
    it) or that does not follow the one before; what follows it is dropped from the file too,
    so records appended next continue a readable journal. No file: nothing drafted yet.
    """
    import json

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[ChunkDrafted] = []
    size = 0
    for line in raw.split(b"\n")[:-1]:  # the last piece has no line end: torn or empty
        try:
            record = ChunkDrafted.from_json(json.loads(line.decode("utf-8")))
        except (ValueError, KeyError, TypeError):
            break
        if records and record.index <= records[-1].index:
            break
        records.append(record)
        size += len(line) + 1
    if size < len(raw):
        with path.open("r+b") as f:
            f.truncate(size)
    return records


def append_journal(path: Path, record: ChunkDrafted) -> None:
    """Add one finished chunk to a drafting journal (one JSON line, flushed at once)."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")


def draft_questions(collection: str, count: int = 20, *, settings: Settings | None = None,
                    runtime: Any = None, job: Job | None = None, seed: int = 0,
                    use_model: bool = True, cloze_fallback: bool = True,
                    per_fact: int = 1, about_ok: bool = False, which_first: bool = False,
                    done: Sequence[ChunkDrafted] = (),
                    on_chunk: Callable[[ChunkDrafted], None] | None = None) -> list[QAItem]:
    """Up to ``count`` questions drafted from ``collection`` (fewer if it has too few facts).

    Every item's gold answer occurs in its chunk, and its source/page are the chunk's. The
    model phrases the question when it can (``use_model``), else a cloze question is used
    (or, with ``cloze_fallback`` False, the fact is skipped: training data wants real
    questions). ``per_fact`` > 1 asks for that many questions per fact, each with its own seed
    (restatements for the knowledge adapter); rejected ones are dropped. ``which_first``: a
    question about a fact that is not a number opens with "Which" when the model can phrase one
    (:func:`question_lead`), as a reader's training questions should.

    Resuming: ``on_chunk`` hears each chunk as it is finished, and a later call given those
    records as ``done`` (same collection version, seed and flags) goes on from the next chunk
    with the same result as a run never stopped: a cancelled drafting keeps what it drafted.
    """
    from engine.answer import Assistant
    from engine.index import Collection

    if count < 1:
        raise SatchelError("--count must be at least 1")
    job = job or Job()
    settings = settings or Settings()
    coll = Collection.open(collection)
    if coll.count_chunks() == 0:
        raise SatchelError(f"collection {collection!r} is empty: index files into it first")
    job.status("Sampling passages")
    names = source_names(sorted(coll.documents()))
    chunks = _sample(coll, count if cloze_fallback else count * 2, seed)
    texts = [c["text"].lower() for c in chunks]
    assistant = Assistant(settings, runtime) if use_model else None
    items: list[QAItem] = [item for record in done for item in record.items]
    used_answers: set[str] = {record.answer.lower() for record in done if record.answer}
    start = max((record.index + 1 for record in done), default=0)
    for i, chunk in enumerate(chunks):
        if len(items) >= count:
            break
        if i < start:
            continue
        job.check()
        job.progress(len(items), count)
        # with a cloze to fall back on, the chunk's first fact will do; without one, a fact
        # whose question the model phrases badly gives way to the chunk's next facts
        tries = 1 if cloze_fallback or assistant is None else 3
        drafted: list[tuple[str, str]] = []
        sentence = answer = ""
        for sentence, answer in itertools.islice(_facts(chunk["text"], texts, used_answers),
                                                 tries):
            if assistant is not None:
                job.status(f"Drafting question {len(items) + 1} of {count}")
                lead = question_lead(answer) if which_first else None
                for attempt in range(max(1, per_fact)):
                    ask = functools.partial(_ask_model, assistant, sentence, answer,
                                            seed + i + 7919 * attempt,
                                            temperature=0.0 if attempt == 0 else 0.8,
                                            about_ok=about_ok)
                    question = (ask(lead=lead) if lead else None) or ask()
                    if question and question not in (q for q, _ in drafted):
                        drafted.append((question, "model"))
            if drafted:
                break
        record = ChunkDrafted(i, answer, [])
        if answer:
            used_answers.add(answer.lower())
            source = names.get(chunk["path"], os.path.basename(chunk["path"]))
            if not drafted and cloze_fallback:
                drafted.append((cloze(sentence, answer), "cloze"))
            for question, how in drafted:
                note = ("drafted: the model wrote this question; check that it asks for the "
                        "answer" if how == "model" else
                        "drafted: a fill-in-the-blank; rephrase as a question")
                record.items.append(QAItem(question=question, answers=(answer,),
                                           sources=(source,), pages=(int(chunk["page"]),),
                                           extra={"chunk_id": chunk["chunk_id"], "note": note,
                                                  "sentence": sentence}))
            items += record.items
        if on_chunk is not None:
            on_chunk(record)
    job.progress(len(items), count)
    if not items:
        raise SatchelError(f"no question could be drafted from collection {collection!r} (no "
                           "sentence with a distinctive number, code or name)")
    return items


def _facts(text: str, all_texts: list[str], used: set[str]) -> Iterator[tuple[str, str]]:
    """(sentence, fact) pairs of a chunk, in order, whose fact is distinctive: found in few
    sampled chunks and not used yet."""
    for sentence in sentences(text):
        for answer in candidate_answers(sentence):
            low = answer.lower()
            if low in used or len(low) < 2:
                continue
            if sum(1 for t in all_texts if low in t) > 2:
                continue  # too common to point at one passage
            yield sentence, answer


def question_lead(answer: str) -> str | None:
    """How a question about ``answer`` is made to start: "Which" for a fact that is not a number
    or a date (an option, a setting, a file, a name), None to leave it to the model.

    Why: left to itself the 135M model opened nine in ten drafted questions with "What is",
    half of them naming their own answer ("What is the SQLITE_CORRUPT error?"), while people
    ask for such facts by what they do ("Which option lets me commit without running the
    hooks?"), and a reader must then find the term from its description, often just before
    it. Readers trained on questions begun with "Which" (the rest as before) answered 132 of
    the three development sets' 170 questions (40 / 55 / 37 on SQLite, the Debian Reference
    and git) against 124 (35 / 55 / 34) from free questions, the answer in the first 25 words
    for 97 against 95; their questions still named the answer half the time ("Which
    SQLITE_MAX_COLUMN value is the largest possible?"). On the report set, measured once after
    the choice, rag+adapter answered 0.64 against 0.70 from free questions (rag 0.66).
    """
    if any(p.fullmatch(answer) for p in (_NUMBER, _WORDNUM, _DATE)):
        return None
    return "Which"


def _ask_model(assistant: Any, sentence: str, answer: str, seed: int,
               temperature: float = 0.0, about_ok: bool = False,
               lead: str | None = None) -> str | None:
    """Ask the model for a question about ``sentence`` whose answer is ``answer``; None if bad.
    ``lead``: the question's first word, put in the model's mouth."""
    assistant.ensure_model()
    runtime = assistant.runtime
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Sentence: {EXAMPLE_SENTENCE}\nWrite a question about the "
                                    f"sentence whose answer is: {EXAMPLE_ANSWER}"},
        {"role": "assistant", "content": EXAMPLE_QUESTION},
        {"role": "user", "content": f"Sentence: {sentence}\nWrite a question about the sentence "
                                    f"whose answer is: {answer}"},
    ]
    _, tokens, stop = runtime.render(messages)
    if lead:
        tokens = tokens + runtime.tokenize(lead)
    text = "".join(runtime.generate(tokens, max_tokens=40, temperature=temperature, seed=seed,
                                    stop=[*stop, "\n"]))
    question = " ".join(((lead or "") + text).split())
    return question if acceptable_question(question, answer, sentence,
                                           about_ok=about_ok) else None
