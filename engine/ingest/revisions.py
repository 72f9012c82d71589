"""Which revision of Satchel's readers produced a document in the index.

Why: readers get better (a PDF's running headers dropped, Markdown links read as their text, a
mailbox sniffed as mail), but an unchanged file is never read again, so a collection built by an
older Satchel would keep the old text for good. Each document row records the revisions of the
readers that read it (:func:`reading_tag`); an index run reads a file again when its row's tag is
not today's (:func:`is_current`), and reuses the vectors of every chunk whose text came out the
same, so reading a collection again costs the parsing and the few chunks that changed.

A file read while OCR was off that needed it (an image, a PDF with scanned pages) carries the
:data:`OCR_OFF` mark: once OCR is on, it is not current any more, and its scans get read.

Bump a format's number when its reader's output changes (text, headings, pages, parts), and
:data:`CHUNKER_REVISION` when chunking does: every file of that format, or every file, is read
again at the next index run. Kept apart from the loaders so the indexer imports only this table.
"""

from __future__ import annotations

from pathlib import Path

from engine.ingest.loaders.formats import CONVERTED_TO, format_for_name

#: format -> revision of its reader ("labelled tables": a table whose rows are each a label and
#: its value reads "Default: Timeout 60"). Revision 1 is the first recorded; rows written before
#: revisions existed have no tag and are read again once.
READER_REVISIONS: dict[str, int] = {
    # 2: bold subsection headings; running lines stacked 3-4 deep go; 3: names broken at a
    # line end ("R_" / "LIBS_USER") read whole, leader dots in contents and indexes shortened,
    # numbered headings of OCR'd pages, word spaces shown by position alone (groff) written in,
    # the values of a filled form, text typed onto a page, comments; 4: type set at size 1 and
    # scaled by its matrix read at its drawn size, a whole PDF with padding after %%EOF read,
    # pages whose text layer is glyph codes (fonts without Unicode) read by OCR; 5: tables
    # read as rows that name their columns
    "pdf": 5,
    # 2: code paragraphs (preformatted, monospace) make code blocks; 3: labelled tables, and
    # a document of pictures only (scanned pages pasted into Word) read by OCR; 4: text boxes,
    # footnotes, endnotes and comments (after the body), numbered headings of OCR'd pictures;
    # 5: embedded files (an Excel sheet, a dropped-in PDF) read as parts, charts' data;
    # 6: Strict Open XML; tracked insertions, content controls, fields and moved text in
    # paragraphs (python-docx's paragraph text skips them), a table's title row not its header;
    # 7: packages linking parts they lack, content controls around rows, cells and a cell's
    # paragraphs, documents merged in as chunks (w:altChunk), text boxes in table cells, a
    # vertical merge continued from above a table's first row (the document failed)
    "docx": 7,
    # 2: labelled tables; 3: an indented content.xml (pandoc) read, footnotes and comments;
    # 4: charts and embedded spreadsheets; 5: a table's title row not its header, a manifest
    # listing parts the archive lacks, text boxes after their paragraph (not inline); 6: parts
    # declaring OpenOffice.org's DTDs, attribute values outside the schema (the file failed),
    # text boxes and nested tables in table cells
    "odt": 6,
    # 2: labelled tables; 3: an indented content.xml (pandoc) read; 4: comments; 5: title rows
    # above a sheet's table read as text, not as its header, a manifest listing missing parts;
    # 6: parts declaring OpenOffice.org's DTDs, attribute values outside the schema
    "ods": 6,
    # 2: labelled tables; 3: an indented content.xml (pandoc) read; 4: charts; 5: a manifest
    # listing parts the archive lacks; 6: parts declaring OpenOffice.org's DTDs, attribute
    # values outside the schema
    "odp": 6,
    # 2: labelled tables; 3: the pictures of slides without text read by OCR, embedded files,
    # charts' data; 4: Strict Open XML, a table's title row not its header; 5: a picture in
    # the title placeholder (the deck failed)
    "pptx": 5,
    # 2: labelled tables; 3: a workbook with a DDE link (no relationships part) read, comments;
    # 4: Strict Open XML, title rows above a sheet's table read as text, not as its header,
    # sheets whose <dimension> claims less than they hold read whole; 5: a formatting rule or
    # validation outside the schema after the cells (the workbook failed)
    "xlsx": 5,
    # 2: labelled tables; 3: Excel's "sep=;" line, title rows above the header; 4: fields
    # ended by NUL bytes (an export refused as binary)
    "csv": 4,
    "epub": 3,  # 2: labelled tables; 3: books lacking files their manifest lists
    "html": 2,  # 2: labelled tables
    "markdown": 2,  # 2: pipe tables as labelled rows, quotes, footnotes, Obsidian embeds
    "rst": 2,  # 2: grid, simple and list-table tables as labelled rows
    "latex": 2,  # 2: labelled tables
    "text": 2,  # 2: clear-signed text without its OpenPGP armor; keys, signatures not read
    "code": 2,  # 2: .xml files holding Office's one-file documents read as those documents
    "json": 1,
    # 2: nameless attachments read by content; 3: winmail.dat; 4: labelled tables; 5: a
    # signed body without its OpenPGP armor, signatures not attachments, a bad attachment alone,
    # charsets read as their supersets (GB2312 as GB18030), undeclared ones guessed, a body
    # split at the boundary it uses; 6: attached messages read by content (a text message
    # named .msg, an Outlook one named .eml); 7: a screenshot pasted into the text read (an
    # inline picture of at least 400 x 200 pixels), logos still not
    "eml": 7,
    "mbox": 7,  # as .eml
    # 2: nameless attachments read by content; 3: winmail.dat; 4: labelled tables; 5: as eml 6;
    # 6: 8-bit text of a message naming no code page read in the one its bytes are in; 7: a
    # picture with a content ID read unless the HTML body shows it (Outlook.com gives one to
    # every attachment); 8: as eml 7
    "msg": 8,
    "emlx": 7,  # as .eml
    "pst": 2,  # 2: as eml 7
    "enex": 1,
    "hwp": 1,
    "hwpx": 1,
    "onenote": 1,
    "onepkg": 1,
    # 2: as docx 6 (its conversion keeps tracked changes and content controls); 3: as docx 7,
    # Word for DOS and Word for Windows 1-2 documents (no OLE header)
    "doc": 3,
    # 2: as xlsx 4; 3: xlsx 5, Excel 2.x-4.0 worksheets (bare BIFF streams), the sheet LibreOffice
    # names after the file named after the user's file
    "xls": 3,
    "ppt": 2,  # 2: as pptx 5
    "rtf": 2,  # 2: as docx 7
    "image": 2,  # 2: numbered headings ("2.1 What is R?") on lines of their own
    "zip": 2,  # 2: members whose name says nothing (README.Debian) read by content
    # 2: members whose name says nothing (README.Debian) read by content; 3: V7 tars
    "tar": 3,
    "compressed": 2,  # 2: members whose name says nothing (README.Debian) read by content
    "7z": 1,
    "rar": 1,
    "postscript": 1,
    "subtitles": 1,
    "mhtml": 2,  # 2: labelled tables
    "fodt": 1,
    "fods": 1,
    "fodp": 1,
    "odg": 1,
    "visio": 1,
    "djvu": 2,  # 2: numbered headings ("2.1 What is R?") on lines of their own
    "svg": 1,
    "fb2": 1,
    "chm": 1,
    "mobi": 1,
    "notebook": 1,
    "asciidoc": 2,  # 2: tables by column count, with their header
    "bibtex": 1,
    "info": 1,
    "org": 2,  # 2: tables with the header above their rule
    "calendar": 1,
    "vcard": 1,
    "abw": 1,
    "wordperfect": 1,
    "sxw": 1,
    "sxc": 1,
    "sxi": 1,
    "xlsb": 1,
    "gnumeric": 1,
    "slk": 1,
    "dif": 1,
    "pages": 1,
    "numbers": 1,
    "keynote": 1,
    "write": 1,
    "wordpro": 1,
    "lotus": 1,
    "appleworks": 1,
    "spreadsheetml": 1,
    "wordml": 1,
    "flatopc": 1,
}
#: Formats read by another format's reader after a rebuild in memory (not a LibreOffice
#: conversion): their tag carries those readers' revisions too.
READ_THROUGH: dict[str, tuple[str, ...]] = {"flatopc": ("docx", "pptx", "xlsx")}

