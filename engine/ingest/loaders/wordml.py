"""Word 2003's XML documents (WordprocessingML 2003, "Word XML Document"): one page, as a DOCX.

Word 2003 saved "XML Document" in this format, and document generators still write it: it is
one XML file that Word opens as a document, so a template filled in by a web application
(contracts, letters, reports, government forms) is often this, named ``.xml`` or ``.doc``.
It is WordprocessingML before Office Open XML: paragraphs, runs and tables under the 2003
namespace, styles, lists and notes in its own elements, and Word's hints (``wx:sect``,
``wx:sub-section``) wrapped around the body's sections.

Read as a DOCX is (:mod:`engine.ingest.loaders.word`, whose :class:`~engine.ingest.loaders.
word.Builder` collects the blocks): headings by style (its name, or the style it is based on)
or outline level, list paragraphs as one list, code-styled paragraphs as code, tables as
tables whose rows carry their headers, footnotes, endnotes and comments after the body.
Tracked deletions, field codes and the text of Word's own hints are not the document's text;
tracked insertions are. Text boxes are read after the paragraph they are anchored in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError
from engine.ingest.loaders.common import clean_inline, library_errors, local_name, parse_xml
from engine.ingest.loaders.office_xml import OFFICE_NS, WORDML_NS
from engine.ingest.loaders.word import CODE_STYLE, HEADING_STYLE, Builder, single_page

_W = f"{{{WORDML_NS}}}"
_O = f"{{{OFFICE_NS}}}"
_AML = "{http://schemas.microsoft.com/aml/2001/core}"
#: Elements whose text is not the document's: deleted text, field codes, Word's hints, and
#: the containers read on their own (notes, comments, text boxes, properties).
_NOT_TEXT = frozenset({_W + "delText", _W + "instrText", _W + "pPr", _W + "rPr",
                       _W + "footnote", _W + "endnote", _W + "pict", _W + "binData",
                       _W + "fldData"})
_NOTES = (_W + "footnote", _W + "endnote")
_TEXT_BOX = ".//{urn:schemas-microsoft-com:vml}textbox/" + _W + "txbxContent"
#: LibreOffice writes a style's display name encoded ("Heading_20_1" for "Heading 1").
_ENCODED_SPACE = "_20_"
#: Deepest nesting of based-on styles followed (a loop in a damaged file ends here).
_MAX_STYLE_DEPTH = 10


def _val(element: Any, child: str) -> str | None:
    """The ``w:val`` of ``element``'s child ``w:<child>`` (None when absent)."""
    found = element.find(_W + child) if element is not None else None
    return found.get(_W + "val") if found is not None else None


def _paragraphs(element: Any) -> list[Any]:
    """The paragraphs inside ``element`` (a cell, a note, a comment), nested tables' too, but
    not those of the notes and comments inside it: each is read once, where it belongs."""
    out: list[Any] = []
    for child in element:
        if child.tag == _W + "p":
            out.append(child)
        elif child.tag not in _NOTES and child.tag != _AML + "annotation" and \
                isinstance(child.tag, str):
            out += _paragraphs(child)
    return out


class _Styles:
    """Paragraph styles by id: their names, what they are based on, their outline level."""

    def __init__(self, root: Any) -> None:
        self.names: dict[str, str] = {}
        self.based_on: dict[str, str] = {}
        self.outline: dict[str, int] = {}
        for style in root.iterfind(f"{_W}styles/{_W}style"):
            sid = style.get(_W + "styleId") or ""
            name = (_val(style, "name") or sid).replace(_ENCODED_SPACE, " ")
            self.names[sid] = name
            if base := _val(style, "basedOn"):
                self.based_on[sid] = base
            level = _val(style.find(_W + "pPr"), "outlineLvl")
            if level and level.isdecimal() and int(level) < 9:
                self.outline[sid] = int(level) + 1

    def chain(self, sid: str) -> list[str]:
        """``sid`` and the styles it is based on, nearest first."""
        out: list[str] = []
        while sid and sid not in out and len(out) < _MAX_STYLE_DEPTH:
            out.append(sid)
            sid = self.based_on.get(sid, "")
        return out

    def kind(self, sid: str) -> tuple[str, int]:
        """("heading", level), ("code", 0) or ("paragraph", 0) by the style and its bases."""
        for step in self.chain(sid):
            name = self.names.get(step, step)
            if name.lower() == "title":
                return "heading", 1
            if match := HEADING_STYLE.match(name):
                return "heading", int(match.group(1))
            if step in self.outline:
                return "heading", self.outline[step]
            if CODE_STYLE.search(name):
                return "code", 0
        return "paragraph", 0


