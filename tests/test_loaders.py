"""Loaders on real files: the shipped corpus (one file per format) and broken files made on the fly.

The corpus files were produced by the real libraries for each format, so these tests check what
users' files look like, not hand-written fixtures. Broken files are generated per test in
tmp_path: encrypted, truncated, mislabelled, empty, binary, oversized. Every failure must be a
LoadError whose message is one readable line.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.ingest.document import Document, LoadError, NothingToRead
from engine.ingest.loaders import (
    SUPPORTED_EXTENSIONS,
    detect_format,
    is_supported_name,
    load,
    skip_reason,
)
from engine.ingest.loaders.common import library_errors, split_long
from engine.ingest.loaders.encoding import MAX_STRAY_NULS, without_nuls
from engine.ingest.loaders.text import parse_code, parse_markdown, parse_rst
from engine.samples import CORPUS_DIR, QA_PATH
from engine.samples.content import NEWS_NOISE
from tests.helpers_ooxml import before, relationships, repack, text_box_run

EXPECTED_FORMATS = {
    "annual_report_2025.pdf": "pdf",
    "field_safety_handbook.docx": "docx",
    "council_minutes_2025-06-02.odt": "odt",
    "onboarding_2025.pptx": "pptx",
    "stores_and_fleet.xlsx": "xlsx",
    "buoy_deployments.csv": "csv",
    "history_of_halcyon_reach.epub": "epub",
    "station_news.html": "html",
    "data_management.md": "markdown",
    "lab_booking.rst": "rst",
    "wildlife_log_2025.txt": "text",
    "tide_correction.py": "code",
    "station_config.json": "json",
}


def _load_corpus(name: str) -> Document:
    return load(CORPUS_DIR / name)


def _all_text(doc: Document) -> str:
    return "\n".join(p.text for p in doc.pages)


def _headings(doc: Document) -> list[tuple[int, str]]:
    return [(b.level, b.text) for p in doc.pages for b in p.blocks if b.kind == "heading"]


def _qa() -> list[dict]:
    return [json.loads(line) for line in QA_PATH.read_text(encoding="utf-8").splitlines()]


def _assert_load_error(path: Path, *fragments: str, **kwargs) -> str:
    with pytest.raises(LoadError) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 200, message
    for fragment in fragments:
        assert fragment.lower() in message.lower(), message
    return message


# ------------------------------------------------------------------------------ the corpus


def test_corpus_has_one_file_per_format_and_stays_small():
    files = sorted(p.name for p in CORPUS_DIR.iterdir())
    assert files == sorted(EXPECTED_FORMATS)
    # E-mail, legacy Office, RTF, images, ODS/ODP, flat ODF and drawings are made by their
    # tests from real tools (test_loaders_email/legacy/ocr/opendocument/drawings_flat,
    # test_formats_e2e): the shipped corpus stays
    # unchanged, so the sample question set and its numbers do too.
    made_by_tests = {"eml", "emlx", "mbox", "msg", "doc", "xls", "ppt", "rtf", "image", "ods",
                     "odp", "zip", "tar", "subtitles", "mhtml", "latex",
                     "fodt", "fods", "fodp", "odg", "visio",  # test_loaders_drawings_flat
                     "djvu",  # test_loaders_djvu
                     "abw", "sxw", "wordperfect",  # test_loaders_drawings_flat (tests/data)
                     "svg",  # test_loaders_svg
                     "fb2",  # test_loaders_fictionbook
                     "mobi",  # test_loaders_mobi
                     "chm",  # test_loaders_chm (a real help file in tests/data)
                     "pages", "numbers", "keynote",  # test_loaders_iwork (tests/data)
                     "write", "wordpro", "lotus", "appleworks",  # test_loaders_drawings_flat
                     "calendar", "vcard",  # test_loaders_calendar
                     "notebook",  # test_loaders_notebook
                     "asciidoc", "org",  # test_loaders_markup
                     "bibtex",  # test_loaders_bibtex
                     "info",  # test_loaders_info (real manuals in tests/data)
                     "7z", "rar",  # test_loaders_7z_rar
                     "postscript",  # test_loaders_postscript
                     "pst",  # test_loaders_pst (a real archive in tests/data)
                     "enex",  # test_loaders_evernote (a real export in tests/data)
                     "hwp", "hwpx",  # test_loaders_hangul (real documents in tests/data)
                     "onenote", "onepkg",  # test_loaders_onenote (a real section in tests/data)
                     "xlsb", "sxc", "sxi",  # test_loaders_drawings_flat (files in tests/data)
                     "gnumeric", "slk", "dif"}  # test_loaders_drawings_flat (tests/data)
    assert set(EXPECTED_FORMATS.values()) == set(SUPPORTED_EXTENSIONS.values()) - made_by_tests
    assert sum(p.stat().st_size for p in CORPUS_DIR.iterdir()) < 300_000


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_every_corpus_file_loads_with_its_format(name):
    path = CORPUS_DIR / name
    assert detect_format(path) == EXPECTED_FORMATS[name]
    assert skip_reason(path) is None
    doc = load(path)
    assert doc.format == EXPECTED_FORMATS[name]
    assert doc.path == str(path)
    assert not doc.is_empty
    assert [p.number for p in doc.pages] == list(range(1, len(doc.pages) + 1))
    for page in doc.pages:
        for block in page.blocks:
            assert block.text.strip(), f"empty block on page {page.number}"
            assert block.text == block.text.strip()
            assert (block.level > 0) == (block.kind == "heading")
    json.dumps(doc.metadata)  # small, JSON-serialisable extras


def test_paged_formats_keep_their_pages_and_labels():
    pdf = _load_corpus("annual_report_2025.pdf")
    assert len(pdf.pages) == 5
    assert pdf.pages[0].label == "i"  # roman-numbered foreword
    assert pdf.pages[1].label == "1"
    assert pdf.title == "Halcyon Reach Research Station - Annual Report 2025"

    deck = _load_corpus("onboarding_2025.pptx")
    assert [p.label for p in deck.pages] == [
        "Welcome to Halcyon Reach",
        "Getting around",
        "Meals",
        "Quiet hours",
        "Who to ask",
    ]
    assert deck.pages[3].blocks[0].kind == "heading"
    assert "whiteboard" in deck.pages[3].text  # speaker notes are kept

    book = _load_corpus("history_of_halcyon_reach.epub")
    assert [p.label for p in book.pages] == ["Founding", "The Great Storm", "The Aurora Wing"]
    assert book.metadata["author"] == "Agnes Thorvaldsen-Rhee"

    sheets = _load_corpus("stores_and_fleet.xlsx")
    assert [p.label for p in sheets.pages] == ["Inventory", "Vessels"]


def test_an_epub_that_lacks_files_its_manifest_lists_is_read(tmp_path):
    """Books list files they do not hold (Debian's debmake-doc EPUBs list a logo the build
    left out) and ebooklib refused the whole book ("There is no item named ... in the
    archive"). Its chapters are read; a missing chapter is an empty one."""
    from tests.helpers_ooxml import repack

    missing = ('<item href="images/logo%20big.png" id="logo" media-type="image/png"/>'
               '<item href="lost.xhtml" id="lost" media-type="application/xhtml+xml"/>')
    book = repack(CORPUS_DIR / "history_of_halcyon_reach.epub", tmp_path / "book.epub", {
        "EPUB/content.opf": lambda d: d.replace(b"</manifest>", missing.encode() + b"</manifest>")
        .replace(b"</spine>", b'<itemref idref="lost"/></spine>')})
    doc = load(book)
    assert [p.label for p in doc.pages] == ["Founding", "The Great Storm", "The Aurora Wing"]
    assert doc.pages[0].text == _load_corpus("history_of_halcyon_reach.epub").pages[0].text


def test_headings_are_detected_with_levels():
    assert _headings(_load_corpus("field_safety_handbook.docx"))[:4] == [
        (1, "Field Safety Handbook"),
        (1, "Small-boat operations"),
        (2, "Launch limits"),
        (2, "Crew"),
    ]
    odt = _headings(_load_corpus("council_minutes_2025-06-02.odt"))
    assert odt[0] == (1, "Station Council Minutes - 2 June 2025") and (2, "Decisions") in odt
    md = _headings(_load_corpus("data_management.md"))
    assert md == [
        (1, "Data Management Guide"),
        (2, "Naming datasets"),
        (2, "Backups"),
        (2, "Retention"),  # setext heading
    ]
    rst = _headings(_load_corpus("lab_booking.rst"))
    assert rst == [
        (1, "Laboratory Booking Procedure"),
        (2, "Booking the mass spectrometer"),
        (2, "Contacts"),
    ]
    html = _headings(_load_corpus("station_news.html"))
    assert html[0] == (1, "Station News - October 2025") and (2, "Supply ship schedule") in html
    pdf = _load_corpus("annual_report_2025.pdf")
    assert [h for h in _headings(pdf) if h[0] == 2][:2] == [
        (2, "Foreword from the Station Director"),
        (2, "Staffing and Logistics"),
    ]
    assert all(p.blocks[0].kind == "heading" for p in pdf.pages)


def test_structure_tables_lists_and_code_blocks():
    docx = _load_corpus("field_safety_handbook.docx")
    tables = [b.text for b in docx.pages[0].blocks if b.kind == "table"]
    assert tables == [
        "Zone: North Cliffs; Channel: 12; Call sign: Gannet\n"
        "Zone: Lagoon; Channel: 23; Call sign: Heron\n"
        "Zone: Summit Ridge; Channel: 71; Call sign: Osprey"
    ]
    assert any(b.kind == "list" and "Anemometer Mast" in b.text for b in docx.pages[0].blocks)
    xlsx = _load_corpus("stores_and_fleet.xlsx")
    assert "Name: RV Petrel Dawn; Type: Research vessel; Length (m): 12.4" in xlsx.pages[1].text
    csv_doc = _load_corpus("buoy_deployments.csv")
    assert "Buoy ID: HRB-11; Site: Outer Bank" in csv_doc.pages[0].text
    md = _load_corpus("data_management.md")
    code = [b.text for b in md.pages[0].blocks if b.kind == "code"]
    assert code == ["```bash\nrsync -a --checksum /data/raw/ vault-2:/archive/raw/\n```"]
    py = _load_corpus("tide_correction.py")
    assert py.metadata["language"] == "python"
    assert all(b.kind == "code" for b in py.pages[0].blocks)
    defs = [b.text for b in py.pages[0].blocks if b.text.startswith("def ")]
    assert len(defs) == 2 and "\n\n    return" in defs[1]  # blank line inside a function kept
    assert py.pages[0].blocks[0].text.startswith('"""Tide') and "TG-Merrow-3" in py.pages[0].text
    config = _load_corpus("station_config.json")
    assert "station.callsign: HRX-7" in config.pages[0].text
    assert "alarms[1].tone: three long blasts" in config.pages[0].text


def test_html_boilerplate_is_dropped():
    doc = _load_corpus("station_news.html")
    text = _all_text(doc)
    assert "Rafael Ondaatje" in text and "Hut F" in text
    for noise in (NEWS_NOISE, "Duty rota", "Mess menu", "console.log", "Search the intranet",
                  "Wind now", "Privacy", "font-family"):  # fmt: skip
        assert noise not in text


def test_cp1252_corpus_text_decodes():
    doc = _load_corpus("wildlife_log_2025.txt")
    assert doc.metadata["encoding"] == "cp1252"
    assert "Zoë Achterberg" in doc.pages[0].text and "café bins" in doc.pages[0].text


def test_question_set_answers_are_on_the_gold_page():
    questions = _qa()
    assert len(questions) >= 30
    docs = {name: _load_corpus(name) for name in EXPECTED_FORMATS}
    for q in questions:
        assert set(q) == {"question", "answers", "sources", "pages"}
        assert q["question"].endswith("?") and q["answers"]
        (source,), (page,) = q["sources"], q["pages"]
        page_text = docs[source].pages[page - 1].text.lower()
        assert any(a.lower() in page_text for a in q["answers"]), q
    assert {q["sources"][0] for q in questions} == set(EXPECTED_FORMATS)


def test_distinctive_answers_appear_in_exactly_one_place():
    """A question has one right source: distinctive answer strings occur on one page only."""
    pages = [
        (name, p.number, p.text.lower())
        for name in EXPECTED_FORMATS
        for p in _load_corpus(name).pages
    ]
    for q in _qa():
        answer = q["answers"][0].lower()
        if len(answer) < 6 or not any(c.isalpha() for c in answer):
            continue
        hits = [(name, n) for name, n, text in pages if answer in text]
        assert hits == [(q["sources"][0], q["pages"][0])], (q["question"], hits)


def test_corpus_build_is_deterministic_and_matches_shipped(tmp_path):
    from engine.samples.build_corpus import build, build_qa

    first = build(tmp_path / "a", qa_path=tmp_path / "qa.jsonl")
    second = build(tmp_path / "b", qa_path=None)
    assert [f.name for f in first] == sorted(EXPECTED_FORMATS)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        shipped = load(CORPUS_DIR / a.name)
        rebuilt = load(a)
        assert [p.blocks for p in rebuilt.pages] == [p.blocks for p in shipped.pages], a.name
    build_qa(tmp_path / "qa2.jsonl")
    assert (tmp_path / "qa2.jsonl").read_text() == QA_PATH.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- broken files


def _pdf(path: Path, text: str | None = "Hello from a test PDF.", password: str | None = None):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    if text is None:
        pdf.rect(20, 20, 100, 60, style="F")  # a page with a picture-like shape, no text
    else:
        pdf.set_font("Helvetica", "", 12)
        pdf.cell(0, 10, text)
    if password:
        pdf.set_encryption(owner_password="owner-secret", user_password=password)
    pdf.output(str(path))
    return path


def test_pdf_paragraphs_survive_code_words_and_small_bullets(tmp_path):
    """A wrapped line that starts with a word in a smaller code font, and list items whose
    bullet glyph is set smaller than their text, stay whole paragraphs; the paragraph after a
    list spaced like its items is not glued onto the last item."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    lead = 4.2  # mm between wrapped lines (12 pt for 10 pt text)

    def line(y: float, *pieces: tuple[str, int, str]) -> None:
        x = 20.0
        for family, size, words in pieces:
            pdf.set_font(family, "", size)
            pdf.text(x, y, words)
            x += pdf.get_string_width(words) + 1.2

    body = "Helvetica", 10
    y = 30.0
    for words in ("Each application installs a single file into the packages folder,",
                  "and after installing, removing or changing that file it must run",
                  "the database tool; the file keeps the name of the application,"):
        line(y, (*body, words))
        y += lead
    line(y, ("Courier", 9, "update-db"), (*body, "is that tool and ships with the database."))
    y += 2.4 * lead
    bullet = ("Helvetica", 7, "\u00b7")
    line(y, bullet, (*body, "glob elements have a pattern attribute. Any file whose name"))
    y += lead
    line(y, (*body, "matches the pattern is given this type; the default weight is 50."))
    y += 1.38 * lead
    line(y, bullet, (*body, "magic elements hold a list of match rules."))
    y += 1.38 * lead
    line(y, (*body, "The format of the generated files is explained below."))
    pdf.output(str(tmp_path / "spec.pdf"))

    text = load(tmp_path / "spec.pdf").pages[0].text
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert paragraphs[0].startswith("Each application")
    assert paragraphs[0].endswith("update-db is that tool and ships with the database.")
    items = paragraphs[1].splitlines()
    assert len(items) == 2
    assert "file whose name matches the pattern is given this type" in items[0]
    assert items[1].endswith("magic elements hold a list of match rules.")
    assert paragraphs[2] == "The format of the generated files is explained below."


def test_pdf_names_broken_at_a_line_end_are_joined(tmp_path):
    """Texinfo breaks a long name after "_" and a URL after "://" with no hyphen (R's manuals:
    "R_" at a line's end, "LIBS_USER" on the next). The name is read whole, so a search for
    R_LIBS_USER finds it; a name that ends in "_" before "..." keeps its space."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    lines = ("Users can have one or more libraries, normally specified by the variable R_",
             "LIBS_USER. The missing value is NA_character_",
             "... and the manual is on https://",
             "cran.r-project.org for all to read.")
    for i, words in enumerate(lines):
        pdf.text(20, 30 + 4.2 * i, words)
    pdf.output(str(tmp_path / "admin.pdf"))

    text = " ".join(load(tmp_path / "admin.pdf").pages[0].text.split())
    assert "specified by the variable R_LIBS_USER. The missing value" in text
    assert "NA_character_ ... and the manual is on https://cran.r-project.org for all" in text


@pytest.mark.skipif(not (shutil.which("groff") and shutil.which("ps2pdf")),
                    reason="needs groff and ghostscript")
def test_pdf_words_set_apart_by_position_alone_are_spaced(tmp_path):
    """A manual page printed to PDF (groff, then Ghostscript: how bash's manual ships) sets
    justified words apart without space characters; PDFium read "save inahistory list".
    Texinfo's and LibreOffice's PDFs, which spell their spaces, read as before (the rule looks
    at each line's usual gap, so "c()" and a monospaced name are not cut up)."""
    import subprocess

    page = tmp_path / "harbour.1"
    page.write_text(".TH HARBOUR 1\n.SH DESCRIPTION\nWhen the history option to the set builtin "
                    "is enabled, the shell provides access to the command history, the list of "
                    "commands previously typed. The value of the HISTSIZE variable is used as "
                    "the number of commands to save in a history list. The text of the last "
                    "HISTSIZE commands (default 500) is saved.\n")
    ps = subprocess.run(["groff", "-man", "-Tps", str(page)], capture_output=True, check=True)
    (tmp_path / "harbour.ps").write_bytes(ps.stdout)
    subprocess.run(["ps2pdf", "harbour.ps", "harbour.pdf"], cwd=tmp_path, check=True)
    text = " ".join(load(tmp_path / "harbour.pdf").pages[0].text.split())
    assert "access to the command history, the list of commands previously typed." in text
    assert "the number of commands to save in a history list. The text of the last" in text
    code = load(_pdf(tmp_path / "code.pdf", "Call c() with 1: then run dpkg-gencontrol.")).pages
    assert code[0].text == "Call c() with 1: then run dpkg-gencontrol."


def _form_pdf(path: Path, fields: list[tuple[str, str, str, str]]) -> Path:
    """A one-page PDF form, filled in: printed labels, then (kind, name, tooltip, value) fields
    as widgets with their appearance ("Tx" text, "Btn" a check box), as form software saves,
    or annotations ("FreeText": typed onto the page, "Text": a sticky note, "Highlight": a
    marked passage; value = contents)."""
    content = "BT /F1 12 Tf 72 720 Td (Harbour permit application) Tj ET " + " ".join(
        f"BT /F1 10 Tf 72 {680 - 30 * i} Td ({tip or name}) Tj ET"
        for i, (_, name, tip, _) in enumerate(fields))
    annots = " ".join(f"{6 + 2 * i} 0 R" for i in range(len(fields)))
    widgets = " ".join(f"{6 + 2 * i} 0 R" for i, f in enumerate(fields) if f[0] in ("Tx", "Btn"))
    objects = [f"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{widgets}] >> >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               f"/Annots [{annots}] /Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, (kind, name, tip, value) in enumerate(fields):
        y = 675 - 30 * i
        if kind in ("FreeText", "Text", "Highlight"):
            objects.append(f"<< /Type /Annot /Subtype /{kind} /Rect [250 {y} 500 {y + 20}] "
                           f"/Contents ({value}) /DA (/F1 10 Tf 0 g) /P 3 0 R >>")
            objects.append("<< /Length 0 >>\nstream\n\nendstream")  # keeps the numbering
            continue
        shown = f"/Tx BMC BT /F1 10 Tf 2 5 Td ({value}) Tj ET EMC" if kind == "Tx" else ""
        tooltip = f"/TU ({tip}) " if tip else ""
        field_value = f"({value})" if kind == "Tx" else f"/{value}"
        objects.append(f"<< /Type /Annot /Subtype /Widget /FT /{kind} /T ({name}) {tooltip}"
                       f"/V {field_value} /Rect [250 {y} 500 {y + 20}] /P 3 0 R /F 4 "
                       f"/DA (/F1 10 Tf 0 g) /AP << /N {7 + 2 * i} 0 R >> >>")
        objects.append(f"<< /Type /XObject /Subtype /Form /BBox [0 0 250 20] /Resources << "
                       f"/Font << /F1 5 0 R >> >> /Length {len(shown)} >>\nstream\n{shown}"
                       "\nendstream")
    return _write_pdf(path, objects)


def _write_pdf(path: Path, objects: list[str]) -> Path:
    """A PDF file of ``objects`` (numbered from 1; the first is the catalog), with its xref."""
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n"
            "%%EOF\n").encode()
    path.write_bytes(out)
    return path


def test_a_filled_pdf_form_reads_its_values_with_their_labels(tmp_path):
    """A form's values live in its fields, not in the page text: a filled application read as
    a blank one. Each filled text field reads "Label: value" (the tooltip the form shows, else
    the field's own name); check boxes and empty fields say nothing and are left out. Text
    typed onto a flat form with a viewer's "Add text" tool, a sticky note and a comment on a
    highlight are read too."""
    path = _form_pdf(tmp_path / "permit.pdf", [
        ("Tx", "f1_01", "Policy number", "HRB-2231-77"),
        ("Tx", "form[0].page1[0].vessel[0]", "", "Kittiwake"),
        ("Tx", "f1_03", "Berth", ""),
        ("Btn", "f1_04", "Insured", "Yes"),
        ("FreeText", "typed", "Skipper", "Mara Quist, licence 4471"),
        ("Text", "note", "", "Renewal due in March"),
        ("Highlight", "mark", "", "Berth changed to 14")])
    blocks = [b.text for b in load(path).pages[0].blocks]
    assert blocks[-4:] == ["Policy number: HRB-2231-77\nvessel: Kittiwake",
                           "Mara Quist, licence 4471", "Comment: Renewal due in March",
                           "Comment: Berth changed to 14"]
    assert not any("Insured:" in b for b in blocks)
    long = _form_pdf(tmp_path / "remarks.pdf", [("Tx", "f9", "Remarks", "Harbour " * 700)])
    kept = load(long).pages[0].blocks[-1].text  # a long value is cut, not lost
    assert kept.startswith("Remarks: Harbour Harbour") and 4000 <= len(kept) < 4100


def test_encrypted_pdf(tmp_path):
    path = _pdf(tmp_path / "locked.pdf", password="hunter2")
    _assert_load_error(path, "encrypted PDF", "password")


def test_owner_password_only_pdf_still_loads(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 12)
    pdf.cell(0, 10, "Printing restricted but readable.")
    pdf.set_encryption(owner_password="owner-only")
    pdf.output(str(tmp_path / "restricted.pdf"))
    assert "readable" in load(tmp_path / "restricted.pdf").pages[0].text


def test_truncated_and_corrupt_pdf(tmp_path):
    data = _pdf(tmp_path / "whole.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    _assert_load_error(tmp_path / "cut.pdf", "truncated PDF")
    # cut short into a preallocated, zero-filled file: still cut short
    (tmp_path / "cut-padded.pdf").write_bytes(data[: len(data) // 2] + bytes(40_000))
    _assert_load_error(tmp_path / "cut-padded.pdf", "truncated PDF")
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n")
    _assert_load_error(tmp_path / "junk.pdf", "corrupt PDF")


def test_a_pdf_without_pages_read_after_an_encrypted_one_is_not_called_encrypted(tmp_path):
    """PDFium keeps its last error across documents: the parser process, which reads file
    after file, reported a PDF without pages (pikepdf's newline-buffer-test.pdf) "password
    protected" when an encrypted PDF came before it."""
    _assert_load_error(_pdf(tmp_path / "locked.pdf", password="s3cret"), "encrypted PDF")
    pageless = _write_pdf(tmp_path / "pageless.pdf", ["<< /Type /Catalog /Pages 2 0 R >>",
                                                      "<< /Type /Pages /Kids [] /Count 0 >>"])
    _assert_load_error(pageless, "corrupt PDF: PDFium cannot open it")
    _assert_load_error(tmp_path / "locked.pdf", "encrypted PDF (password protected)")


def test_a_whole_pdf_padded_after_its_end_marker_is_read(tmp_path):
    """Some tools save a PDF into a larger zero-filled buffer (pypdf's
    selenium-pypdf-issue-177.pdf: 20 KB of NUL bytes after %%EOF); it was refused as a
    truncated download though PDFium reads it whole."""
    data = _pdf(tmp_path / "whole.pdf", "Berth fees are due in March.").read_bytes()
    (tmp_path / "padded.pdf").write_bytes(data + bytes(20_000) + b"\n" * 3 + bytes(30_000))
    assert load(tmp_path / "padded.pdf").pages[0].text == "Berth fees are due in March."


def test_pdf_type_set_at_size_one_and_scaled_by_its_matrix(tmp_path):
    """InDesign and some print drivers set every font at size 1 and scale it with the text
    matrix (pypdf's selenium-pypdf-issue-177.pdf: 1 pt type drawn at 11 pt). Read at size 1,
    no heading stood out and kerning between letters read as word spaces ("Fichie r : Do cum e
    nt"); the drawn size is what counts."""
    def line(size: int, y: int, shown: str) -> str:
        return f"BT /F1 1 Tf {size} 0 0 {size} 72 {y} Tm {shown} TJ ET"

    content = " ".join([
        line(20, 720, "[(Harbour) -20 ( Rules)]"),
        line(10, 690, "[(Fichier : Do) 30 (cument 1 sans ti) -40 (tre. Each vessel ) 25 (moors)]"),
        line(10, 678, "[(at its own berth and pays its ) -35 (fees before the end of March.)]"),
        # a drawing's dimension, turned on its side: its letters have no gap along x to read
        "BT /F1 1 Tf 0 9 -9 0 400 300 Tm (27 mm) Tj ET",
        "BT /F1 1 Tf 0 12 -12 0 395 340 Tm (1. Strip the cable) Tj ET",
    ])
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               "/Resources << /Font << /F1 5 0 R >> >> >>",
               f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    blocks = load(_write_pdf(tmp_path / "scaled.pdf", objects)).pages[0].blocks
    assert [(b.kind, b.text) for b in blocks[:2]] == [
        ("heading", "Harbour Rules"),
        ("paragraph", "Fichier : Document 1 sans titre. Each vessel moors at its own berth and "
                      "pays its fees before the end of March."),
    ]
    assert " ".join(b.text for b in blocks[2:]) == "27 mm 1. Strip the cable"


def test_image_only_pdf_says_no_extractable_text(tmp_path):
    from engine.ingest.document import LoadOptions

    path = _pdf(tmp_path / "scan.pdf", text=None)
    assert detect_format(path) == "pdf"
    _assert_load_error(path, "no extractable text (scanned or image-only, and OCR is off?)",
                       options=LoadOptions(ocr=False))
    _assert_load_error(path, "no extractable text (OCR found none on 1 image-only page)")
    # with OCR on, no page needing it and nothing but a running line: no talk of OCR being off
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", "", 12)
    for _ in range(4):
        pdf.add_page()
        pdf.cell(0, 10, "Background")
    pdf.output(str(tmp_path / "furniture.pdf"))
    with pytest.raises(LoadError) as caught:
        load(tmp_path / "furniture.pdf")
    assert str(caught.value) == "no extractable text"


def test_mislabelled_pdf_is_skipped_with_reason(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_text("Just some notes, saved with the wrong extension.\n")
    assert detect_format(path) is None
    assert "not a PDF" in (skip_reason(path) or "")
    _assert_load_error(path, "not a PDF")


def test_zero_byte_file(tmp_path):
    """An empty text file (an ``__init__.py``) is skipped; an empty PDF or DOCX is broken."""
    for name in ("empty.txt", "__init__.py", "empty.pdf", "empty.docx"):
        (tmp_path / name).write_bytes(b"")
        assert detect_format(tmp_path / name) is None
        _assert_load_error(tmp_path / name, "empty file")
    for name in ("empty.txt", "__init__.py"):
        with pytest.raises(NothingToRead, match=r"^empty file \(0 bytes\)$"):
            load(tmp_path / name)
    for name in ("empty.pdf", "empty.docx"):
        with pytest.raises(LoadError) as info:
            load(tmp_path / name)
        assert not isinstance(info.value, NothingToRead)


def test_docx_code_paragraphs_become_one_code_block_with_their_indentation(tmp_path):
    """Preformatted/code styles (LibreOffice's "Preformatted Text" from HTML, a "Source Code"
    style) and paragraphs typed wholly in a monospace font are code; a word in Courier is not."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    code_style = document.styles.add_style("Source Code", WD_STYLE_TYPE.PARAGRAPH)
    listing = document.styles.add_style("Listing Body", WD_STYLE_TYPE.PARAGRAPH)
    listing.base_style = code_style
    document.add_paragraph("Pin a package to the stable release:")
    document.add_paragraph("Package: *", style=code_style)
    document.add_paragraph("Pin: release a=stable", style=listing)  # based on a code style
    document.add_paragraph("", style=code_style)
    document.add_paragraph("    Pin-Priority: 900", style=code_style)
    document.add_paragraph("Then update the lists:")
    typed = document.add_paragraph()
    typed.add_run("# apt update").font.name = "Courier New"
    mixed = document.add_paragraph("Run ")
    mixed.add_run("apt update").font.name = "Consolas"
    mixed.add_run(" as root.")
    document.save(str(tmp_path / "apt.docx"))
    blocks = load(tmp_path / "apt.docx").pages[0].blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "Pin a package to the stable release:"),
        ("code", "Package: *\nPin: release a=stable\n\n    Pin-Priority: 900"),
        ("paragraph", "Then update the lists:"),
        ("code", "# apt update"),
        ("paragraph", "Run apt update as root."),
    ]


def test_docx_text_boxes_are_read_once_after_their_paragraph(tmp_path):
    """Sidebars, callouts, a flyer's blocks and every line of a PDF converted to Word sit in
    text boxes, which python-docx's paragraph text leaves out: a Word file of nothing else was
    "no extractable text". Each box is read after the paragraph it is anchored in, once
    (not again from the copy Word keeps for older readers)."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("The ferry timetable changes in October.")
    anchor = document.add_paragraph("Winter crossings:")
    anchor._p.append(parse_xml(text_box_run(["Sidebar: the last boat leaves at 18:40.",
                                              "Tickets are sold on board."])))
    document.add_paragraph("Summer crossings resume in April.")
    document.save(tmp_path / "timetable.docx")
    assert [b.text for b in load(tmp_path / "timetable.docx").pages[0].blocks] == [
        "The ferry timetable changes in October.", "Winter crossings:",
        "Sidebar: the last boat leaves at 18:40.", "Tickets are sold on board.",
        "Summer crossings resume in April."]

    flyer = docx.Document()
    flyer.add_paragraph()._p.append(parse_xml(text_box_run(["Harbour festival, 12 June"])))
    flyer.save(tmp_path / "flyer.docx")
    assert load(tmp_path / "flyer.docx").pages[0].text == "Harbour festival, 12 June"


def test_docx_reads_tracked_changes_content_controls_and_fields_as_word_shows_them(tmp_path):
    """python-docx's paragraph text reads only the runs directly in a paragraph: a contract
    under review lost its tracked insertions ("The berth fee is  per night"), a filled-in
    form the answers in its content controls, and fields, smart tags and moved text their
    words. They read as Word shows them with the changes accepted: deletions and the old
    place of moved text are left out, in the body, in tables and in comments alike."""
    import docx
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def runs(*xml: str):  # elements of a paragraph, the namespace declared on each
        return [parse_xml(x.replace(">", f" {w}>", 1)) for x in xml]

    def run(text: str) -> str:
        return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'

    document = docx.Document()
    contract = document.add_paragraph("The berth fee is ")
    for element in runs(
            '<w:del w:id="1" w:author="Ada"><w:r><w:delText>40 EUR</w:delText></w:r></w:del>',
            f'<w:ins w:id="2" w:author="Ada">{run("45 EUR")}</w:ins>',
            run(" per night, payable to "),
            f'<w:sdt><w:sdtPr><w:alias w:val="Payee"/></w:sdtPr>'
            f'<w:sdtContent>{run("Harbour Office Ltd")}</w:sdtContent></w:sdt>',
            f'<w:fldSimple w:instr="DATE">{run(" from 1 May")}</w:fldSimple>',
            f'<w:moveFrom w:id="3" w:author="Ada">{run(" in cash")}</w:moveFrom>',
            f'<w:smartTag w:uri="urn:places" w:element="City">{run(" in Lisbon")}</w:smartTag>',
            f'<w:moveTo w:id="4" w:author="Ada">{run(" in cash")}</w:moveTo>', run(".")):
        contract._p.append(element)
    cell = document.add_table(rows=2, cols=1).rows
    cell[0].cells[0].text = "Vessel"
    for element in runs(f'<w:ins w:id="5" w:author="Ada">{run("Kittiwake")}</w:ins>'):
        cell[1].cells[0].paragraphs[0]._p.append(element)
    comment = document.add_comment(contract.runs[0], text="", author="Bob").paragraphs[0]
    for element in runs(run("Was 40 EUR"), f'<w:ins w:id="6" w:author="Bob">{run(" in 2025")}'
                                           "</w:ins>"):
        comment._p.append(element)
    document.save(tmp_path / "contract.docx")

    blocks = [(b.kind, b.text) for b in load(tmp_path / "contract.docx").pages[0].blocks]
    assert blocks == [
        ("paragraph", "The berth fee is 45 EUR per night, payable to Harbour Office Ltd from "
                      "1 May in Lisbon in cash."),
        ("table", "Vessel: Kittiwake"),
        ("heading", "Comments"),
        ("paragraph", "Comment: Was 40 EUR in 2025"),
    ]


def test_docx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "report.docx"
    path.write_text("This is plain text pretending to be a Word document.")
    assert skip_reason(path) == "not a DOCX file (not a zip archive; mislabelled?)"
    _assert_load_error(path, "not a DOCX")


def test_zip_of_the_wrong_kind_and_truncated_zip(tmp_path):
    wrong = tmp_path / "slides.pptx"
    with zipfile.ZipFile(wrong, "w") as zf:
        zf.writestr("word/document.xml", "<xml/>")
    _assert_load_error(wrong, "not a PPTX")
    data = (CORPUS_DIR / "field_safety_handbook.docx").read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(data[: len(data) // 3])
    _assert_load_error(cut, "corrupt or truncated DOCX")


def test_corrupt_office_xml_is_wrapped(tmp_path):
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types")
        zf.writestr("xl/workbook.xml", "not xml at all <<<")
    _assert_load_error(path, "corrupt XLSX")


def test_a_workbook_with_a_dde_link_is_read(tmp_path):
    """A live link to a program (DDE: market data feeds, oletools' dde-test.xlsx) is an
    external link with no relationships part; openpyxl looked for one and the whole workbook
    failed ("There is no item named 'xl/externalLinks/_rels/externalLink1.xml.rels'")."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Quote", "Price"])
    book.active.append(["Harbour Bonds", 101.5])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    linked = tmp_path / "feed.xlsx"
    repack(plain, linked, {
        "xl/_rels/workbook.xml.rels": relationships(
            ("rIdDde", "externalLink", "externalLinks/externalLink1.xml")),
        "xl/workbook.xml": before("</workbook>", (
            '<externalReferences><externalReference xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships" r:id="rIdDde"/></externalReferences>'))},
        {"xl/externalLinks/externalLink1.xml": (
            b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<ddeLink ddeService="FEED" ddeTopic="quotes"/></externalLink>')})
    assert load(linked).pages[0].text == load(plain).pages[0].text
    assert "Harbour Bonds" in load(linked).pages[0].text


def test_cell_comments_follow_their_sheet(tmp_path):
    """Excel's notes (written by openpyxl as Excel writes them) and Excel 365's threaded
    comments, which replace the note Excel keeps beside each thread for older versions."""
    import openpyxl
    from openpyxl.comments import Comment

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Budget"
    sheet.append(["Item", "Cost"])
    sheet.append(["Dredging", 42000])
    sheet.append(["Crane", 9000])
    sheet["B3"].comment = Comment("Ada Stone:\nQuote from March, before the steel price rise.",
                                  "Ada Stone")
    sheet["B2"].comment = Comment("[Threaded comment]\n\nYour version of Excel allows you to "
                                  "read this threaded comment.", "tc=1")
    book.create_sheet("Notes").append(["Nothing to say"])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    thread = ('<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
              'threadedcomments"><threadedComment ref="B2" id="{1}"><text>Is this the audited '
              'figure?</text></threadedComment><threadedComment ref="B2" id="{2}" parentId="{1}">'
              "<text>Yes, signed off on 2 May.</text></threadedComment></ThreadedComments>")
    commented = repack(plain, tmp_path / "budget.xlsx", {
        "xl/worksheets/_rels/sheet1.xml.rels": relationships((
            "rIdThread", "http://schemas.microsoft.com/office/2017/10/relationships/"
            "threadedComment", "../threadedComments/threadedComment1.xml"))},
        {"xl/threadedComments/threadedComment1.xml": thread.encode()})
    budget, notes = load(commented).pages
    assert budget.text.endswith(
        "Comments\n\nB2: Is this the audited figure?\n\nB2: Yes, signed off on 2 May.\n\n"
        "B3: Ada Stone: Quote from March, before the steel price rise.")
    assert "Your version of Excel" not in budget.text and "Comments" not in notes.text


def test_encrypted_office_file(tmp_path):
    """Password-protected DOCX/XLSX files are OLE containers with an EncryptedPackage stream."""
    ole = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000)
    ole[1024:1024] = "EncryptedPackage".encode("utf-16-le")
    (tmp_path / "secret.xlsx").write_bytes(bytes(ole))
    _assert_load_error(tmp_path / "secret.xlsx", "encrypted XLSX (password protected)")
    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    _assert_load_error(tmp_path / "old.docx", "legacy binary Office format")


def test_binary_file_with_text_extension(tmp_path):
    rng = random.Random(7)
    for name in ("random.txt", "random.md", "random.json"):
        path = tmp_path / name
        path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
        assert detect_format(path) is None
        _assert_load_error(path, "binary file")
        with pytest.raises(LoadError) as caught:
            load(path)
        assert not isinstance(caught.value, NothingToRead)  # a mislabelled file: a failure


def test_a_name_that_says_nothing_is_read_by_its_content(tmp_path):
    """README.Debian, NEWS.old, minutes.2024-03: text is read; a program or a man page is
    skipped as an unsupported type (NothingToRead: a skip, not a failure)."""
    texts = {"README.Debian": "Notes for Debian users.\n\nRun the tool as root.\n",
             "minutes.2024-03": "Minutes of the March meeting: the budget was approved.\n",
             "process.awk": "# sums the second column\n{ total += $2 } END { print total }\n"}
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
        assert is_supported_name(tmp_path / name)
        assert detect_format(tmp_path / name) == "text"
        assert load(tmp_path / name).pages[0].text.split()[:3] == text.split()[:3]
    (tmp_path / "NEWS.Debian.gz").write_bytes(gzip.compress(b"pkg (1.2) unstable; urgency=low\n"
                                                            b"\n  * The old option is gone.\n"))
    part = load(tmp_path / "NEWS.Debian.gz").parts[0]
    assert part.format == "text" and "The old option is gone." in part.pages[0].text
    rng = random.Random(3)
    skipped = {"tool": (bytes(rng.randrange(256) for _ in range(2048)), "no extension: not text"),
               "data.xyz": (b"\x7fELF\x02\x01" + bytes(500), ".xyz: not text"),
               "ls.1": (b'.\\" Manual page for ls\n.TH LS 1\n.SH NAME\nls', "troff source"),
               "run7.dat": (b"0.125 3.50e-2 -17.2 42\n" * 300, ".dat: numbers, not prose"),
               "benzene.xyz": (b"12\nbenzene\n" + b"C   -1.2131   0.6884   0.0000\n"
                               b"H   -2.1577   1.2244   0.0000\n" * 6, "numbers, not prose")}
    for name, (data, why) in skipped.items():
        (tmp_path / name).write_bytes(data)
        assert detect_format(tmp_path / name) is None
        assert skip_reason(tmp_path / name).startswith("unsupported file type (")
        with pytest.raises(NothingToRead, match=re.escape(why)):
            load(tmp_path / name)


def test_files_that_are_never_documents_are_refused_by_name(tmp_path):
    """Media, programs, keys, partial downloads, editor backups: not opened at all (a .pem
    full of text is a private key, not a document)."""
    for name in ("song.mp3", "server.pem", "report.pdf.part", "notes.txt~", "lib.so",
                 "cache.sqlite", "backup.lz4"):
        path = tmp_path / name
        path.write_text("plain words that would read as text")
        assert not is_supported_name(path)
        assert detect_format(path) is None
        with pytest.raises(NothingToRead, match=r"^unsupported file type '"):
            load(path)


def _blank_text(data: bytes) -> bool:
    """Text with nothing but white space in it, once decoded (b"\\xef\\xbb\\xbf": a byte-order mark
    alone)."""
    from engine.ingest.loaders.encoding import decode_text

    try:
        return not decode_text(data)[0].strip()
    except LoadError:
        return False


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
@example(b"\xef\xbb\xbf")  # a byte-order mark alone: blank text, found by this test
def test_any_bytes_under_an_unknown_name_load_or_skip(tmp_path, data):
    path = tmp_path / "mystery.q7"
    path.write_bytes(data)
    try:
        doc = load(path)
    except NothingToRead as exc:
        if data.strip() and not _blank_text(data):
            assert str(exc).startswith("unsupported file type (.q7: ")
        else:  # empty, or only blank lines (behind a byte-order mark): fine, nothing in it
            assert str(exc) in ("empty file (0 bytes)", "no text in this file (blank)")
    except LoadError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert doc.format == "text" and not doc.is_empty


def test_unsupported_extension(tmp_path):
    path = tmp_path / "setup.exe"
    path.write_bytes(b"MZ\x90\x00")
    assert not is_supported_name(path)
    _assert_load_error(path, "unsupported file type '.exe'")


def test_file_over_max_bytes(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 100_000)
    assert detect_format(path, max_bytes=1_000_000) == "text"
    assert detect_format(path, max_bytes=100_000) is None
    _assert_load_error(path, "file too large", "488.3 KB", max_bytes=100_000)


def test_unreadable_missing_and_directory(tmp_path):
    _assert_load_error(tmp_path / "missing.txt", "file not found")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    _assert_load_error(folder, "not a regular file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read chmod 000")
def test_permission_denied(tmp_path):
    path = tmp_path / "private.txt"
    path.write_text("secret")
    path.chmod(0)
    try:
        _assert_load_error(path, "permission denied")
    finally:
        path.chmod(0o600)


def test_empty_text_documents_and_corrupt_json(tmp_path):
    (tmp_path / "blank.md").write_text("\n\n   \n\t\n")  # fine, and nothing in it: skipped
    with pytest.raises(NothingToRead, match=r"^no text in this file \(blank\)$"):
        load(tmp_path / "blank.md")
    (tmp_path / "bad.json").write_text('{"a": 1,\n "b": }')
    _assert_load_error(tmp_path / "bad.json", "corrupt JSON", "line 2")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _assert_load_error(tmp_path / "deep.json", "corrupt JSON")
    import docx

    docx.Document().save(str(tmp_path / "blank.docx"))
    message = _assert_load_error(tmp_path / "blank.docx", "no extractable text")
    with pytest.raises(LoadError) as info:  # text a reader missed would hide among skips
        load(tmp_path / "blank.docx")
    assert not isinstance(info.value, NothingToRead), message


# ----------------------------------------------------------------------- encodings, formats


def test_latin1_and_cp1252_text(tmp_path):
    text = "Café crème brûlée at the façade; naïve Zoë's résumé costs 12 Français.\n"
    (tmp_path / "latin1.txt").write_bytes(text.encode("latin-1"))
    assert load(tmp_path / "latin1.txt").pages[0].text == text.strip()
    quotes = "The “quoted” price is €40 – paid in full… by Noël.\n"
    (tmp_path / "cp1252.txt").write_bytes(quotes.encode("cp1252"))
    assert load(tmp_path / "cp1252.txt").pages[0].text == quotes.strip()


def test_other_legacy_encodings_are_not_forced_to_cp1252(tmp_path):
    samples = {
        "cp1251": "Привет, это тестовый текст на русском языке о станции.",
        "cp1250": "Zażółć gęślą jaźń, to jest polski tekst o różnych rzeczach.",
        "cp1253": "Καλημέρα, αυτό είναι ένα ελληνικό κείμενο για τον σταθμό.",
    }
    for encoding, text in samples.items():
        (tmp_path / f"{encoding}.txt").write_bytes(text.encode(encoding))
        assert load(tmp_path / f"{encoding}.txt").pages[0].text == text, encoding


def test_utf16_and_bom_text(tmp_path):
    text = "Merrow Island field notes\n\nÅse measured 3.5 °C at the lagoon — σ = 0.2.\n"
    (tmp_path / "bom16.txt").write_bytes(text.encode("utf-16"))
    (tmp_path / "le16.txt").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "be16.md").write_bytes(text.encode("utf-16-be"))
    (tmp_path / "bom8.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    for name in ("bom16.txt", "le16.txt", "be16.md", "bom8.txt"):
        assert detect_format(tmp_path / name) is not None, name
        doc = load(tmp_path / name)
        assert [b.text for b in doc.pages[0].blocks] == [
            "Merrow Island field notes",
            "Åse measured 3.5 °C at the lagoon — σ = 0.2.",
        ], name


def test_csv_dialects_and_headerless_rows(tmp_path):
    (tmp_path / "semi.csv").write_bytes("Name;Rôle;Room\nAda;Ingénieur;B-12\n".encode("cp1252"))
    assert load(tmp_path / "semi.csv").pages[0].text == "Name: Ada; Rôle: Ingénieur; Room: B-12"
    (tmp_path / "plain.tsv").write_text("Name\tShift\nBo\t3\n")
    assert load(tmp_path / "plain.tsv").pages[0].text == "Name: Bo; Shift: 3"
    (tmp_path / "numbers.csv").write_text("1,2,3\n4,5,6\n")
    assert load(tmp_path / "numbers.csv").pages[0].text == "1 | 2 | 3\n4 | 5 | 6"


def test_a_workbook_whose_sheet_claims_a_smaller_range_is_read_whole(tmp_path):
    """Read-only openpyxl reads only the range a sheet's <dimension> claims, and some writers
    (R's writexl, behind readxl's datasets.xlsx) put "A1" there: 4 of 5,000 cells were read."""
    import re

    import openpyxl

    from tests.helpers_ooxml import repack

    book = openpyxl.Workbook()
    for row in (["Vessel", "Berth"], ["Kittiwake", "A1"], ["Puffin", "B2"]):
        book.active.append(row)
    book.save(tmp_path / "full.xlsx")
    claimed = repack(tmp_path / "full.xlsx", tmp_path / "claimed.xlsx", {
        "xl/worksheets/sheet1.xml": lambda d: re.sub(rb'<dimension ref="[^"]*"/>',
                                                     b'<dimension ref="A1"/>', d)})
    assert b'<dimension ref="A1"/>' in zipfile.ZipFile(claimed).read("xl/worksheets/sheet1.xml")
    assert load(claimed).pages[0].text == load(tmp_path / "full.xlsx").pages[0].text == (
        "Sheet\n\nVessel: Kittiwake; Berth: A1\nVessel: Puffin; Berth: B2")


def test_object_placeholders_are_not_text(tmp_path):
    """U+FFFC marks where a picture or object sat (LibreOffice's conversion of an RTF with a
    picture left "FileManager.tiff \ufffc"); it carries no text, in any format."""
    (tmp_path / "notes.txt").write_text("Harbour map \ufffc attached.\nSee page 2\ufffc.\n")
    assert load(tmp_path / "notes.txt").pages[0].text == "Harbour map attached.\nSee page 2."
    (tmp_path / "table.csv").write_text("Berth,Map\nA1,\ufffc north quay\n")
    assert load(tmp_path / "table.csv").pages[0].text == "Berth: A1; Map: north quay"


def test_csv_separator_hint_line_names_the_delimiter(tmp_path):
    """Excel reads (and some exporters write) "sep=;" as a CSV file's first line; read as
    data it was the header of every row ("sep=;: Kittiwake;A1;120; B: 50")."""
    (tmp_path / "berths.csv").write_bytes(b"sep=;\r\nName;Berth;Fee\r\nKittiwake;A1;120,50\r\n")
    assert load(tmp_path / "berths.csv").pages[0].text == "Name: Kittiwake; Berth: A1; Fee: 120,50"
    (tmp_path / "pipes.csv").write_text("SEP=|\nName|Fee\nTern|99\n")
    assert load(tmp_path / "pipes.csv").pages[0].text == "Name: Tern; Fee: 99"


def test_csv_fields_ended_by_nul_bytes_are_read(tmp_path):
    """Accounting and database exports end each field with a NUL byte (LibreOffice's
    tdf57841.csv, an Italian ledger); such a table was refused as a binary file. UTF-16 text,
    whose NUL bytes are half of it (or, in Chinese, a few), is still read as UTF-16."""
    (tmp_path / "ledger.csv").write_bytes(b"CONTO\x00\tSALDO\x00\r\nCassa\x00\t120,50\x00\r\n")
    assert skip_reason(tmp_path / "ledger.csv") is None
    assert load(tmp_path / "ledger.csv").pages[0].text == "CONTO: Cassa; SALDO: 120,50"
    chinese = "名称,费用\r\n港口,120\r\n"
    (tmp_path / "utf16.csv").write_bytes(chinese.encode("utf-16"))
    assert load(tmp_path / "utf16.csv").pages[0].text == "名称: 港口; 费用: 120"
    (tmp_path / "blob.csv").write_bytes(bytes(range(256)) * 4)
    assert skip_reason(tmp_path / "blob.csv") == "binary file (not text)"


@given(st.lists(st.text(alphabet="abcdefgh ,;0123456789", min_size=3, max_size=12),
                min_size=3, max_size=30))
def test_stray_nul_bytes_leave_the_text_they_end(fields):
    """Removing NUL bytes that end fields gives back the fields, whatever they hold."""
    text = "\t".join(fields)
    with_nuls = "\x00\t".join(fields).encode() + b"\x00"
    share = with_nuls.count(b"\x00") / len(with_nuls)
    expected = text.encode() if share <= MAX_STRAY_NULS else None
    assert without_nuls(with_nuls) == expected


def test_a_title_above_a_table_is_not_its_header(tmp_path):
    """A sheet's first rows often hold a title, a date or a note and the column names come
    below them; taken as the header, the title labelled every row and the columns were called
    B, C, D. The title reads as text and the table starts at its real header, in workbooks,
    CSV exports and a Word table with a merged title row alike."""
    import docx
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Q1"
    for row in (["Harbour berths, first quarter"], [], ["Printed 2025-04-01"],
                ["Berth", "Vessel", "Fee (EUR)", "Paid"], ["A1", "Kittiwake", 120, "yes"],
                ["B2", "Puffin", 99, "no"], [], ["Total", None, 219]):
        sheet.append(row)
    book.save(tmp_path / "berths.xlsx")
    want = ["Harbour berths, first quarter", "Printed 2025-04-01",
            "Berth: A1; Vessel: Kittiwake; Fee (EUR): 120; Paid: yes\n"
            "Berth: B2; Vessel: Puffin; Fee (EUR): 99; Paid: no\nBerth: Total; Fee (EUR): 219"]
    blocks = load(tmp_path / "berths.xlsx").pages[0].blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Q1"), ("paragraph", want[0]), ("paragraph", want[1]), ("table", want[2])]

    (tmp_path / "statement.csv").write_text(
        "Account 4471 statement\n\nDate,Payee,Amount\n2025-03-02,Harbour Office,120\n"
        "2025-03-09,Chandlery,45\n")
    assert [b.text for b in load(tmp_path / "statement.csv").pages[0].blocks] == [
        "Account 4471 statement", "Date: 2025-03-02; Payee: Harbour Office; Amount: 120\n"
                                  "Date: 2025-03-09; Payee: Chandlery; Amount: 45"]

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    table.rows[0].cells[0].merge(table.rows[0].cells[2]).text = "Crossing times"
    for r, values in enumerate((("Route", "Leaves", "Arrives"), ("North", "08:10", "09:05")), 1):
        for c, value in enumerate(values):
            table.rows[r].cells[c].text = value
    document.save(tmp_path / "times.docx")
    assert [b.text for b in load(tmp_path / "times.docx").pages[0].blocks] == [
        "Crossing times", "Route: North; Leaves: 08:10; Arrives: 09:05"]

    # a table whose first row is as full as the rest keeps it as its header
    (tmp_path / "plain.csv").write_text("Route,Leaves\nNorth,08:10\nSouth,09:40\n")
    assert load(tmp_path / "plain.csv").pages[0].text == (
        "Route: North; Leaves: 08:10\nRoute: South; Leaves: 09:40")


@given(title=st.lists(st.text(alphabet="abcdefgh ", min_size=1, max_size=12).filter(str.strip),
                      min_size=0, max_size=3),
       width=st.integers(min_value=3, max_value=6),
       body=st.integers(min_value=2, max_value=8))
def test_titled_table_keeps_every_cell_and_finds_the_header(title, width, body):
    """Whatever title lines stand above a table (one cell each), every one of them is read as
    text before it, and every body row is labelled by the real header."""
    from engine.ingest.loaders.common import titled_table

    header = [f"Col{i}" for i in range(width)]
    rows = [[t.strip()] for t in title] + [header] + [
        [f"v{r}x{c}" for c in range(width)] for r in range(body)]
    blocks = titled_table(rows)
    assert [b.text for b in blocks[:len(title)]] == [" ".join(t.split()) for t in title]
    lines = "\n".join(b.text for b in blocks[len(title):]).splitlines()
    assert lines == ["; ".join(f"Col{c}: v{r}x{c}" for c in range(width)) for r in range(body)]


def test_code_by_name_and_jsonl(tmp_path):
    (tmp_path / "Makefile").write_text("all:\n\tpython -m build\n")
    doc = load(tmp_path / "Makefile")
    assert doc.format == "code" and doc.metadata["language"] == "make"
    (tmp_path / "notes").write_text("An extensionless note.\n")
    assert detect_format(tmp_path / "notes") == "text"
    (tmp_path / "log.jsonl").write_text('{"who": "Ada", "n": 1}\nnot json\n{"who": "Bo"}\n')
    doc = load(tmp_path / "log.jsonl")
    assert doc.pages[0].text == "who: Ada\nn: 1\nwho: Bo"
    assert doc.metadata["invalid_lines"] == "1"


def test_library_errors_wraps_library_failures_but_not_our_bugs():
    import io

    with (
        pytest.raises(LoadError, match=r"^corrupt ZIP: File is not a zip file$"),
        library_errors("ZIP"),
    ):
        zipfile.ZipFile(io.BytesIO(b"junk"))
    with pytest.raises(TypeError), library_errors("ZIP"):
        split_long(None)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ property tests

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)
_lines = st.lists(
    st.sampled_from(["", " ", "#", "## Title", "===", "---", "```", "~~~ py", "- item",
                     "1. one", "    code", "\tx", "> quote", "|a|b|", "text", "::", ".. x"])
    | _text,
    max_size=30,
).map("\n".join)  # fmt: skip


def _visible(text: str) -> str:
    """Characters the text loader must keep: not whitespace, not control characters."""
    return "".join(
        c
        for c in text
        if not c.isspace() and unicodedata.category(c) != "Cc" and c not in "\ufeff\ufffe\uffff"
    )


def _alnum(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_text | _lines)
def test_plain_text_keeps_every_visible_character_in_order(text):
    from engine.ingest.loaders.common import paragraph_blocks

    blocks = paragraph_blocks(text)
    assert _visible("".join(b.text for b in blocks)) == _visible(text)
    assert all(b.text.strip() for b in blocks)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_text | _lines)
def test_markdown_keeps_all_words_in_order(text):
    blocks = parse_markdown(text)
    kept = _alnum("".join(b.text for b in blocks if b.kind != "table"))  # tables: see below
    if not any(c in text for c in "[<|"):  # no link, tag, comment or table: every word stays
        assert kept == _alnum(text)
    source = iter(_alnum(text))
    assert all(c in source for c in kept)  # markup aside, nothing is dropped out of order
    assert all(b.text.strip() for b in blocks)
    assert all(1 <= b.level <= 6 for b in blocks if b.kind == "heading")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_text | _lines)
def test_code_keeps_every_visible_character_and_rst_never_invents_text(text):
    assert _visible("".join(b.text for b in parse_code(text))) == _visible(text)
    # a table's rows repeat its header ("Name: x; Value: 1"): see test_loaders_markup
    rst = _alnum("".join(b.text for b in parse_rst(text) if b.kind != "table"))
    source = iter(_alnum(text))
    assert all(c in source for c in rst)  # output is a subsequence of the input


_words = st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=12)
_sentence = st.lists(_words, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["heading", "paragraph", "code"]), _sentence, st.integers(1, 6)),
        min_size=1,
        max_size=12,
    )
)
def test_markdown_structure_round_trips(parts):
    source = []
    expected = []
    for kind, text, level in parts:
        if kind == "heading":
            source.append(f"{'#' * level} {text}")
            expected.append(("heading", text, level))
        elif kind == "code":
            source.append(f"```\n{text}\n```")
            expected.append(("code", f"```\n{text}\n```", 0))
        else:
            source.append(text)
            expected.append(("paragraph", text, 0))
    blocks = parse_markdown("\n\n".join(source))
    assert [(b.kind, b.text, b.level) for b in blocks] == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(_words, min_size=n, max_size=n, unique=True),
    st.lists(st.lists(_words, min_size=n, max_size=n), min_size=1, max_size=6))))
def test_markdown_pipe_tables_read_row_by_row_under_their_header(table):
    """As every format's tables: "Item: Dredging; Cost: 42000", a row still saying what each
    value is when a chunk holds that row alone."""
    header, rows = table
    source = ("Before.\n| " + " | ".join(header) + " |\n|" + ":---|" * len(header) + "\n"
              + "".join("| " + " | ".join(row) + " |\n" for row in rows) + "\nAfter.")
    blocks = parse_markdown(source)
    assert [b.kind for b in blocks] == ["paragraph", "table", "paragraph"]
    assert blocks[1].text.split("\n") == ["; ".join(f"{h}: {c}" for h, c in zip(
        header, row, strict=True)) for row in rows]


def test_markdown_quotes_and_callouts_read_as_their_words():
    blocks = parse_markdown("> [!warning] Tide\n> Berth 4 floods at **spring tides**.\n>\n"
                            "> > Seen twice in 2024.\n\na | b\n---\n")
    assert [(b.kind, b.text) for b in blocks] == [
        ("paragraph", "Warning: Tide\nBerth 4 floods at **spring tides**."),
        ("paragraph", "Seen twice in 2024."),
        ("heading", "a | b"),  # one column of dashes under two cells: a heading, not a table
    ]


def test_markdown_footnotes_read_as_notes_where_they_are_defined():
    blocks = parse_markdown("The quay reopens in May.[^1] Dredging follows.[^works]\n\n"
                            "[^1]: After the survey of 4 March.\n"
                            "[^works]: Paid from the [harbour fund](https://x.org/fund),\n"
                            "    not the town's.\n")
    assert [b.text for b in blocks] == [
        "The quay reopens in May. Dredging follows.",
        "Note 1: After the survey of 4 March.",
        "Note works: Paid from the harbour fund,\nnot the town's."]


def test_an_obsidian_note_reads_as_obsidian_shows_it():
    blocks = parse_markdown("See [[Dredging budget|the budget]] first. ^summary-1\n\n"
                            "![[harbour-map.png|300]]\n\n"
                            "Details in ![[Crane repair]] and the area is 40 m ^2\n")
    assert [b.text for b in blocks] == [
        "See the budget first.",  # a block anchor is never shown; a picture embed shows none
        "Details in Crane repair and the area is 40 m ^2"]


_link_word = st.text(st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8)
_inline_piece = st.one_of(
    _link_word.map(lambda w: (w, w)),
    st.tuples(_link_word, _link_word).map(lambda t: (f"[{t[0]}](https://x.org/{t[1]})", t[0])),
    st.tuples(_link_word, st.integers(1, 9)).map(lambda t: (f"[{t[0]}][{t[1]}]", t[0])),
    _link_word.map(lambda w: (f"[{w}][]", w)),
    _link_word.map(lambda w: (f"![{w}](img/{w}.png)", w)),
    _link_word.map(lambda w: (f"[[{w}]]", w)),
    _link_word.map(lambda w: (f"<span>{w}</span>", w)),
    _link_word.map(lambda w: (f"`[{w}](x) <T>`", f"`[{w}](x) <T>`")),  # code stays as written
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_inline_piece, min_size=1, max_size=10))
def test_markdown_links_read_as_their_text_and_code_spans_stay(pieces):
    source = " ".join(markup for markup, _ in pieces)
    blocks = parse_markdown(f"{source}\n\n[1]: https://x.org/one\n[2]: <https://x.org/two> \"T\"")
    assert [b.text for b in blocks] == [" ".join(shown for _, shown in pieces)]


def test_markdown_drops_what_a_rendered_page_hides(tmp_path):
    """Node.js's API docs as shipped by Debian: YAML history in comments, reference links."""
    (tmp_path / "api.md").write_text(
        "# The `\"packageManager\"` field <a id=\"pm\"></a>\n\n"
        "<!-- YAML\nadded:\n  - v16.9.0\n-->\n\n"
        "> Stability: 1 - Experimental\n\n"
        "It can be set to any of the [supported package managers][], see the\n"
        "[Corepack][2] page. <!-- TODO: link -->Use it with care.\n"
        "<!-- a comment between lines ends the paragraph -->\n"
        "* an item with a [link](https://nodejs.org/api/corepack.html \"Corepack\")\n\n"
        "```html\n<!-- comments in code stay -->\n```\n\n"
        "    <!-- and in indented code -->\n\n"
        "[supported package managers]: corepack.md#supported-package-managers\n"
        "[2]: https://nodejs.org/api/corepack.html\n")
    doc = load(tmp_path / "api.md")
    assert [(b.kind, b.text) for b in doc.pages[0].blocks] == [
        ("heading", 'The `"packageManager"` field'),
        ("paragraph", "Stability: 1 - Experimental"),  # a quote reads as its words
        ("paragraph", "It can be set to any of the supported package managers, see the\n"
                      "Corepack page. Use it with care."),
        ("list", "* an item with a link"),
        ("code", "```html\n<!-- comments in code stay -->\n```"),
        ("code", "    <!-- and in indented code -->"),
    ]
    assert doc.title == 'The `"packageManager"` field'


def test_markdown_unclosed_comment_keeps_the_text(tmp_path):
    (tmp_path / "notes.md").write_text("First line.\n\n<!-- never closed\n\nThe rest stays.\n")
    text = load(tmp_path / "notes.md").pages[0].text
    assert "First line." in text and "The rest stays." in text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_text | _lines | st.lists(st.sampled_from(
    ["Title", "=====", "-----", "Concepts", "--------", "~~~", "", "a b", "x"]), max_size=20)
    .map("\n".join))
def test_plain_text_with_headings_keeps_every_word_in_order(text):
    from engine.ingest.loaders.text import plain_blocks

    blocks = plain_blocks(text)
    assert _alnum("".join(b.text for b in blocks)) == _alnum(text)
    assert all(b.text.strip() for b in blocks)
    assert all(1 <= b.level <= 6 for b in blocks if b.kind == "heading")


def test_plain_text_underlined_headings_name_sections(tmp_path):
    """dpkg's spec files and Git's release notes (shipped by Debian) mark sections like this."""
    (tmp_path / "triggers.txt").write_text(
        "========\nTRIGGERS\n========\n\nIntroduction\n------------\n\n"
        "A dpkg trigger is a facility that allows events caused by one package.\n\n"
        "Concepts\n--------\nTriggers are named.\n\n"
        "Name    Value\n----    -----\nalpha   1\n\n"
        "The last line of a paragraph\nunder a rule\n-----------------\n")
    doc = load(tmp_path / "triggers.txt")
    assert [(b.kind, b.level, b.text) for b in doc.pages[0].blocks] == [
        ("heading", 1, "TRIGGERS"),
        ("heading", 2, "Introduction"),
        ("paragraph", 0, "A dpkg trigger is a facility that allows events caused by one package."),
        ("heading", 2, "Concepts"),
        ("paragraph", 0, "Triggers are named."),
        ("paragraph", 0, "Name Value\n---- -----\nalpha 1"),
        ("paragraph", 0, "The last line of a paragraph\nunder a rule\n-----------------"),
    ]
    assert doc.title == "TRIGGERS"


def _manual_pdf(path, pages: int, *, furniture: bool = True, stamp: bool = False) -> None:
    """A manual set like libtasn1's and the shared-mime-info spec (fpdf2): a title page, then
    pages with a running title, a chapter header carrying the printed page number (front
    matter shifts it by one) and a page number at the foot. ``stamp``: a draft stamp and a
    dated line above them, each set apart, as TUGboat preprints have."""
    from fpdf import FPDF

    class Manual(FPDF):
        def header(self) -> None:
            if furniture and self.page_no() > 1:
                self.set_font("Helvetica", "", 9)
                if stamp:
                    self.cell(0, 6, "draft", new_x="LMARGIN", new_y="NEXT")
                    self.ln(8)
                    self.cell(0, 6, "preliminary draft, September 24, 2008 20:26",
                              new_x="LMARGIN", new_y="NEXT")
                    self.ln(8)
                self.cell(0, 6, "Harbour Signals Manual", new_x="LMARGIN", new_y="NEXT")
                chapter = "Chapter 1: Lights" if self.page_no() < 4 else "Chapter 2: Horns"
                self.cell(0, 6, f"{chapter} {self.page_no() - 1}", new_x="LMARGIN", new_y="NEXT")
                self.ln(6)

        def footer(self) -> None:
            if furniture and self.page_no() > 1:
                self.set_y(-15)
                self.set_font("Helvetica", "", 9)
                self.cell(0, 6, str(self.page_no()), align="C")

    pdf = Manual()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 20, "Harbour Signals Manual", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "How the harbour talks to ships, by light and by horn.")
    for n in range(2, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, f"Signal {n} is shown from the mole for {n * 7} seconds.")
        pdf.ln(12)
        pdf.multi_cell(0, 6, f"Pilots answer signal {n} with {n + 1} short blasts.")
    pdf.output(str(path))


def test_pdf_bold_subsections_of_a_latex_style_document_are_headings(tmp_path):
    """LaTeX at 11 pt: sections 14.4 pt bold, subsections 12 pt bold (1.09 x body), numbered
    subsubsections bold at body size; a bold table of contents and a line that merely starts in
    bold stay text, a long dot leader shortened to one ellipsis."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()

    def line(text: str, style: str = "", size: float = 11, gap: float = 4) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line("Contents", "B", 14.4)
    line("1 Lights 1", "B", 12, 1)
    line("2 Horns 2", "B", 12)
    line("Index . . . . . . . . . . . . 9", "B", 14.4)  # Texinfo's contents: dot leaders
    line("Appendix . . 11", "B", 14.4)  # a leader of two dots
    line("1 Lights", "B", 14.4)
    line("The harbour shows its signals from the mole, day and night, all year round. " * 3)
    line("1.1 Lights at night", "B", 12)
    line("A red light over a green one means the entrance is closed to all traffic. " * 3)
    line("1.1.1 Red over green", "B")
    line("Ships wait outside the breakwater until the green light shows alone again. " * 3)
    pdf.set_font("Helvetica", "B", 11)
    pdf.write(5.5, "Warning: ")
    pdf.set_font("Helvetica", "", 11)
    pdf.write(5.5, "a flashing red light means a vessel is leaving under tow. " * 3)
    pdf.output(str(tmp_path / "latex.pdf"))
    blocks = load(tmp_path / "latex.pdf").pages[0].blocks
    headings = [(b.text, b.level) for b in blocks if b.kind == "heading"]
    assert headings == [("Contents", 1), ("1 Lights", 1), ("1.1 Lights at night", 2),
                        ("1.1.1 Red over green", 3)]
    texts = [b.text for b in blocks if b.kind != "heading"]
    assert texts[:3] == ["1 Lights 1 2 Horns 2", "Index … 9", "Appendix . . 11"]  # leaders
    assert texts[-1].startswith("Warning: a flashing red light")


def test_pdf_running_headers_footers_and_page_numbers_are_dropped(tmp_path):
    _manual_pdf(tmp_path / "manual.pdf", 6)
    doc = load(tmp_path / "manual.pdf")
    assert doc.title == "Harbour Signals Manual"  # the title page's own heading stays
    assert doc.pages[0].blocks[0].text == "Harbour Signals Manual"
    for page in doc.pages[1:]:
        n = page.number
        assert [b.text for b in page.blocks] == [
            f"Signal {n} is shown from the mole for {n * 7} seconds.",
            f"Pilots answer signal {n} with {n + 1} short blasts."], n
    assert int(doc.metadata["running_lines_removed"]) >= 2 * 5  # header block(s) and foot


def test_pdf_running_lines_stacked_three_deep_all_go(tmp_path):
    _manual_pdf(tmp_path / "preprint.pdf", 7, stamp=True)
    doc = load(tmp_path / "preprint.pdf")
    for page in doc.pages[1:]:
        n = page.number
        assert [b.text for b in page.blocks] == [
            f"Signal {n} is shown from the mole for {n * 7} seconds.",
            f"Pilots answer signal {n} with {n + 1} short blasts."], n


def test_pdf_without_running_lines_keeps_every_block(tmp_path):
    _manual_pdf(tmp_path / "plain.pdf", 6, furniture=False)
    _manual_pdf(tmp_path / "short.pdf", 2)  # two pages: too few to tell furniture from text
    plain, short = load(tmp_path / "plain.pdf"), load(tmp_path / "short.pdf")
    assert "running_lines_removed" not in plain.metadata
    assert sum(len(p.blocks) for p in plain.pages) == 2 + 2 * 5
    assert "Chapter 1: Lights 1" in short.pages[1].text and short.pages[1].text.endswith("2")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_sentence, min_size=1, max_size=4, unique=True), min_size=1,
                max_size=12))
def test_running_lines_removal_keeps_text_that_does_not_repeat(pages_text):
    from engine.ingest.document import Block, Page
    from engine.ingest.loaders.page_furniture import strip_running_lines

    seen: set[str] = set()
    pages = [Page(n, [Block(t) for t in texts if not (t in seen or seen.add(t))])
             for n, texts in enumerate(pages_text, start=100)]  # numbers far from the text's
    before = [[b.text for b in p.blocks] for p in pages]
    if any(any(c.isdigit() for t in texts for c in t) for texts in before):
        return  # a number that runs with the page is furniture by design
    assert strip_running_lines(pages) == 0
    assert [[b.text for b in p.blocks] for p in pages] == before


def test_html_heading_permalinks_are_not_part_of_the_heading(tmp_path):
    """Sphinx and MkDocs end every heading with a permalink ("¶"); other generators with "#"
    or "§". A heading that is itself a link keeps its text."""
    (tmp_path / "policy.html").write_text(
        "<html><body><main>"
        '<h1>Python Policy<a class="headerlink" href="#top" title="Permalink">¶</a></h1>'
        "<p>Intro.</p>"
        '<h2>3.1. Versions<a href="#versions">§</a></h2><p>Use python3.</p>'
        '<h2><a href="install.html">Install guide</a></h2><p>Steps.</p>'
        '<p>See <a class="headerlink" href="#x">¶</a>the list.</p>'
        "</main></body></html>")
    doc = load(tmp_path / "policy.html")
    headings = [b.text for b in doc.pages[0].blocks if b.kind == "heading"]
    assert headings == ["Python Policy", "3.1. Versions", "Install guide"]
    assert "¶" not in doc.pages[0].text and "See the list." in doc.pages[0].text


def test_html_tables_of_labelled_rows_read_as_label_and_value(tmp_path):
    """Apache's directive tables (a <th> label, then its <td> value, in each row) read as
    "Default: KeepAliveTimeout 5"; before, the first row was taken for column headers and every
    row read "Description:: Default:; Amount of time...: KeepAliveTimeout 5". A grid with a row
    of column headers above its row labels stays a grid."""
    (tmp_path / "core.html").write_text(
        "<html><body><h2>KeepAliveTimeout Directive</h2><table class='directive'>"
        "<tr><th><a href='dict.html#Description'>Description:</a></th>"
        "<td>Amount of time the server will wait</td></tr>"
        "<tr><th>Syntax:</th><td><code>KeepAliveTimeout <var>num</var>[ms]</code></td></tr>"
        "<tr><th>Default:</th><td><code>KeepAliveTimeout 5</code></td></tr>"
        "<tr><th>Module:</th><td>core</td></tr></table>"
        "<table><tr><th>Port</th><th>Protocol</th></tr>"
        "<tr><th>80</th><td>http</td></tr><tr><th>443</th><td>https</td></tr></table>"
        "</body></html>")
    tables = [b.text for b in load(tmp_path / "core.html").pages[0].blocks if b.kind == "table"]
    assert tables == [
        "Description: Amount of time the server will wait\n"
        "Syntax: KeepAliveTimeout num[ms]\n"
        "Default: KeepAliveTimeout 5\n"
        "Module: core",
        "Port: 80; Protocol: http\nPort: 443; Protocol: https",
    ]


def test_docx_form_tables_with_colon_labels_read_as_label_and_value(tmp_path):
    """A form or spec sheet in Word marks no header cells: a first column of labels ending in
    ":" makes each row "Label: value"; a header row ending in ":" loses the doubled colon."""
    import docx

    document = docx.Document()
    form = document.add_table(rows=3, cols=2)
    for row, (label, value) in zip(form.rows, [("Applicant:", "Ada Lovelace"),
                                               ("Grant number:", "HRB-2231"),
                                               ("Amount:", "12,400 EUR")], strict=True):
        row.cells[0].text, row.cells[1].text = label, value
    grid = document.add_table(rows=2, cols=2)
    for row, cells in zip(grid.rows, [("Station:", "Channel:"), ("North", "12")], strict=True):
        row.cells[0].text, row.cells[1].text = cells
    document.save(tmp_path / "form.docx")
    tables = [b.text for b in load(tmp_path / "form.docx").pages[0].blocks if b.kind == "table"]
    assert tables == ["Applicant: Ada Lovelace\nGrant number: HRB-2231\nAmount: 12,400 EUR",
                      "Station: North; Channel: 12"]


def test_rst_links_and_roles_read_as_their_text(tmp_path):
    """PyJWT's and Jansson's READMEs (shipped by Debian) and any Sphinx source."""
    (tmp_path / "README.rst").write_text(
        "PyJWT\n=====\n\n"
        "A Python implementation of `RFC 7519 <https://tools.ietf.org/html/rfc7519>`_. Original\n"
        "implementation by `@progrium <https://github.com/progrium>`__.\n\n"
        "- `Comprehensive documentation`_\n"
        "- Call :func:`~jwt.api.decode` or :class:`the class <jwt.PyJWT>`.\n\n"
        "Literals stay: ``pip install pyjwt[crypto]`` and ``x`_``, as does |badge|.\n\n"
        ".. _Comprehensive documentation: https://pyjwt.readthedocs.io/\n")
    blocks = [(b.kind, b.text) for b in load(tmp_path / "README.rst").pages[0].blocks]
    assert blocks == [
        ("heading", "PyJWT"),
        ("paragraph", "A Python implementation of RFC 7519. Original\n"
                      "implementation by @progrium."),
        ("list", "- Comprehensive documentation\n- Call decode or the class."),
        ("paragraph", "Literals stay: ``pip install pyjwt[crypto]`` and ``x`_``, as does |badge|."),
    ]