#: Revision of the chunker (:mod:`engine.ingest.chunker`): how blocks become chunks.
CHUNKER_REVISION = 1
_CHUNKS = "chunks"
#: Revision of telling a file's format from its name and first bytes. The tag of a file that
#: failed carries it (:func:`failure_tag`), and a failure recorded under another revision is
#: tried once more (:func:`failed_under_today`): a file refused as mislabelled may be readable
#: now, and no reader's revision moved for it. 2: content overrules a name it contradicts
#: (:mod:`engine.ingest.loaders.content_format`); 3: an HTML page named .svg is read as one;
#: 4: a gettext template (.pot) is read as text, and a document whose name says nothing of its
#: format (no extension) by its signature; 5: a pre-POSIX (V7) tar by its header's checksum,
#: an encrypted WordPerfect file, a binary .info file skipped as another program's data;
#: 6: a CSV export whose fields end with NUL bytes, iWork packages (a .key is a Keynote
#: presentation or skipped as a key), Excel 2.x-4.0 worksheets and Word for DOS and Windows 1-2
#: documents (no OLE header); 7: an OpenDocument drawing or OpenOffice.org 1 file named for
#: another of their kind (a presentation named .odg) read as what it holds; 8: a Hangul document
#: (HWP 5 or .hwpx) named .doc or without an extension read as one; 9: Office's one-file XML
#: (XML Spreadsheet 2003, Word 2003 XML, Flat OPC) named .xls, .doc or .xlsx, and a bare HTML
#: table named .xls (a web page's "export to Excel"), read as what they hold.
SNIFF_REVISION = 9
_SNIFF = "sniff"
#: The mark of a file that needed OCR while OCR was off (it has no revision number).
OCR_OFF = "ocr-off"
#: The document metadata key a loader sets when pages needed OCR and OCR was off.
OCR_OFF_KEY = "ocr_off_pages"


