"""Where in its file a passage is, in the words a reader of that file uses.

A loader numbers the citable units of a file as pages (:class:`engine.ingest.document.Page`): a
PDF's pages, a deck's slides, a workbook's sheets, an EPUB's chapters. Formats without pages
(plain text, Markdown, HTML, Word, e-mail) put all their text on page 1, and "notes.txt, page 1"
tells a user nothing, or worse, suggests the passage was found on a first page. So such a
passage is cited by its file alone, and a deck's passage by its slide ("deck.pptx, slide 4").

Display only: the page number itself is stored, exported and passed to viewers unchanged, and
the prompt's labels (:meth:`engine.prompt.Passage.label`) are the model's and stay as they are.
"""

from __future__ import annotations

from pathlib import PurePosixPath

#: The unit each paged format counts (formats from ``engine.ingest.loaders.formats``).
#: Drawings and Visio files are read through PDF, one page per drawing page; Hangul documents
#: by the pages Hangul laid out when it saved them; OneNote sections by their pages.
PAGE_UNITS: dict[str, str] = {
    **dict.fromkeys(("pdf", "djvu", "postscript", "odg", "visio", "hwp", "hwpx", "onenote"),
                    "page"),
    **dict.fromkeys(("pptx", "ppt", "odp", "fodp", "keynote", "sxi"), "slide"),
    **dict.fromkeys(("xlsx", "xls", "ods", "fods", "numbers", "lotus", "sxc", "xlsb", "gnumeric",
                     "slk", "dif"), "sheet"),
    **dict.fromkeys(("epub", "fb2", "mobi"), "chapter"),
}


def page_unit(path: str) -> str | None:
    """"page", "slide", "sheet" or "chapter" for a file of a paged format, else None.

    Decided from the name alone (no file is opened: the file may be gone, or be a message's
    attachment, whose path ends with the attachment's own name). A compressed file counts as
    the file inside ("slides.pdf.gz" has pages).
    """
    from engine.ingest.loaders.formats import COMPRESSED_SUFFIXES, SUPPORTED_EXTENSIONS

    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    fmt = SUPPORTED_EXTENSIONS.get(PurePosixPath(name).suffix)
    return PAGE_UNITS.get(fmt) if fmt else None


def place(path: str, page: int) -> str:
    """"page 3", "slide 3", "sheet 2", "chapter 4"; "" for page 1 of a file without pages.

    A later page of a format not known to be paged (a calendar's months, an Info manual's
    nodes) is still "page N": the number is all there is to say where it is.
    """
    unit = page_unit(path)
    if unit:
        return f"{unit} {page}"
    return f"page {page}" if page and page > 1 else ""


def short_line(name: str, path: str, page: int) -> str:
    """``name`` with its place for a narrow label: "report.pdf p.4", "deck.pptx slide 4"."""
    where = place(path, page)
    if where.startswith("page "):
        where = "p." + where[len("page "):]
    return f"{name} {where}" if where else name


def source_line(name: str, path: str, page: int) -> str:
    """``name`` with its place after a comma ("report.pdf, page 3"), or ``name`` alone."""
    where = place(path, page)
    return f"{name}, {where}" if where else name
