"""EPUB via ebooklib: one Page per chapter, in spine (reading) order.

A book has no stable page numbers (they depend on the reader's font size), so the citable unit is
the chapter: "chapter 3" with the chapter title as the page label. Titles come from the table of
contents when it names the file, else from the chapter's first heading. Spine items with no text
(cover images, the navigation document) are left out so chapter numbers match what a reader sees.
Chapter HTML is parsed by the same helper as HTML files.
"""

from __future__ import annotations

import io
import posixpath
import warnings
import zipfile
from pathlib import Path
from posixpath import normpath
from typing import Any
from urllib.parse import unquote

from engine.ingest.document import Document, Page
from engine.ingest.loaders.common import clean_inline, library_errors
from engine.ingest.loaders.html import parse_html


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


def _with_missing_items(path: Path) -> io.BytesIO | None:
    """The book at ``path`` with an empty file for each manifest item its archive lacks, in
    memory; None when nothing is missing (or the book cannot be read this far).

    Books in the wild list files they do not hold (debmake-doc's EPUBs, as Debian ships them,
    list a logo the build left out), and ebooklib then refuses the whole book. A missing
    picture or font holds no text; a missing chapter is read as the empty chapter it is."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        with zipfile.ZipFile(path) as book:
            names = set(book.namelist())
            container = etree.fromstring(book.read("META-INF/container.xml"), parser)
            opf = next((r.get("full-path") for r in container.iter() if
                        isinstance(r.tag, str) and r.tag.endswith("rootfile")), None)
            if not opf or opf not in names:
                return None
            package = etree.fromstring(book.read(opf), parser)
            folder = posixpath.dirname(opf)
            missing = sorted({
                normpath(posixpath.join(folder, unquote(item.get("href") or "")))
                for item in package.iter() if isinstance(item, etree._Element)
                and isinstance(item.tag, str) and item.tag.endswith("}item")
                and item.get("href") and "://" not in item.get("href", "")} - names)
            if not missing:
                return None
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as repaired:
                for info in book.infolist():
                    data = book.read(info)
                    info.compress_type = zipfile.ZIP_STORED  # read once, from memory
                    repaired.writestr(info, data)
                for name in missing:
                    repaired.writestr(name, b"")
    except (zipfile.BadZipFile, OSError, KeyError, etree.XMLSyntaxError):
        return None
    out.seek(0)
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
            try:
                book = epub.read_epub(str(path), options={"ignore_ncx": True})
            except KeyError:  # ebooklib: "There is no item named ... in the archive"
                repaired = _with_missing_items(path)
                if repaired is None:
                    raise
                book = epub.read_epub(repaired, options={"ignore_ncx": True})
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
