"""Turn a file of any common format into a :class:`~engine.ingest.document.Document`.

Public API::

    SUPPORTED_EXTENSIONS              ".pdf" -> "pdf", ".md" -> "markdown", ".py" -> "code", ...
    detect_format(path) -> str | None the format, or None when the file should be skipped
    skip_reason(path) -> str | None   why detect_format said None (one line), else None
    load(path, *, max_bytes=None)     -> Document, or LoadError with a one-line reason

The extension proposes a format and the first bytes confirm it: a ``.pdf`` that does not start
with ``%PDF``, a ``.docx`` that is not a zip, a ``.txt`` full of NUL bytes are skipped with a
reason instead of being indexed as garbage. Format loaders live in their own modules and import
their heavy libraries inside functions, so importing this package costs nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from engine.ingest.document import Document, LoadError, LoadOptions, NothingToRead
from engine.ingest.loaders import iwork
from engine.ingest.loaders.content_format import format_by_content, format_by_signature
from engine.ingest.loaders.encoding import SNIFF_BYTES, looks_binary, without_nuls
from engine.ingest.loaders.formats import (
    CAB_MAGIC,
    CODE_LANGUAGES,
    COMPRESSED_SUFFIXES,
    DISPLAY_NAMES,
    FLAT_ODF,
    HWP3_MAGIC,
    HWPX_MIMETYPE,
    IMAGE_MAGIC,
    LEGACY_OFFICE,
    LOADER_NAMES,
    ODF_MIMETYPES,
    OLE_MAGIC,
    ONENOTE_CONTENTS_MAGIC,
    ONENOTE_SECTION_MAGIC,
    PDF_MAGIC,
    PST_MAGIC,
    RAR_MAGIC,
    RTF_MAGIC,
    SEVEN_Z_MAGIC,
    SUPPORTED_EXTENSIONS,
    TEXT_FORMATS,
    ZIP_ERRORS,
    ZIP_FORMATS,
    ZIP_MAGIC,
    ZSTD_MAGIC,
    a_file,
    format_for_name,
    image_container,
    is_biff_stream,
    is_old_sheet,
    is_postscript,
    is_pre_ole_word,
    is_word_dos,
    mail_format,
    read_by_content,
    starts_with_headers,
)
from engine.ingest.loaders.iwork import IWORK_FORMATS
from engine.ingest.loaders.office_xml import OFFICE_XML_FORMATS, office_xml_format

__all__ = [
    "CODE_LANGUAGES",
    "SUPPORTED_EXTENSIONS",
    "LoadError",
    "LoadOptions",
    "NothingToRead",
    "detect_format",
    "is_supported_name",
    "load",
    "not_a_document",
    "skip_reason",
]

#: format -> (module, function); modules are imported on first use.
_LOADERS: dict[str, tuple[str, str]] = {
    "pdf": ("pdf", "load_pdf"),
    "docx": ("word", "load_docx"),
    "odt": ("opendocument", "load_odt"),
    "ods": ("opendocument", "load_ods"),
    "odp": ("opendocument", "load_odp"),
    "pptx": ("slides", "load_pptx"),
    "xlsx": ("sheets", "load_xlsx"),
    "csv": ("sheets", "load_csv"),
    "epub": ("epub", "load_epub"),
    "html": ("html", "load_html"),
    "markdown": ("text", "load_markdown"),
    "rst": ("text", "load_rst"),
    "latex": ("latex", "load_latex"),
    "text": ("text", "load_plain"),
    "code": ("text", "load_code"),
    "json": ("text", "load_json"),
    "eml": ("email", "load_eml"),
    "mbox": ("email", "load_mbox"),
    "msg": ("outlook_msg", "load_msg"),
    "emlx": ("emlx", "load_emlx"),
    "pst": ("outlook_pst", "load_pst"),
    "enex": ("evernote", "load_enex"),
    "hwp": ("hangul", "load_hwp"),
    "hwpx": ("hangul_xml", "load_hwpx"),
    "onenote": ("onenote", "load_one"),
    "doc": ("legacy", "load_legacy"),
    "xls": ("legacy", "load_legacy"),
    "ppt": ("legacy", "load_legacy"),
    "rtf": ("legacy", "load_legacy"),
    "fodt": ("legacy", "load_legacy"),
    "fods": ("legacy", "load_legacy"),
    "fodp": ("legacy", "load_legacy"),
    "odg": ("legacy", "load_legacy"),
    "visio": ("legacy", "load_legacy"),
    "djvu": ("djvu", "load_djvu"),
    "svg": ("svg", "load_svg"),
    "fb2": ("fictionbook", "load_fb2"),
    "chm": ("chm", "load_chm"),
    "mobi": ("mobi", "load_mobi"),
    "notebook": ("notebook", "load_notebook"),
    "asciidoc": ("markup", "load_asciidoc"),
    "bibtex": ("bibtex", "load_bibtex"),
    "info": ("info", "load_info"),
    "org": ("markup", "load_org"),
    "calendar": ("calendar", "load_calendar"),
    "vcard": ("calendar", "load_vcard"),
    "abw": ("legacy", "load_legacy"),
    "wordperfect": ("legacy", "load_legacy"),
    "sxw": ("legacy", "load_legacy"),
    "sxc": ("legacy", "load_legacy"),
    "sxi": ("legacy", "load_legacy"),
    "xlsb": ("legacy", "load_legacy"),
    "gnumeric": ("legacy", "load_legacy"),
    "slk": ("legacy", "load_legacy"),
    "dif": ("legacy", "load_legacy"),
    "pages": ("legacy", "load_legacy"),
    "numbers": ("legacy", "load_legacy"),
    "keynote": ("legacy", "load_legacy"),
    "write": ("legacy", "load_legacy"),
    "wordpro": ("legacy", "load_legacy"),
    "lotus": ("legacy", "load_legacy"),
    "appleworks": ("legacy", "load_legacy"),
    "image": ("ocr", "load_image"),
    "zip": ("archive", "load_zip"),
    "tar": ("archive", "load_tar"),
    "compressed": ("archive", "load_compressed"),
    "7z": ("archive", "load_7z"),
    "onepkg": ("archive", "load_onepkg"),
    "postscript": ("postscript", "load_postscript"),
    "rar": ("archive", "load_rar"),
    "subtitles": ("subtitles", "load_subtitles"),
    "mhtml": ("mhtml", "load_mhtml"),
    "spreadsheetml": ("office_xml", "load_spreadsheetml"),
    "flatopc": ("office_xml", "load_flat_opc"),
    "wordml": ("wordml", "load_wordml"),
}

#: Formats whose loader takes :class:`LoadOptions` (OCR, or attachments loaded with the same).
_OPTION_FORMATS = frozenset({"pdf", "djvu", "image", "eml", "emlx", "mbox", "msg", "pst", "enex",
                             "zip", "tar", "compressed", "7z", "rar", "postscript", "docx", "pptx",
                             "hwp", "onepkg", "flatopc"})

_EMPTY_ZIP = b"PK\x05\x06"
#: gzip, bzip2 and xz streams (in the order of COMPRESSED_SUFFIXES): how a compressed tarball,
#: or one compressed file, starts.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


def is_supported_name(path: str | os.PathLike[str]) -> bool:
    """Cheap pre-filter by name only (no I/O): could this file be indexed at all?"""
    return format_for_name(Path(path))[0] is not None


def detect_format(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> str | None:
    """The file's format ("pdf", "markdown", ...) after checking its content, or None to skip it.

    None means: unsupported type, binary, mislabelled, empty, too large or unreadable; call
    :func:`skip_reason` for the one-line reason.
    """
    return _sniff(Path(path), max_bytes)[0]


def skip_reason(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> str | None:
    """One-line reason why :func:`detect_format` rejects ``path``; None when it is loadable."""
    return _sniff(Path(path), max_bytes)[1]


def load(path: str | os.PathLike[str], *, max_bytes: int | None = None,
         options: LoadOptions | None = None) -> Document:
    """Parse ``path`` into a Document (with its parts: the messages of a mailbox, attachments).

    Raises LoadError with a one-line reason for files that cannot become text: unsupported or
    binary, mislabelled, encrypted, corrupt or truncated, empty or without extractable text,
    larger than ``max_bytes``, unreadable. Other exceptions are bugs. ``options`` (OCR on or
    off) reach the loaders that use them. ``Document.loader`` always says what read the file.
    """
    p = Path(path)
    fmt, reason = _sniff(p, max_bytes)
    if fmt is None and reason and (reason.startswith(UNSUPPORTED) or (
            reason == EMPTY and format_for_name(p)[0] in TEXT_FORMATS)):
        raise NothingToRead(reason)
    if fmt is None:
        raise LoadError(reason or "unsupported file")
    module_name, func_name = _LOADERS[fmt]
    module = importlib.import_module(f"{__name__}.{module_name}")
    loader: Callable[..., Document] = getattr(module, func_name)
    named = format_for_name(p)[0]
    extra: dict[str, str] = {"fmt": fmt} if module_name == "legacy" and fmt != named else {}
    try:
        doc = (loader(p, options or LoadOptions(), **extra)
               if fmt in _OPTION_FORMATS or module_name == "legacy" else loader(p))
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except LoadError as exc:
        if fmt == named:
            raise
        # "corrupt .doc" about a file named .msg: say what it was read as, and why
        raise type(exc)(f"{exc} ({_read_as(p, fmt)})") from exc
    doc.loader = doc.loader or LOADER_NAMES.get(fmt, fmt)
    if fmt != named:  # read by its content (content_format): say so where the loader is shown
        doc.loader += f"; {_read_as(p, fmt)}"
    if doc.is_empty and fmt == "image" and (options or LoadOptions()).ocr:
        raise NothingToRead("no text in this image")
    if doc.is_empty and fmt in TEXT_FORMATS:
        raise NothingToRead("no text in this file (blank)")
    if doc.is_empty:
        from engine.ingest.revisions import OCR_OFF_KEY  # revisions imports this package

        ocr_off = not (options or LoadOptions()).ocr
        hint = (" (scanned or image-only, and OCR is off?)"
                if (ocr_off and fmt in ("pdf", "djvu")) or OCR_OFF_KEY in doc.metadata else "")
        raise LoadError(f"no extractable text{hint}")
    return doc


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _read_as(path: Path, fmt: str) -> str:
    """Why a file's text may not look like its name: "read by its content: a .doc file that
    is PDF"."""
    named = f"a {path.suffix.lower()} file" if path.suffix else "a file without an extension"
    return f"read by its content: {named} that is {DISPLAY_NAMES[fmt]}"


