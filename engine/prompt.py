"""Build the prompt for a question: numbered, focused passages and history, fitted to the context.

Why it looks like this:
- Latency on a CPU is dominated by prompt tokens, not generation (FACTS.md: ~700 tokens of
  passages cost ~4 s before the first token, and the small model answered worse with them). So
  each retrieved passage is *focused*: cut to its sentences that share the most words with the
  question, within a token budget measured with the model's own tokenizer.
- The prompt is laid out fixed-part-first (system prompt, then earlier turns exactly as they were
  sent, then the new passages and question), so llama.cpp's prefix cache evaluates only the new
  part of a follow-up question.
- When the whole thing does not fit the context window, the lowest-ranked passages go first, then
  the oldest turns; the question is never cut: if it alone does not fit, that is an error.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from engine.cjk_terms import CJK_CLOSERS, CJK_STOPS, SPACED_STOPS, THAI_LAO, searchable
from engine.llm import LLMError

#: Chosen on the development set (SQLite manual pages, benchmarks/realdocs): asking for "one
#: short sentence that states the answer" answered 38% where the longer "using only the numbered
#: passages, in one or two sentences, and cite the passages you used" answered 32%; a one-shot
#: example in the system prompt did worse (26-28%) and cost prompt tokens.
SYSTEM_RAG = ("You are Satchel. Answer the question from the numbered passages in one short "
              "sentence that states the answer, then cite the passage like [1]. If no passage "
              "holds the answer, say you do not know.")
SYSTEM_BASE = "You are Satchel, a helpful assistant. Answer briefly and accurately."

#: A sentence ends at . ! or ? followed by space (so "4.82" and "e.g." inside words stay whole),
#: at a line break (table rows, list items), or at the "…" that marks where :func:`focus` cut a
#: passage. The one sentence splitter of passages: focus, the copy bias, drafting, reader quotes.
#: Chinese and Japanese sentences end at their full stops (。！？, after a closing quote or bracket
#: if one follows) with no space after them; Hindi, Khmer, Burmese, ... ones at theirs (।, ។, ။)
#: followed by a space; Thai and Lao ones at a space between two of their letters.
_SENTENCE_END = re.compile(
    rf"(?<=[.!?{SPACED_STOPS}])\s+|\n+|\s+…\s+|^…\s+|\s+…$|(?<={THAI_LAO})\s+(?={THAI_LAO})"
    rf"|(?<=[{CJK_STOPS}])(?![{CJK_CLOSERS}])\s*|(?<=[{CJK_STOPS}][{CJK_CLOSERS}])(?![{CJK_CLOSERS}])\s*")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"[\w][\w.-]*[\w]|\w", re.UNICODE)
STOPWORDS = set("""a an the of in on at to for from by with and or is are was were be been being
what which who whom whose when where why how does do did has have had it its this that these those
there their they them he she his her i you your we our us me my as into about than then so not no
can could would should will shall may might must tell please many much""".split())


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as it will be numbered in the prompt."""

    n: int
    path: str
    page: int
    text: str  # the full chunk (what the user sees as the source)
    score: float
    chunk_id: str
    heading: str = ""
    focused: str = ""  # the part the model is shown
    #: Its text is already in an earlier turn of this prompt under the same number, so this turn
    #: only refers to it (a follow-up then costs the new tokens only, see ``number_passages``).
    repeated: bool = False

    def label(self) -> str:
        """The source as the model sees it: the file name, and the page only past the first.

        Short on purpose: every prompt token costs time to first token on a CPU, the model cites
        by number, and the window shows the full path and page from ``Answer.sources``.
        """
        name = os.path.basename(self.path)
        return f"{name} p. {self.page}" if self.page and self.page > 1 else name


@dataclass(frozen=True)
class HistoryTurn:
    """An earlier exchange, with the user message exactly as it was sent (for prefix reuse)."""

    question: str
    user_message: str
    answer: str
    #: (number, chunk id) of the passages whose text this turn's user message carries.
    shown: tuple[tuple[int, str], ...] = ()


def shown_passages(history: list[HistoryTurn]) -> dict[str, int]:
    """Chunk id -> passage number for every passage whose text is in these turns."""
    known: dict[str, int] = {}
    for turn in history:
        known.update((chunk_id, n) for n, chunk_id in turn.shown if chunk_id)
    return known


