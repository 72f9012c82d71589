"""Office's one-file XML documents: Excel 2003's XML Spreadsheet, Flat OPC, and how to tell them.

Why: these are what web applications, reporting tools and older Office versions write when a
file must be "an Excel file" or "a Word file" without a zip library. Banks, shops, ERP and
school systems export XML Spreadsheet 2003 (``<?mso-application progid="Excel.Sheet"?>``),
usually named ``.xls`` (Excel opens it after a warning) or ``.xml``; Word 2003 saved "XML
Document" as WordprocessingML 2003 (:mod:`engine.ingest.loaders.wordml`), and Word and
PowerPoint 2007 and later save it as Flat OPC, the zip package's parts written out one after
another in one XML file. Read as markup, their text was lost in tags (``<Cell><Data
ss:Type="String">Harrowgate</Data></Cell>``); named ``.xls`` the spreadsheet was refused as
"no OLE header".

* XML Spreadsheet: one page per worksheet (label = its name), rows rendered with their column
  headers exactly as an XLSX sheet's are (:func:`engine.ingest.loaders.sheets.sheet_blocks`),
  sparse rows and cells placed by their ``ss:Index``, dates as dates, and the cells' comments
  after the sheet. The file is read as a stream, one row at a time, so a large export does not
  sit in memory as a tree.
* Flat OPC: the parts are put back into the zip package they came from, and the package is
  read by the DOCX, PPTX or XLSX loader: the same headings, slides, notes and embedded files.
* A flat OpenDocument file named ``.xml`` is read as the ``.fodt``/``.fods``/``.fodp`` it is.

What a file holds is told by its root element and that element's namespace
(:func:`office_xml_format`), never by the ``mso-application`` hint alone, which any XML may
carry: a file named ``.xml`` stays markup unless its root is one of these documents.
"""

from __future__ import annotations

import base64
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError, LoadOptions, rebase
from engine.ingest.loaders.common import clean_inline, column_name, library_errors, local_name
from engine.ingest.loaders.sheets import MAX_ROWS_PER_SHEET, workbook_metadata, workbook_pages

SPREADSHEET_NS = "urn:schemas-microsoft-com:office:spreadsheet"
WORDML_NS = "http://schemas.microsoft.com/office/word/2003/wordml"
FLAT_OPC_NS = "http://schemas.microsoft.com/office/2006/xmlPackage"
OFFICE_NS = "urn:schemas-microsoft-com:office:office"
_ODF_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

#: Formats read by this module and :mod:`engine.ingest.loaders.wordml`: their names' display
#: names are in :data:`engine.ingest.loaders.formats.DISPLAY_NAMES`.
OFFICE_XML_FORMATS = ("spreadsheetml", "wordml", "flatopc")
#: What a file named ``.xml`` may be read as besides markup (its tag names one of them).
XML_DOCUMENT_FORMATS = frozenset({*OFFICE_XML_FORMATS, "fodt", "fods", "fodp"})

#: Root element (local name) and the namespace it must be in -> format.
_ROOTS = {("Workbook", SPREADSHEET_NS): "spreadsheetml",
          ("wordDocument", WORDML_NS): "wordml",
          ("package", FLAT_OPC_NS): "flatopc"}
#: A flat OpenDocument file's declared kind -> the format its own name would have.
_FLAT_ODF_KINDS = {"text": "fodt", "spreadsheet": "fods", "presentation": "fodp"}

#: What may come before the root element: the XML declaration, processing instructions,
#: comments, a document type declaration, white space.
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)", re.S)
_START_TAG = re.compile(r"\s*<(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)([^>]*)", re.S)
_MIMETYPE = re.compile(r'office:mimetype\s*=\s*["\']application/vnd\.oasis\.opendocument\.'
                       r'([a-z]+)', re.S)