def _sniff(path: Path, max_bytes: int | None) -> tuple[str | None, str | None]:
    """(format, None) for a loadable file, else (None, one-line reason)."""
    fmt, _language = format_for_name(path)
    if fmt is None:
        return None, f"{UNSUPPORTED} '{path.suffix.lower()}'"
    try:
        st = path.stat()
    except FileNotFoundError:
        return None, "file not found"
    except PermissionError:
        return None, "permission denied"
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or type(exc).__name__}"
    if stat.S_ISDIR(st.st_mode):
        return None, "not a regular file (a directory)"
    if not stat.S_ISREG(st.st_mode):
        return None, "not a regular file"
    if st.st_size == 0:
        return None, EMPTY
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except PermissionError:
        return None, "permission denied"
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or type(exc).__name__}"
    if fmt == "text" and read_by_content(path):
        if not path.suffix:
            fmt = mail_format(head) or fmt
        if looks_binary(head) and (held := format_by_signature(path, head)):
            return _check_content(path, held, head)  # a PDF, an Office file or message...
        if fmt == "text" and (other := not_a_document(path, head)):
            return None, other  # before the size limit: a big program is skipped, not failed
    if fmt == "code" and path.suffix.lower() == ".xml" and (held := office_xml_format(head)):
        fmt = held  # Office's and OpenDocument's one-file XML documents, not markup
    if max_bytes is not None and st.st_size > max_bytes:
        return None, f"file too large ({_human_size(st.st_size)} > {_human_size(max_bytes)} limit)"
    named = _check_content(path, fmt, head)
    # Content overrules a name it contradicts: a refused file, or an OLE container (an Excel
    # workbook named .doc passes the header check; its streams tell). Then the content's own
    # check decides, and its refusal (an encrypted package) says what the file really is.
    if named[0] is None or head.startswith(OLE_MAGIC):
        held = format_by_content(path, head, fmt)
        if held:
            return _check_content(path, held, head)
    return named


