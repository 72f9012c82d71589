"""FictionBook (.fb2) e-books: chapters as pages, their sections as headings, notes after.

``tests/data/fbreader-minihelp.en.fb2`` is FBReader's own help book as Debian ships it (GPL-2,
package fbreader): a body without sections, subtitles, inline code and links, pictures of
toolbar buttons as base64, and an entity FBReader fills in at build time, undeclared here. The
other books are written here the way FictionBook editors save them (FB Editor, calibre's
output): windows-1251 encoded, a title page, chapters of nested sections, a poem, a table,
an epigraph and a notes body.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.places import place

DATA = Path(__file__).resolve().parent / "data"

BOOK = """<?xml version="1.0" encoding="windows-1251"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0"
             xmlns:l="http://www.w3.org/1999/xlink">
 <description>
  <title-info>
   <genre>adventure</genre>
   <author><first-name>Анна</first-name><last-name>Смирнова</last-name></author>
   <book-title>Маяк на мысе</book-title>
   <annotation><p>A keeper's year at the lighthouse on Cape Vale.</p></annotation>
   <lang>ru</lang>
  </title-info>
 </description>
 <body>
  <title><p>Маяк на мысе</p><p>повесть</p></title>
  <epigraph><p>The sea keeps its own calendar.</p><text-author>Old saying</text-author></epigraph>
  <section>
   <title><p>Глава первая</p></title>
   <p>The lamp was lit at <emphasis>dusk</emphasis> every day<a l:href="#n1" type="note">1</a>
      and the keeper logged the wind.</p>
   <empty-line/>
   <section>
    <title><p>The log</p></title>
    <subtitle>March</subtitle>
    <table><tr><th>Day</th><th>Wind</th></tr><tr><td>3 March</td><td>NE 5</td></tr>
           <tr><td>4 March</td><td>N 7</td></tr></table>
   </section>
  </section>
  <section>
   <title><p>Глава вторая</p></title>
   <poem><title><p>Keeper's song</p></title>
    <stanza><v>Light the lamp at evening,</v><v>trim the wick at two.</v></stanza>
   </poem>
   <cite><p>Supply boats come on Thursdays.</p></cite>
   <p>The supply boat <strong>Tern</strong> brought oil<a l:href="#n2" type="note">2</a>.</p>
  </section>
 </body>
 <body name="notes">
  <title><p>Примечания</p></title>
  <section id="n1"><title><p>1</p></title><p>Sunset by the almanac.</p></section>
  <section id="n2"><title><p>2</p></title><p>Forty litres a month.</p></section>
 </body>
 <binary id="cover.jpg" content-type="image/jpeg">/9j/4AAQSkZJRgABAQ==</binary>
</FictionBook>
"""


def _book(path: Path, text: str = BOOK) -> Path:
    path.write_bytes(text.encode("windows-1251"))
    return path


def test_a_book_reads_a_page_per_chapter_with_its_sections_and_notes(tmp_path):
    doc = load(_book(tmp_path / "mayak.fb2"))
    assert doc.format == "fb2" and doc.loader == "FictionBook reader (lxml)"
    assert doc.title == "Маяк на мысе" and doc.metadata["author"] == "Анна Смирнова"
    pages = [(p.number, p.label, [(b.kind, b.level, b.text) for b in p.blocks])
             for p in doc.pages]
    assert pages == [
        (1, None, [("paragraph", 0, "A keeper's year at the lighthouse on Cape Vale."),
                   ("heading", 1, "Маяк на мысе повесть"),
                   ("paragraph", 0, "The sea keeps its own calendar."),
                   ("paragraph", 0, "Old saying")]),
        (2, "Глава первая", [
            ("heading", 1, "Глава первая"),
            ("paragraph", 0, "The lamp was lit at dusk every day and the keeper logged the "
                             "wind."),
            ("heading", 2, "The log"), ("heading", 3, "March"),
            ("table", 0, "Day: 3 March; Wind: NE 5\nDay: 4 March; Wind: N 7")]),
        (3, "Глава вторая", [
            ("heading", 1, "Глава вторая"), ("heading", 2, "Keeper's song"),
            ("paragraph", 0, "Light the lamp at evening,\ntrim the wick at two."),
            ("paragraph", 0, "Supply boats come on Thursdays."),
            ("paragraph", 0, "The supply boat Tern brought oil.")]),
        (4, "Notes", [("heading", 1, "Notes"),
                      ("paragraph", 0, "Note 1: Sunset by the almanac."),
                      ("paragraph", 0, "Note 2: Forty litres a month.")]),
    ]
    assert place(doc.path, 3) == "chapter 3"


def test_fbreaders_help_book_is_read(tmp_path):
    doc = load(DATA / "fbreader-minihelp.en.fb2")
    assert doc.title == "About FBReader" and len(doc.pages) == 1
    blocks = doc.pages[0].blocks
    assert (blocks[0].kind, blocks[0].text) == ("heading", "About FBReader")
    assert [b.text for b in blocks if b.kind == "heading"] == [
        "About FBReader", "How To Start", "Related sites"]
    text = doc.pages[0].text
    assert "FBReader looks for ePub, fb2 and OpenReader books in directories listed in the " \
           "Book Path option." in text
    assert "base64" not in text and "iVBOR" not in text  # the toolbar pictures are not text


def test_a_zipped_book_is_read_from_its_archive(tmp_path):
    """Books are shared as .fb2.zip: the archive is read and the book in it cited by chapter."""
    with zipfile.ZipFile(tmp_path / "mayak.fb2.zip", "w") as archive:
        archive.writestr("mayak.fb2", BOOK.encode("windows-1251"))
    doc = load(tmp_path / "mayak.fb2.zip")
    (book,) = doc.parts
    assert book.format == "fb2" and book.pages[1].label == "Глава первая"


def test_a_file_that_is_not_a_book_is_refused_in_one_line(tmp_path):
    (tmp_path / "notes.fb2").write_text("<?xml version='1.0'?><html><body>hi</body></html>")
    assert skip_reason(tmp_path / "notes.fb2") == (
        "not a FictionBook e-book (no <FictionBook> root; mislabelled?)")
    (tmp_path / "empty.fb2").write_text(
        '<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0"><body/></FictionBook>')
    assert detect_format(tmp_path / "empty.fb2") == "fb2"
    with pytest.raises(LoadError, match="no extractable text"):
        load(tmp_path / "empty.fb2")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij klmnop<&>\"'", min_size=1, max_size=40)
                .filter(str.strip), min_size=1, max_size=6))
def test_every_paragraph_of_every_chapter_is_read_once(tmp_path_factory, paragraphs):
    """Whatever the paragraphs hold (markup characters escaped as XML needs), each is read
    once, in order, in the chapter it is in."""
    from xml.sax.saxutils import escape

    body = "".join(f"<section><title><p>Chapter {i}</p></title><p>{escape(text)}</p></section>"
                   for i, text in enumerate(paragraphs, 1))
    path = tmp_path_factory.mktemp("fb2") / "book.fb2"
    path.write_text('<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0">'
                    f"<body>{body}</body></FictionBook>", encoding="utf-8")
    doc = load(path)
    assert [p.label for p in doc.pages] == [f"Chapter {i}" for i in range(1, len(paragraphs) + 1)]
    assert [p.blocks[1].text for p in doc.pages] == [" ".join(t.split()) for t in paragraphs]
