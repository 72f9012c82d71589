"""Hangul documents in the XML format (.hwpx, OWPML, KS X 6101): what Hancom Office saves by
default since 2021 and Korea's public institutions exchange.

An .hwpx file is a zip package (``mimetype`` "application/hwp+zip") holding the same document
model as an .hwp file, written as XML: ``Contents/content.hpf`` lists the sections in order and
the title, ``Contents/header.xml`` the styles and paragraph shapes, ``Contents/section0.xml``...
the paragraphs (``hp:p``), their runs of text (``hp:t``, with tabs and line breaks as
elements), tables (``hp:tbl``: rows of cells with their addresses), controls (footnotes, hidden
comments, headers and footers) and drawing objects with text boxes (``hp:drawText``), and each
paragraph's line positions as Hangul laid them out. It is read into what an .hwp file gives
(:mod:`engine.ingest.loaders.hangul_pages`): pages as printed, headings, lists, tables, text
boxes after their paragraph, notes after their page.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError
from engine.ingest.loaders.common import clean_inline, first_heading, library_errors, local_name
from engine.ingest.loaders.hangul_pages import Pages, outline_level

_HP = "{http://www.hancom.co.kr/hwpml/2011/paragraph}"
_OPF = "{http://www.idpf.org/2007/opf/}"
#: What a control character element in a run's text stands for.
_CHARS = {"tab": "\t", "lineBreak": "\n", "hyphen": "-", "nbSpace": " ", "fwSpace": " "}
#: Elements that hold their own paragraphs but are not the document's text as read.
_FURNITURE = frozenset({"header", "footer", "masterPage"})
_NOTES = frozenset({"footNote", "endNote"})
#: An inline or extended control counts eight characters in a paragraph's text positions, as in
#: the binary format whose model this is.
_CONTROL_WIDTH = 8
#: Largest part read (a section's XML); bigger is a damaged or hostile file.
MAX_PART_BYTES = 200 << 20


def _xml(zf: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    info = zf.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise LoadError(f"corrupt Hangul document ({name} is {info.file_size >> 20} MB)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(zf.read(name), parser)


def _sections(zf: zipfile.ZipFile, names: set[str]) -> tuple[list[str], str]:
    """The section parts in reading order (the package's spine) and the title it gives."""
    found = sorted((n for n in names if re.fullmatch(r"Contents/section\d+\.xml", n)),
                   key=lambda n: int(re.sub(r"\D", "", n)))
    title = ""
    if "Contents/content.hpf" in names:
        package = _xml(zf, "Contents/content.hpf")
        title = clean_inline(package.findtext(f".//{_OPF}title") or "")
        hrefs = {item.get("id"): item.get("href", "")
                 for item in package.iter(f"{_OPF}item")}
        spine = [hrefs.get(ref.get("idref"), "") for ref in package.iter(f"{_OPF}itemref")]
        ordered = [h for h in spine if h in found]
        if ordered:
            found = ordered + [n for n in found if n not in ordered]
    return found, title


class Styles:
    """Heading levels by style id and by paragraph shape id; list depths by shape id."""

    def __init__(self, header: Any | None) -> None:
        self.style_heading: dict[str, int] = {}
        self.shape_heading: dict[str, int] = {}
        self.shape_item: dict[str, int] = {}
        if header is None:
            return
        for element in header.iter():
            name = local_name(element)
            if name == "style":
                level = outline_level(element.get("engName", ""), element.get("name", ""))
                if level is not None:
                    self.style_heading[element.get("id", "")] = level
            elif name == "paraPr":
                heading = next((c for c in element.iter() if local_name(c) == "heading"), None)
                if heading is None:
                    continue
                kind, level = heading.get("type", "NONE"), _int(heading.get("level")) + 1
                if kind == "OUTLINE":
                    self.shape_heading[element.get("id", "")] = level
                elif kind in ("NUMBER", "BULLET"):
                    self.shape_item[element.get("id", "")] = level - 1


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


class Reader:
    """Walks sections' paragraphs into pages (:class:`Pages`)."""

    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        self.pages = Pages()

    def section(self, root: Any) -> None:
        for para in root:
            if local_name(para) != "p":
                continue
            lines = [(_int(seg.get("textpos")), _int(seg.get("vertpos")), _int(seg.get("horzpos")))
                     for seg in para.iter(f"{_HP}lineseg") if seg.getparent().getparent() is para]
            cuts = self.pages.cuts(lines)
            pieces, objects = self._paragraph(para)
            shape, style = para.get("paraPrIDRef", ""), para.get("styleIDRef", "")
            level = self.styles.style_heading.get(style, self.styles.shape_heading.get(shape))
            self.pages.paragraph(pieces, cuts, heading=level,
                                 item=self.styles.shape_item.get(shape))
            for element in objects:
                self._object(element)

    def _paragraph(self, para: Any) -> tuple[list[tuple[int, str]], list[Any]]:
        """A paragraph's text as (position, text) pieces, and the objects its runs hold
        (tables, controls, drawing objects) in order."""
        pieces: list[tuple[int, str]] = []
        objects: list[Any] = []
        pos = 0
        for run in para:
            if local_name(run) != "run":
                continue
            for child in run:
                name = local_name(child)
                if name == "t":
                    if child.text:
                        pieces.append((pos, child.text))
                        pos += len(child.text)
                    for mark in child:
                        char = _CHARS.get(local_name(mark))
                        if char:
                            pieces.append((pos, char))
                            pos += _CONTROL_WIDTH if char == "\t" else 1
                        if mark.tail:
                            pieces.append((pos, mark.tail))
                            pos += len(mark.tail)
                elif name:
                    objects.append(child)
                    pos += _CONTROL_WIDTH
        return pieces, objects

    def _object(self, element: Any) -> None:
        """A table, a note, a hidden comment or a drawing object's text into the page."""
        name = local_name(element)
        if name == "tbl":
            self.pages.builder.table(self._table(element))
        elif name == "ctrl":
            for control in element:
                kind = local_name(control)
                if kind in _NOTES:
                    self.pages.notes[-1].append(" ".join(self._flat(control)))
                elif kind == "hiddenComment":
                    self.pages.comments.append(" ".join(self._flat(control)))
        elif name not in _FURNITURE:  # shapes with text boxes (hp:drawText), containers
            for text in self._flat(element):
                self.pages.builder.paragraph(text)

    def _flat(self, element: Any) -> list[str]:
        """The text of every paragraph below ``element``, a string per paragraph (a table in
        them row by row; headers and footers left out)."""
        out: list[str] = []
        for child in element:
            name = local_name(child)
            if name == "p":
                pieces, objects = self._paragraph(child)
                out.append(clean_inline("".join(t for _, t in pieces)))
                for obj in objects:
                    if local_name(obj) == "tbl":
                        out += [" ".join(c for c in row if c) for row in self._table(obj)]
                    else:
                        out += self._flat(obj)
            elif name not in _FURNITURE:
                out += self._flat(child)
        return [t for t in out if t]

    def _table(self, table: Any) -> list[list[str]]:
        """Rows of cell texts by each cell's address; a merged cell's text once."""
        cells = []
        for row_element in table.iterchildren(f"{_HP}tr"):
            for cell in row_element.iterchildren(f"{_HP}tc"):
                address = cell.find(f"{_HP}cellAddr")
                row = _int(address.get("rowAddr")) if address is not None else len(cells)
                col = _int(address.get("colAddr")) if address is not None else 0
                cells.append((row, col, " ".join(self._flat(cell))))
        if not cells:
            return []
        rows, cols = max(r for r, _, _ in cells) + 1, max(c for _, c, _ in cells) + 1
        if rows * cols > 1_000_000:  # damaged addresses: the cells in file order
            return [[text] for _, _, text in cells]
        grid = [[""] * cols for _ in range(rows)]
        for row, col, text in cells:
            grid[row][col] = text
        return grid


def load_hwpx(path: Path) -> Document:
    """An .hwpx package -> Document, a page per page Hangul laid out."""
    with library_errors("Hangul document"), zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = "META-INF/manifest.xml"
        if any(info.flag_bits & 0x1 for info in zf.infolist()) or (
                manifest in names and b"encryption-data" in zf.read(manifest)):
            raise LoadError("encrypted Hangul document (password protected)")
        sections, title = _sections(zf, names)
        if not sections:
            raise LoadError("corrupt Hangul document (no Contents/section0.xml)")
        header = _xml(zf, "Contents/header.xml") if "Contents/header.xml" in names else None
        reader = Reader(Styles(header))
        for name in sections:
            reader.section(_xml(zf, name))
    pages = reader.pages.finish()
    return Document(path=str(path), format="hwpx", pages=pages,
                    title=title or first_heading(b for p in pages for b in p.blocks))