#: The reason for a file of 0 bytes. An empty text file (a package's ``__init__.py``, a blank
#: note) is fine and holds no words: skipped, as a photo is, not one more failure to fix among
#: dozens in a project folder (python-docx's source: 22 of its 23 failures). An empty PDF or
#: DOCX is a broken one (a download that never finished): a failure.
EMPTY = "empty file (0 bytes)"
#: How a skip for a file that is not a document starts (by name or, when its name says nothing,
#: by content): such a file is skipped, not failed (a folder of programs is not a list of errors).
UNSUPPORTED = "unsupported file type"
#: The first line of a manual page's troff source (a comment, the title macro, mdoc's date).
_TROFF = re.compile(rb"(?:\.\\\"|'\\\"|\.TH\s|\.Dd\s|\.so\s)")


#: Below this share of letters among its first characters (spaces aside), a file read by its
#: content is data (measurements, coordinates, a dump), not a document. On /usr/share/doc the
#: 2,815 such text files had 29% letters at the least (a shell script), 83% at the median.
MIN_LETTERS = 0.15


def _mostly_numbers(head: bytes) -> bool:
    chars = [c for c in head.decode("utf-8", "replace") if not c.isspace()]
    return len(chars) >= 200 and sum(c.isalpha() for c in chars) < MIN_LETTERS * len(chars)


