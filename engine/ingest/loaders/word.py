"""Word-processor documents: DOCX via python-docx (ODT: :mod:`engine.ingest.loaders.opendocument`).

Neither format has stable pages (pagination happens at render time), so each file is one page.
What the chunker needs is structure: heading paragraphs (by style or outline level) become heading
blocks, consecutive list paragraphs one list block, consecutive code paragraphs (a preformatted
style, or every run in a monospace font) one code block with its lines and indentation kept,
tables table blocks whose rows carry their column headers. Body content is walked in document
order, including content controls (``w:sdt``) and ODF sections, which the libraries' convenience
iterators skip. (ODT code paragraphs are not told apart yet: their styles need resolving.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest import progress
from engine.ingest.document import Block, Document, LoadError, LoadOptions, Page
from engine.ingest.loaders.common import (
    clean_inline,
    clean_text,
    first_heading,
    library_errors,
    list_block,
    split_long,
    titled_table,
)
from engine.ingest.loaders.ooxml import has_embedded, open_word
from engine.ingest.revisions import OCR_OFF_KEY

HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
#: Paragraph styles that hold code: LibreOffice's and Word's preformatted and code styles.
CODE_STYLE = re.compile(r"preformatted|source text|\bcode\b|macro text|verbatim|listing",
                        re.IGNORECASE)
#: Fonts that mark a paragraph typed wholly in them as code.
MONOSPACE_FONTS = frozenset({
    "courier", "courier new", "consolas", "menlo", "monaco", "lucida console", "liberation mono",
    "dejavu sans mono", "source code pro", "cascadia code", "cascadia mono", "fira code",
    "fira mono", "ubuntu mono", "noto sans mono", "roboto mono", "jetbrains mono", "sf mono"})


def _texts(texts: list[str]) -> list[str]:
    """The non-empty ones, each on one line."""
    return [t for t in (clean_inline(t) for t in texts) if t]


class Builder:
    """Collects blocks, grouping consecutive list items into one list block."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._items: list[tuple[int, str]] = []
        self._code: list[str] = []
        self._body_end: int | None = None  # blocks before the notes and comments

    def _flush(self) -> None:
        """End the list or code listing being collected (the next block is something else)."""
        block = list_block(self._items)
        if block:
            self.blocks.extend(Block(p, "list") for p in split_long(block.text))
        self._items = []
        code = "\n".join(self._code).strip("\n")
        if code.strip():
            self.blocks.extend(Block(p, "code") for p in split_long(code.rstrip()))
        self._code = []

    def code(self, line: str) -> None:
        """One line of a code listing (a paragraph may hold several, joined by breaks)."""
        if self._items:
            self._flush()
        self._code.append(line.replace("\xa0", " ").rstrip())

    def heading(self, text: str, level: int) -> None:
        self._flush()
        text = clean_inline(text)
        if text:
            self.blocks.append(Block(text, "heading", max(1, min(level, 6))))

    def paragraph(self, text: str) -> None:
        self._flush()
        text = clean_text(text)
        if text:
            self.blocks.extend(Block(p) for p in split_long(text))

    def item(self, depth: int, text: str) -> None:
        if self._code:
            self._flush()
        if text.strip():
            self._items.append((depth, text))

    def table(self, rows: list[list[str]]) -> None:
        self._flush()
        self.blocks.extend(titled_table(rows))

    def extend(self, blocks: list[Block]) -> None:
        """Blocks read elsewhere (a chart's title and data table)."""
        self._flush()
        self.blocks.extend(blocks)

    def notes(self, texts: list[str], first: int = 1) -> int:
        """Footnotes and endnotes, after the body under "Notes" ("Note 1: ..."): not running
        text, where a note read at its mark would cut a sentence in two, but facts all the same
        (the date, the source, the exception a reader is asked about). ``first``: the first
        note's number (a paged document's notes follow each page); returns the next one."""
        texts = _texts(texts)
        self._after_body("Notes", [f"Note {n}: {t}" for n, t in enumerate(texts, first)])
        return first + len(texts)

    def comments(self, texts: list[str]) -> None:
        """Reviewers' comments, after the body under "Comments" ("Comment: ..."), as a PDF's
        comments follow its page (:mod:`engine.ingest.loaders.pdf_forms`): what a reviewer
        wrote beside a passage ("the fee rose to 45 EUR in 2025") is worth finding."""
        self._after_body("Comments", [f"Comment: {t}" for t in _texts(texts)])

    def _after_body(self, title: str, paragraphs: list[str]) -> None:
        if paragraphs:
            if self._body_end is None:
                self._flush()
                self._body_end = len(self.blocks)
            self.heading(title, 1)
            for text in paragraphs:
                self.paragraph(text)

    def finish(self) -> list[Block]:
        self._flush()
        return self.blocks

    def body_title(self) -> str | None:
        """The document's first heading: not "Notes" or "Comments", the sections added after
        the body (a document without headings but with footnotes was titled "Notes")."""
        return first_heading(self.blocks[:self._body_end])