def number_passages(passages: list[Passage], history: list[HistoryTurn]) -> list[Passage]:
    """Number this turn's passages so a follow-up reuses the ones already in the conversation.

    A passage shown in an earlier turn keeps that number and is only referred to; new ones get
    the next free numbers. Follow-ups mostly retrieve the same chunks (their retrieval query
    includes the previous question), so the new prompt tokens, which decide time to first token
    on a CPU, shrink to the question. Without overlap the numbering is the plain 1..k.
    """
    known = shown_passages(history)
    if not any(p.chunk_id in known for p in passages):
        return [replace(p, n=i, repeated=False) for i, p in enumerate(passages, start=1)]
    next_n = max(known.values()) + 1
    out = []
    for p in passages:
        if p.chunk_id in known:
            out.append(replace(p, n=known[p.chunk_id], repeated=True))
        else:
            out.append(replace(p, n=next_n, repeated=False))
            next_n += 1
    return out


def _numbers(ns: list[int]) -> str:
    refs = [f"[{n}]" for n in ns]
    return refs[0] if len(refs) == 1 else ", ".join(refs[:-1]) + " and " + refs[-1]


def terms(text: str) -> set[str]:
    """Content words, lower-cased, with a crude plural strip: enough to match question words."""
    out = set()
    for w in _WORD.findall(searchable(text.lower())):  # CJK as two-character pieces
        if w in STOPWORDS or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 4 and w.endswith("s") else w)
    return out


#: A line that starts a list item, a quote, a table row or a heading (or is a heading's
#: underline): the break before it is real even inside a hard-wrapped paragraph.
_BLOCK_START = re.compile(r"\s*(?:[-*+•#>|]|\d{1,3}[.)]\s|[-=~_]{3,}\s*$)")
#: Hard-wrapped text is set to a fixed width (e-mail 72-78 columns, Markdown and plain-text
#: sources 70-100); a paragraph whose longest line is outside this range is not wrapped prose.
_WRAP_WIDTH = (40, 100)
#: A table row rendered with its header ("Name: Ada; Role: Engineer", engine.ingest's tables).
KEYED_ROW = re.compile(r"[^:;]{1,60}: [^;]+(?:; [^:;]{1,60}: [^;]+)+")


def _soft_break(prev: str, line: str, width: int) -> bool:
    """Whether the line break between ``prev`` and ``line`` only wraps a sentence."""
    prev, line = prev.strip(), line.strip()
    if not prev or not line or prev.endswith((".", "!", "?", ":", ";")) or _BLOCK_START.match(line):
        return False
    if prev.startswith("#") or " | " in prev or " | " in line or KEYED_ROW.fullmatch(prev):
        return False  # a heading, table rows
    first, next_first = prev.split()[0], line.split()[0]
    if first == next_first or (first.isdigit() and next_first.isdigit()):
        return False  # rows of one kind ("Name: x" / "Name: y", "237371 ..." / "237485 ...")
    if line[0].islower():  # "...a sentence that goes\non here": a continuation
        return True
    # a line capitalised at the start: wrapped only if the line before it was full (a heading
    # or a short row ends early)
    return _WRAP_WIDTH[0] <= width <= _WRAP_WIDTH[1] and len(prev) >= 0.7 * width


def unwrap(text: str) -> str:
    """Hard-wrapped prose (plain text, e-mail, Markdown source, a <pre> block) joined into whole
    lines, so that a sentence is not cut at every line end.

    Why: the sentences of a passage are where focus starts, what the copy bias favours and what
    drafting asks about. Split at each wrapped line end, an e-mail's sentence became four
    fragments, and drafted questions asked about "...any work containing the".
    Paragraphs (blank lines), list items, table rows and headings keep their breaks.
    """
    if "\n" not in text:
        return text
    out = []
    for para in re.split(r"\n[ \t]*\n", text):
        lines = para.split("\n")
        width = max(len(line.strip()) for line in lines)
        joined = lines[0]
        for prev, line in itertools.pairwise(lines):
            joined += (" " + line.strip()) if _soft_break(prev, line, width) else "\n" + line
        out.append(joined)
    return "\n\n".join(out)


