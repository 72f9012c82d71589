"""Evernote exports (.enex).

The real file is twelve notes of the "My Notes.enex" that npm's enex-parser 1.1.2 ships (an
Evernote Mac 6.7.1 export of a person's notebook: stories, to-do lists with checked boxes, a
clipped article with its pictures, a map), cut at note boundaries and otherwise unchanged; the
notes holding a passport scan and a tax summary were left out on purpose.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.ingest.document import LoadError, LoadOptions, display_name
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.evernote import enex_note
from engine.ingest.loaders.parts import extract_part, extractable
from engine.places import page_unit
from tests.helpers_mail import make_pdf

DATA = Path(__file__).parent / "data"
NOTES = DATA / "enex-parser-my-notes.enex"
NO_OCR = LoadOptions(ocr=False)


@pytest.fixture(scope="module")
def export():
    return load(NOTES, options=NO_OCR)


def _note(doc, key: str):
    return next(p for p in doc.parts if p.path == f"{doc.path}//{key}")


def _texts(doc) -> list[str]:
    return [b.text for b in doc.pages[0].blocks]


def test_every_note_is_a_part_keyed_by_its_title(export):
    assert detect_format(NOTES) == "enex" and export.format == "enex"
    assert export.title == "enex-parser-my-notes.enex: 12 notes" and not export.unread
    shopping = _note(export, "Shopping 12_12_2015")  # "/" cannot end a path
    assert display_name(shopping.path) == "enex-parser-my-notes.enex › Shopping 12_12_2015"
    texts = _texts(shopping)
    assert texts[0] == "Shopping 12/12/2015 — 2015-12-12"
    assert texts[1] == ("Created: 2015-12-12 16:44\nUpdated: 2016-05-07 09:29\n"
                        "Author: mwrbrennan@gmail.com")
    assert "☑ Green veg" in texts and "Groceries" in texts  # checked boxes read as done
    todo = _texts(_note(export, "SALTS_Kodi todo"))
    assert "☐ Add Steam launcher" in todo
    # a title as long as the heading the chunker keeps is shortened so its date stays
    (traps,) = [p for p in export.parts if p.title.startswith("Highly-redundant traps.")]
    heading = _texts(traps)[0]
    assert heading.endswith("… — 2016-06-21") and len(heading) <= 100


def test_a_clipped_article_keeps_its_source_and_tags_and_pictures_are_parts(export):
    article = _note(export, "Google's Nik Collection of Photo Editing Software Is Now "
                            "Completely Free")
    assert article.metadata["tags"] == "from Inoreader"
    assert article.metadata["source_url"].startswith("http://feeds.gawker.com/")
    assert any("Nik Collection, seven powerful photo editing" in t for t in _texts(article))
    # the 800x450 picture waits for OCR; the 1x1 tracking GIF is not even listed
    assert [u.key for u in article.unread] == ["image1.jpeg"]
    assert "OCR" in article.unread[0].reason
    pin = _note(export, "I was here on June 23 2015 at 06_21PM")
    assert [u.key for u in pin.unread] == ["I was here on June 23 2015 at 06_21PM 1.png"]


def _enex(*notes: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE en-export SYSTEM '
            '"http://xml.evernote.com/pub/evernote-export3.dtd">\n<en-export>'
            + "".join(notes) + "</en-export>\n")


def _note_xml(title: str, body: str, resources: str = "") -> str:
    return (f"<note><title>{title}</title><content><![CDATA[<?xml version=\"1.0\"?>"
            f"<en-note>{body}</en-note>]]></content><created>20240301T100000Z</created>"
            f"{resources}</note>")


def _resource(data: bytes, mime: str, name: str | None = None, size: str = "") -> str:
    attributes = f"<resource-attributes><file-name>{name}</file-name></resource-attributes>" \
        if name else ""
    return (f"<resource><data encoding=\"base64\">{base64.b64encode(data).decode()}</data>"
            f"<mime>{mime}</mime>{size}{attributes}</resource>")


def test_attachments_repeated_titles_secrets_and_copying_out(tmp_path):
    pdf = make_pdf(["Boiler invoice.", "The service costs 240 euros."])
    path = tmp_path / "Home.enex"
    path.write_text(_enex(
        _note_xml("Boiler", "<div>Serviced in March.</div><en-media type=\"application/pdf\" "
                  "hash=\"ab\"/>", _resource(pdf, "application/pdf", "invoice.pdf")),
        _note_xml("Boiler", "<div>Code: <en-crypt cipher=\"AES\">c2VjcmV0</en-crypt></div>",
                  _resource(b"GIF89a", "image/gif", size="<width>1</width><height>1</height>")),
        _note_xml("Receipt", "", _resource(pdf, "application/pdf")),
        _note_xml("scan.pdf", "<div>A file dropped into Evernote.</div>")))
    doc = load(path, options=NO_OCR)
    first, second, receipt, scan = doc.parts
    assert [p.path.rsplit("//", 1)[1] for p in doc.parts] == [
        "Boiler", "Boiler (2)", "Receipt", "scan.pdf (note)"]
    assert page_unit(scan.path) is None and scan.title == "scan.pdf"
    (invoice,) = first.parts
    assert invoice.path.endswith("Boiler//invoice.pdf") and len(invoice.pages) == 2
    assert second.metadata["encrypted_sections"] == "1" and not second.parts
    assert "c2VjcmV0" not in " ".join(_texts(second))
    assert receipt.parts[0].path.endswith("//Receipt 1.pdf")  # named after its note
    cited = f"{path}//Boiler (2)"
    assert not extractable(cited) and extractable(f"{path}//Boiler//invoice.pdf")
    copy = extract_part(f"{path}//Boiler//invoice.pdf", tmp_path / "out")
    assert copy is not None and copy.read_bytes() == pdf
    assert enex_note(path, "Receipt", NO_OCR).parts[0].pages[1].blocks
    with pytest.raises(LoadError, match="no note Nothing"):
        enex_note(path, "Nothing", NO_OCR)


def test_a_file_cut_short_keeps_the_notes_before_the_cut(tmp_path):
    raw = NOTES.read_bytes()
    cut = tmp_path / "cut.enex"
    cut.write_bytes(raw[: raw.index(b"<title>Xp</title>") + 40])
    doc = load(cut, options=NO_OCR)
    assert len(doc.parts) == 2 and len(doc.unread) == 1
    assert doc.unread[0].key == "notes after 2" and "\n" not in doc.unread[0].reason
    (tmp_path / "early.enex").write_bytes(raw[: raw.index(b"</note>")])
    with pytest.raises(LoadError, match=r"^corrupt Evernote export"):
        load(tmp_path / "early.enex", options=NO_OCR)
    (tmp_path / "none.enex").write_text(_enex())
    with pytest.raises(LoadError, match="no notes"):
        load(tmp_path / "none.enex", options=NO_OCR)
    (tmp_path / "list.enex").write_text("groceries: milk, eggs\n")
    assert skip_reason(tmp_path / "list.enex") == (
        "not an Evernote export (no <en-export> root; mislabelled?)")


_WORDS = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.tuples(st.booleans(), st.lists(_WORDS, min_size=1, max_size=4)),
                      min_size=1, max_size=8))
def test_check_boxes_read_as_marks_in_order(tmp_path, items):
    checked = ' checked="true"'
    body = "".join(f"<div><en-todo{checked if done else ''}/>{' '.join(words)}</div>"
                   for done, words in items)
    path = tmp_path / "todo.enex"
    path.write_text(_enex(_note_xml("List", body)))
    texts = _texts(load(path, options=NO_OCR).parts[0])[2:]
    assert texts == [("☑ " if done else "☐ ") + " ".join(words) for done, words in items]
