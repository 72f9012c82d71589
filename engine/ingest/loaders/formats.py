"""Which file names map to which format (and, for source code, which language).

Kept apart from the loaders so that walking a folder and deciding what to index imports nothing
but this table.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

#: Source-code and config extensions -> language recorded in ``Document.metadata["language"]``.
CODE_LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".cs": "csharp",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".scala": "scala",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".ps1": "powershell",
    ".bat": "batch",
    ".sql": "sql",
    ".r": "r",
    ".m": "matlab",
    ".lua": "lua",
    ".pl": "perl",
    ".pm": "perl",
    ".dart": "dart",
    ".jl": "julia",
    ".hs": "haskell",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".clj": "clojure",
    ".vue": "vue",
    ".svelte": "svelte",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "config",
    ".properties": "properties",
    ".xml": "xml",
    ".css": "css",
    ".scss": "scss",
    ".less": "less",
    ".gradle": "groovy",
    ".cmake": "cmake",
}

#: Well-known extensionless build files that are code, not prose.
CODE_FILENAMES: dict[str, str] = {
    "makefile": "make",
    "gnumakefile": "make",
    "dockerfile": "dockerfile",
    "containerfile": "dockerfile",
    "cmakelists.txt": "cmake",
    "jenkinsfile": "groovy",
    "vagrantfile": "ruby",
    "gemfile": "ruby",
    "rakefile": "ruby",
}

#: Lowercase extension -> format name (see ``Document.format``).
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".odt": "odt",
    ".ods": "ods",
    ".odp": "odp",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".tsv": "csv",
    ".epub": "epub",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".org": "org",
    ".tex": "latex",
    ".ltx": "latex",
    ".bib": "bibtex",
    ".info": "info",
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".eml": "eml",
    ".mbox": "mbox",
    ".msg": "msg",
    ".oft": "msg",  # an Outlook template is a message
    ".emlx": "emlx",
    ".pst": "pst",
    ".ost": "pst",  # the offline copy of an Exchange or Outlook.com mailbox
    ".enex": "enex",
    ".doc": "doc",
    ".xls": "xls",
    ".ppt": "ppt",
    ".rtf": "rtf",
    # the same containers as their plain kind: macro-enabled files, templates, slide shows
    # (engine.ingest.loaders.ooxml opens the Word and PowerPoint ones)
    ".docm": "docx",
    ".dotx": "docx",
    ".dotm": "docx",
    ".xlsm": "xlsx",
    ".xltx": "xlsx",
    ".xltm": "xlsx",
    ".pptm": "pptx",
    ".ppsx": "pptx",
    ".ppsm": "pptx",
    ".potx": "pptx",
    ".potm": "pptx",
    ".ott": "odt",
    ".ots": "ods",
    ".otp": "odp",
    ".dot": "doc",
    ".xlt": "xls",
    ".pps": "ppt",
    ".pot": "ppt",
    # OpenDocument saved as one XML file ("flat"), drawings, and Visio diagrams: LibreOffice
    # converts them (engine.ingest.loaders.legacy)
    ".fodt": "fodt",
    ".fods": "fods",
    ".fodp": "fodp",
    ".odg": "odg",
    ".otg": "odg",
    ".fodg": "odg",
    ".vsd": "visio",
    ".vst": "visio",
    ".vsdx": "visio",
    ".vsdm": "visio",
    ".vstx": "visio",
    ".vstm": "visio",
    # older word processors' files: AbiWord, OpenOffice.org 1 / StarOffice 6-7 Writer,
    # WordPerfect (4.2 to X9, DOS, Windows and Mac)
    ".wpd": "wordperfect",
    ".wp": "wordperfect",
    ".wp5": "wordperfect",
    ".wp6": "wordperfect",
    ".wpt": "wordperfect",
    ".abw": "abw",
    ".zabw": "abw",
    ".sxw": "sxw",
    ".stw": "sxw",
    ".sxc": "sxc",
    ".stc": "sxc",
    ".sxi": "sxi",
    ".sti": "sxi",
    # Hangul (Hancom Office) documents: Korea's word processor; HWP 5 and the XML format
    # (.hwpx) read natively, HWP 3 (Hangul 97) through LibreOffice
    ".hwp": "hwp",
    # OneNote 2010 and later sections (a notebook is a folder of them); the table of contents
    # beside them (.onetoc2) is skipped by its content
    ".one": "onenote",
    ".onetoc2": "onenote",
    ".onepkg": "onepkg",  # a notebook exported as one file: a cabinet of its sections
    ".hwpx": "hwpx",
    # spreadsheets of other programs and of interchange: Gnumeric's own (gzipped XML), SYLK
    # (Multiplan's and Excel's symbolic link files, what old accounting and banking software
    # exports) and DIF (VisiCalc's data interchange format, still an export option)
    ".gnumeric": "gnumeric",
    ".slk": "slk",
    ".sylk": "slk",
    ".dif": "dif",
    # Excel's binary workbook (2007 and later: big workbooks, saved for speed)
    ".xlsb": "xlsb",
    # Apple iWork ('05 to today, single-file documents); a .key that is not a Keynote
    # presentation (a PEM private key) is skipped by its content
    ".pages": "pages",
    ".numbers": "numbers",
    ".key": "keynote",
    # the home and office suites of the 1980s and 1990s: Windows Write, Lotus Word Pro, the
    # spreadsheets of Lotus 1-2-3, Quattro Pro and Microsoft Works (and Works' databases),
    # ClarisWorks / AppleWorks. (Works' word processor files, .wps, are not: LibreOffice 7.4's
    # import of libwps' own test documents gave empty paragraphs.)
    ".wri": "write",
    ".lwp": "wordpro",
    ".wk1": "lotus",
    ".wk3": "lotus",
    ".wk4": "lotus",
    ".wks": "lotus",
    ".123": "lotus",
    ".wq1": "lotus",
    ".wq2": "lotus",
    ".wb1": "lotus",
    ".wb2": "lotus",
    ".wb3": "lotus",
    ".qpw": "lotus",
    ".wdb": "lotus",
    ".cwk": "appleworks",
    ".ipynb": "notebook",
    ".ics": "calendar",
    ".ical": "calendar",
    ".ifb": "calendar",
    ".vcf": "vcard",
    ".vcard": "vcard",
    ".fb2": "fb2",
    ".chm": "chm",
    ".mobi": "mobi",
    ".azw": "mobi",
    ".azw3": "mobi",
    ".prc": "mobi",
    ".svg": "svg",
    ".svgz": "svg",
    ".djvu": "djvu",
    ".djv": "djvu",
    ".ps": "postscript",
    ".eps": "postscript",
    ".epsf": "postscript",
    ".epsi": "postscript",
    ".webp": "image",
    ".gif": "image",
    ".zip": "zip",
    ".tar": "tar",
    ".tgz": "tar",
    ".tbz2": "tar",
    ".txz": "tar",
    ".tzst": "tar",
    ".7z": "7z",
    ".rar": "rar",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
    ".bmp": "image",
    # phone photos (HEIC/HEIF: iPhones, many Android phones; .hif: cameras), AVIF, JPEG 2000
    # (archives' and libraries' scans)
    ".heic": "image",
    ".heif": "image",
    ".hif": "image",
    ".avif": "image",
    ".jp2": "image",
    ".j2k": "image",
    ".j2c": "image",
    ".jpf": "image",
    ".jpx": "image",
    ".vtt": "subtitles",
    ".srt": "subtitles",
    ".mht": "mhtml",
    ".mhtml": "mhtml",
    **dict.fromkeys(CODE_LANGUAGES, "code"),
}

#: Compressed tarballs, named with two suffixes (the last alone, ".gz", is one compressed file).
COMPRESSED_TAR = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")
#: Formats whose documents are files packed inside them: a cited one can be copied out and
#: opened itself (engine.ingest.loaders.archive.extract_part).
ARCHIVE_FORMATS = frozenset({"zip", "tar", "compressed", "7z", "rar", "onepkg"})
#: One compressed file ("notes.txt.gz", "changelog.Debian.gz", "access.log.xz"): read as the file
#: inside when Satchel reads that file's name ("ls.1.gz", a man page, is not).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

#: Formats whose files are plain text (checked for binary content before loading).
TEXT_FORMATS = frozenset({"csv", "html", "markdown", "rst", "text", "code", "json",
                          "subtitles", "latex", "calendar", "vcard", "notebook",
                          "asciidoc", "org", "bibtex", "info"})

#: Formats stored as zip containers, with the member that proves the container is that format.
ZIP_FORMATS: dict[str, str] = {
    "docx": "word/",
    "pptx": "ppt/",
    "xlsx": "xl/",
    "odt": "content.xml",
    "ods": "content.xml",
    "odp": "content.xml",
    "odg": "content.xml",
    "epub": "META-INF/container.xml",
    "visio": "visio/",  # .vsdx and its kin; a .vsd is an OLE file
    "sxw": "content.xml",
    "sxc": "content.xml",
    "sxi": "content.xml",
    "xlsb": "xl/workbook.bin",
}
#: The BOF record a bare Excel record stream starts with (BIFF2, 3, 4, 5/8): how Excel 2.x-4.0
#: saved a worksheet, before workbooks went into OLE files, and what SheetJS still writes for
#: its "biff2" to "biff4" exports (LibreOffice's tdf72470.xls, tdf144732.xls).
_BIFF_BOF = (b"\x09\x00", b"\x09\x02", b"\x09\x04", b"\x09\x08")


def is_biff_stream(head: bytes) -> bool:
    """Whether ``head`` starts a bare Excel record stream (a BOF record of a BOF's length)."""
    return head[:2] in _BIFF_BOF and int.from_bytes(head[2:4], "little") in (4, 6, 8, 16)


#: How a Word for DOS document (and a Windows Write one, its sibling) starts: a magic number,
#: two zero bytes, then 0x00AB. Word 3-5 for DOS kept no OLE container.
_WORD_DOS_MAGIC = (b"\x31\xbe", b"\x32\xbe")
#: The magic numbers of Word for Windows 1.x and 2.x documents (before Word 6 used OLE files:
#: LibreOffice's ooo40683-1-WW1.doc, ooo2535-1-WW2.doc, a 2001 payment order).
_WINWORD_MAGIC = (b"\x9b\xa5", b"\xdb\xa5", b"\xdc\xa5")


def is_word_dos(head: bytes) -> bool:
    """Whether ``head`` starts a Word for DOS or Windows Write document."""
    return head[:2] in _WORD_DOS_MAGIC and head[2:6] == b"\x00\x00\x00\xab"


def is_pre_ole_word(head: bytes) -> bool:
    """Whether ``head`` starts a Word document older than Word's OLE files: Word for DOS,
    Word for Windows 1.x or 2.x."""
    return is_word_dos(head) or head[:2] in _WINWORD_MAGIC


#: How the spreadsheets of the 1980s and 1990s start, when they are not OLE files (Works 4
#: and later, Quattro Pro 9 and later): Lotus 1-2-3's and Quattro Pro's BOF record (type 0;
#: Works for Windows writes 0xFF), Works for DOS databases' header.
_OLD_SHEET_MAGIC = (b"\x00\x00", b"\xff\x00", b"\x20\x54")


def is_old_sheet(head: bytes) -> bool:
    """Whether ``head`` starts a Lotus 1-2-3, Quattro Pro or Works spreadsheet or database."""
    return head[:2] in _OLD_SHEET_MAGIC and head[2:4] in (b"\x02\x00", b"\x1a\x00")


#: How OLE containers (legacy Office, Outlook .msg, Visio .vsd) and zip packages start.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: How an Outlook data file (.pst, .ost, and the old .pab address book) starts.
PST_MAGIC = b"!BDN"
#: The first bytes of a Hangul 97 (HWP 3) document; an HWP 5 document is an OLE container.
HWP3_MAGIC = b"HWP Document File V3"
#: The first bytes of a OneNote section (.one) and of a notebook's table of contents (.onetoc2):
#: their file type GUIDs as stored.
ONENOTE_SECTION_MAGIC = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3")
ONENOTE_CONTENTS_MAGIC = bytes.fromhex("a12fff43d9ef764c9ee210ea5722765f")
#: The ``mimetype`` member of a Hangul XML document (.hwpx).
HWPX_MIMETYPE = b"application/hwp+zip"
ZIP_MAGIC = b"PK\x03\x04"
#: What :mod:`zipfile` raises on a damaged archive: BadZipFile, OSError and EOFError for a cut
#: or garbled one, ValueError and KeyError for damaged entries, NotImplementedError for a
#: directory entry whose "version needed to extract" was garbled ("zip file version 25.5"),
#: zlib.error reading a member whose compressed bytes are damaged.
ZIP_ERRORS: tuple[type[Exception], ...] = (zipfile.BadZipFile, OSError, EOFError, ValueError,
                                           KeyError, NotImplementedError, zlib.error)
#: An RTF file's first bytes, and a PDF's header (within its first KB: some writers put junk
#: before it, which readers accept).
RTF_MAGIC = b"{\\rtf"
PDF_MAGIC = b"%PDF-"
#: How 7-Zip and RAR (4 and 5) archives and zstd streams start.
SEVEN_Z_MAGIC = b"7z\xbc\xaf\x27\x1c"
#: A Windows cabinet, which a OneNote package (.onepkg) is.
CAB_MAGIC = b"MSCF"
RAR_MAGIC = b"Rar!\x1a\x07"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: The header of a DOS EPS file (a binary wrapper holding the PostScript and a preview image).
DOS_EPS_MAGIC = b"\xc5\xd0\xd3\xc6"


def is_postscript(head: bytes) -> bool:
    """Whether ``head`` starts PostScript: "%!" (after an optional Ctrl-D or byte-order mark,
    which some printer drivers write) or a DOS EPS wrapper."""
    if head.startswith(DOS_EPS_MAGIC):
        return True
    return head.lstrip(b"\x04").removeprefix(b"\xef\xbb\xbf").startswith(b"%!")


#: First bytes of the image formats OCR reads: PNG, JPEG, TIFF, BMP, GIF, JPEG 2000 (a .jp2 file,
#: and a bare .j2k codestream). WebP, HEIF and AVIF are checked by :func:`image_container`.
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF87a",
               b"GIF89a", b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")
#: Brands of an ISO media file (its ``ftyp`` box) that say "a still HEIF image", as phones
#: write them (HEVC-coded: heic, heix; "mif1" and "msf1" are HEIF's generic brands), and AVIF.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
_GENERIC_HEIF = frozenset({b"mif1", b"mif2", b"msf1"})


def image_container(head: bytes) -> str | None:
    """"webp", "heif" or "avif" when ``head`` starts such an image, else None.

    An ISO media file (MP4 video too) says what it holds in its first box, ``ftyp``: a major
    brand and a list of compatible ones. A still image names a HEIF or AVIF brand there; a
    generic "mif1" file is told apart by its compatible brands.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] != b"ftyp" or len(head) < 16:
        return None
    size = int.from_bytes(head[:4], "big")
    box = head[8:min(max(size, 16), len(head))]  # major brand, minor version, compatible ones
    major = box[:4]
    brands = {box[i:i + 4] for i in range(8, len(box) - 3, 4)}
    if major in AVIF_BRANDS or (major in _GENERIC_HEIF and brands & AVIF_BRANDS):
        return "avif"
    if major in HEIF_BRANDS or (major in _GENERIC_HEIF and brands & (HEIF_BRANDS | _GENERIC_HEIF)):
        return "heif"
    return None


#: The OLE stream that holds each legacy format's content (lower case, as olefile lists them).
OLE_CONTENT_STREAMS: dict[str, tuple[str, ...]] = {
    "doc": ("worddocument",),
    "xls": ("workbook", "book"),  # "Book": Excel 5.0/95
    "ppt": ("powerpoint document",),
    "visio": ("visiodocument",),  # .vsd, .vst (a .vsdx is a zip package)
}

#: The ``mimetype`` member that tells the OpenDocument kinds apart (all hold content.xml).
ODF_MIMETYPES: dict[str, str] = {
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "odg": "application/vnd.oasis.opendocument.graphics",
    "sxw": "application/vnd.sun.xml.writer",  # OpenDocument's forerunner, same layout
    "sxc": "application/vnd.sun.xml.calc",
    "sxi": "application/vnd.sun.xml.impress",
}
#: Flat OpenDocument formats -> the packaged kind whose ``office:mimetype`` they declare.
FLAT_ODF: dict[str, str] = {"fodt": "odt", "fods": "ods", "fodp": "odp", "fodg": "odg"}

#: Display names used in messages ("not a DOCX file").
DISPLAY_NAMES: dict[str, str] = {
    "pdf": "PDF",
    "docx": "DOCX",
    "odt": "ODT",
    "ods": "ODS",
    "odp": "ODP",
    "pptx": "PPTX",
    "xlsx": "XLSX",
    "csv": "CSV",
    "epub": "EPUB",
    "html": "HTML",
    "markdown": "Markdown",
    "rst": "reStructuredText",
    "latex": "LaTeX",
    "text": "text",
    "code": "source",
    "json": "JSON",
    "eml": "e-mail (.eml)",
    "mbox": "mailbox (.mbox)",
    "msg": "Outlook message (.msg)",
    "emlx": "Apple Mail message (.emlx)",
    "pst": "Outlook data file (.pst, .ost)",
    "enex": "Evernote export (.enex)",
    "hwp": "Hangul document (.hwp)",
    "onenote": "OneNote section (.one)",
    "hwpx": "Hangul document (.hwpx)",
    "doc": "Word 97-2003 (.doc)",
    "xls": "Excel 97-2003 (.xls)",
    "ppt": "PowerPoint 97-2003 (.ppt)",
    "rtf": "RTF",
    "image": "image",
    "zip": "ZIP archive",
    "tar": "tar archive",
    "compressed": "compressed file",
    "7z": "7z archive",
    "onepkg": "OneNote package (.onepkg)",
    "postscript": "PostScript",
    "rar": "RAR archive",
    "subtitles": "subtitles (.vtt, .srt)",
    "mhtml": "saved web page (.mht)",
    "fodt": "flat OpenDocument text (.fodt)",
    "fods": "flat OpenDocument spreadsheet (.fods)",
    "fodp": "flat OpenDocument presentation (.fodp)",
    "odg": "OpenDocument drawing (.odg)",
    "visio": "Visio drawing",
    "djvu": "DjVu",
    "notebook": "Jupyter notebook",
    "asciidoc": "AsciiDoc",
    "bibtex": "BibTeX",
    "info": "GNU Info manual",
    "org": "Org",
    "calendar": "iCalendar (.ics)",
    "vcard": "vCard (.vcf)",
    "svg": "SVG drawing",
    "fb2": "FictionBook e-book",
    "chm": "CHM help file",
    "mobi": "MOBI e-book",
    "abw": "AbiWord document",
    "wordperfect": "WordPerfect document",
    "sxw": "OpenOffice.org 1 text (.sxw)",
    "sxc": "OpenOffice.org 1 spreadsheet (.sxc)",
    "sxi": "OpenOffice.org 1 presentation (.sxi)",
    "xlsb": "Excel binary workbook (.xlsb)",
    "gnumeric": "Gnumeric spreadsheet",
    "slk": "SYLK spreadsheet (.slk)",
    "dif": "DIF spreadsheet (.dif)",
    "pages": "Pages document",
    "numbers": "Numbers spreadsheet",
    "keynote": "Keynote presentation",
    "write": "Write document",
    "wordpro": "Lotus Word Pro document",
    "lotus": "Lotus 1-2-3, Quattro Pro or Works spreadsheet",
    "appleworks": "AppleWorks / ClarisWorks document",
    "spreadsheetml": "Excel 2003 XML spreadsheet",
    "wordml": "Word 2003 XML document",
    "flatopc": "Office XML document (Flat OPC)",
}

#: Legacy binary Office formats (OLE compound files) and the modern format each converts to.
LEGACY_OFFICE: dict[str, str] = {"doc": "docx", "xls": "xlsx", "ppt": "pptx"}
#: Formats read by converting them with LibreOffice and reading the result with its loader.
#: A flat OpenDocument file becomes its packaged kind (the same content, read by odfpy); a
#: drawing becomes a PDF, a page per drawing page, read by its text layer.
CONVERTED_TO: dict[str, str] = {**LEGACY_OFFICE, "rtf": "docx", "fodt": "odt", "fods": "ods",
                                "fodp": "odp", "odg": "pdf", "visio": "pdf",
                                "hwp": "docx", "abw": "docx", "sxw": "docx", "wordperfect": "docx",
                                "sxc": "xlsx", "sxi": "pptx", "xlsb": "xlsx",
                                "gnumeric": "xlsx", "slk": "xlsx", "dif": "xlsx",
                                "pages": "docx", "numbers": "xlsx", "keynote": "pptx",
                                "write": "docx", "wordpro": "docx", "lotus": "xlsx",
                                "appleworks": "docx"}

#: What reads each format when a loader does not say more (shown per file in the library and
#: in ``satchel index --json``: users see why a file's text looks the way it does).
LOADER_NAMES: dict[str, str] = {
    "pdf": "PDF text layer (pypdfium2)",
    "docx": "python-docx",
    "odt": "odfpy",
    "ods": "odfpy",
    "odp": "odfpy",
    "pptx": "python-pptx",
    "xlsx": "openpyxl",
    "csv": "CSV reader",
    "epub": "EPUB (ebooklib)",
    "html": "HTML (BeautifulSoup)",
    "markdown": "Markdown",
    "rst": "reStructuredText",
    "latex": "LaTeX reader",
    "text": "plain text",
    "code": "source code",
    "json": "JSON",
    "eml": "e-mail (Python email)",
    "mbox": "mailbox (Python mailbox)",
    "msg": "Outlook message (extract-msg)",
    "emlx": "Apple Mail message (Python email)",
    "pst": "Outlook data file (libpff)",
    "enex": "Evernote export (lxml)",
    "hwp": "Hangul reader (olefile)",
    "onenote": "OneNote reader (revision store)",
    "hwpx": "Hangul XML reader (lxml)",
    "doc": "LibreOffice (converted to DOCX)",
    "xls": "LibreOffice (converted to XLSX)",
    "ppt": "LibreOffice (converted to PPTX)",
    "rtf": "LibreOffice (converted to DOCX)",
    "image": "OCR (Tesseract)",
    "zip": "ZIP archive (Python zipfile)",
    "tar": "tar archive (Python tarfile)",
    "compressed": "gzip/bzip2/xz (Python)",
    "7z": "7-Zip archive (libarchive)",
    "onepkg": "OneNote package (libarchive)",
    "postscript": "Ghostscript (PDF)",
    "rar": "RAR archive (libarchive)",
    "subtitles": "WebVTT/SubRip reader",
    "mhtml": "MHTML (Python email + HTML)",
    "fodt": "LibreOffice (converted to ODT)",
    "fods": "LibreOffice (converted to ODS)",
    "fodp": "LibreOffice (converted to ODP)",
    "odg": "LibreOffice (converted to PDF)",
    "visio": "LibreOffice (converted to PDF)",
    "djvu": "DjVu (DjVuLibre)",
    "notebook": "Jupyter notebook reader",
    "asciidoc": "AsciiDoc reader",
    "bibtex": "BibTeX reader",
    "info": "GNU Info reader",
    "org": "Org reader",
    "calendar": "iCalendar reader",
    "vcard": "vCard reader",
    "svg": "SVG text (lxml)",
    "fb2": "FictionBook reader (lxml)",
    "chm": "CHM reader (chmlib)",
    "mobi": "MOBI reader",
    "abw": "LibreOffice (converted to DOCX)",
    "wordperfect": "LibreOffice (converted to DOCX)",
    "sxw": "LibreOffice (converted to DOCX)",
    "sxc": "LibreOffice (converted to XLSX)",
    "sxi": "LibreOffice (converted to PPTX)",
    "xlsb": "LibreOffice (converted to XLSX)",
    **dict.fromkeys(("gnumeric", "slk", "dif"), "LibreOffice (converted to XLSX)"),
    "pages": "LibreOffice (converted to DOCX)",
    "numbers": "LibreOffice (converted to XLSX)",
    "keynote": "LibreOffice (converted to PPTX)",
    "write": "LibreOffice (converted to DOCX)",
    "wordpro": "LibreOffice (converted to DOCX)",
    "lotus": "LibreOffice (converted to XLSX)",
    "appleworks": "LibreOffice (converted to DOCX)",
    "spreadsheetml": "XML Spreadsheet reader (lxml)",
    "wordml": "Word XML reader (lxml)",
    "flatopc": "Flat OPC reader (lxml)",
}


def a_file(name: str) -> str:
    """"a PDF file", "an ODS file": the article as the initialism is spoken."""
    first = name.split()[0] if name.strip() else "x"
    # an initialism is spoken letter by letter ("an XLSX", "a JSON"), a word as written
    vowel = first[0] in "AEFHILMNORSX" if first.isupper() else first[0].lower() in "aeiou"
    return f"{'an' if vowel else 'a'} {name} file"


#: A Maildir message (mutt, Evolution, KMail, Dovecot, offlineimap): one file per message in the
#: folder's cur/ or new/, named "<seconds>.<unique>.<host>[:2,<flags>]" (no usable extension).
_MAILDIR_NAME = re.compile(r"^\d{9,11}\.[^/\\]+$")
_MAILDIR_FOLDERS = ("cur", "new")
#: The "From " line that starts each message of an mbox: Thunderbird's "From - Tue Nov 05
#: 10:00:00 2024", the classic "From ada@example.org Tue Nov  5 10:00:00 2024".
_MBOX_SEPARATOR = re.compile(rb"From \S+ +[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{1,2}:\d\d")
_HEADER_FIELD = re.compile(rb"^([!-9;-~]+):")
_MAIL_FIELDS = frozenset({b"from", b"to", b"cc", b"subject", b"date", b"message-id",
                          b"received", b"return-path", b"delivered-to", b"mime-version",
                          b"content-type", b"reply-to", b"x-mozilla-status", b"in-reply-to"})

#: Fields that make a header block mail rather than any "Name: value" text.
_MAIL_ONLY_FIELDS = frozenset({b"from", b"date", b"received", b"return-path", b"delivered-to"})


def mail_format(head: bytes) -> str | None:
    """"mbox" or "eml" when a file without an extension is mail, by its first bytes.

    Thunderbird keeps each mail folder as an mbox named like the folder ("Inbox", "Sent"), and
    some tools save messages without ".eml". Read as plain text, such a file gives headers and
    base64 attachments as prose; read as mail it gives one cited document per message, with its
    attachments. A text that merely starts with "From" is not mail: an mbox needs the dated
    separator line and a header after it, a message at least three well-known header fields
    (one of them From, Date or a mail server's trace field) before its first blank line.
    """
    text = head.lstrip(b"\r\n")
    lines = text.split(b"\n")  # the last may be cut short by the end of ``head``: not judged
    if _MBOX_SEPARATOR.match(text) and len(lines) > 1 and _HEADER_FIELD.match(lines[1]):
        return "mbox"
    fields: set[bytes] = set()
    for line in lines[:-1]:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):  # a folded header goes on
            continue
        match = _HEADER_FIELD.match(line)
        if not match:
            return None
        fields.add(match.group(1).lower())
    known = fields & _MAIL_FIELDS
    # From and Date may come after kilobytes of a server's trace fields (Received, ARC-*,
    # Authentication-Results): those are only ever in mail
    return "eml" if len(known) >= 3 and known & _MAIL_ONLY_FIELDS else None


def starts_with_headers(head: bytes) -> bool:
    """Whether a file starts with a MIME header line ("Name: value"), as a saved web page
    (.mht) does whatever saved it: Chrome's opens with From:, Word's with MIME-Version:."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
    return bool(_HEADER_FIELD.match(text.split(b"\n", 1)[0]))


#: Files and folders that programs keep beside the user's files, never documents: Finder and
#: Explorer caches, macOS resource-fork folders from unpacked archives, the indexes mail programs
#: keep in mail folders (Thunderbird's .msf summaries, Dovecot's index and uid lists, Maildir's
#: marker). Read as text they put junk in the index; listed as skipped, noise in every report.
CLUTTER_NAMES = frozenset({"__macosx", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r",
                           "maildirfolder", "dovecot-uidlist", "dovecot-keywords",
                           "dovecot-uidvalidity"})
_CLUTTER_PREFIXES = ("dovecot.", "dovecot-uidvalidity.")
_CLUTTER_SUFFIXES = (".msf",)


def is_clutter(name: str) -> bool:
    """Whether a file or folder name is program clutter (:data:`CLUTTER_NAMES`) or hidden."""
    low = name.lower()
    return (low in CLUTTER_NAMES or low.startswith(".") or low.startswith(_CLUTTER_PREFIXES)
            or low.endswith(_CLUTTER_SUFFIXES))


#: Extensions of files that are never documents, refused by name without being opened: audio and
#: video, programs, libraries and bytecode, packages and disk images, databases, fonts, design and
#: 3-D files, camera raw photos, keys, certificates and signatures, unsupported archives, and what
#: programs leave behind (partial downloads, swap and lock files). Every other extension that is
#: not a known format is read when its content is text (:func:`read_by_content`).
NOT_DOCUMENTS = frozenset("""
    .mp3 .wav .flac .ogg .oga .opus .m4a .aac .wma .aif .aiff .mid .midi .amr
    .mp4 .m4v .mov .avi .mkv .webm .wmv .flv .mpg .mpeg .3gp .vob
    .exe .dll .so .dylib .o .obj .a .lib .ko .sys .elf .bin .app .msi .msix
    .pyc .pyo .pyd .class .jar .war .ear .wasm .beam .rlib .whl .egg .nupkg .gem
    .deb .rpm .apk .ipa .aab .snap .flatpak .appimage .dmg .pkg .iso .img .vmdk .vdi .qcow2
    .vhd .vhdx .ova
    .db .sqlite .sqlite3 .db3 .mdb .accdb .ldb .ibd .dbf .realm .kdbx .kdb
    .ttf .otf .woff .woff2 .eot .pfb .pfm .fon
    .psd .ai .indd .sketch .fig .xcf .kra .blend .fbx .stl .3ds .max .dwg .dxf .skp .glb .gltf
    .raw .cr2 .cr3 .nef .arw .dng .orf .rw2 .ico .icns .cur .jxl
    .pem .crt .cer .der .p12 .pfx .p7s .p7m .p7b .pub .gpg .pgp .jks .keystore .ovpn
    .zst .lz4 .lz .lzma .cab .arj .z .cpio .ar .xar .br
    .part .crdownload .download .partial .tmp .temp .swp .swo .swn .lock .pid .pack .idx
    .pcap .pcapng .dmp .mdmp .core .torrent .lnk .npy .npz .pkl .pickle .pt .pth
    .onnx .gguf .safetensors .h5 .hdf5 .parquet .feather .arrow .avro .orc .lance
""".split())


#: The parts of a split Info manual (grep.info-1, grep.info-2), read as Info.
_INFO_PART = re.compile(r"\.info-\d+$")


def read_by_content(path: Path) -> bool:
    """Whether the name says nothing of the format, so the content decides: no extension
    (README, LICENSE, notes) or one that is neither a known format nor :data:`NOT_DOCUMENTS`
    (README.Debian, NEWS.old, minutes.2024-03, script.awk). Such a file is read as plain text
    when its first bytes are text, and skipped as an unsupported type when they are not.

    Why: on a real documentation folder (/usr/share/doc, 4,356 files) a name-only allow-list
    skipped 1,156 files, 906 of them plain-text READMEs and change logs named ``*.Debian``.
    """
    name = path.name.lower()
    if (name in CODE_FILENAMES or name.endswith(COMPRESSED_TAR) or name.endswith("~")
            or _INFO_PART.search(name)):
        return False
    suffix = path.suffix.lower()
    return not suffix or (suffix not in SUPPORTED_EXTENSIONS and suffix not in NOT_DOCUMENTS
                          and suffix not in COMPRESSED_SUFFIXES)


def format_for_name(path: Path) -> tuple[str | None, str | None]:
    """``(format, language)`` from the file name alone; ``(None, None)`` when unsupported.

    Files whose name says nothing of the format (:func:`read_by_content`: README, LICENSE,
    notes, README.Debian, Thunderbird's mail folders) are candidates for plain text; the caller
    still checks their content (:func:`mail_format`, binary or not), since programs often have
    no extension either. Maildir messages are e-mail.
    """
    name = path.name.lower()
    if name in CODE_FILENAMES:
        return "code", CODE_FILENAMES[name]
    if path.parent.name in _MAILDIR_FOLDERS and _MAILDIR_NAME.match(path.name):
        return "eml", None
    if name.endswith(COMPRESSED_TAR):
        return "tar", None
    if name.endswith(COMPRESSED_SUFFIXES):
        inner = Path(path.name[: -len(path.suffix)])  # "ChangeLog.gz": text, as "ChangeLog"
        return ("compressed", None) if format_for_name(inner)[0] else (None, None)
    suffix = path.suffix.lower()
    if _INFO_PART.search(name):  # a split Info manual's parts: grep.info-1, grep.info-2
        return "info", None
    if suffix in SUPPORTED_EXTENSIONS:
        fmt = SUPPORTED_EXTENSIONS[suffix]
        return fmt, CODE_LANGUAGES.get(suffix) if fmt == "code" else None
    if read_by_content(path):
        return "text", None
    return None, None