def _decoded(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace").removeprefix("\ufeff")
    return head.decode("utf-8", "replace").removeprefix("\ufeff")


def office_xml_format(head: bytes) -> str | None:
    """"spreadsheetml", "wordml", "flatopc" or "fodt"/"fods"/"fodp" when the XML whose first
    bytes are ``head`` has the root element of one of those documents; None for any other
    content (markup, text, binary)."""
    text = _decoded(head)
    pos = 0
    while match := _PROLOG.match(text, pos):
        pos = match.end()
    root = _START_TAG.match(text, pos)
    if root is None:
        return None
    prefix, name, attributes = root.groups()
    declared = re.search(r"xmlns%s\s*=\s*[\"']([^\"']*)" % (":" + prefix if prefix else ""),
                         attributes)
    namespace = declared[1] if declared else ""
    if name == "document" and namespace == _ODF_OFFICE_NS:
        kind = _MIMETYPE.search(attributes)
        return _FLAT_ODF_KINDS.get(kind[1]) if kind else None
    return _ROOTS.get((name, namespace))


def _parser_options() -> dict[str, Any]:
    """No entities resolved, no network, no DTD: what an untrusted file's XML is parsed with."""
    return {"resolve_entities": False, "no_network": True, "load_dtd": False,
            "huge_tree": True}


# ----------------------------------------------------------------------- XML Spreadsheet 2003


_SS = f"{{{SPREADSHEET_NS}}}"
_O = f"{{{OFFICE_NS}}}"
#: ss:Type values -> how the value is shown ("1" as TRUE, "2010-05-15T00:00:00.000" as a date).
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?")


def _value(data: Any) -> str:
    """A ``<Data>`` element's value as a person reads it. Its text may be rich (HTML ``<B>``,
    ``<Font>`` children), so all of it is taken."""
    text = "".join(data.itertext())
    kind = data.get(_SS + "Type", "String")
    if kind == "Boolean":
        return "TRUE" if text.strip() in ("1", "true", "TRUE") else "FALSE"
    if kind == "DateTime" and (date := _DATE.fullmatch(text.strip())):
        return date[1] if date[2] == "00:00" else f"{date[1]} {date[2]}"
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return clean_inline(text)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(round(number, 10)).removesuffix(".0")
    return clean_inline(text)


class _Sheet:
    """One worksheet's rows, placed where ``ss:Index`` says, and its cells' comments. Rows past
    what is indexed of a sheet (:data:`MAX_ROWS_PER_SHEET`) are counted, not kept."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[list[str]] = []
        self.comments: list[tuple[str, str]] = []
        self.filled = 0
        self.dropped = 0

    def add_row(self, row: Any) -> None:
        if self.filled >= MAX_ROWS_PER_SHEET:
            if any("".join(d.itertext()).strip() for d in row.iter(_SS + "Data")):
                self.dropped += 1
            return
        index = row.get(_SS + "Index")
        if index and index.isdecimal() and int(index) - 1 > len(self.rows):
            self.rows += [[] for _ in range(int(index) - 1 - len(self.rows))]
        cells: list[str] = []
        for cell in row.iterchildren(_SS + "Cell"):
            at = cell.get(_SS + "Index")
            if at and at.isdecimal() and int(at) - 1 > len(cells):
                cells += [""] * (int(at) - 1 - len(cells))
            data = cell.find(_SS + "Data")
            cells.append(_value(data) if data is not None else "")
            comment = cell.find(_SS + "Comment")
            if comment is not None and (note := clean_inline("".join(comment.itertext()))):
                self.comments.append((f"{column_name(len(cells) - 1)}{len(self.rows) + 1}", note))
            merged = cell.get(_SS + "MergeAcross")
            if merged and merged.isdecimal():  # the merged cells hold nothing of their own
                cells += [""] * min(int(merged), 256)
        self.rows.append(cells)
        self.filled += any(cells)


def _spreadsheet_events(path: Path) -> Iterator[tuple[str, Any]]:
    from lxml import etree

    tags = (_SS + "Worksheet", _SS + "Row", _O + "DocumentProperties")
    yield from etree.iterparse(str(path), events=("start", "end"), tag=tags, **_parser_options())


def load_spreadsheetml(path: Path) -> Document:
    """XML Spreadsheet 2003 -> one Page per worksheet (label = its name), as an XLSX is read."""
    title = author = ""
    sheets: list[_Sheet] = []
    with library_errors("XML spreadsheet"):
        for event, element in _spreadsheet_events(path):
            name = local_name(element)
            if name == "Worksheet" and event == "start":
                label = element.get(_SS + "Name") or f"Sheet{len(sheets) + 1}"
                sheets.append(_Sheet(clean_inline(label)))
            elif name == "Row" and event == "end":
                if sheets:
                    sheets[-1].add_row(element)
                element.clear(keep_tail=False)
                while element.getprevious() is not None:  # the rows read: out of the tree
                    del element.getparent()[0]
            elif name == "DocumentProperties" and event == "end":
                title = clean_inline(element.findtext(_O + "Title") or "")
                author = clean_inline(element.findtext(_O + "Author") or "")
    if not sheets:
        raise LoadError("not an XML spreadsheet (no worksheets)")
    pages, skipped = workbook_pages((s.name, s.rows, s.comments, s.dropped) for s in sheets)
    metadata = workbook_metadata(pages, author, skipped)
    return Document(path=str(path), format="spreadsheetml", pages=pages, title=title or None,
                    metadata=metadata)


# --------------------------------------------------------------------------------- Flat OPC


_PKG = f"{{{FLAT_OPC_NS}}}"
_CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
#: The package's main part -> the loader that reads the rebuilt package, and its extension.
_MAIN_PARTS = (("word/document.xml", "docx"), ("ppt/presentation.xml", "pptx"),
               ("xl/workbook.xml", "xlsx"))


def _parts(path: Path) -> dict[str, tuple[str, bytes]]:
    """name -> (content type, bytes) of each ``<pkg:part>``: an XML part's one child written
    out as its own document, a binary part's base64 decoded."""
    from lxml import etree

    parts: dict[str, tuple[str, bytes]] = {}
    for _, part in etree.iterparse(str(path), tag=_PKG + "part", **_parser_options()):
        name = (part.get(_PKG + "name") or "").lstrip("/")
        if not name or ".." in name.split("/"):
            raise LoadError(f"corrupt Flat OPC document (a part named {name!r})")
        xml, binary = part.find(_PKG + "xmlData"), part.find(_PKG + "binaryData")
        if xml is not None and len(xml):
            data = etree.tostring(xml[0], xml_declaration=True, encoding="UTF-8",
                                  standalone=True)
        elif binary is not None:
            data = base64.b64decode("".join((binary.text or "").split()))
        else:
            data = b""
        parts[name] = (part.get(_PKG + "contentType") or "application/octet-stream", data)
        part.clear(keep_tail=False)
    return parts


def _content_types(parts: dict[str, tuple[str, bytes]]) -> bytes:
    """The package's ``[Content_Types].xml``: an override per part, as the parts declared."""
    from xml.sax.saxutils import quoteattr

    overrides = "".join(f"<Override PartName={quoteattr('/' + name)} ContentType="
                        f"{quoteattr(kind)}/>" for name, (kind, _) in parts.items())
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns='
            f'"{_CONTENT_TYPES_NS}"><Default Extension="rels" ContentType="application/vnd.'
            f'openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            f'ContentType="application/xml"/>{overrides}</Types>').encode()


def load_flat_opc(path: Path, options: LoadOptions | None = None) -> Document:
    """Word's or PowerPoint's "XML Document" (Flat OPC) -> the document its package holds, read
    by the DOCX/PPTX/XLSX loader."""
    with library_errors("Flat OPC document"):
        parts = _parts(path)
    kind = next((fmt for main, fmt in _MAIN_PARTS if main in parts), None)
    if kind is None:
        raise LoadError("not a Word, PowerPoint or Excel document (a Flat OPC package "
                        "without a main part)")
    with tempfile.TemporaryDirectory(prefix="satchel-flatopc-") as tmp:
        package = Path(tmp) / f"{path.stem or 'document'}.{kind}"
        with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", _content_types(parts))
            for name, (_, data) in parts.items():
                zf.writestr(name, data)
        doc = _load_package(package, kind, options or LoadOptions())
    rebase(doc, str(path))
    doc.format = "flatopc"
    doc.loader = f"{doc.loader or _PACKAGE_READERS[kind]} (from a Flat OPC XML file)"
    return doc


_PACKAGE_READERS = {"docx": "python-docx", "pptx": "python-pptx", "xlsx": "openpyxl"}


def _load_package(package: Path, kind: str, options: LoadOptions) -> Document:
    if kind == "docx":
        from engine.ingest.loaders.word import load_docx

        return load_docx(package, options)
    if kind == "pptx":
        from engine.ingest.loaders.slides import load_pptx

        return load_pptx(package, options)
    from engine.ingest.loaders.sheets import load_xlsx

    return load_xlsx(package)
