"""The data every loader produces and the chunker consumes.

A loader turns one file into a :class:`Document`: a list of pages, each a list of typed blocks.
"Page" is the unit a user cites: a PDF page, a slide, an EPUB chapter, a spreadsheet sheet; formats
without pages (Markdown, TXT, HTML, code, JSON, DOCX, ODT) produce a single page numbered 1.
Blocks keep the structure the chunker needs (headings start sections, paragraphs are the preferred
split points, tables and code are kept whole where they fit).

These are plain picklable dataclasses because loaders run in a child process (fault isolation)
and send their result back to the indexer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list", "table", "code"]

#: Separator placed between blocks when a page's text is assembled; chunk offsets count it.
BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Block:
    """One structural unit of text inside a page."""

    text: str
    kind: BlockKind = "paragraph"
    #: Heading level 1..6 for ``kind == "heading"``; 0 otherwise.
    level: int = 0


@dataclass
class Page:
    """One citable unit of a document."""

    #: 1-based number shown to the user ("page 3", "slide 3", "chapter 3", "sheet 3").
    number: int
    blocks: list[Block] = field(default_factory=list)
    #: Optional human label: a sheet name, a chapter title, a PDF page label like "iv".
    label: str | None = None

    @property
    def text(self) -> str:
        """The page's text: blocks joined by :data:`BLOCK_SEPARATOR` (chunk offsets index this)."""
        return BLOCK_SEPARATOR.join(b.text for b in self.blocks)


@dataclass
class Document:
    """One parsed file."""

    path: str
    #: Short format name: "pdf", "docx", "odt", "pptx", "xlsx", "csv", "epub", "html",
    #: "markdown", "rst", "text", "code", "json".
    format: str
    pages: list[Page] = field(default_factory=list)
    title: str | None = None
    #: Free-form, small, JSON-serialisable extras (author, language of a code file, sheet names...).
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """True when no page holds any non-whitespace text (an empty or image-only file)."""
        return not any(b.text.strip() for p in self.pages for b in p.blocks)


class LoadError(Exception):
    """A file that cannot be turned into text; ``str(err)`` is the one-line reason shown to users.

    Raised for encrypted, corrupt, truncated, empty, unsupported or binary files. Never raised for
    a bug: those surface as ordinary exceptions and the indexer reports them with their type.
    """
