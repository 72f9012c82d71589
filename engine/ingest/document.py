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

import os
import traceback
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


@dataclass(frozen=True)
class Unread:
    """A part of a file that was not read (an attachment, an archive member, a message of a
    mailbox) and why. The index run reports it as it reports a file on disk: a user learns
    that the encrypted PDF inside ``backup.zip`` was left out, not only that the zip was read."""

    key: str  # its name in the document that holds it: the end of its part path
    reason: str  # one line
    #: no document in it (an unsupported type, a picture without words): reported as skipped,
    #: not failed, as such a file on disk is
    skipped: bool = False


@dataclass
class Document:
    """One parsed file."""

    path: str
    #: Short format name ("pdf", "docx", "markdown", "eml", "zip", ...): the values of
    #: :data:`engine.ingest.loaders.formats.SUPPORTED_EXTENSIONS`.
    format: str
    pages: list[Page] = field(default_factory=list)
    title: str | None = None
    #: Free-form, small, JSON-serialisable extras (author, language of a code file, sheet names...).
    metadata: dict[str, str] = field(default_factory=dict)
    #: What read the file ("python-docx", "PDF text layer (pypdfium2) + OCR on 2 of 5 pages"...),
    #: shown per file so a user knows why its text looks the way it does.
    loader: str = ""
    #: Documents inside this one, each indexed and cited on its own: the messages of a mailbox,
    #: the attachments of a message. Their ``path`` is :func:`part_path` of this one's.
    parts: list[Document] = field(default_factory=list)
    #: Parts that were not read, and why (see :func:`unread_parts`).
    unread: list[Unread] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when neither this document nor any part holds non-whitespace text."""
        return not any(b.text.strip() for p in self.pages for b in p.blocks) and all(
            part.is_empty for part in self.parts)

    def walk(self) -> list[Document]:
        """This document and every part, parents before their parts."""
        out = [self]
        for part in self.parts:
            out += part.walk()
        return out


#: Separates a file's path from a part inside it ("/mail/inbox.mbox//3//report.pdf"). A
#: normalised absolute path never holds "//", so a part's file is always known.
PART_SEPARATOR = "//"


def part_path(parent: str, key: str) -> str:
    """The path of part ``key`` (a message number, an attachment's file name) of ``parent``."""
    clean = key.replace("/", "_").replace("\x00", "").strip() or "part"
    return f"{parent}{PART_SEPARATOR}{clean}"


def rebase(doc: Document, path: str) -> Document:
    """Give ``doc`` (loaded from a temporary file, say an attachment) the path ``path``; its
    parts move along with it. Returns ``doc``."""
    old = doc.path
    doc.path = path
    for part in doc.parts:
        rebase(part, path + part.path[len(old):] if part.path.startswith(old) else
               part_path(path, os.path.basename(part.path)))
    return doc


def unread_parts(doc: Document) -> list[tuple[str, str, bool]]:
    """(part path, reason, skipped) of every part of ``doc``, at any depth, not read."""
    return [(part_path(d.path, u.key), u.reason, u.skipped) for d in doc.walk() for u in d.unread]


def container_of(path: str) -> str:
    """The file on disk that holds ``path`` (``path`` itself for an ordinary file)."""
    return path.split(PART_SEPARATOR, 1)[0] if PART_SEPARATOR in path[1:] else path


def display_path(path: str) -> str:
    """The whole path as a user reads it: "/mail/inbox.mbox › 3 › scan.png" for a part."""
    holder = container_of(path)
    return holder + path[len(holder):].replace(PART_SEPARATOR, " › ")


def display_name(path: str) -> str:
    """Short name for citations: "report.pdf", or "inbox.mbox › 3 › scan.png" for a part."""
    head, sep, tail = path.partition(PART_SEPARATOR) if PART_SEPARATOR in path[1:] else (
        path, "", "")
    name = os.path.basename(head)
    return f"{name} › {tail.replace(PART_SEPARATOR, ' › ')}" if sep else name


@dataclass(frozen=True)
class LoadOptions:
    """Settings that change how files are read (set per run from the user's settings)."""

    #: Read scanned PDF pages and images with OCR (slow: seconds per page).
    ocr: bool = True
    #: Tesseract language codes, joined with "+" ("eng", "eng+deu").
    ocr_languages: str = "eng"


class LoadError(Exception):
    """A file that cannot be turned into text; ``str(err)`` is the one-line reason shown to users.

    Raised for encrypted, corrupt, truncated, empty, unsupported or binary files. Never raised for
    a bug: those surface as ordinary exceptions and the indexer reports them with their type.
    """


def parser_error(exc: BaseException) -> str:
    """The one-line reason for an exception no loader expected (a library's or our own bug on a
    weird file): its type, message and where it was raised, so a report can be acted on."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({os.path.basename(frames[-1].filename)}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(exc).split())[:150]
    return f"parser error: {type(exc).__name__}: {message}{where}"


class NothingToRead(LoadError):
    """A file that is fine but holds no words (a photo, an icon, a drawing): reported as
    skipped, not failed. A folder of holiday photos is not a list of errors to fix."""