# ------------------------------------------------------------------------------------ DOCX


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN, _MATH_TEXT = _W + "r", "{http://schemas.openxmlformats.org/officeDocument/2006/math}t"
#: What holds no text of the paragraph as Word shows it: tracked deletions and the old place
#: of moved text, property elements, and the fallback copy of alternate content.
_NOT_SHOWN = frozenset({
    _W + "del", _W + "moveFrom", _W + "pPr", _W + "rPr", _W + "sdtPr", _W + "sdtEndPr",
    "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"})


def paragraph_text(paragraph: Any) -> str:
    """The text of a ``w:p`` element as Word shows it, with tracked changes accepted.

    python-docx's ``Paragraph.text`` reads only the runs and hyperlinks directly in the
    paragraph: a contract with tracked insertions lost them ("The fee is  per night" for
    "The fee is 45 EUR per night"), and so did text in inline content controls (a filled-in
    form's answers), fields (``w:fldSimple``), smart tags, custom XML and moved text. Deleted
    text (``w:del``) and the old place of moved text stay out; equations read as their text.
    Text boxes and pictures inside runs are not this text (see :func:`_read_items`)."""
    out: list[str] = []
    _shown_text(paragraph, out)
    return "".join(out)


def _shown_text(element: Any, out: list[str]) -> None:
    for child in element.iterchildren():
        tag = child.tag
        if tag == _RUN:
            out.append(child.text or "")  # python-docx's CT_R.text: w:t, tabs, breaks
        elif tag == _MATH_TEXT:
            out.append(child.text or "")
        elif isinstance(tag, str) and tag not in _NOT_SHOWN:
            _shown_text(child, out)


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
        elif child.tag == qn("w:altChunk"):
            yield child  # another document imported here (engine.ingest.loaders.word_chunks)


#: Text boxes (``w:txbxContent``) not inside the fallback copy Word writes of each for older
#: readers (``mc:Fallback``, a VML twin of the DrawingML box), nor inside another box.
_TEXT_BOXES = ("./descendant::w:txbxContent[not(ancestor::mc:Fallback)]"
               "[count(ancestor::w:txbxContent) = $depth]")
_BOX_NAMESPACES = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
}


@functools.cache
def _text_boxes() -> Any:  # lxml.etree.XPath, compiled once
    from lxml import etree

    return etree.XPath(_TEXT_BOXES, namespaces=_BOX_NAMESPACES)


def _read_items(container: Any, document: Any, builder: Builder, depth: int = 0,
                options: LoadOptions | None = None) -> None:
    """Paragraphs and tables of ``container`` into ``builder``; each paragraph's text boxes
    (sidebars, callouts, a flyer's blocks, the frames a PDF converted to Word is made of) after
    its own text, since python-docx's paragraph text leaves them out; documents imported at a
    ``w:altChunk`` mark where they are (read with ``options``)."""
    for item in _docx_items(container, document):
        if item.__class__.__name__ == "Table":
            builder.table(_docx_table(item))
            continue
        if not hasattr(item, "_p"):  # a w:altChunk
            part = document.part.related_parts.get(item.get(_REL_ID) or "")
            if part is not None and hasattr(part, "blob"):
                from engine.ingest.loaders.word_chunks import chunk_blocks

                builder.extend(chunk_blocks(part, options))
            continue
        kind, level = _docx_level(item)
        text = paragraph_text(item._p)
        if kind == "heading":
            builder.heading(text, level)
        elif kind == "code":
            builder.code(text)
        elif kind == "list":
            builder.item(level, text)
        else:
            builder.paragraph(text)
        for box in _text_boxes()(item._p, depth=depth):
            _read_items(box, document, builder, depth + 1, options)
        for chart in _charts(item._p, document):
            builder.extend(chart)