def not_a_document(path: str | os.PathLike[str], head: bytes | None = None) -> str | None:
    """The skip reason of a file read by its content (:func:`read_by_content`) whose first
    bytes (``head``, else read here) are not a document: a program, a man page's troff,
    a table of numbers."""
    p = Path(path)
    if not read_by_content(p):
        return None
    if head is None:
        try:
            with p.open("rb") as fh:
                head = fh.read(SNIFF_BYTES)
        except OSError:
            return None  # reading it fails later, with its own reason
    if looks_binary(head):
        why = "not text"
    elif _TROFF.match(head.lstrip()):
        why = "a manual page's troff source"
    elif _mostly_numbers(head):
        why = "numbers, not prose"
    else:
        return None
    return f"{UNSUPPORTED} ({p.suffix.lower() or 'no extension'}: {why})"


def _check_content(path: Path, fmt: str, head: bytes) -> tuple[str | None, str | None]:
    name = DISPLAY_NAMES[fmt]
    if fmt in OFFICE_XML_FORMATS:
        if office_xml_format(head) != fmt:
            return None, f"not {a_file(name)} (another root element; mislabelled?)"
        return fmt, None
    if fmt in ("eml", "mbox"):
        if looks_binary(head):
            return None, f"binary file (not an {name})"
        if fmt == "mbox" and not head.lstrip(b"\r\n").startswith(b"From "):
            return None, "not an mbox file (it does not start with a 'From ' line)"
        return fmt, None
    if fmt in ("msg", *LEGACY_OFFICE):
        if head.startswith(ZIP_MAGIC) and fmt in LEGACY_OFFICE:
            modern = LEGACY_OFFICE[fmt].upper()
            return None, f"not {a_file(name)} (a zip archive: a {modern} file named .{fmt}?)"
        if (fmt == "xls" and is_biff_stream(head)) or (fmt == "doc" and is_pre_ole_word(head)):
            return fmt, None  # an Excel 2.x-4.0 worksheet, a Word for DOS or Windows 2 file
        if not head.startswith(OLE_MAGIC):
            if fmt == "msg" and not looks_binary(head):  # mail would have been read as mail
                # Tcl's and other programs' message catalogues: skipped, like programs
                return None, f"{UNSUPPORTED} (.msg: text, not an Outlook message)"
            return None, f"not {a_file(name)} (no OLE header; mislabelled?)"
        return fmt, None
    if fmt == "mhtml":  # text, but its base64 and 8-bit parts need not look like text
        if head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<":
            return None, "not a saved web page (an HTML file: rename it .html)"
        if not starts_with_headers(head):
            return None, "not a saved web page (no MIME headers; mislabelled?)"
        return fmt, None
    if fmt == "rtf":
        if not head.startswith(RTF_MAGIC):
            return None, "not an RTF file (no {\\rtf header; mislabelled?)"
        return fmt, None
    if fmt == "image":
        if not (head.startswith(IMAGE_MAGIC) or image_container(head)):
            return None, f"not a {path.suffix.lower().lstrip('.').upper()} image (unknown header)"
        return fmt, None
    if fmt == "svg":  # XML, or gzip-compressed XML (.svgz)
        if not (head.startswith(_COMPRESSED_MAGIC[0]) or (b"<svg" in head and
                                                          not looks_binary(head))):
            return None, "not an SVG drawing (no <svg> element; mislabelled?)"
        return fmt, None
    if fmt == "mobi":  # a Palm database of a Mobipocket book (or an old PalmDOC text)
        if head[60:68] not in (b"BOOKMOBI", b"TEXtREAd"):
            return None, "not a MOBI e-book (no BOOKMOBI database header; mislabelled?)"
        return fmt, None
    if fmt == "chm":
        if not head.startswith(b"ITSF"):
            return None, "not a CHM help file (no ITSF header; mislabelled?)"
        return fmt, None
    if fmt == "hwp":  # HWP 5: an OLE container (its streams are checked as it is read)
        if not head.startswith((OLE_MAGIC, HWP3_MAGIC)):
            return None, "not a Hangul document (no HWP header; mislabelled?)"
        return fmt, None
    if fmt == "onenote":  # a section; a notebook's table of contents holds no notes
        if head.startswith(ONENOTE_CONTENTS_MAGIC):
            return None, f"{UNSUPPORTED} (.onetoc2: a OneNote notebook's table of contents; " \
                "its sections, .one, hold the notes)"
        if not head.startswith(ONENOTE_SECTION_MAGIC):
            return None, "not a OneNote section (unknown header; mislabelled?)"
        return fmt, None
    if fmt == "hwpx":  # a zip package whose mimetype says so
        return _check_hwpx(path, head)
    if fmt == "fb2":
        if b"<FictionBook" not in head or looks_binary(head):
            return None, "not a FictionBook e-book (no <FictionBook> root; mislabelled?)"
        return fmt, None
    if fmt == "abw":  # XML, or gzip-compressed XML (.zabw)
        if not (head.startswith(_COMPRESSED_MAGIC[0]) or b"<abiword" in head):
            return None, "not an AbiWord document (no <abiword> root; mislabelled?)"
        return fmt, None
    if fmt == "wordperfect":
        return _check_wordperfect(head)
    if fmt in IWORK_FORMATS:
        return _check_iwork(path, fmt, head)
    if fmt in _CONVERTED_STARTS:
        ole = head.startswith(OLE_MAGIC) and fmt == "lotus"
        if ole or _CONVERTED_STARTS[fmt](head):
            return fmt, None
        return None, f"not {a_file(name)} (unknown header; mislabelled?)"
    if fmt == "emlx":  # its length in bytes on the first line, then the message
        if not head.split(b"\n", 1)[0].strip().isdigit() or looks_binary(head):
            return None, "not an Apple Mail message (no byte count on its first line)"
        return fmt, None
    if fmt == "pst":  # "!BDN", then the client: SM a .pst, SO an .ost (AB: an address book)
        if not head.startswith(PST_MAGIC):
            return None, "not an Outlook data file (no !BDN header; mislabelled?)"
        if head[8:10] == b"AB":
            return None, f"{UNSUPPORTED} (.{path.suffix.lower().lstrip('.')}: an Outlook " \
                "personal address book, not a data file)"
        return fmt, None
    if fmt == "enex":
        if b"<en-export" not in head:
            return None, "not an Evernote export (no <en-export> root; mislabelled?)"
        return fmt, None
    if fmt == "djvu":
        if not head.startswith(b"AT&TFORM"):
            return None, "not a DjVu file (no AT&T FORM header; mislabelled?)"
        if head[12:16] == b"DJVI":
            return None, "a DjVu include file (shared data of a multi-file DjVu, not a page)"
        if head[12:16] not in (b"DJVU", b"DJVM"):
            return None, "not a DjVu document (an AT&T FORM file of another kind)"
        return fmt, None
    if fmt == "compressed":
        kind = path.suffix.lower()
        if not head.startswith(_COMPRESSED_MAGIC[COMPRESSED_SUFFIXES.index(kind)]):
            return None, f"not a {kind[1:]}-compressed file (no {kind[1:]} header; mislabelled?)"
        return fmt, None
    if fmt == "tar":
        if (not head.startswith((*_COMPRESSED_MAGIC, ZSTD_MAGIC)) and head[257:262] != b"ustar"
                and not _tar_checksum_ok(head[:512])):
            return None, "not a tar archive (no tar or compression header; mislabelled?)"
        return fmt, None
    if fmt == "postscript":
        if not is_postscript(head):
            return None, "not a PostScript file (no %! header; mislabelled?)"
        return fmt, None
    if fmt == "onepkg":
        if not head.startswith(CAB_MAGIC):
            return None, "not a OneNote package (no cabinet header; mislabelled?)"
        return fmt, None
    if fmt in ("7z", "rar"):
        if not head.startswith(SEVEN_Z_MAGIC if fmt == "7z" else RAR_MAGIC):
            what = "a 7z" if fmt == "7z" else "a RAR"
            return None, f"not {what} archive (no {fmt.upper()} header; mislabelled?)"
        return fmt, None
    if fmt == "zip":
        if head.startswith(_EMPTY_ZIP):
            return None, "empty ZIP archive"
        if not head.startswith(ZIP_MAGIC):
            return None, "not a ZIP archive (no zip header; mislabelled?)"
        return fmt, None
    if fmt in TEXT_FORMATS:
        if fmt == "info":  # its node separators and index markers are control bytes
            from engine.ingest.loaders.info import without_markers

            head = without_markers(head)
        if fmt == "csv" and (cleaned := without_nuls(head)) is not None:
            head = cleaned  # an export ending each field with a NUL byte
        if looks_binary(head):
            if fmt == "info":  # the name of many programs' own data (GNUstep's data.info)
                return None, f"{UNSUPPORTED} (.info: binary, not a GNU Info manual)"
            return None, "binary file (not text)"
        return _check_markers(fmt, head)
    return _check_containers(path, fmt, name, head)


