"""FictionBook (.fb2) e-books: one Page per chapter, like EPUB.

FictionBook 2 is one XML file: the book's description (title, authors, annotation), one or more
bodies of nested sections, and pictures as base64 ``<binary>`` elements. It is how e-books are
shared across Russia and Eastern Europe (and what FBReader ships its help in). A book has no
stable page numbers, so the citable unit is the chapter, as for EPUB: each top-level section of
the main body is a page labelled with its title; nested sections' titles are headings one level
down per depth, subtitles a level below their section's. Poems keep a line per verse, tables
read as labelled rows, epigraphs and citations as paragraphs. A body of notes (``name="notes"``
or "comments") is read after the text under "Notes" ("Note 1: ..."), and the references to it are
not read mid-sentence (as Word's footnotes: :meth:`engine.ingest.loaders.word.Builder.notes`).
The annotation (the blurb) starts the first page. Pictures are not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, LoadError, Page
from engine.ingest.loaders.common import (
    clean_inline,
    library_errors,
    local_name,
    parse_xml,
    table_blocks,
)

_NS = "{http://www.gribuser.ru/xml/fictionbook/2.0}"
_XLINK_TYPE = "type"
#: Bodies that hold notes, not the text (the FictionBook 2.1 schema's names).
_NOTE_BODIES = ("notes", "comments", "footnotes")
#: Block-level elements read as paragraphs of their own.
_PARAGRAPHS = ("p", "text-author", "v")


def _inline(element: Any) -> str:
    """The text of ``element`` and its inline children (emphasis, links, code...), without note
    references (``<a type="note">``) and pictures."""
    out = [element.text or ""]
    for child in element:
        name = local_name(child)
        note_mark = name == "a" and child.get(_XLINK_TYPE) == "note"
        if name and name != "image" and not note_mark:
            out.append(_inline(child))
        out.append(child.tail or "")
    return clean_inline("".join(out))


class _Reader:
    """Walks a body's sections into pages of blocks."""

    def __init__(self) -> None:
        self.pages: list[tuple[str | None, list[Block]]] = []

    def body(self, body: Any) -> None:
        lead: list[Block] = []
        for child in body:
            name = local_name(child)
            if name == "section":
                blocks: list[Block] = []
                title = self._section(child, 1, blocks)
                self.pages.append((title, blocks))
            elif name == "title":
                text = self._title(child)
                if text:
                    lead.append(Block(text, "heading", 1))
            else:
                self._block(child, 1, lead)
        if any(b.text for b in lead):
            self.pages.insert(0, (None, lead))

    def _title(self, title: Any) -> str:
        return clean_inline(" ".join(_inline(p) for p in title if local_name(p) == "p"))

    def _section(self, section: Any, depth: int, blocks: list[Block]) -> str | None:
        """Read ``section`` into ``blocks``; returns its title."""
        title = None
        for child in section:
            name = local_name(child)
            if name == "title":
                title = self._title(child) or None
                if title:
                    blocks.append(Block(title, "heading", min(depth, 6)))
            elif name == "section":
                self._section(child, depth + 1, blocks)
            else:
                self._block(child, depth, blocks)
        return title

    def _block(self, element: Any, depth: int, blocks: list[Block]) -> None:
        name = local_name(element)
        if name in _PARAGRAPHS:
            text = _inline(element)
            if text:
                blocks.append(Block(text))
        elif name == "subtitle":
            text = _inline(element)
            if text:
                blocks.append(Block(text, "heading", min(depth + 1, 6)))
        elif name == "poem":
            for part in element:
                if local_name(part) == "stanza":
                    lines = [_inline(v) for v in part if local_name(v) == "v"]
                    if any(lines):
                        blocks.append(Block("\n".join(line for line in lines if line)))
                elif local_name(part) == "title":
                    text = self._title(part)
                    if text:
                        blocks.append(Block(text, "heading", min(depth + 1, 6)))
                else:
                    self._block(part, depth, blocks)
        elif name in ("cite", "epigraph", "annotation"):
            for part in element:
                self._block(part, depth, blocks)
        elif name == "table":
            rows = [[_inline(cell) for cell in row if local_name(cell) in ("td", "th")]
                    for row in element if local_name(row) == "tr"]
            header = bool(len(element) and all(local_name(c) == "th" for c in element[0]))
            blocks.extend(table_blocks(rows, labelled=False, header=header and len(rows) > 1))


def _notes(body: Any) -> list[str]:
    """The text of each note of a notes body, in order."""
    out = []
    for section in body.iter(_NS + "section"):
        texts = [_inline(p) for p in section.iter(_NS + "p")
                 if p.getparent() is not None and local_name(p.getparent()) != "title"]
        text = clean_inline(" ".join(t for t in texts if t))
        if text:
            out.append(text)
    return out


def _description(root: Any) -> tuple[str, str, list[Block]]:
    """(title, authors, annotation blocks) from the book's ``title-info``."""
    info = root.find(f"{_NS}description/{_NS}title-info")
    if info is None:
        return "", "", []
    title = clean_inline(info.findtext(_NS + "book-title") or "")
    authors = []
    for author in info.findall(_NS + "author"):
        parts = [author.findtext(_NS + n) or "" for n in ("first-name", "middle-name",
                                                          "last-name")]
        name = clean_inline(" ".join(parts)) or clean_inline(author.findtext(_NS + "nickname")
                                                             or "")
        if name:
            authors.append(name)
    blocks: list[Block] = []
    annotation = info.find(_NS + "annotation")
    if annotation is not None:
        _Reader()._block(annotation, 1, blocks)
    return title, ", ".join(authors), blocks


def load_fb2(path: Path) -> Document:
    """FictionBook 2 -> one Page per top-level section of the main body (label = its title)."""
    with library_errors("FictionBook"):
        # recover: books in the wild carry undeclared entities and stray ampersands
        root = parse_xml(path, recover=True)
    if root is None or local_name(root) != "FictionBook":
        raise LoadError("not a FictionBook e-book (no <FictionBook> root)")
    title, authors, annotation = _description(root)
    reader, notes = _Reader(), []
    for body in root.iterchildren(_NS + "body"):
        if (body.get("name") or "").lower() in _NOTE_BODIES:
            notes += _notes(body)
        else:
            reader.body(body)
    chapters = reader.pages or [(None, [])]
    chapters[0] = (chapters[0][0], annotation + chapters[0][1])
    if notes:
        chapters.append(("Notes", [Block("Notes", "heading", 1)] + [
            Block(f"Note {n}: {text}") for n, text in enumerate(notes, 1)]))
    pages = [Page(number=n, blocks=blocks, label=label)
             for n, (label, blocks) in enumerate((c for c in chapters if c[1]), 1)]
    return Document(path=str(path), format="fb2", pages=pages, title=title or None,
                    metadata={"author": authors} if authors else {})