def sentence_runs(text: str) -> list[tuple[str, str]]:
    """The sentences of a passage, each with what separated it from the one before: " " inside
    a paragraph, "\n" at a line break (a table row, a list item), "\n\n" between paragraphs
    ("" for the first, and between Chinese or Japanese sentences, written without a space).

    Why keep the breaks: a focused passage used to join its sentences with spaces, so a table's
    rows ran together ("file: /var/log/dpkg.log; content: ... file: /var/log/apt/term.log;
    content: ..."); the model could not tell one row from the next, and the whole table read as
    one sentence to :func:`best_sentence` and the copy bias.
    """
    text = unwrap(text)
    runs: list[tuple[str, str]] = []
    start, gap = 0, ""
    for m in [*_SENTENCE_END.finditer(text), None]:
        piece = text[start:m.start() if m else len(text)].strip()
        if piece:
            runs.append((piece, gap if runs else ""))
            gap = ""
        if m is None:
            break
        sep = m.group()
        if _PARAGRAPH_BREAK.search(sep) or gap == "\n\n":
            gap = "\n\n"
        elif "\n" in sep or gap == "\n":
            gap = "\n"
        elif sep:
            gap = gap or " "
        start = m.end()
    return runs


def sentences_of(text: str) -> list[str]:
    """The sentences of a passage (or of a focused passage, its "…" marks dropped); a
    hard-wrapped sentence is one sentence (:func:`unwrap`)."""
    return [sentence for sentence, _ in sentence_runs(text)]


def best_sentence_index(sentences: list[str], question: str) -> int:
    """The sentence sharing the most question words (the earliest on a tie)."""
    q = terms(question)
    return max(range(len(sentences)), key=lambda i: (len(q & terms(sentences[i])), -i))


def best_sentence(text: str, question: str) -> str:
    """The sentence of ``text`` most likely to hold the answer: the one sharing the most
    question words (on the development set it held the answer for 38 of 40 questions)."""
    sentences = sentences_of(text)
    return sentences[best_sentence_index(sentences, question)] if sentences else ""


def focus(text: str, question: str, budget: int, count: Callable[[str], int]) -> str:
    """The contiguous run of sentences from the best-matching one that fits ``budget`` tokens.

    Sentences are scored by how many question words they contain; the window starts at the best
    one and grows forward (the details that follow it), then backward only if room is left.
    Why it starts there: on the development set the best-scored sentence held the answer for 38
    of the 40 questions whose answer reached the prompt, and a small model reads (and a reader
    adapter quotes) the start of a passage most. The passage is returned whole when it fits.
    Starting one sentence earlier, so that the best one is not the first line (which rag and the
    reader both read worse: 22 of 34 and 27 of 34 right, against 90 and 98 of 108 further on),
    answered 113 of the three development sets' 170 questions in rag against 112, and let the
    answer out of the prompt for 2; readers retrained on such prompts answered 125 (52 / 37 /
    36 on the Debian Reference, SQLite and git), as many as from today's (53 / 38 / 34): not
    kept.
    """
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if count(text) <= budget:
        return text
    runs = sentence_runs(text)
    sentences = [sentence for sentence, _ in runs]
    if not sentences:
        return text
    best = best_sentence_index(sentences, question)
    sizes = [count(s) + 1 for s in sentences]
    lo = hi = best
    used = sizes[best]
    if used > budget:  # one long sentence: as many of its words as fit
        words = sentences[best].split()
        keep: list[str] = []
        for w in words:
            if count(" ".join([*keep, w])) > budget:
                if not keep:  # one run without spaces (Chinese, Japanese): its first characters
                    keep.append(_prefix_within(w, budget, count))
                break
            keep.append(w)
        return " ".join(keep) + " …"
    while hi + 1 < len(sentences) and used + sizes[hi + 1] <= budget:
        hi += 1
        used += sizes[hi]
    while lo > 0 and used + sizes[lo - 1] <= budget:
        lo -= 1
        used += sizes[lo]
    body = sentences[lo] + "".join(gap + sentence for sentence, gap in runs[lo + 1:hi + 1])
    return ("… " if lo > 0 else "") + body + (" …" if hi < len(sentences) - 1 else "")


