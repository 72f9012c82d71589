"""Pages and paragraph kinds of a Hangul document, shared by its two formats (.hwp, .hwpx).

Both keep the layout Hangul computed when it saved: each line's vertical and horizontal position
on its page. A line above the last one starts a new page, unless it moved right (the next column
of the same page), so a paragraph is cited on the page it is printed on without laying the
document out again. Headings are paragraphs in Hangul's outline styles ("개요 1", "Outline 1")
or with outline numbering, lists its bulleted and numbered paragraphs; footnotes follow the
page that refers to them, numbered on through the document, hidden comments the last page.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from engine.ingest.document import Page
from engine.ingest.loaders.common import clean_inline
from engine.ingest.loaders.word import Builder

#: A paragraph in an outline style longer than this is numbered body text, not a heading.
MAX_HEADING_CHARS = 150
#: A table of contents' line: its entry, a tab (and leader), the page number. Never a heading,
#: though contents entries are often in outline styles.
_CONTENTS_LINE = re.compile(r"\t[\s.·…]*\d{1,4}\s*$")
_OUTLINE_STYLE = re.compile(r"^(?:outline|개요)\s*(\d)$", re.IGNORECASE)


def outline_level(*names: str) -> int | None:
    """The heading level a style's local or English name gives ("개요 2", "Outline 2": 2)."""
    for name in names:
        if match := _OUTLINE_STYLE.match(name.strip()):
            return int(match[1])
    return None


class Pages:
    """Collects a document's paragraphs into the pages Hangul printed them on."""

    def __init__(self) -> None:
        self.builders: list[Builder] = [Builder()]
        self.notes: list[list[str]] = [[]]
        self.comments: list[str] = []
        self._line: tuple[int, int] | None = None  # (vertical, horizontal) of the last line

    @property
    def builder(self) -> Builder:
        """The blocks of the current page."""
        return self.builders[-1]

    def cuts(self, lines: Iterable[tuple[int, int, int]]) -> list[int]:
        """Text positions where a new page starts among a body paragraph's lines, given as
        (text position, vertical position, horizontal position)."""
        out = []
        for text_pos, vert, horz in lines:
            if self._line is not None:
                last_vert, last_horz = self._line
                if vert < last_vert and horz <= last_horz:
                    out.append(text_pos)
            self._line = (vert, horz)
        return out

    def paragraph(self, pieces: list[tuple[int, str]], cuts: list[int], *,
                  heading: int | None = None, item: int | None = None) -> None:
        """A body paragraph given as (text position, text) pieces: the text before the first
        cut ends the current page, each later piece starts a page."""
        bounds: list[int | None] = [0, *cuts, None]
        for n, (a, b) in enumerate(itertools.pairwise(bounds)):
            if n:
                self.builders.append(Builder())
                self.notes.append([])
            text = "".join(t for p, t in pieces if p >= (a or 0) and (b is None or p < b))
            self.emit(text, heading=heading, item=item)

    def emit(self, text: str, *, heading: int | None = None, item: int | None = None) -> None:
        """One paragraph's text into the current page: a heading (at ``heading``'s level; not
        when long, of several lines, or a contents line), a list item (at depth ``item``),
        else a paragraph."""
        stripped = text.strip()
        if not stripped:
            return
        if (heading is not None and len(stripped) <= MAX_HEADING_CHARS and "\n" not in stripped
                and not _CONTENTS_LINE.search(text)):
            self.builder.heading(text, heading)
        elif item is not None:
            self.builder.item(item, clean_inline(text))
        else:
            self.builder.paragraph(text)

    def finish(self) -> list[Page]:
        """The pages with text, numbered as printed (a page of only a picture still counts)."""
        first_note = 1
        for builder, notes in zip(self.builders, self.notes, strict=True):
            first_note = builder.notes(notes, first=first_note)
        if self.comments:
            self.builders[-1].comments(self.comments)
        pages = [Page(number=n, blocks=b.finish()) for n, b in enumerate(self.builders, start=1)]
        return [p for p in pages if p.blocks]
