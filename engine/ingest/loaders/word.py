"""Word-processor documents: DOCX via python-docx, ODT via odfpy.

Neither format has stable pages (pagination happens at render time), so each file is one page.
What the chunker needs is structure: heading paragraphs (by style or outline level) become heading
blocks, consecutive list paragraphs one list block, tables table blocks whose rows carry their
column headers. Body content is walked in document order, including content controls (``w:sdt``)
and ODF sections, which the libraries' convenience iterators skip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, Page
from engine.ingest.loaders.common import (
    clean_inline,
    clean_text,
    first_heading,
    library_errors,
    list_block,
    split_long,
    table_blocks,
)

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


class _Builder:
    """Collects blocks, grouping consecutive list items into one list block."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._items: list[tuple[int, str]] = []

    def _flush_list(self) -> None:
        block = list_block(self._items)
        if block:
            self.blocks.extend(Block(p, "list") for p in split_long(block.text))
        self._items = []

    def heading(self, text: str, level: int) -> None:
        self._flush_list()
        text = clean_inline(text)
        if text:
            self.blocks.append(Block(text, "heading", max(1, min(level, 6))))

    def paragraph(self, text: str) -> None:
        self._flush_list()
        text = clean_text(text)
        if text:
            self.blocks.extend(Block(p) for p in split_long(text))

    def item(self, depth: int, text: str) -> None:
        if text.strip():
            self._items.append((depth, text))

    def table(self, rows: list[list[str]]) -> None:
        self._flush_list()
        self.blocks.extend(table_blocks(rows))

    def finish(self) -> list[Block]:
        self._flush_list()
        return self.blocks


# ------------------------------------------------------------------------------------ DOCX


