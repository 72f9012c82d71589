"""Running headers, footers and page numbers: printed on every page, part of no sentence.

Why remove them: a PDF manual repeats its title at the top of each page and its page number at
the bottom ("Shared MIME-info Database" ... "4"), or a chapter title with the number ("Chapter
4: Function reference 9"). Kept, they open or close every chunk that touches a page boundary,
cost prompt tokens, pull searches for the title words towards arbitrary pages, and the model
quotes them ("… 3.7.3 Chapter 4: Function reference 9 …"). The page a passage is on is known
anyway: citations carry it.

What counts, on the first or last block of a page (a short single line), two rules:

* **numbered**: it holds, at an edge of the line or after "page", a number that runs with the
  page (printed number = page + a fixed offset: front matter shifts the count) on at least
  :data:`MIN_PAGES` pages and a third of the pages. The text around the number may change
  (each chapter its own header);
* **repeated**: the same line (case and spacing aside) at the same end of at least
  :data:`MIN_PAGES` pages and :data:`REPEAT_SHARE` of them. Digits must match too: a line
  that differs only in its numbers from page to page is a template of the text ("Signal 4 is
  shown for 28 seconds."), not a header, unless its number is the page's (first rule).

A page is checked again from each end while lines go, so a title line, a page number line and
a draft stamp above them all go (a TUGboat preprint stacks three), up to :data:`MAX_LINES` per end.
"""

from __future__ import annotations

import re
from collections import Counter

from engine.ingest.document import Page

MIN_PAGES = 3
REPEAT_SHARE = 0.4
NUMBERED_SHARE = 1 / 3
#: Longest block that can be page furniture (a header is a line, not a paragraph).
MAX_CHARS = 90
#: Most running lines taken from one end of a page.
MAX_LINES = 4
_PAGE_NUMBER = re.compile(r"^\W*(\d{1,5})\b|\b(?<![\d.,])(\d{1,5})\W*$|\bpage\s+(\d{1,5})\b",
                          re.IGNORECASE)


def _candidate(page: Page, end: int) -> str | None:
    """The page's first (``end`` 0) or last (``end`` -1) block's text, when it is short enough
    and on one line."""
    if not page.blocks:
        return None
    text = page.blocks[end].text.strip()
    return text if text and len(text) <= MAX_CHARS and "\n" not in text else None


def _offsets(text: str, page: int) -> set[int]:
    """How far each printed page number candidate of ``text`` is from the page's own number.
    A page number sits at an edge of its line ("9", "Chapter 4: Function reference 9",
    "- 9 -") or follows "page" ("Page 9 of 36"); a number inside a sentence is not one."""
    return {int(n) - page for match in _PAGE_NUMBER.findall(text) for n in match if n}


def _shape(text: str) -> str:
    return " ".join(text.lower().split())


def _furniture(pages: list[Page], end: int) -> set[int]:
    """Indexes of the pages whose block at ``end`` is a running header/footer."""
    found = {i: text for i, p in enumerate(pages) if (text := _candidate(p, end)) is not None}
    if len(found) < MIN_PAGES:
        return set()
    drop: set[int] = set()
    offsets = Counter(o for i, text in found.items() for o in _offsets(text, pages[i].number))
    if offsets:
        offset, count = offsets.most_common(1)[0]
        if count >= max(MIN_PAGES, NUMBERED_SHARE * len(pages)):
            drop |= {i for i, text in found.items() if offset in _offsets(text, pages[i].number)}
    shapes = Counter(_shape(text) for text in found.values())
    common = {s for s, n in shapes.items() if n >= max(MIN_PAGES, REPEAT_SHARE * len(pages))}
    drop |= {i for i, text in found.items() if _shape(text) in common}
    # The title page sets the running title as its heading: a block unlike the header's other
    # copies (another kind) is kept.
    kinds = Counter(pages[i].blocks[end].kind for i in drop)
    usual = kinds.most_common(1)[0][0] if kinds else ""
    return {i for i in drop if pages[i].blocks[end].kind == usual}


def strip_running_lines(pages: list[Page]) -> int:
    """Remove running headers, footers and page numbers from ``pages`` in place; returns how
    many blocks went. Documents of fewer than :data:`MIN_PAGES` pages are left alone."""
    removed = 0
    for end in (0, -1):
        for _ in range(MAX_LINES):
            drop = _furniture(pages, end)
            for i in drop:
                pages[i].blocks.pop(end)
            removed += len(drop)
            if not drop:
                break
    return removed