def _is_gnumeric(head: bytes) -> bool:
    """Gnumeric's XML, usually gzip-compressed: its root element within the first bytes."""
    if head.startswith(_COMPRESSED_MAGIC[0]):
        with contextlib.suppress(zlib.error):
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    return b"gnm:Workbook" in head or (b"<Workbook" in head and b"gnumeric" in head)


#: How each file of the older suites and each interchange spreadsheet read through LibreOffice
#: starts (Works 4's and Quattro Pro 9's spreadsheets are OLE files, checked as such above).
_CONVERTED_STARTS: dict[str, Callable[[bytes], bool]] = {
    "write": is_word_dos,
    "wordpro": lambda head: head.startswith(b"WordPro\x00") or head[16:20] == b"LWP7",
    "lotus": is_old_sheet,
    "appleworks": lambda head: head[4:8] == b"BOBO",
    "gnumeric": _is_gnumeric,
    "slk": lambda head: head.startswith(b"ID;"),  # SYLK's first record
    "dif": lambda head: head.lstrip().startswith(b"TABLE"),  # DIF's header chunk
}


def _check_hwpx(path: Path, head: bytes) -> tuple[str | None, str | None]:
    """A Hangul XML document is a zip package whose ``mimetype`` member says so."""
    if not head.startswith(ZIP_MAGIC):
        return None, "not a Hangul document (not a zip archive; mislabelled?)"
    try:
        with zipfile.ZipFile(path) as zf:
            mimetype = zf.read("mimetype").strip() if "mimetype" in zf.namelist() else b""
    except ZIP_ERRORS as exc:
        return None, f"corrupt or truncated Hangul document (damaged zip archive: {exc})"
    if mimetype != HWPX_MIMETYPE:
        return None, "not a Hangul document (a zip archive without Hangul's mimetype)"
    return "hwpx", None


