"""EPUB via ebooklib: one Page per chapter, in spine (reading) order.

A book has no stable page numbers (they depend on the reader's font size), so the citable unit is
the chapter: "chapter 3" with the chapter title as the page label. Titles come from the table of
contents when it names the file, else from the chapter's first heading. Spine items with no text
(cover images, the navigation document) are left out so chapter numbers match what a reader sees.
Chapter HTML is parsed by the same helper as HTML files.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from posixpath import normpath
from typing import Any

from engine.ingest.document import Document, Page
from engine.ingest.loaders.common import clean_inline, library_errors
from engine.ingest.loaders.html import parse_html
from engine.ingest.loaders.zip_copy import read_repaired


def _toc_titles(toc: Any, out: dict[str, str]) -> dict[str, str]:
    """Map chapter file name -> first title the table of contents gives it (nested sections too)."""
    from ebooklib import epub

    for entry in toc:
        if isinstance(entry, tuple | list) and len(entry) == 2:
            section, children = entry
            if isinstance(section, epub.Section) and section.href:
                out.setdefault(normpath(section.href.split("#")[0]), clean_inline(section.title))
            _toc_titles(children, out)
        elif isinstance(entry, epub.Link) and entry.href:
            out.setdefault(normpath(entry.href.split("#")[0]), clean_inline(entry.title or ""))
    return out


def _metadata(book: Any, name: str) -> str:
    values = book.get_metadata("DC", name)
    return clean_inline(str(values[0][0])) if values and values[0][0] else ""


def load_epub(path: Path) -> Document:
    """EPUB -> one Page per non-empty spine document (label = chapter title)."""
    with library_errors("EPUB"):
        import ebooklib
        from ebooklib import epub

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = read_repaired(
                path, "epub", lambda source: epub.read_epub(source, options={"ignore_ncx": True}))
        titles = _toc_titles(book.toc, {})
        pages: list[Page] = []
        for idref, *_linear in book.spine:
            item = book.get_item_with_id(idref)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
                continue
            if isinstance(item, epub.EpubNav) or "nav" in (getattr(item, "properties", []) or []):
                continue
            html_title, blocks = parse_html(item.get_content())
            if not any(b.text.strip() for b in blocks):
                continue
            heading = next((b.text for b in blocks if b.kind == "heading"), None)
            label = titles.get(normpath(item.get_name())) or heading or html_title
            pages.append(Page(number=len(pages) + 1, blocks=blocks, label=label or None))
        title, author = _metadata(book, "title"), _metadata(book, "creator")
        language = _metadata(book, "language")
    metadata = {"chapters": str(len(pages))}
    if author:
        metadata["author"] = author
    if language:
        metadata["language"] = language
    return Document(
        path=str(path), format="epub", pages=pages, title=title or None, metadata=metadata
    )
