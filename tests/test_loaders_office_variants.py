"""Macro-enabled Office files, templates and slide shows are read like their plain kind.

Each file is a real package written by python-docx / python-pptx / openpyxl whose main part
then gets the content type Word, PowerPoint or Excel writes for that kind (what LibreOffice
writes is not always the same). The legacy templates (.dot, .xlt, .pps, .pot) are real files
converted by LibreOffice.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.ooxml import PRESENTATION_MAIN_TYPES, WORD_MAIN_TYPES, open_word

#: extension -> the main part's content type Office writes for it
CONTENT_TYPES = {
    "docm": "application/vnd.ms-word.document.macroEnabled.main+xml",
    "dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "dotm": "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "xltm": "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "pptm": "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    "ppsx": "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    "ppsm": "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
    "potx": "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    "potm": "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
}
PLAIN = {"doc": "docx", "dot": "docx", "xls": "xlsx", "xlt": "xlsx", "ppt": "pptx",
         "pps": "pptx", "pot": "pptx"}


def _with_main_type(src: Path, dest: Path, content_type: str) -> Path:
    """A copy of the package ``src`` whose main part has ``content_type``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data, n = re.subn(rb'ContentType="[^"]*\.main\+xml"',
                                  f'ContentType="{content_type}"'.encode(), data)
                assert n == 1
            zout.writestr(info, data)
    return dest


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, Path]:
    """A real .docx, .xlsx and .pptx, each holding one fact about the Lisbon office."""
    import docx
    import openpyxl
    from pptx import Presentation

    folder = tmp_path_factory.mktemp("plain")
    document = docx.Document()
    document.add_heading("Quarterly plan", level=1)
    document.add_paragraph("The budget for the Lisbon office is 42,000 euros.")
    document.save(folder / "plan.docx")
    book = openpyxl.Workbook()
    book.active.append(["Office", "Budget"])
    book.active.append(["Lisbon", 42000])
    book.save(folder / "budget.xlsx")
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Roadmap"
    slide.placeholders[1].text = "Open the Lisbon office in March"
    deck.save(folder / "roadmap.pptx")
    return {"docx": folder / "plan.docx", "xlsx": folder / "budget.xlsx",
            "pptx": folder / "roadmap.pptx"}


@pytest.mark.parametrize("ext", sorted(CONTENT_TYPES))
def test_ooxml_variant_reads_like_its_plain_kind(plain, tmp_path, ext):
    kind = PLAIN[ext[:3]]
    path = _with_main_type(plain[kind], tmp_path / f"file.{ext}", CONTENT_TYPES[ext])
    assert detect_format(path) == kind
    assert skip_reason(path) is None
    doc = load(path)
    assert doc.format == kind
    text = "\n".join(page.text for page in doc.pages)
    want = {"docx": "The budget for the Lisbon office is 42,000 euros.",
            "xlsx": "Office: Lisbon; Budget: 42000",
            "pptx": "Open the Lisbon office in March"}[kind]
    assert want in text
    if kind == "docx":
        assert doc.pages[0].blocks[0].kind == "heading"
    if kind == "pptx":
        assert doc.pages[0].label == "Roadmap"


def test_every_office_main_type_is_known():
    """The opener knows every Word and PowerPoint kind this test writes, and only those."""
    word = {ct for ext, ct in CONTENT_TYPES.items() if PLAIN[ext[:3]] == "docx"}
    slides = {ct for ext, ct in CONTENT_TYPES.items() if PLAIN[ext[:3]] == "pptx"}
    assert word < set(WORD_MAIN_TYPES) and len(WORD_MAIN_TYPES) == len(word) + 1
    assert slides < set(PRESENTATION_MAIN_TYPES)
    assert len(PRESENTATION_MAIN_TYPES) == len(slides) + 1


def test_a_package_of_another_kind_is_refused_in_one_line(plain, tmp_path):
    # a Word package whose main part claims to be a presentation: the opener says so
    odd = _with_main_type(plain["docx"], tmp_path / "odd.docx", CONTENT_TYPES["pptm"])
    with pytest.raises(LoadError, match=r"^not a Word file \(its main part is "):
        open_word(odd)
    # a deck named .docm never reaches the Word opener: the package is read as the deck it is
    deck = tmp_path / "deck.docm"
    shutil.copyfile(plain["pptx"], deck)
    assert detect_format(deck) == "pptx"
    assert load(deck).loader.endswith("read by its content: a .docm file that is PPTX")