def _tar_checksum_ok(block: bytes) -> bool:
    """Whether ``block`` is a tar header by its checksum: the unsigned byte sum of the header
    with its checksum field read as spaces. How a pre-POSIX (V7) tar, which has no "ustar"
    magic, is told (tar itself and Python's tarfile read them; the mimetype project's
    tar.v7.tar was refused as "not a tar archive")."""
    if len(block) < 512 or not block[0]:
        return False
    field = block[148:156].replace(b"\0", b" ").strip()
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 0x20 + sum(block[156:512])


def _check_wordperfect(head: bytes) -> tuple[str | None, str | None]:
    """WordPerfect 5.0 and later start with ``\\xffWPC`` and a header whose encryption key
    (bytes 12-13) is zero unless the file has a password; an encrypted 4.2 file starts with
    ``\\xfe\\xff\\x61\\x61``, a plain 4.2 file with its text (LibreOffice tells it by content).
    LibreOffice cannot open an encrypted one ("source file could not be loaded")."""
    encrypted = ((head.startswith(b"\xffWPC") and head[12:14] != b"\0\0")
                 or head.startswith(b"\xfe\xff\x61\x61"))
    if encrypted:
        return None, "encrypted WordPerfect document (password protected)"
    return "wordperfect", None


def _check_iwork(path: Path, fmt: str, head: bytes) -> tuple[str | None, str | None]:
    """A Pages, Numbers or Keynote file is a zip package with iWork's parts
    (:mod:`engine.ingest.loaders.iwork`). A ``.key`` without them is a key, or another program's
    file: skipped as not a document, never read."""
    name = DISPLAY_NAMES[fmt]
    state = None
    if head.startswith(ZIP_MAGIC):
        try:
            state = iwork.zip_state(path)
        except ZIP_ERRORS as exc:
            if fmt != "keynote":
                return None, f"corrupt or truncated {name} (damaged zip archive: {exc})"
    if state == "encrypted":
        return None, f"encrypted {name} (password protected)"
    if state == "document":
        return fmt, None
    if fmt == "keynote":
        return None, f"{UNSUPPORTED} (.key: not a Keynote presentation; a key?)"
    what = "a zip archive without iWork's parts" if head.startswith(ZIP_MAGIC) else \
        "not a zip archive"
    return None, f"not {a_file(name)} ({what}; mislabelled?)"