class _Reader:
    """Walks the body into a :class:`Builder`; notes and comments are kept for after it."""

    def __init__(self, styles: _Styles) -> None:
        self.styles = styles
        self.builder = Builder()
        self.notes: list[str] = []
        self.comments: list[str] = []

    def container(self, element: Any) -> None:
        """A body, section, cell or custom-tag container: its paragraphs and tables in order."""
        for child in element:
            tag = child.tag
            if tag == _W + "p":
                self.paragraph(child)
            elif tag == _W + "tbl":
                self.builder.table(self.table(child))
            elif tag in (_W + "sectPr", _W + "pPr"):
                continue
            elif isinstance(tag, str):
                self.container(child)  # wx:sect, wx:sub-section, wx:pBdrGroup, custom XML

    def paragraph(self, p: Any) -> None:
        text = self.text(p)
        ppr = p.find(_W + "pPr")
        kind, level = self.styles.kind(_val(ppr, "pStyle") or "")
        outline = _val(ppr, "outlineLvl")
        if outline and outline.isdecimal() and int(outline) < 9:
            kind, level = "heading", int(outline) + 1
        list_pr = ppr.find(_W + "listPr") if ppr is not None else None
        if kind == "heading":
            self.builder.heading(text, level)
        elif list_pr is not None and _val(list_pr, "ilfo") not in (None, "0"):
            depth = _val(list_pr, "ilvl") or "0"
            self.builder.item(int(depth) if depth.isdecimal() else 0, clean_inline(text))
        elif kind == "code":
            for line in text.split("\n"):
                self.builder.code(line)
        else:
            self.builder.paragraph(text)
        for box in p.iterfind(_TEXT_BOX):
            self.container(box)

    def text(self, element: Any) -> str:
        """The text of a paragraph as Word shows it: runs' text, tabs and breaks, insertions
        kept and deletions left out; notes and comments met on the way are kept for later."""
        out: list[str] = []
        self._collect(element, out)
        return "".join(out)

    def _collect(self, element: Any, out: list[str]) -> None:
        for child in element:
            tag = child.tag
            if tag == _W + "t":
                out.append(child.text or "")
            elif tag == _W + "tab":
                out.append("\t")
            elif tag in (_W + "br", _W + "cr"):
                out.append("\n")
            elif tag in _NOTES:
                self.notes.append(" ".join(self.text(p) for p in _paragraphs(child)))
            elif tag == _AML + "annotation":
                self._annotation(child, out)
            elif isinstance(tag, str) and tag not in _NOT_TEXT:
                self._collect(child, out)  # runs, links, fields' results, smart tags

    def _annotation(self, annotation: Any, out: list[str]) -> None:
        kind = annotation.get(_W + "type", "")
        if kind == "Word.Comment":
            self.comments.append(" ".join(self.text(p) for p in _paragraphs(annotation)))
        elif kind == "Word.Insertion":
            self._collect(annotation, out)
        # Word.Deletion, bookmarks and formatting changes add no text

    def table(self, tbl: Any) -> list[list[str]]:
        """Rows of cells, as the DOCX loader reads them: a cell merged across columns once,
        one merged down rows with the text of the cell it continues."""
        rows: list[list[str]] = []
        merged_down: dict[int, str] = {}  # grid column -> text of the cell a merge starts at
        for tr in tbl.iterfind(_W + "tr"):
            cells: list[str] = []
            column = 0
            for tc in tr.iterfind(_W + "tc"):
                props = tc.find(_W + "tcPr")
                vmerge = props.find(_W + "vmerge") if props is not None else None
                if vmerge is not None and vmerge.get(_W + "val") != "restart":
                    text = merged_down.get(column, "")
                else:
                    text = clean_inline(" ".join(self.text(p) for p in _paragraphs(tc)))
                    if vmerge is not None:
                        merged_down[column] = text
                cells.append(text)
                span = _val(props, "gridSpan") or "1"
                column += int(span) if span.isdecimal() and int(span) > 0 else 1
            rows.append(cells)
        return rows


def load_wordml(path: Path) -> Document:
    """WordprocessingML 2003 -> one page: headings, lists, code, tables and paragraphs, then
    footnotes, endnotes and comments (as :func:`engine.ingest.loaders.word.load_docx`)."""
    with library_errors("Word XML document"):
        root = parse_xml(path)
    if root is None or local_name(root) != "wordDocument":
        raise LoadError("not a Word XML document (no <w:wordDocument> root)")
    reader = _Reader(_Styles(root))
    body = root.find(_W + "body")
    if body is not None:
        reader.container(body)
    reader.builder.notes(reader.notes)
    reader.builder.comments(reader.comments)
    props = root.find(f"{_O}DocumentProperties")
    title, author = (("", "") if props is None else
                     (clean_inline(props.findtext(f"{_O}Title") or ""),
                      clean_inline(props.findtext(f"{_O}Author") or "")))
    blocks = reader.builder.finish()
    return single_page(path, "wordml", blocks, title or reader.builder.body_title() or "",
                       author)