def _prefix_within(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest start of ``text`` that counts at most ``budget`` tokens (a binary search:
    counting every prefix of a long run would tokenize it hundreds of times)."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


#: Where a small model that has answered from passages goes on to write the next user turn
#: itself ("Question: <the question again>", "Passages: ..."), or a passage of its own in the
#: prompt's layout ("\n[2] (core.html) ServerTokens Directive ..." after the answer "Full",
#: seen on Apache's manual): the answer is over there. Answers cite inline ("... [1]"), never
#: at the start of a line followed by a file name.
NEXT_TURN = ("\nQuestion:", "\nPassages:", *(f"\n[{n}] (" for n in range(1, 10)))


def user_message(question: str, passages: list[Passage]) -> str:
    """The final user turn: numbered passages (if any), then the question.

    Tried and dropped: the question before the passages as well as after them, so a causal
    model reads the passage knowing what it looks for ("query-aware contextualization", Liu et
    al. 2023). Over the three development sets (170 questions, 135M model) rag answered 110
    against 112, and readers trained on that prompt 123 (37 / 50 / 36) against 124 (35 / 55 /
    34), with the answer in the first 25 words for 89 against 95.
    """
    if not passages:
        return question
    repeated = [p.n for p in passages if p.repeated]
    fresh = [p for p in passages if not p.repeated]
    lines = []
    if repeated:
        word = "Passage" if len(repeated) == 1 else "Passages"
        lines.append(f"{word} {_numbers(repeated)} above" + (", and:" if fresh else "."))
    elif fresh:
        lines.append("Passages:")
    for p in fresh:
        lines.append(f"[{p.n}] ({p.label()}) {p.focused or p.text}")
    lines.append("")
    lines.append(f"Question: {question}")
    return "\n".join(lines)


def build_messages(system: str, history: list[HistoryTurn], question: str,
                   passages: list[Passage]) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}]
    for turn in history:
        messages.append({"role": "user", "content": turn.user_message})
        messages.append({"role": "assistant", "content": turn.answer})
    messages.append({"role": "user", "content": user_message(question, passages)})
    return messages


@dataclass
class FittedPrompt:
    messages: list[dict[str, str]]
    tokens: list[int]
    stop: list[str]
    passages: list[Passage]
    history: list[HistoryTurn]
    user_message: str
    dropped_passages: int = 0
    dropped_turns: int = 0


def fit(render: Callable[[list[dict[str, str]]], tuple[str, list[int], list[str]]],
        n_ctx: int, answer_tokens: int, system: str, history: list[HistoryTurn], question: str,
        passages: list[Passage]) -> FittedPrompt:
    """Drop lowest-ranked passages, then oldest turns, until prompt + answer fit ``n_ctx``."""
    limit = n_ctx - answer_tokens
    passages, history = list(passages), list(history)
    dropped_p = dropped_t = 0
    while True:
        messages = build_messages(system, history, question, passages)
        _, tokens, stop = render(messages)
        if len(tokens) <= limit:
            if passages:  # the model writing the next user turn itself: the answer is over
                stop = [*stop, *(s for s in NEXT_TURN if s not in stop)]
            return FittedPrompt(messages, tokens, stop, passages, history,
                                messages[-1]["content"], dropped_p, dropped_t)
        if len(passages) > 1 or (passages and not history):
            passages.pop()
            dropped_p += 1
        elif history:
            history.pop(0)
            dropped_t += 1
        elif passages:
            passages.pop()
            dropped_p += 1
        else:
            raise LLMError(f"the question is too long for the model's context ({len(tokens)} "
                           f"tokens; at most {limit} fit with room for the answer)")


_CITATION = re.compile(r"\[(\d+(?:\s*[,;-]\s*\d+)*)\]")


def cited_numbers(text: str, count: int | Collection[int]) -> list[int]:
    """Passage numbers the answer cites ("[1]", "[1, 3]", "[2-3]"), in order.

    ``count``: the passages given, as a count (numbers 1..count) or as the set of their numbers
    (a follow-up's passages keep the numbers of earlier turns).
    """
    valid = range(1, count + 1) if isinstance(count, int) else set(count)
    found: list[int] = []
    for group in _CITATION.findall(text):
        for part in re.split(r"\s*[,;]\s*", group):
            if "-" in part:
                a, _, b = part.partition("-")
                nums = range(int(a), int(b) + 1) if a.isdigit() and b.isdigit() else []
            else:
                nums = [int(part)] if part.isdigit() else []
            for n in nums:
                if n in valid and n not in found:
                    found.append(n)
    return found