_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}chart"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _charts(paragraph: Any, document: Any) -> list[list[Block]]:
    """The blocks of each chart shown in ``paragraph`` (:mod:`engine.ingest.loaders.
    ooxml_charts`): its title and its data, after the paragraph's text."""
    out = []
    for chart in paragraph.iter(_CHART):
        from engine.ingest.loaders.ooxml_charts import chart_blocks  # charts are rare

        part = document.part.related_parts.get(chart.get(_REL_ID) or "")
        if part is not None and hasattr(part, "blob"):
            out.append(chart_blocks(part.blob))
    return out


#: Notes Word keeps for its own layout: the lines drawn above the notes, not notes.
_NOTE_FURNITURE = {"separator", "continuationSeparator", "continuationNotice"}


def _docx_notes(document: Any) -> list[str]:
    """The text of each footnote, then each endnote, in the order the file keeps them."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn

    out: list[str] = []
    for reltype, tag in ((RT.FOOTNOTES, "w:footnote"), (RT.ENDNOTES, "w:endnote")):
        for rel in document.part.rels.values():
            if rel.is_external or rel.reltype != reltype:
                continue
            root = parse_xml(rel.target_part.blob)
            for note in root.iterchildren(qn(tag)):
                if note.get(qn("w:type")) in _NOTE_FURNITURE:
                    continue
                out.append(" ".join(paragraph_text(p) for p in note.iter(qn("w:p"))))
    return out


def _docx_level(paragraph: Any) -> tuple[str, int]:
    """("heading", level) / ("list", depth) / ("code", 0) / ("paragraph", 0) for a python-docx
    Paragraph."""
    from docx.oxml.ns import qn

    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return "heading", 1
    if match := HEADING_STYLE.match(name):
        return "heading", int(match.group(1))
    if _is_code(paragraph, style):
        return "code", 0
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


def _is_code(paragraph: Any, style: Any) -> bool:
    """A paragraph in a code style (or one based on it), or typed wholly in a monospace font."""
    seen = 0
    while style is not None and seen < 10:  # a style's base chain
        if CODE_STYLE.search(style.name or ""):
            return True
        style, seen = style.base_style, seen + 1
    runs = [r for r in paragraph.runs if r.text.strip()]
    return bool(runs) and all((r.font.name or "").lower() in MONOSPACE_FONTS for r in runs)


#: Content controls around a table's rows, a row's cells or a cell's paragraphs (a cover page's
#: "Title" control, a form's repeating section).
_TABLE_CONTROLS = "./descendant::w:sdt[parent::w:tbl or parent::w:tr or parent::w:tc]"


def _unwrap_table_controls(body: Any) -> None:
    """Replace each content control inside a table by what it holds. python-docx's rows, cells
    and cell paragraphs are only the direct children of their table, row and cell, so a row,
    cell or paragraph in a control was lost: Word's built-in cover pages put the title in a
    control around a cell (LibreOffice's paragraph-sdt.docx: "no extractable text"). The tree is
    python-docx's copy in memory; the file is not touched."""
    from docx.oxml.ns import qn

    while found := body.xpath(_TABLE_CONTROLS):
        for control in found:
            parent = control.getparent()
            content = control.find(qn("w:sdtContent"))
            at = parent.index(control)
            parent.remove(control)
            for offset, child in enumerate(list(content) if content is not None else []):
                parent.insert(at + offset, child)


def _docx_cell_text(cell: Any) -> str:
    """A cell's paragraphs with the text boxes anchored in them, then its nested tables a
    row at a time ("A | B")."""
    parts: list[str] = []
    for paragraph in cell.paragraphs:
        element = paragraph._p
        parts.append(paragraph_text(element))
        if element.find(f".//{_W}txbxContent") is None:  # the common case, found in C
            continue
        depth = len(element.xpath("ancestor::w:txbxContent"))
        parts.extend(paragraph_text(p) for box in _text_boxes()(element, depth=depth)
                     for p in box.iterchildren(_W + "p"))
    for nested in cell.tables:
        parts.extend(" | ".join(t for c in _row_cells(row) if (t := _docx_cell_text(c)))
                     for row in nested.rows)
    return clean_inline(" ".join(part for part in parts if part.strip()))


def _row_cells(row: Any) -> tuple[Any, ...]:
    """python-docx's cells of ``row`` (a cell merged across columns repeated, one merged down
    rows given the cell it continues). A row whose first cell continues a vertical merge with
    no row above it (LibreOffice's conversion of tdf106291.doc and tdf106799.doc writes one)
    made python-docx raise ("no tr above topmost tr") and the document fail; such a row's
    cells are read as they stand."""
    from docx.table import _Cell

    try:
        return tuple(row.cells)
    except ValueError:
        return tuple(_Cell(tc, row.table) for tc in row._tr.tc_lst)


def _docx_table(table: Any) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in _row_cells(row):
            if id(cell._tc) in seen:  # a horizontally merged cell is repeated: keep it once
                continue
            seen.add(id(cell._tc))
            cells.append(_docx_cell_text(cell))
        rows.append(cells)
    return rows


def load_docx(path: Path, options: LoadOptions | None = None) -> Document:
    """DOCX -> one page: headings by style/outline level, lists, tables, paragraphs, text
    boxes after the paragraph they are anchored in; footnotes, endnotes and comments after the
    body (:meth:`Builder.notes`, :meth:`Builder.comments`).

    A document of pictures only (pages scanned or photographed, then pasted into Word) is read
    by OCR, a page per picture (:func:`scanned_pages`); pictures beside text are left alone
    (charts and logos, seconds each to read for little). Embedded files (an Excel sheet, a
    dropped-in PDF) are its parts (:mod:`engine.ingest.loaders.ooxml_embedded`).
    """
    with library_errors("DOCX"):
        document = open_word(path)
        _unwrap_table_controls(document.element.body)
        builder = Builder()
        _read_items(document.element.body, document, builder, options=options)
        builder.notes(_docx_notes(document))
        builder.comments(["\n".join(paragraph_text(p._p) for p in c.paragraphs)
                          for c in document.comments])
        props = document.core_properties
        title, author = clean_inline(props.title or ""), clean_inline(props.author or "")
        blocks = builder.finish()
        pictures = [] if any(b.text.strip() for b in blocks) else _pictures(document)
        embedded = has_embedded([document.part])
    doc = single_page(path, "docx", blocks, title or builder.body_title() or "", author)
    if pictures:
        scanned_pages(doc, pictures, options or LoadOptions())
    if embedded:
        from engine.ingest.loaders.ooxml_embedded import add_embedded, embedded_files

        with library_errors("DOCX"):
            files = embedded_files([document.part])
        add_embedded(doc, files, options or LoadOptions())
    return doc


#: The picture references of a body: DrawingML's ``<a:blip r:embed>`` and the VML
#: ``<v:imagedata r:id>`` of documents saved in compatibility mode.
_PICTURE_REFS = ('.//{http://schemas.openxmlformats.org/drawingml/2006/main}blip',
                 './/{urn:schemas-microsoft-com:vml}imagedata')
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _pictures(document: Any) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the body's pictures in reading order, each once."""
    related = document.part.related_parts
    seen: set[str] = set()
    out: list[tuple[str, bytes]] = []
    for query in _PICTURE_REFS:
        for element in document.element.body.iterfind(query):
            rid = element.get(f"{_REL_NS}embed") or element.get(f"{_REL_NS}id")
            part = related.get(rid) if rid else None
            if part is None or rid in seen or not hasattr(part, "blob"):
                continue
            seen.add(rid)
            out.append((Path(str(part.partname)).name, part.blob))
    return out


def scanned_pages(doc: Document, pictures: list[tuple[str, bytes]],
                  options: LoadOptions, reader: str = "python-docx") -> None:
    """Give ``doc`` (no text of its own) a page per picture, read by OCR; with OCR off, mark
    it so that it is read again once OCR is on. A picture that cannot be read is left out."""
    from engine.ingest.loaders.embedded import load_embedded, safe_name

    if not options.ocr:
        doc.metadata[OCR_OFF_KEY] = str(len(pictures))
        return
    pages: list[Page] = []
    loader = ""
    for number, (name, blob) in enumerate(pictures, start=1):
        progress.report(f"OCR picture {number} of {len(pictures)}")
        try:
            image = load_embedded(doc.path, safe_name(f"{number}-{name}"),
                                  lambda target, blob=blob: target.write_bytes(blob), options)
        except LoadError:  # a logo, an unreadable or unsupported picture (WMF)
            continue
        loader = loader or image.loader
        pages += [Page(len(pages) + 1, page.blocks) for page in image.pages if page.blocks]
    if pages:
        doc.pages = pages
        doc.loader = f"{reader}; pictures read by {loader}"


def single_page(path: Path, fmt: str, blocks: list[Block], title: str, author: str) -> Document:
    """Word-processor files have no reliable page breaks: one page, titled ``title`` (from
    metadata, else the body's first heading: :meth:`Builder.body_title`)."""
    return Document(
        path=str(path),
        format=fmt,
        pages=[Page(number=1, blocks=blocks)],
        title=title or None,
        metadata={"author": author} if author else {},
    )