def test_opendocument_templates_read_like_documents(tmp_path):
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    doc.mimetype = "application/vnd.oasis.opendocument.text-template"
    doc.text.addElement(H(outlinelevel=1, text="Letter template"))
    doc.text.addElement(P(text="Our office hours are nine to five."))
    doc.save(str(tmp_path / "letter.ott"))
    with zipfile.ZipFile(tmp_path / "letter.ott") as zf:
        assert zf.read("mimetype").endswith(b"text-template")
    assert detect_format(tmp_path / "letter.ott") == "odt"
    loaded = load(tmp_path / "letter.ott")
    assert "Our office hours are nine to five." in loaded.pages[0].text
    assert loaded.pages[0].blocks[0].kind == "heading"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_legacy_templates_are_converted_like_legacy_files(plain, tmp_path):
    """.dot and .pps (Word 97 template, PowerPoint 97 show) go through LibreOffice."""
    made = {}
    for src, ext in ((plain["docx"], "dot"), (plain["pptx"], "pps")):
        subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
                        "--headless", "--convert-to", ext, "--outdir", str(tmp_path),
                        str(src)], check=True, capture_output=True, timeout=120)
        made[ext] = tmp_path / f"{src.stem}.{ext}"
        assert made[ext].read_bytes().startswith(b"\xd0\xcf\x11\xe0")  # a real OLE file
    dot = load(made["dot"])
    assert dot.format == "doc" and "(converted to DOCX)" in dot.loader
    assert "The budget for the Lisbon office is 42,000 euros." in dot.pages[0].text
    pps = load(made["pps"])
    assert pps.format == "ppt" and "Open the Lisbon office in March" in pps.pages[0].text


#: Transitional -> Strict names (ISO/IEC 29500-1 Strict, Annex A), as Office writes them when a
#: file is saved as "Strict Open XML"; the longer names come first.
STRICT_NAMES = [
    ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
     "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     "http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     "http://purl.oclc.org/ooxml/officeDocument/relationships"),
    ("http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
     "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes"),
    ("http://schemas.openxmlformats.org/drawingml/2006/main",
     "http://purl.oclc.org/ooxml/drawingml/main"),
    ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
     "http://purl.oclc.org/ooxml/wordprocessingml/main"),
    ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
     "http://purl.oclc.org/ooxml/spreadsheetml/main"),
    ("http://schemas.openxmlformats.org/presentationml/2006/main",
     "http://purl.oclc.org/ooxml/presentationml/main"),
]


def _as_strict(src: Path, dest: Path) -> Path:
    """A copy of the package ``src`` saved as Strict Open XML: Strict namespaces and
    relationship types in every part (the content types are the same in both)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename != "[Content_Types].xml":
                for transitional, strict in STRICT_NAMES:
                    data = data.replace(transitional.encode(), strict.encode())
            zout.writestr(info, data)
    return dest


def test_strict_open_xml_documents_read_like_transitional_ones(plain, tmp_path):
    """Office's "Strict Open XML" files (ISO/IEC 29500 Strict) keep the usual names but use
    other namespaces: python-docx and python-pptx found no main part (mammoth's
    strict-format.docx failed as "corrupt DOCX") and openpyxl read a Strict workbook as one
    without sheets. They read as their Transitional twins do, headings and sheets included."""
    data = Path(__file__).parent / "data"
    assert load(data / "mammoth-strict-format.docx").pages[0].text == "Test"

    for kind, want in (("docx", "The budget for the Lisbon office is 42,000 euros."),
                       ("xlsx", "Office: Lisbon; Budget: 42000"),
                       ("pptx", "Open the Lisbon office in March")):
        strict = _as_strict(plain[kind], tmp_path / f"strict.{kind}")
        assert b"purl.oclc.org" in zipfile.ZipFile(strict).read("_rels/.rels")
        doc, twin = load(strict), load(plain[kind])
        assert want in doc.pages[0].text
        assert [(p.label, [(b.kind, b.text) for b in p.blocks]) for p in doc.pages] == [
            (p.label, [(b.kind, b.text) for b in p.blocks]) for p in twin.pages]


def test_a_package_without_a_main_part_is_still_refused(plain, tmp_path):
    """Only a Strict package is rewritten; a package whose main-part link is missing fails in
    one line as before."""
    from tests.helpers_ooxml import repack

    broken = repack(plain["docx"], tmp_path / "broken.docx", {"_rels/.rels": lambda d: d.replace(
        b"relationships/officeDocument", b"relationships/somethingElse")})
    with pytest.raises(LoadError, match="corrupt DOCX"):
        load(broken)