def reading_tag(formats: list[str] | set[str] | tuple[str, ...], *, ocr_off: bool = False) -> str:
    """The tag recorded for a file read by the readers of ``formats`` (its own and its parts'):
    "chunks/1 eml/1 mbox/1 pdf/1", then :data:`OCR_OFF` when it needed OCR that was off.
    Formats without a reader count as revision 0. A format read through a conversion (.doc
    through DOCX) brings the revision of the reader of the converted file too."""
    formats = {*formats, *(CONVERTED_TO[f] for f in formats if f in CONVERTED_TO),
               *(r for f in formats for r in READ_THROUGH.get(f, ()))}
    revisions = {f: READER_REVISIONS.get(f, 0) for f in formats if f and f not in (_CHUNKS, _SNIFF)}
    revisions[_CHUNKS] = CHUNKER_REVISION
    if _SNIFF in formats:
        revisions[_SNIFF] = SNIFF_REVISION
    tag = " ".join(f"{name}/{rev}" for name, rev in sorted(revisions.items()))
    return f"{tag} {OCR_OFF}" if ocr_off else tag


def failure_tag(fmt: str, *, ocr_off: bool = False) -> str:
    """The tag of a file that failed (or held no words) as ``fmt``, its name's format."""
    return reading_tag({fmt, _SNIFF}, ocr_off=ocr_off)


def failed_under_today(tag: str) -> bool:
    """Whether a failure was recorded by today's way of telling formats apart; False for one
    from before (the next index run tries that file again, once)."""
    return f"{_SNIFF}/{SNIFF_REVISION}" in tag.split()


def formats_in(tag: str) -> list[str] | None:
    """The formats a tag names (the chunker's entry included); None when it does not parse."""
    formats = []
    for item in tag.split():
        if item == OCR_OFF:
            continue
        name, _, rev = item.partition("/")
        if not name or not rev.isdigit():
            return None
        formats.append(name)
    return formats


def is_current(tag: str, *, ocr: bool = False, path: str | None = None) -> bool:
    """Whether a file recorded with ``tag`` would be read the same way today, with OCR on
    (``ocr``) or off.

    An empty tag (a row from before revisions were recorded), a tag that does not parse, one
    with another revision of any of its readers or of the chunker, or one of a file that needed
    OCR while it was off when OCR is on now, is not current. Given the file's ``path``, neither
    is a tag without the format its name maps to today (:func:`names_its_format`).
    """
    formats = formats_in(tag)
    off = tag.split()[-1:] == [OCR_OFF]
    return (bool(formats) and reading_tag(formats, ocr_off=off) == tag and not (off and ocr)
            and (path is None or names_its_format(formats, path)))


def names_its_format(formats: list[str], path: str) -> bool:
    """Whether a tag's ``formats`` include the one the name of ``path`` (a file, or a part of
    one: a zip's member) maps to today.

    Why: a file whose extension moved to another reader was read by a reader whose revision
    did not change: a .tex read as source code before Satchel had a LaTeX reader has the
    current "code/1" tag, and would keep its code chunks for good. Mail is let be: an mbox or
    a message is found by its content whatever its name (or lack of one), and an attached
    message takes whatever name its sender gave it. So is a name whose format its content may
    overrule: a DOCX named .doc was read as DOCX by today's readers, and an XML spreadsheet
    named .xml as one.
    """
    from engine.ingest.loaders.content_format import OVERRULED_NAMES
    from engine.ingest.loaders.office_xml import XML_DOCUMENT_FORMATS

    fmt = format_for_name(Path(path))[0]
    # None: no longer read at all (the scan skips it)
    return (fmt is None or fmt in formats or fmt in OVERRULED_NAMES
            or not {"eml", "mbox", "msg"}.isdisjoint(formats)
            or (path.lower().endswith(".xml") and not XML_DOCUMENT_FORMATS.isdisjoint(formats)))