def _docx_items(container: Any, parent: Any) -> Iterator[Any]:
    """Paragraphs and tables of a body/cell element in order, descending into content controls."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_items(content, parent)


def _docx_level(paragraph: Any) -> tuple[str, int]:
    """("heading", level) / ("list", depth) / ("paragraph", 0) for a python-docx Paragraph."""
    from docx.oxml.ns import qn

    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return "heading", 1
    if match := _HEADING_STYLE.match(name):
        return "heading", int(match.group(1))
    ppr = paragraph._p.pPr
    if ppr is not None:
        outline = ppr.find(qn("w:outlineLvl"))
        val = outline.get(qn("w:val"), "") if outline is not None else ""
        if val.isdecimal() and int(val) < 9:  # 9 means "body text"
            return "heading", int(val) + 1
        numpr = ppr.find(qn("w:numPr"))
        if numpr is not None:
            ilvl = numpr.find(qn("w:ilvl"))
            depth = ilvl.get(qn("w:val"), "0") if ilvl is not None else "0"
            return "list", int(depth) if depth.isdecimal() else 0
    if name.lower().startswith("list"):
        digits = re.findall(r"\d+", name)
        return "list", int(digits[0]) - 1 if digits else 0
    return "paragraph", 0


def _docx_cell_text(cell: Any) -> str:
    parts = [p.text for p in cell.paragraphs]
    for nested in cell.tables:
        parts.extend(" | ".join(c.text for c in row.cells) for row in nested.rows)
    return clean_inline(" ".join(parts))


def _docx_table(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a horizontally merged cell is repeated: keep it once
                continue
            seen.add(id(cell._tc))
            cells.append(_docx_cell_text(cell))
        rows.append(cells)
    return rows


def load_docx(path: Path) -> Document:
    """DOCX -> one page: headings by style/outline level, lists, tables, paragraphs."""
    with library_errors("DOCX"):
        import docx

        document = docx.Document(str(path))
        builder = _Builder()
        for item in _docx_items(document.element.body, document):
            if item.__class__.__name__ == "Table":
                builder.table(_docx_table(item))
                continue
            kind, level = _docx_level(item)
            if kind == "heading":
                builder.heading(item.text, level)
            elif kind == "list":
                builder.item(level, item.text)
            else:
                builder.paragraph(item.text)
        props = document.core_properties
        title, author = clean_inline(props.title or ""), clean_inline(props.author or "")
    return _single_page(path, "docx", builder.finish(), title, author)


# ------------------------------------------------------------------------------------- ODT

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
#: Elements whose text is not part of the running text (comments, deleted changes, footnotes).
_ODF_SKIP = {
    (_OFFICE_NS, "annotation"),
    (_TEXT_NS, "tracked-changes"),
    (_TEXT_NS, "note"),
    (_TEXT_NS, "sequence-decls"),
}


def _odf_text(element: Any) -> str:
    """Inline text of an ODF element, unwrapping ``text:s``, ``text:tab``, ``text:line-break``."""
    out: list[str] = []
    for child in element.childNodes:
        if child.nodeType == child.TEXT_NODE:
            out.append(child.data)
            continue
        if child.nodeType != child.ELEMENT_NODE or child.qname in _ODF_SKIP:
            continue
        if child.qname == (_TEXT_NS, "line-break"):
            out.append("\n")
        elif child.qname == (_TEXT_NS, "tab"):
            out.append("\t")
        elif child.qname == (_TEXT_NS, "s"):
            count = str(child.attributes.get((_TEXT_NS, "c"), "1"))
            out.append(" " * (int(count) if count.isdecimal() else 1))
        else:
            out.append(_odf_text(child))
    return "".join(out)


def _odf_list(element: Any, depth: int, builder: _Builder) -> None:
    for item in element.childNodes:
        if item.nodeType != item.ELEMENT_NODE:
            continue
        for child in item.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname == (_TEXT_NS, "list"):
                _odf_list(child, depth + 1, builder)
            elif child.qname in ((_TEXT_NS, "p"), (_TEXT_NS, "h")):
                builder.item(depth, _odf_text(child))


def _odf_rows(element: Any) -> Iterator[Any]:
    """Direct rows of a table, looking inside header-row and row groups but not nested tables."""
    for child in element.childNodes:
        if child.nodeType != child.ELEMENT_NODE or child.qname[0] != _TABLE_NS:
            continue
        if child.qname[1] == "table-row":
            yield child
        elif child.qname[1] in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _odf_rows(child)


def _odf_table(element: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in _odf_rows(element):
        cells: list[str] = []
        for cell in row.childNodes:
            if cell.nodeType != cell.ELEMENT_NODE or cell.qname[1] != "table-cell":
                continue
            text = " ".join(_odf_text(p) for p in cell.childNodes if p.nodeType == p.ELEMENT_NODE)
            repeat = str(cell.attributes.get((_TABLE_NS, "number-columns-repeated"), "1"))
            # Repeated empty cells pad rows to the sheet width; expand only real content.
            times = min(int(repeat), 50) if repeat.isdecimal() and text.strip() else 1
            cells.extend([text] * times)
        while cells and not cells[-1].strip():
            cells.pop()
        rows.append(cells)
    return rows


def _odf_walk(element: Any, builder: _Builder) -> None:
    for child in element.childNodes:
        if child.nodeType != child.ELEMENT_NODE or child.qname in _ODF_SKIP:
            continue
        ns, name = child.qname
        if ns == _TEXT_NS and name == "h":
            level = str(child.attributes.get((_TEXT_NS, "outline-level"), "1"))
            builder.heading(_odf_text(child), int(level) if level.isdecimal() else 1)
        elif ns == _TEXT_NS and name == "p":
            builder.paragraph(_odf_text(child))
        elif ns == _TEXT_NS and name == "list":
            _odf_list(child, 0, builder)
        elif ns == _TABLE_NS and name == "table":
            builder.table(_odf_table(child))
        else:  # sections, frames, index bodies: descend
            _odf_walk(child, builder)


def load_odt(path: Path) -> Document:
    """ODT -> one page: text:h headings with their outline level, lists, tables, paragraphs."""
    with library_errors("ODT"):
        from odf import dc
        from odf.opendocument import load

        document = load(str(path))
        builder = _Builder()
        _odf_walk(document.text, builder)
        titles = document.meta.getElementsByType(dc.Title)
        title = clean_inline(_odf_text(titles[0])) if titles else ""
        creators = document.meta.getElementsByType(dc.Creator)
        author = clean_inline(_odf_text(creators[0])) if creators else ""
    return _single_page(path, "odt", builder.finish(), title, author)


def _single_page(path: Path, fmt: str, blocks: list[Block], title: str, author: str) -> Document:
    """Word-processor files have no reliable page breaks: one page, title from metadata."""
    return Document(
        path=str(path),
        format=fmt,
        pages=[Page(number=1, blocks=blocks)],
        title=title or first_heading(blocks),
        metadata={"author": author} if author else {},
    )