#: How a looping answer is told from one that says a phrase again (both seen on real manuals with
#: the bundled 135M model, which copies its passage): the end of the answer repeats earlier text
#: for at least LOOP_RUN characters, or repeats a piece shorter than LOOP_CHARS back to back
#: ("3.7.3.7, 3.7.3.7, ..."). A run shorter than LOOP_RUN is often a re-used noun phrase ("the
#: maximum number of attached databases") or a loop the model leaves with a new sentence that
#: holds the answer (on the development set, cutting at 48 or 160 repeated characters lost 3 or 2
#: of 38 correct answers).
LOOP_CHARS = 48
LOOP_RUN = 200
#: A streamed answer shows a repeat this long or longer only once it is followed by new text.
HOLD_CHARS = 16


def repeated_run(text: str, window: int = LOOP_CHARS) -> tuple[int, bool] | None:
    """The repeat ``text`` ends in: (where it starts, whether it is a loop), or None.

    The run is found from the nearest earlier copy of the last ``window`` characters, followed
    back while both copies agree. It is a loop when it is :data:`LOOP_RUN` characters long, or
    the copies sit back to back. A run of punctuation (a table rule) is not a repeat. A
    streamed answer holds back a run of :data:`HOLD_CHARS` or more that is not (yet) a loop:
    it shows it once the answer goes on with new text, and never when it turns out to loop.

    An end without a letter is also compared with each number masked: asked how to set a
    log-scaled axis from gnuplot's manual, the 135M model counted "1. 1.\n2. 2.\n3. 3.\n..."
    to its token limit, a loop no copy repeats exactly. Such a run is a loop only once it is
    :data:`LOOP_RUN` characters long: a short list of numbers ("10.0.0.1, 10.0.0.2, ...") is
    an answer.
    """
    run = _repeated_run(text, window)
    if run is None and not any(ch.isalpha() for ch in text[-window:]):
        masked, origin = [], []  # each number one "0"; where each masked character came from
        for m in _NUMBER_OR_CHAR.finditer(text):
            masked.append("0" if m.group()[0].isdigit() else m.group())
            origin.append(m.start())
        found = _repeated_run("".join(masked), window)
        if found is not None:
            run = (origin[found[0]], len(masked) - found[0] >= LOOP_RUN)
    return run


_NUMBER_OR_CHAR = re.compile(r"\d+|\D", re.DOTALL)


def _repeated_run(text: str, window: int) -> tuple[int, bool] | None:
    if len(text) <= window:
        return None
    tail = text[-window:]
    if sum(ch.isalnum() for ch in tail) < window // 4:
        return None
    earlier = text.rfind(tail, 0, len(text) - 1)
    if earlier < 0:
        return None
    end = len(text) - window
    back = 0
    while back < earlier and text[earlier - back - 1] == text[end - back - 1]:
        back += 1
    return end - back, window + back >= LOOP_RUN or end - earlier <= LOOP_CHARS


def repeat_start(text: str) -> int | None:
    """Where a looping ``text`` is cut (None: it does not loop): the first copy is kept, and
    the cut moves to a sentence end, forward when the loop began inside a new sentence (its
    start is new text), else where the loop begins; a list item's marker left on its own
    (a last line "2.") goes too."""
    run = repeated_run(text)
    if run is None or not run[1]:
        return None
    cut = run[0]
    head = text[:cut].rstrip()
    if not any(m.end() == len(head) for m in _CITED_SENTENCE_END.finditer(head)):
        after = _CITED_SENTENCE_END.search(text, cut)
        if after is not None:
            cut = after.end()
    marker = _DANGLING_MARKER.search(text[:cut].rstrip())  # "...\n2." whose item repeats
    return marker.start() if marker is not None else cut


#: A list item's marker left alone on the last line.
_DANGLING_MARKER = re.compile(r"(?:^|\n)[ \t]*(?:\d{1,3}[.)]|[-*\u2022])[ \t]*$")
#: The end of an answer's sentence, with the citation that may follow it ("... is 50. [1]").
_CITED_SENTENCE_END = re.compile(rf"[.!?](?:\s*{_CITATION.pattern})?(?=\s|$)")
