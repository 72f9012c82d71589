"""Where a passage is, as a user reads it: the unit of a paged format, nothing for a file
without pages (engine.places)."""

from __future__ import annotations

import pytest

from engine.ingest.loaders.formats import SUPPORTED_EXTENSIONS
from engine.places import PAGE_UNITS, place, short_line, source_line


@pytest.mark.parametrize(("path", "page", "expected"), [
    ("/docs/report.pdf", 1, "page 1"),  # a PDF's first page is a page
    ("/docs/report.PDF", 12, "page 12"),
    ("/docs/scan.djvu", 2, "page 2"),
    ("/docs/deck.pptx", 4, "slide 4"),
    ("/docs/old deck.ppt", 1, "slide 1"),
    ("/docs/talk.odp", 3, "slide 3"),
    ("/docs/budget.xlsx", 2, "sheet 2"),
    ("/docs/budget.ods", 1, "sheet 1"),
    ("/docs/book.epub", 5, "chapter 5"),
    ("/docs/diagram.vsdx", 2, "page 2"),
    ("/docs/manual.pdf.gz", 3, "page 3"),  # the file inside counts
    ("/docs/notes.txt", 1, ""),  # formats without pages put everything on page 1
    ("/docs/README", 1, ""),
    ("/docs/guide.md", 1, ""),
    ("/docs/letter.docx", 1, ""),
    ("/docs/page.html", 1, ""),
    ("/docs/photo.jpg", 1, ""),
    ("/docs/fax.tiff", 2, "page 2"),  # a later page is still a page
    ("/usr/share/info/grep.info.gz//grep.info", 7, "page 7"),
    ("/mail/inbox.mbox//12", 1, ""),  # a message
    ("/mail/invoices.eml//invoice.pdf", 2, "page 2"),  # its attachment
    ("/docs/bundle.zip//docs › deck.pptx", 3, "slide 3"),
    ("C:\\Users\\ana\\deck.pptx", 2, "slide 2"),
])
def test_place(path, page, expected):
    assert place(path, page) == expected


def test_every_unit_names_a_format_satchel_reads():
    assert set(PAGE_UNITS) <= set(SUPPORTED_EXTENSIONS.values())


def test_source_lines():
    assert source_line("report.pdf", "/d/report.pdf", 3) == "report.pdf, page 3"
    assert source_line("notes.txt", "/d/notes.txt", 1) == "notes.txt"
    assert short_line("report.pdf", "/d/report.pdf", 3) == "report.pdf p.3"
    assert short_line("deck.pptx", "/d/deck.pptx", 3) == "deck.pptx slide 3"
    assert short_line("notes.txt", "/d/notes.txt", 1) == "notes.txt"
