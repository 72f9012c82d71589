"""Document -> Chunks: structure-aware, measured in the embedder's own tokens.

Why this shape:

* Chunks are measured with the embedder's tokenizer (:mod:`engine.ingest.tokens`), and every chunk
  is re-counted on its own before it is emitted, so no chunk is ever truncated by the embedder.
* Headings start sections and a chunk never spans two sections: retrieval then returns passages
  about one topic, and each chunk carries its heading path ("Safety > Cold weather") for the prompt
  and the citation. A heading that has no text of its own before a deeper heading ("Safety" right
  above "Cold weather") is kept with its subsection instead of becoming a useless one-line chunk.
* Blocks are packed greedily; only a block too big for one chunk is split, preferring blank lines,
  then sentence (or line, for code/table/list) ends, then word boundaries, never mid-word unless a
  single word is longer than a chunk. Consecutive chunks of one section overlap by about
  ``overlap_tokens`` so a fact that straddles a cut is still whole in one chunk.
* Speed: each block is tokenized once; cut points are chosen by token index from precomputed
  per-token "break scores". The only other tokenizer call is the one count per emitted chunk.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from engine.cjk_terms import CJK_CLOSERS, CJK_STOPS, SPACED_STOPS
from engine.ingest.document import BLOCK_SEPARATOR, Block, Document
from engine.ingest.tokens import TokenCounter

# Break scores: how good it is to cut right before a token. Higher is better.
_MID_WORD = 0  # inside one word ("play|ing"), or inside one character's byte tokens
_JOINED = 1  # between words with no space: punctuation ("foo|-bar"), CJK characters
_SPACE = 2  # at whitespace
_SENTENCE = 3  # after a sentence end; or a line break in code, tables and lists
_BLANK_LINE = 4  # a blank line inside a block (a paragraph break a loader did not split)
_BLOCK = 5  # between blocks

_MAX_TITLE = 100  # characters of one heading kept in a heading path

_LINE_KINDS = frozenset({"code", "table", "list"})
_PROSE_KINDS = frozenset({"paragraph", "list", "heading"})
_SENTENCE_END = re.compile(
    rf"[.!?\u2026\u203c\u2047{SPACED_STOPS}][\"'\u201d\u2019\u00bb)\]]*\s"  # "end." + space
    rf"|[{CJK_STOPS}][{CJK_CLOSERS}]*"  # CJK ends need no space
)


@dataclass(frozen=True)
class Chunk:
    """One passage to embed, index and cite."""

    text: str  # exactly page.text[start:end]
    page: int  # Page.number
    start: int  # character offset into page.text
    end: int  # character offset into page.text, exclusive
    #: Heading path of the chunk's text, e.g. "Safety > Cold weather": the open headings, nearest
    #: levels, after the last heading that starts before ``end`` (headings at the start of a
    #: chunk count, so a chunk beginning "Safety / Cold weather / ..." gets both); "" if none.
    heading: str
    content_hash: str  # sha256 hex of text (the index upserts by it)
    ordinal: int  # 0.. position in the document
    tokens: int  # content tokens of text, by the embedder's tokenizer


@dataclass
class _Section:
    """Blocks of one page between two section starts, with the heading paths inside it."""

    #: ``(char offset in page text, block)``.
    blocks: list[tuple[int, Block]] = field(default_factory=list)
    #: ``(char offset, heading path in effect from there)``, increasing; first entry at offset -1.
    paths: list[tuple[int, str]] = field(default_factory=list)
    has_body: bool = False
    last_level: int = 0


def chunk_document(
    doc: Document, counter: TokenCounter, *, max_tokens: int = 180, overlap_tokens: int = 24
) -> list[Chunk]:
    """Split ``doc`` into chunks of at most ``max_tokens`` content tokens each (see module doc).

    ``max_tokens`` should not exceed :func:`engine.ingest.tokens.max_content_tokens` of the
    embedder that ``counter`` belongs to.
    """
    if max_tokens < 16:
        raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
    if overlap_tokens < 0:
        raise ValueError(f"overlap_tokens must be >= 0, got {overlap_tokens}")
    if overlap_tokens >= max_tokens:
        raise ValueError(
            f"overlap_tokens ({overlap_tokens}) must be smaller than max_tokens ({max_tokens})"
        )
    chunks: list[Chunk] = []
    stack: list[tuple[int, str]] = []  # open headings: (level, title), outermost first
    for page in doc.pages:
        page_text = page.text
        for section in _sections(page.blocks, stack):
            packer = _SectionPacker(section, page_text, counter, max_tokens, overlap_tokens)
            for start, end, tokens in packer.spans():
                text = page_text[start:end]
                # The path of the last heading that starts before the chunk's end: for a chunk
                # that starts with "Safety" / "Cold weather" headings that is the path of its body.
                paths = section.paths
                i = bisect_left(paths, end, key=lambda p: p[0]) - 1
                chunks.append(
                    Chunk(
                        text=text,
                        page=page.number,
                        start=start,
                        end=end,
                        heading=paths[i][1],
                        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        ordinal=len(chunks),
                        tokens=tokens,
                    )
                )
    return chunks


def _sections(blocks: list[Block], stack: list[tuple[int, str]]) -> list[_Section]:
    """Group a page's blocks into sections, updating the document-wide heading ``stack``.

    A heading starts a new section unless the current section is only headings so far and this
    heading is deeper than the last one (then it is that heading's first subsection).
    """
    sections: list[_Section] = []
    cur: _Section | None = None
    pos = 0
    for block in blocks:
        start = pos
        pos += len(block.text) + len(BLOCK_SEPARATOR)
        title = " ".join(block.text.split())
        if block.kind == "heading" and title:
            level = min(max(block.level, 1), 6)
            if cur is None or cur.has_body or level <= cur.last_level:
                cur = _Section(paths=[(-1, _path(stack))])
                sections.append(cur)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, _short(title)))
            cur.paths.append((start, _path(stack)))
            cur.last_level = level
        else:
            if cur is None:
                cur = _Section(paths=[(-1, _path(stack))])
                sections.append(cur)
            cur.has_body = cur.has_body or bool(title)
        cur.blocks.append((start, block))
    return sections


def _short(title: str) -> str:
    """A heading as shown in paths: a loader that mistakes a paragraph for a heading must not
    put the paragraph into every chunk's metadata (and every prompt that cites it)."""
    return title if len(title) <= _MAX_TITLE else title[: _MAX_TITLE - 1].rstrip() + "\u2026"


def _path(stack: list[tuple[int, str]]) -> str:
    return " > ".join(title for _, title in stack)


def _score_block(text: str, kind: str, offsets: list[tuple[int, int]], word_ids: list) -> bytearray:
    """Break score before each token of one block (index 0 is left for the caller to set)."""
    n = len(offsets)
    scores = bytearray(n)
    lines = kind in _LINE_KINDS
    prev_end = offsets[0][1]
    prev_word = word_ids[0]
    for i in range(1, n):
        start, end = offsets[i]
        word = word_ids[i]
        if start > prev_end:
            newlines = text.count("\n", prev_end, start)
            if newlines >= 2 and text[prev_end:start].isspace():
                scores[i] = _BLANK_LINE
            elif newlines and lines:
                scores[i] = _SENTENCE
            else:
                scores[i] = _SPACE
        elif start == prev_end and (word is None or word != prev_word):
            scores[i] = _JOINED
        prev_end = end
        prev_word = word
    if kind in _PROSE_KINDS:
        starts = [o[0] for o in offsets]
        for m in _SENTENCE_END.finditer(text):
            i = bisect_left(starts, m.end())
            if 0 < i < n and scores[i] in (_JOINED, _SPACE):
                scores[i] = _SENTENCE
    return scores


class _SectionPacker:
    """Chooses chunk spans for one section, working on token indices.

    Token ``i`` of the section starts at character ``starts[i]`` of the page; a cut "at i" ends a
    chunk right before token ``i``. Character spans are tiled (a chunk ending at cut ``i`` ends at
    ``starts[i]``, the next fresh text starts there) so text between tokens that the tokenizer
    drops, like zero-width characters, is still covered by some chunk.
    """

    def __init__(
        self,
        section: _Section,
        page_text: str,
        counter: TokenCounter,
        max_tokens: int,
        overlap: int,
    ) -> None:
        self.page_text = page_text
        self.counter = counter
        self.max = max_tokens
        self.overlap = overlap
        self.starts: list[int] = []
        self.scores = bytearray()
        self.bounds: list[int] = []  # first token of each block but the first, increasing
        #: first token of each block -> (its token length, whether it is code or a table)
        self.block_at: dict[int, tuple[int, bool]] = {}
        self.heading_end = 0  # tokens of the section's leading headings
        first_start, last_block = section.blocks[0][0], section.blocks[-1]
        self.char_start = first_start
        self.char_end = last_block[0] + len(last_block[1].text)
        for base, block in section.blocks:
            toks = counter.tokens(block.text)
            if not toks.offsets:
                continue
            first = len(self.starts)
            scores = _score_block(block.text, block.kind, toks.offsets, toks.word_ids)
            if first:
                scores[0] = _BLOCK
                self.bounds.append(first)
            self.scores += scores
            self.starts += [s + base for s, _ in toks.offsets]
            self.block_at[first] = (len(scores), block.kind in ("code", "table"))
            if block.kind == "heading" and block.text.strip():
                self.heading_end = len(self.starts)

    def spans(self) -> list[tuple[int, int, int]]:
        """``(char start, char end, token count)`` of each chunk, trimmed, in order."""
        n = len(self.starts)
        out: list[tuple[int, int, int]] = []
        s = f = 0  # chunk start (overlap included) and first fresh token
        while f < n:
            c = n if s + self.max >= n else self._cut(s, f, s + self.max)
            s, c, span = self._measured(s, f, c)
            if span is not None:
                out.append(span)
            if c >= n:
                break
            s, f = self._next_start(s, c), c
        return out

    def _cut(self, s: int, f: int, hi: int) -> int:
        """Where to end the chunk that starts at token ``s`` (fresh from ``f``), cut <= ``hi``."""
        j = bisect_right(self.bounds, hi) - 1
        if j >= 0 and self.bounds[j] > f:
            b = self.bounds[j]  # greedy packing: the last block start that still fits
            length, keep_whole = self.block_at[b]
            if b > self.heading_end:
                # Do not leave a few tokens alone when the next block must be split anyway.
                if b - f >= self.max // 4 or length <= self.max:
                    return b
            elif b == self.heading_end and keep_whole and length <= self.max:
                return b  # headings alone, so the table or code below them stays whole
        lo = max(f + 1, s + (hi - s) // 2)
        # Best break in the back half of the window; max() keeps the first (= latest) of ties.
        best = max(range(hi, lo - 1, -1), key=self.scores.__getitem__)
        if self.scores[best] < _SPACE and lo > f + 1:
            # Only mid-word cuts back there (a very long word): a shorter chunk is better.
            earlier = max(range(lo - 1, f, -1), key=self.scores.__getitem__)
            if self.scores[earlier] > self.scores[best]:
                best = earlier
        return best

    def _next_start(self, prev_s: int, f: int) -> int:
        """Start of the chunk after a cut at ``f``: ~``overlap`` tokens back, at a good break."""
        if not self.overlap:
            return f
        target = f - self.overlap
        lo = max(prev_s + 1, target - self.overlap // 2, f - self.max + 1)
        hi = min(f - 1, target + self.overlap // 2)
        block = self.block_at.get(f)
        if block is not None and block[0] <= self.max:
            lo = max(lo, f + block[0] - self.max)  # shorten the overlap to keep that block whole
        best, best_key = f, (0, 0)
        for i in range(lo, hi + 1):
            score = self.scores[i]
            if score >= _SPACE and (score, -abs(i - target)) > best_key:
                best, best_key = i, (score, -abs(i - target))
        return best

    def _char(self, i: int) -> int:
        if i <= 0:
            return self.char_start
        if i >= len(self.starts):
            return self.char_end
        return self.starts[i]

    def _measured(self, s: int, f: int, c: int) -> tuple[int, int, tuple[int, int, int] | None]:
        """Trim the span [s, c) and count it alone; shrink it in the rare case that the text
        tokenizes to more tokens on its own than in context (a cut inside a word can do that)."""
        while True:
            a, b = self._char(s), self._char(c)
            text = self.page_text[a:b]
            stripped = text.strip()
            if not stripped:
                return s, c, None
            count = self.counter.count(stripped)
            if count <= self.max:
                a += len(text) - len(text.lstrip())
                return s, c, (a, a + len(stripped), count)
            excess = count - self.max
            if c - excess > f:
                lo = max(f + 1, c - excess - 8)
                c = max(range(c - excess, lo - 1, -1), key=self.scores.__getitem__)
            elif s < f:
                s = min(f, s + excess)
            elif c > f + 1:
                c -= 1
            else:
                raise RuntimeError(f"one token counts as {count} tokens on its own: {stripped!r}")
