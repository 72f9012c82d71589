"""What a file holds when its name says another format: a mislabelled file is read by content.

Why: names lie more often than content does. Word saves RTF and web pages under ``.doc``; web
applications export HTML tables or tab-separated text as ``.xls``; a DOCX renamed ``.doc`` or a
PDF attached as ``report.doc`` still opens in the program it came from, so its owner never
notices. Old software ships its plain-text documentation as ``*.doc`` (Python 2's
``pdb.doc``). Refusing such a file ("not a Word 97-2003 (.doc) file; mislabelled?") leaves a
readable document out of the index and asks the user to rename files they did not name.

The rule: the name proposes a format and its first bytes confirm it (:mod:`engine.ingest.
loaders`); only when they do not is :func:`format_by_content` asked, and only a format
positively recognised by its own signature is used (a PDF header, an OLE container with a
Word, Excel, PowerPoint or Outlook stream, a zip package with an Office or OpenDocument part,
an RTF or HTML start, MIME headers, the root element of Office's one-file XML: see
:mod:`engine.ingest.loaders.office_xml`). Plain text is taken only where the name allows it: a
``.doc`` (documentation) as text, a spreadsheet name as delimited rows. Text named ``.pdf`` or
``.docx`` and anything unrecognised keep the name's one-line refusal: nothing here guesses.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO

from engine.ingest.loaders.encoding import looks_binary
from engine.ingest.loaders.formats import (
    HWPX_MIMETYPE,
    ODF_MIMETYPES,
    OLE_CONTENT_STREAMS,
    OLE_MAGIC,
    PDF_MAGIC,
    RTF_MAGIC,
    ZIP_ERRORS,
    ZIP_MAGIC,
    mail_format,
    starts_with_headers,
)
from engine.ingest.loaders.office_xml import office_xml_format

#: Names whose check may be overruled by content: the formats people and programs mislabel.
#: Text formats, archives and formats told apart by their content's nature (a genomic .vcf)
#: are not: their refusals already say what the file is. SVG is: gnuplot's demo pages (the
#: index of its SVG demos) are HTML named .svg.
OVERRULED_NAMES = frozenset({"pdf", "doc", "xls", "ppt", "rtf", "msg", "eml", "docx", "xlsx",
                             "pptx", "odt", "ods", "odp", "odg", "sxw", "sxc", "sxi", "epub",
                             "mhtml", "svg", "pages", "numbers", "hwp", "hwpx"})
#: Names under which plain text is read as text (``.doc`` was "documentation" long before Word;
#: ``.pot``, a PowerPoint template's name, is a gettext template's, read as its ``.po`` files
#: are; word lists and test data are named ``.numbers`` and ``.pages`` as often as Apple's
#: documents) or as delimited rows (what "export to Excel" often writes).
PLAIN_TEXT_AS = {"doc": "text", "ppt": "text", "xls": "csv", "xlsx": "csv", "ods": "csv",
                 "pages": "text", "numbers": "text"}

#: The part of a zip package that says which Office format it is.
_ZIP_PARTS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"),
              ("ppt/presentation.xml", "pptx"))
#: The ``mimetype`` member of the OpenDocument (and OpenOffice.org 1) and EPUB packages: a
#: presentation named .odg is read as the presentation it is. (LibreOffice, which converts
#: drawings and OpenOffice.org 1 files, is handed a copy named for what the file holds.)
_ZIP_MIMETYPES = {mimetype.encode(): kind for kind, mimetype in ODF_MIMETYPES.items()} | {
    b"application/epub+zip": "epub", HWPX_MIMETYPE: "hwpx"}


def format_by_content(path: Path, head: bytes, named: str) -> str | None:
    """The format ``path`` holds by its first bytes ``head``, when its name (``named``, a key of
    :data:`OVERRULED_NAMES`) failed its check; None when the content is not recognised, is the
    named format after all (then the name's own refusal is the right one), or ``named`` is
    not one whose refusal content may overrule."""
    if named not in OVERRULED_NAMES:
        return None
    found = format_by_signature(path, head)
    if found is None and not looks_binary(head):
        found = _by_text(head, named)
    return found if found != named else None


def format_by_signature(path: Path, head: bytes) -> str | None:
    """The document format ``head`` positively starts with (a PDF header, an OLE container of
    Word, Excel, PowerPoint or Outlook, an Office or OpenDocument zip package, RTF); None for
    anything else. Also how a binary file whose name says nothing of its format is read: a
    message saved without an extension, a download named "document" or "report.pdf.part"."""
    if PDF_MAGIC in head[:1024]:
        return "pdf"
    if head.startswith(RTF_MAGIC):
        return "rtf"
    if head.startswith(OLE_MAGIC):
        return _ole_format(path)
    if head.startswith(ZIP_MAGIC):
        return zip_package_format(path)
    return None


def ole_streams(path: Path) -> set[str] | None:
    """The stream paths of an OLE container, lower case ("worddocument", "__substg1.0_0037001f");
    None when it is damaged."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return {"/".join(entry).lower() for entry in ole.listdir()}
    except Exception:  # olefile raises OSError, OleFileError, struct.error... on junk
        return None


def _ole_format(path: Path) -> str | None:
    """doc/xls/ppt/msg by the container's content stream; None for anything else (an encrypted
    OOXML package, a Visio drawing, a damaged file: the name's refusal explains those)."""
    streams = ole_streams(path)
    if streams is None or "encryptedpackage" in streams:
        return None
    return ole_format_of(streams)


def ole_format_of(streams: set[str]) -> str | None:
    """doc/xls/ppt/msg/hwp by an OLE container's stream paths (as :func:`ole_streams` gives them);
    None for other containers, Visio drawings included (a drawing's kind is in its name)."""
    for fmt, content in OLE_CONTENT_STREAMS.items():
        if fmt != "visio" and streams & set(content):
            return fmt
    if any(s.startswith("__substg1.0_") for s in streams):
        return "msg"
    if "fileheader" in streams and any(s.startswith(("bodytext/", "viewtext/")) for s in streams):
        return "hwp"  # Hangul 2002 and later (HWP 5)
    return None


def zip_package_format(source: Path | IO[bytes]) -> str | None:
    """docx/xlsx/pptx, odt/ods/odp or epub by a zip package's parts (a file or its bytes in a
    file object); None for any other zip, or no zip."""
    try:
        with zipfile.ZipFile(source) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" in names:  # an Office package, not any zip with a word/
                for part, fmt in _ZIP_PARTS:
                    if part in names:
                        return fmt
            if "mimetype" in names:
                mimetype = zf.read("mimetype").strip().removesuffix(b"-template")
                return _ZIP_MIMETYPES.get(mimetype)
    except ZIP_ERRORS:
        return None
    return None


#: How an HTML fragment starts: what a web page's "export to Excel" writes without <html>
#: around it (a bare ``<table>``, often after a ``<meta charset>`` or a ``<style>``).
_HTML_FRAGMENT = re.compile(rb"<(?:table|meta|style|head|body)[\s>/]")


def _by_text(head: bytes, named: str) -> str | None:
    if office := office_xml_format(head):
        return office  # an "Excel file" a web application wrote as XML Spreadsheet 2003
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    lower = text[:4096].lower()
    if lower.startswith((b"<!doctype html", b"<html")) or (
            lower.startswith(b"<") and b"<html" in lower) or _HTML_FRAGMENT.match(lower):
        return "html"
    if starts_with_headers(text):
        if b"multipart/related" in lower:
            return "mhtml"  # Word's and Excel's "single file web page"
        mail = mail_format(text)
        if mail:
            return mail
    plain = PLAIN_TEXT_AS.get(named)
    if plain == "csv" and not _delimited(text):
        return None
    return plain


def _delimited(text: bytes) -> bool:
    """Rows separated by tabs, commas or semicolons: the same count on the first lines."""
    lines = [line for line in text.splitlines()[:5] if line.strip()]
    if not lines:
        return False
    return any(lines[0].count(sep) > 0 and all(line.count(sep) == lines[0].count(sep)
                                                for line in lines)
               for sep in (b"\t", b",", b";"))