def _check_markers(fmt: str, head: bytes) -> tuple[str | None, str | None]:
    """Text formats named by an extension others use too, told apart by their first lines
    before the whole file is read (a genomics .vcf can be gigabytes)."""
    upper = head.lstrip(b"\xef\xbb\xbf").upper()
    if fmt == "vcard" and b"BEGIN:VCARD" not in upper:
        if upper.startswith(b"##FILEFORMAT=VCF"):
            return None, "a genomic variant call file (VCF), not an address book"
        return None, "not a vCard file (no BEGIN:VCARD; mislabelled?)"
    if fmt == "calendar" and b"BEGIN:VCALENDAR" not in upper:
        return None, "not an iCalendar file (no BEGIN:VCALENDAR; mislabelled?)"
    return fmt, None


def _check_containers(path: Path, fmt: str, name: str,
                      head: bytes) -> tuple[str | None, str | None]:
    """PDFs and the zip and OLE containers (Office, OpenDocument, EPUB, Visio)."""
    if fmt == "pdf":
        if PDF_MAGIC not in head[:1024]:
            return None, "not a PDF (no %PDF header; mislabelled?)"
        return fmt, None
    flat = FLAT_ODF.get(fmt) or FLAT_ODF.get(path.suffix.lower().lstrip("."))
    if flat:
        return _check_flat_odf(fmt, flat, head)
    if fmt == "visio" and head.startswith(OLE_MAGIC):
        return fmt, None  # a Visio 2003-2010 drawing (legacy checks its content stream)
    # Zip containers: docx, pptx, xlsx, odt, odg, epub, vsdx.
    if head.startswith(OLE_MAGIC):
        if fmt in ("docx", "pptx", "xlsx", "xlsb") and _is_encrypted_ooxml(path):
            return None, f"encrypted {name} (password protected)"
        return None, f"not {a_file(name)} (legacy binary Office format; save it as {name})"
    if head.startswith(_EMPTY_ZIP):
        return None, f"corrupt {name}: empty zip archive"
    if not head.startswith(ZIP_MAGIC):
        return None, f"not {a_file(name)} (not a zip archive; mislabelled?)"
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            marker = ZIP_FORMATS[fmt]
            if not any(n == marker or n.startswith(marker) for n in names):
                return None, f"not {a_file(name)} (zip archive without {marker})"
            encrypted = _zip_encryption_reason(zf, fmt, names)
            if encrypted:
                return None, encrypted
    except (zipfile.BadZipFile, NotImplementedError, zlib.error) as exc:
        return None, f"corrupt or truncated {name} (damaged zip archive: {exc})"
    except ZIP_ERRORS as exc:
        return None, f"corrupt or truncated {name} ({type(exc).__name__})"
    return fmt, None


