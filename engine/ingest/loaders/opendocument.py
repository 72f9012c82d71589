"""OpenDocument files via odfpy: text (ODT), spreadsheets (ODS) and presentations (ODP).

These are what LibreOffice saves by default, so a LibreOffice user's letters, budgets and talks
are in them. Each maps onto what its Office sibling gives (the same blocks, pages and labels):

* ODT: one page (no stable pagination), ``text:h`` headings with their outline level, lists,
  tables, paragraphs; comments, footnotes and deleted tracked changes are not running text
  (footnotes and endnotes follow the body under "Notes", comments under "Comments").
* ODS: one page per sheet (label = sheet name), each row rendered with its column headers, as
  for XLSX (:mod:`engine.ingest.loaders.sheets`). Cells are read as displayed (the ``text:p``
  LibreOffice writes: "12.50 €", "2025-03-01"), and a run of repeated cells or rows (how ODF
  stores a filled-down column or a blank stretch) is expanded only when it holds something, so
  the empty million rows at a sheet's end cost nothing and columns stay aligned.
* ODP: one page per slide (label = its title), frames read top-to-bottom, left-to-right, outline
  placeholders as lists, tables as tables, speaker notes under a "Speaker notes" heading.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, LoadError, Page
from engine.ingest.loaders.common import (
    clean_inline,
    column_name,
    first_heading,
    library_errors,
    table_blocks,
)
from engine.ingest.loaders.formats import DISPLAY_NAMES, a_file
from engine.ingest.loaders.sheets import workbook_metadata, workbook_pages
from engine.ingest.loaders.word import Builder, single_page

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_DRAW_NS = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_SVG_NS = "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
_PRESENTATION_NS = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
#: Elements whose text is not part of the running text (comments, deleted changes, footnotes).
_ODF_SKIP = {
    (_OFFICE_NS, "annotation"),
    (_TEXT_NS, "tracked-changes"),
    (_TEXT_NS, "note"),
    (_TEXT_NS, "sequence-decls"),
}
#: A repeated cell or row is expanded up to this many times (a sheet is capped at far fewer rows
#: than this anyway; a row wider than this is not a table anyone reads cell by cell).
MAX_REPEAT = 1024
#: Cell values used when a cell has no displayed text (LibreOffice always writes one).
_VALUE_ATTRIBUTES = ("string-value", "date-value", "time-value", "value", "boolean-value")


def _elements(element: Any) -> Iterator[Any]:
    for child in element.childNodes:
        if child.nodeType == child.ELEMENT_NODE:
            yield child


def _attr(element: Any, ns: str, name: str, default: str = "") -> str:
    return str(element.attributes.get((ns, name), default))


def _repeat(element: Any, name: str) -> int:
    count = _attr(element, _TABLE_NS, name, "1")
    return max(1, min(int(count), MAX_REPEAT)) if count.isdecimal() else 1


def odf_text(element: Any) -> str:
    """Inline text of an ODF element, unwrapping ``text:s``, ``text:tab``, ``text:line-break``.
    Frames anchored in it (text boxes, pictures, objects) are not its text: their own
    paragraphs and tables are read after it (:func:`_odf_walk`)."""
    out: list[str] = []
    for child in element.childNodes:
        if child.nodeType == child.TEXT_NODE:
            out.append(child.data)
            continue
        if child.nodeType != child.ELEMENT_NODE or child.qname in _ODF_SKIP or \
                child.qname == _FRAME:
            continue
        if child.qname == (_TEXT_NS, "line-break"):
            out.append("\n")
        elif child.qname == (_TEXT_NS, "tab"):
            out.append("\t")
        elif child.qname == (_TEXT_NS, "s"):
            count = _attr(child, _TEXT_NS, "c", "1")
            out.append(" " * (int(count) if count.isdecimal() else 1))
        else:
            out.append(odf_text(child))
    return "".join(out)


_FRAME, _TEXT_BOX = (_DRAW_NS, "frame"), (_DRAW_NS, "text-box")
_SPAN = (_TEXT_NS, "span")


def _text_boxes(element: Any) -> Iterator[Any]:
    """The text boxes of the frames anchored in ``element`` (not those inside another box,
    which their box's own walk reads). Read inline, a box's table ran its cells together
    ("1.)nb012.)nb02" in JFractionLab's worksheet templates) and a sidebar cut a sentence."""
    for child in _elements(element):
        if child.qname == _TEXT_BOX:
            yield child
        elif child.qname not in _ODF_SKIP:
            yield from _text_boxes(child)


def _odf_list(element: Any, depth: int, builder: Builder) -> None:
    for item in _elements(element):
        for child in _elements(item):
            if child.qname == (_TEXT_NS, "list"):
                _odf_list(child, depth + 1, builder)
            elif child.qname in ((_TEXT_NS, "p"), (_TEXT_NS, "h")):
                builder.item(depth, odf_text(child))


def _odf_rows(element: Any) -> Iterator[Any]:
    """Direct rows of a table, looking inside header-row and row groups but not nested tables."""
    for child in _elements(element):
        if child.qname[0] != _TABLE_NS:
            continue
        if child.qname[1] == "table-row":
            yield child
        elif child.qname[1] in ("table-header-rows", "table-rows", "table-row-group"):
            yield from _odf_rows(child)


def _anchored_boxes(paragraph: Any) -> list[Any]:
    """The text boxes of frames anchored in a cell's paragraph, directly or in a span of it:
    where a frame in a cell sits. Not the whole subtree (:func:`_text_boxes`), which cost a
    cell-heavy spreadsheet a tenth of its reading time; the nodes are looked at in a plain
    loop for the same reason."""
    frames = []
    for child in paragraph.childNodes:
        qname = getattr(child, "qname", None)
        if qname == _FRAME:
            frames.append(child)
        elif qname == _SPAN:
            frames.extend(g for g in child.childNodes if getattr(g, "qname", None) == _FRAME)
    return [box for frame in frames for box in frame.childNodes
            if getattr(box, "qname", None) == _TEXT_BOX]


def _cell_text(cell: Any) -> str:
    """A cell's text as shown: its paragraphs and lists, the text boxes anchored in them, and
    a table nested in it a row at a time ("A | B"), as a Word cell's (a form laid out in
    nested tables, a banner in a frame in a cell, read as "no extractable text")."""
    parts: list[str] = []
    for child in _elements(cell):
        if child.qname[0] == _TEXT_NS:
            parts.append(odf_text(child))
            parts.extend(_cell_text(box) for box in _anchored_boxes(child))
        elif child.qname == (_TABLE_NS, "table"):
            parts.extend(" | ".join(c for c in row if c.strip()) for row in odf_table(child))
    text = " ".join(part for part in parts if part.strip())
    if text.strip():
        return text
    return next((value for name in _VALUE_ATTRIBUTES
                 if (value := _attr(cell, _OFFICE_NS, name))), "")


def _row_cells(row: Any) -> list[str]:
    """A row's cells as displayed; covered (merged-over) cells are empty, like a sheet shows
    them. Empty repeated cells are expanded only before a later non-empty one."""
    cells: list[str] = []
    pending = 0  # empty cells not yet known to lie between two filled ones
    for cell in _elements(row):
        if cell.qname[1] not in ("table-cell", "covered-table-cell"):
            continue
        text = _cell_text(cell) if cell.qname[1] == "table-cell" else ""
        times = _repeat(cell, "number-columns-repeated")
        if not text.strip():
            pending += times
            continue
        cells.extend([""] * min(pending, MAX_REPEAT))
        pending = 0
        cells.extend([text] * times)
    return cells


def odf_table(element: Any) -> Iterator[list[str]]:
    """The rows of a ``table:table``; a repeated row is expanded when it holds text."""
    for row in _odf_rows(element):
        cells = _row_cells(row)
        for _ in range(_repeat(row, "number-rows-repeated") if cells else 1):
            yield list(cells)


def _odf_walk(element: Any, builder: Builder) -> None:
    for child in _elements(element):
        if child.qname in _ODF_SKIP:
            continue
        ns, name = child.qname
        if ns == _TEXT_NS and name == "h":
            level = _attr(child, _TEXT_NS, "outline-level", "1")
            builder.heading(odf_text(child), int(level) if level.isdecimal() else 1)
            for box in _text_boxes(child):
                _odf_walk(box, builder)
        elif ns == _TEXT_NS and name == "p":
            builder.paragraph(odf_text(child))
            for box in _text_boxes(child):  # after the paragraph, as Word's text boxes are
                _odf_walk(box, builder)
            if getattr(child.ownerDocument, "childobjects", None):  # the package has objects
                from odf.draw import Object

                for frame in child.getElementsByType(Object):  # a chart in the text
                    builder.extend(_object_blocks(frame))
        elif ns == _TEXT_NS and name == "list":
            _odf_list(child, 0, builder)
        elif ns == _TABLE_NS and name == "table":
            builder.table(list(odf_table(child)))
        elif ns == _DRAW_NS and name == "object":
            builder.extend(_object_blocks(child))
        else:  # sections, frames, text boxes, index bodies: descend
            _odf_walk(child, builder)


_XLINK_NS = "http://www.w3.org/1999/xlink"
_CHART_NS = "urn:oasis:names:tc:opendocument:xmlns:chart:1.0"


def _object_blocks(element: Any) -> list[Block]:
    """An embedded object (``draw:object``, a subdocument "Object 1" of the package) as
    blocks: a chart as its title and the data it plots (the table the chart keeps with it),
    a spreadsheet as its tables. A formula or a drawing gives none."""
    href = _attr(element, _XLINK_NS, "href").removeprefix("./").strip("/")
    document = getattr(element, "ownerDocument", None)
    child = next((c for c in getattr(document, "childobjects", [])
                  if c.folder.strip("/") == href), None)
    if child is None:
        return []
    blocks: list[Block] = []
    for body in _elements(child.body):
        if body.qname == (_OFFICE_NS, "chart"):
            for chart in _elements(body):
                title = next((" ".join(odf_text(p) for p in _elements(part))
                              for part in _elements(chart)
                              if part.qname == (_CHART_NS, "title")), "")
                if clean_inline(title):
                    blocks.append(Block(f"Chart: {clean_inline(title)}"))
                for table in _elements(chart):
                    if table.qname == (_TABLE_NS, "table"):
                        rows = list(odf_table(table))
                        if rows and rows[0] and not rows[0][0].strip():
                            rows[0][0] = "Category"  # the corner cell over the categories
                        blocks += table_blocks(rows, labelled=False, header=len(rows) > 1)
        elif body.qname == (_OFFICE_NS, "spreadsheet"):
            for table in _elements(body):
                if table.qname == (_TABLE_NS, "table"):
                    blocks += table_blocks(list(odf_table(table)))
    return blocks


def _body(document: Any, part: str, fmt: str) -> Any:
    """The document's ``office:text`` / ``spreadsheet`` / ``presentation``, or a clear error
    for an OpenDocument file of another kind (or none) behind this extension.

    Found among ``office:body``'s elements, not odfpy's ``document.text``: odfpy takes the
    body's first child node, which in an indented content.xml (pandoc writes one) is the line
    break before the element, and the whole document read as empty."""
    from odf.office import Body

    for body in document.getElementsByType(Body):
        for child in _elements(body):
            if child.qname == (_OFFICE_NS, part):
                return child
    raise LoadError(f"not {a_file(DISPLAY_NAMES[fmt])} (it holds no {part})")


def _meta(document: Any) -> tuple[str, str]:
    """(title, author) from the file's metadata, empty when absent; the author is the last
    editor, else the one who created the file (all LibreOffice Calc records, often)."""
    from odf import dc, meta

    titles = document.meta.getElementsByType(dc.Title)
    creators = (document.meta.getElementsByType(dc.Creator)
                or document.meta.getElementsByType(meta.InitialCreator))
    return (clean_inline(odf_text(titles[0])) if titles else "",
            clean_inline(odf_text(creators[0])) if creators else "")


# ------------------------------------------------------------------------------------- ODT


def _odf_notes(body: Any) -> list[str]:
    """The text of each footnote and endnote (``text:note``, left out of the running text), in
    the order they appear."""
    from odf import text

    return [" ".join(odf_text(p) for p in part.getElementsByType(text.P))
            for note in body.getElementsByType(text.Note)
            for part in _elements(note) if part.qname == (_TEXT_NS, "note-body")]


def _sheet_comments(sheet: Any) -> list[tuple[str, str]]:
    """(cell, text) of each comment on a sheet's cells ("B3", its paragraphs, not its author
    and date), in the sheet's order."""
    from odf import text

    def span(element: Any, name: str) -> int:  # uncapped: the cells after it keep their place
        count = _attr(element, _TABLE_NS, name, "1")
        return max(1, int(count)) if count.isdecimal() else 1

    found: list[tuple[str, str]] = []
    row_number = 1
    for row in _odf_rows(sheet):
        column = 0
        for cell in _elements(row):
            if cell.qname[1] not in ("table-cell", "covered-table-cell"):
                continue
            for note in _elements(cell):
                if note.qname == (_OFFICE_NS, "annotation"):
                    said = " ".join(odf_text(p) for p in note.getElementsByType(text.P))
                    if said.strip():
                        found.append((f"{column_name(column)}{row_number}", said))
            column += span(cell, "number-columns-repeated")
        row_number += span(row, "number-rows-repeated")
    return found


def _odf_comments(body: Any) -> list[str]:
    """The text of each comment (``office:annotation``: its paragraphs, not its author and
    date), in the order they appear."""
    from odf import office, text

    return [" ".join(odf_text(p) for p in note.getElementsByType(text.P))
            for note in body.getElementsByType(office.Annotation)]


def _load_package(path: Path) -> Any:
    """odfpy's document of ``path``; one whose manifest lists a picture or thumbnail the
    archive lacks (live-manual's ODT files, as Debian ships them), or whose parts declare an
    OpenOffice.org DTD, is read from a repaired copy (:mod:`engine.ingest.loaders.zip_copy`):
    odfpy refused it whole.

    Two more of odfpy's habits are undone here. It prints a part it cannot parse, whole, to
    standard output: a user's text went into the terminal, and broke ``satchel index --json``.
    And it checks each attribute against the schema as it reads, so one value outside it
    failed the whole file (``office:boolean-value="-1"``, as programs that count true as -1
    write it: LibreOffice's tdf137621_autofillMergedBool.ods); Satchel reads text, and such a
    value is kept as written (:func:`_lenient_attributes`)."""
    from odf.opendocument import load

    from engine.ingest.loaders.zip_copy import read_repaired

    _lenient_attributes()
    with contextlib.redirect_stdout(io.StringIO()):
        return read_repaired(path, "odf", load)


def _lenient_attributes() -> None:
    """Make odfpy keep an attribute value its schema check refuses, as written (once)."""
    from odf.attrconverters import AttrConverters

    strict = AttrConverters.convert
    if getattr(strict, "lenient", False):
        return

    def convert(self: Any, attribute: Any, value: Any, element: Any) -> Any:
        try:
            return strict(self, attribute, value, element)
        except ValueError:
            return str(value)

    convert.lenient = True  # type: ignore[attr-defined]
    AttrConverters.convert = convert


def load_odt(path: Path) -> Document:
    """ODT -> one page: text:h headings with their outline level, lists, tables, paragraphs."""
    with library_errors("ODT"):
        document = _load_package(path)
        builder = Builder()
        body = _body(document, "text", "odt")
        _odf_walk(body, builder)
        builder.notes(_odf_notes(body))
        builder.comments(_odf_comments(body))
        title, author = _meta(document)
    blocks = builder.finish()
    return single_page(path, "odt", blocks, title or builder.body_title() or "", author)


# ------------------------------------------------------------------------------------- ODS


def load_ods(path: Path) -> Document:
    """ODS -> one page per sheet (label = sheet name), rows with their column headers, then
    the comments on its cells."""
    with library_errors("ODS"):
        document = _load_package(path)
        sheets = [t for t in _elements(_body(document, "spreadsheet", "ods"))
                  if t.qname == (_TABLE_NS, "table")]
        pages, skipped = workbook_pages(
            (clean_inline(_attr(sheet, _TABLE_NS, "name")) or f"Sheet{number}",
             odf_table(sheet), _sheet_comments(sheet), 0)
            for number, sheet in enumerate(sheets, start=1))
        title, author = _meta(document)
    metadata = workbook_metadata(pages, author, skipped)
    return Document(path=str(path), format="ods", pages=pages, title=title or None,
                    metadata=metadata)


# ------------------------------------------------------------------------------------- ODP

_LENGTH = re.compile(r"^\s*(-?[\d.]+)\s*(cm|mm|in|pt|pc|px)?\s*$")
_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54, "pt": 2.54 / 72, "pc": 2.54 / 6, "px": 2.54 / 96}


def _position(shape: Any) -> tuple[float, float]:
    """(top, left) of a shape in centimetres, for reading order; (0, 0) when it has none."""
    def cm(name: str) -> float:
        match = _LENGTH.match(_attr(shape, _SVG_NS, name, "0"))
        if not match:
            return 0.0
        try:
            return float(match.group(1)) * _CM[match.group(2) or "cm"]
        except ValueError:
            return 0.0
    return cm("y"), cm("x")


def _shapes(element: Any) -> Iterator[Any]:
    """The drawing shapes of a slide with groups opened, in reading order."""
    found: list[Any] = []

    def collect(parent: Any) -> None:
        for child in _elements(parent):
            if child.qname == (_DRAW_NS, "g"):
                collect(child)
            elif child.qname[0] == _DRAW_NS:
                found.append(child)
    collect(element)
    return iter(sorted(found, key=_position))


def _blocks(shape: Any) -> list[Block]:
    builder = Builder()
    _odf_walk(shape, builder)
    return builder.finish()


def _slide_page(number: int, slide: Any) -> Page:
    title = ""
    blocks: list[Block] = []
    notes: list[Block] = []
    for shape in _shapes(slide):
        kind = _attr(shape, _PRESENTATION_NS, "class")
        if kind == "title" and not title:
            title = clean_inline(" ".join(b.text for b in _blocks(shape)))
        elif kind not in ("page-number", "footer", "date-time", "header"):
            blocks += _blocks(shape)
    for part in _elements(slide):
        if part.qname == (_PRESENTATION_NS, "notes"):
            notes += [b for shape in _shapes(part)
                      if _attr(shape, _PRESENTATION_NS, "class") == "notes"
                      for b in _blocks(shape)]
    if title:
        blocks.insert(0, Block(title, "heading", 1))
    if notes:
        blocks += [Block("Speaker notes", "heading", 2), *notes]
    return Page(number=number, blocks=blocks, label=title or None)


def load_odp(path: Path) -> Document:
    """ODP -> one page per slide (hidden slides included: they keep the deck's numbering)."""
    with library_errors("ODP"):
        document = _load_package(path)
        slides = [p for p in _elements(_body(document, "presentation", "odp"))
                  if p.qname == (_DRAW_NS, "page")]
        pages = [_slide_page(n, slide) for n, slide in enumerate(slides, start=1)]
        title, author = _meta(document)
    metadata = {"slides": str(len(pages))}
    if author:
        metadata["author"] = author
    first_title = next((p.label for p in pages if p.label), None)
    return Document(path=str(path), format="odp", pages=pages,
                    title=title or first_title or first_heading(
                        b for p in pages for b in p.blocks), metadata=metadata)