_FLAT_MIMETYPE = re.compile(rb'office:mimetype="application/vnd\.oasis\.opendocument\.([a-z-]+)"')


def _check_flat_odf(fmt: str, kind: str, head: bytes) -> tuple[str | None, str | None]:
    """A flat OpenDocument file is XML whose root declares the kind of document it is."""
    name = DISPLAY_NAMES[fmt]
    if looks_binary(head) or b"<office:document" not in head:
        return None, f"not {a_file(name)} (no office:document root; mislabelled?)"
    match = _FLAT_MIMETYPE.search(head)
    declared = match[1].decode().removesuffix("-template") if match else None
    wanted = ODF_MIMETYPES[kind].rsplit(".", 1)[1]
    if declared and declared != wanted:
        actual = next((k for k, v in FLAT_ODF.items()
                       if ODF_MIMETYPES[v].endswith("." + declared)), None)
        hint = f": rename it .{actual}" if actual else ""
        return None, f"not {a_file(name)} (it holds an OpenDocument {declared}{hint})"
    return fmt, None


def _zip_encryption_reason(zf: zipfile.ZipFile, fmt: str, names: list[str]) -> str | None:
    """Reason when an ODF or EPUB container is password-encrypted or DRM-protected."""
    manifest = "META-INF/manifest.xml"
    if fmt in ODF_MIMETYPES and manifest in names and b"encryption-data" in zf.read(manifest):
        return f"encrypted {DISPLAY_NAMES[fmt]} (password protected)"
    if fmt in ODF_MIMETYPES and "mimetype" in names:
        kind = zf.read("mimetype")[:100].decode("ascii", "replace").strip()
        actual = next((f for f, m in ODF_MIMETYPES.items() if m == kind), None)
        if actual and actual != fmt:
            return (f"not {a_file(DISPLAY_NAMES[fmt])} (it is an {DISPLAY_NAMES[actual]}: "
                    f"rename it .{actual})")
    if fmt == "epub" and "META-INF/encryption.xml" in names:
        # Font obfuscation also uses encryption.xml; only encrypted content documents are DRM.
        text = zf.read("META-INF/encryption.xml").decode("utf-8", "replace").lower()
        if any(ext in text for ext in ('.xhtml"', '.html"', '.htm"')):
            return "DRM-protected EPUB (encrypted content)"
    if any(info.flag_bits & 0x1 for info in zf.infolist()):
        return f"encrypted {DISPLAY_NAMES[fmt]} (password protected)"
    return None


def _is_encrypted_ooxml(path: Path) -> bool:
    """An OLE file holding an ``EncryptedPackage`` stream is a password-protected OOXML file."""
    needle = "EncryptedPackage".encode("utf-16-le")
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if needle in tail + chunk:
                return True
            tail = chunk[-len(needle) :]
    return False
