"""Flat OpenDocument files, OpenDocument drawings and Visio diagrams, read through LibreOffice.

The flat files are real LibreOffice output (documents written by python-docx, openpyxl and
python-pptx, saved by LibreOffice as .fodt/.fods/.fodp); the drawing is written by odfpy and
saved again by LibreOffice as .fodg; the Visio diagram is a VSDX package written here part by
part as Visio lays it out (a page per drawing page, a shape per label). No stand-ins: LibreOffice
converts every one of them in the test.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.revisions import reading_tag
from engine.places import page_unit

pytestmark = pytest.mark.skipif(shutil.which("soffice") is None,
                                reason="needs LibreOffice (soffice)")

_VISIO = "http://schemas.microsoft.com/office/visio/2012/main"
_VISIO_REL = "http://schemas.microsoft.com/visio/2010/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def write_vsdx(dest: Path, pages: list[tuple[str, list[str]]]) -> Path:
    """A Visio 2013+ drawing: each page a list of rectangles, each with one label."""
    def rels(items: list[tuple[str, str]]) -> str:
        body = "".join(f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
                       for i, (kind, target) in enumerate(items, 1))
        return f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE_REL}">' \
               f"{body}</Relationships>"

    def shape(i: int, label: str) -> str:
        cells = "".join(f"<Cell N='{n}' V='{v}'/>" for n, v in (
            ("PinX", 2), ("PinY", 10 - 1.5 * i), ("Width", 2.5), ("Height", 1),
            ("LocPinX", 1.25), ("LocPinY", 0.5)))
        corners = ((0, 0), (2.5, 0), (2.5, 1), (0, 1), (0, 0))
        rows = "".join(f"<Row T='{'MoveTo' if n == 1 else 'LineTo'}' IX='{n}'><Cell N='X' V='{x}'/>"
                       f"<Cell N='Y' V='{y}'/></Row>" for n, (x, y) in enumerate(corners, 1))
        return (f"<Shape ID='{i}' Type='Shape'>{cells}<Section N='Geometry' IX='0'>{rows}"
                f"</Section><Text>{escape(label)}</Text></Shape>")

    types = ['<Override PartName="/visio/document.xml" '
             'ContentType="application/vnd.ms-visio.drawing.main+xml"/>',
             '<Override PartName="/visio/pages/pages.xml" '
             'ContentType="application/vnd.ms-visio.pages+xml"/>']
    listed, page_rels = [], []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, labels) in enumerate(pages, 1):
            types.append(f'<Override PartName="/visio/pages/page{n}.xml" '
                         'ContentType="application/vnd.ms-visio.page+xml"/>')
            shapes = "".join(shape(i, label) for i, label in enumerate(labels, 1))
            zf.writestr(f"visio/pages/page{n}.xml", f"<?xml version='1.0' encoding='utf-8'?>"
                        f"<PageContents xmlns='{_VISIO}' xmlns:r='{_OFFICE_REL}'><Shapes>{shapes}"
                        "</Shapes></PageContents>")
            listed.append(f"<Page ID='{n - 1}' NameU='{name}' Name='{name}'><PageSheet>"
                          "<Cell N='PageWidth' V='8.5'/><Cell N='PageHeight' V='11'/>"
                          f"</PageSheet><Rel r:id='rId{n}'/></Page>")
            page_rels.append((f"{_VISIO_REL}/page", f"page{n}.xml"))
        zf.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns='
                    '"http://schemas.openxmlformats.org/package/2006/content-types"><Default '
                    'Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                    + "".join(types) + "</Types>")
        zf.writestr("_rels/.rels", rels([(f"{_VISIO_REL}/document", "visio/document.xml")]))
        zf.writestr("visio/document.xml", f"<?xml version='1.0' encoding='utf-8'?>"
                    f"<VisioDocument xmlns='{_VISIO}' xmlns:r='{_OFFICE_REL}'/>")
        zf.writestr("visio/_rels/document.xml.rels", rels([(f"{_VISIO_REL}/pages",
                                                           "pages/pages.xml")]))
        zf.writestr("visio/pages/pages.xml", f"<?xml version='1.0' encoding='utf-8'?><Pages "
                    f"xmlns='{_VISIO}' xmlns:r='{_OFFICE_REL}'>{''.join(listed)}</Pages>")
        zf.writestr("visio/pages/_rels/pages.xml.rels", rels(page_rels))
    return dest


def write_odg(dest: Path, pages: list[list[str]], *, presentation: bool = False) -> Path:
    """An OpenDocument drawing (odfpy): each page a text box per label."""
    from odf.draw import Frame, Page, TextBox
    from odf.opendocument import OpenDocumentDrawing, OpenDocumentPresentation
    from odf.style import MasterPage, PageLayout, PageLayoutProperties
    from odf.text import P

    doc = OpenDocumentPresentation() if presentation else OpenDocumentDrawing()
    layout = PageLayout(name="A4")
    layout.addElement(PageLayoutProperties(pagewidth="21cm", pageheight="29.7cm"))
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Default", pagelayoutname=layout)
    doc.masterstyles.addElement(master)
    for n, labels in enumerate(pages, 1):
        page = Page(name=f"page{n}", masterpagename=master)
        (doc.presentation if presentation else doc.drawing).addElement(page)
        for i, label in enumerate(labels):
            frame = Frame(width="12cm", height="2cm", x="2cm", y=f"{2 + 3 * i}cm")
            box = TextBox()
            box.addElement(P(text=label))
            frame.addElement(box)
            page.addElement(frame)
    doc.save(str(dest))
    return dest


def _soffice(src: Path, ext: str, out: Path, profile: Path) -> Path:
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", ext, "--outdir", str(out), str(src)],
                   check=True, capture_output=True, timeout=120)
    made = out / f"{src.stem}.{ext}"
    assert made.is_file()
    return made


@pytest.fixture(scope="module")
def flat(tmp_path_factory) -> dict[str, Path]:
    """Real .fodt, .fods and .fodp files saved by LibreOffice."""
    import docx
    import openpyxl
    from pptx import Presentation

    folder = tmp_path_factory.mktemp("flat")
    document = docx.Document()
    document.add_heading("Harbour rules", level=1)
    document.add_paragraph("Visiting boats moor at pontoon C and pay 18 euros a night.")
    document.save(folder / "rules.docx")
    book = openpyxl.Workbook()
    book.active.title = "Moorings"
    book.active.append(["Pontoon", "Berths"])
    book.active.append(["C", 24])
    book.create_sheet("Fees").append(["Night", "18 euros"])
    book.save(folder / "moorings.xlsx")
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Dredging"
    slide.placeholders[1].text = "The harbour is dredged every October"
    deck.save(folder / "works.pptx")
    profile = folder / "lo"
    return {"fodt": _soffice(folder / "rules.docx", "fodt", folder, profile),
            "fods": _soffice(folder / "moorings.xlsx", "fods", folder, profile),
            "fodp": _soffice(folder / "works.pptx", "fodp", folder, profile)}


def test_flat_opendocument_files_read_like_their_zipped_kind(flat):
    for fmt, path in flat.items():
        assert path.read_bytes().lstrip().startswith(b"<?xml")  # one XML file, no zip
        assert detect_format(path) == fmt
    text = load(flat["fodt"])
    assert text.format == "fodt" and text.loader.endswith("(converted to ODT)")
    assert text.loader.startswith("LibreOffice ")
    assert text.pages[0].blocks[0].kind == "heading"
    assert "moor at pontoon C and pay 18 euros a night" in text.pages[0].text
    sheets = load(flat["fods"])
    assert [p.label for p in sheets.pages] == ["Moorings", "Fees"]  # a page per sheet
    assert "Pontoon: C; Berths: 24" in sheets.pages[0].text
    slides = load(flat["fodp"])
    assert slides.pages[0].label == "Dredging"
    assert "The harbour is dredged every October" in slides.pages[0].text
    # the reading tag names the reader of the converted file too: a newer ODT reader reads
    # .fodt files again
    assert "odt/" in reading_tag(["fodt"]) and "pdf/" in reading_tag(["visio"])


def test_a_mislabelled_flat_file_is_refused_in_one_line(flat, tmp_path):
    sheet_as_text = tmp_path / "moorings.fodt"
    shutil.copyfile(flat["fods"], sheet_as_text)
    assert detect_format(sheet_as_text) is None
    assert skip_reason(sheet_as_text) == ("not a flat OpenDocument text (.fodt) file (it holds "
                                          "an OpenDocument spreadsheet: rename it .fods)")
    other_xml = tmp_path / "feed.fodp"
    other_xml.write_text('<?xml version="1.0"?><rss><channel/></rss>')
    assert "no office:document root" in skip_reason(other_xml)


def test_an_opendocument_drawing_reads_a_page_per_drawing_page(tmp_path):
    odg = write_odg(tmp_path / "site.odg", [["Generator shed north of the jetty"],
                                           ["Fuel store holds 2,000 litres", "Exit by gate 3"]])
    assert detect_format(odg) == "odg"
    doc = load(odg)
    assert doc.format == "odg" and doc.loader.endswith("(converted to PDF)")
    assert len(doc.pages) == 2
    assert "Generator shed north of the jetty" in doc.pages[0].text
    assert "Fuel store holds 2,000 litres" in doc.pages[1].text
    assert "Exit by gate 3" in doc.pages[1].text
    assert "ocr_off_pages" not in doc.metadata  # a drawing is not waiting for OCR
    # the same drawing saved flat by LibreOffice
    fodg = _soffice(odg, "fodg", tmp_path / "flat", tmp_path / "lo")
    again = load(fodg)
    assert again.format == "odg" and len(again.pages) == 2
    assert "Fuel store holds 2,000 litres" in again.pages[1].text
    # what the package holds decides, whatever its name: a presentation named .odg is read
    # as one, a drawing named .odt through LibreOffice from a copy named .odg
    deck = write_odg(tmp_path / "deck.odg", [["A slide"]], presentation=True)
    assert detect_format(deck) == "odp" and skip_reason(deck) is None
    assert load(deck).pages[0].text.strip() == "A slide"
    plan = shutil.copyfile(odg, tmp_path / "plan.odt")
    assert detect_format(plan) == "odg"
    assert "Fuel store holds 2,000 litres" in load(plan).pages[1].text


def test_a_visio_diagram_reads_its_labels_page_by_page(tmp_path):
    vsdx = write_vsdx(tmp_path / "network.vsdx", [
        ("Network", ["Core switch in rack B4", "Backup NAS holds 12 TB"]),
        ("Power", ["UPS runtime is 40 minutes"])])
    assert detect_format(vsdx) == "visio"
    doc = load(vsdx)
    assert doc.format == "visio" and doc.loader.endswith("(converted to PDF)")
    assert [p.number for p in doc.pages] == [1, 2]
    assert "Core switch in rack B4" in doc.pages[0].text
    assert "Backup NAS holds 12 TB" in doc.pages[0].text
    assert "UPS runtime is 40 minutes" in doc.pages[1].text


def test_a_visio_file_that_is_not_one_is_refused_in_one_line(tmp_path):
    not_visio = tmp_path / "plan.vsdx"
    shutil.copyfile(write_odg(tmp_path / "x.odg", [["x"]]), not_visio)  # a zip of another kind
    assert skip_reason(not_visio) == "not a Visio drawing file (zip archive without visio/)"
    # an OLE file without Visio's content stream (a Word 97 document named .vsd)
    doc = _soffice(_word97(tmp_path), "doc", tmp_path / "ole", tmp_path / "lo")
    vsd = tmp_path / "old.vsd"
    shutil.copyfile(doc, vsd)
    assert detect_format(vsd) == "visio"  # an OLE file: its streams are checked when read
    with pytest.raises(LoadError, match=r"^not a Visio drawing file \(an OLE file without its "
                                        r"content stream; mislabelled\?\)$"):
        load(vsd)


def _word97(tmp_path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Not a drawing.")
    document.save(tmp_path / "memo.docx")
    return tmp_path / "memo.docx"


def test_an_index_run_cites_the_diagram_page(tmp_path):
    """Indexed, searched and cited like any document: the label's page is the citation's."""
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "docs"
    folder.mkdir()
    write_vsdx(folder / "network.vsdx", [("Network", ["Core switch in rack B4"]),
                                        ("Power", ["UPS runtime is 40 minutes"])])
    summary = index_paths([folder])
    assert summary.files_indexed == 1 and not summary.files_failed
    hit = search("UPS runtime minutes", mode="text", k=1)[0]
    assert hit.path.endswith("network.vsdx") and hit.page == 2
    assert index_paths([folder]).files_indexed == 0  # read once: its tag is current


DATA = Path(__file__).resolve().parent / "data"


def test_older_word_processor_files_are_read(tmp_path):
    """rules.abw and rules.sxw were saved by AbiWord 3.0 (its AbiWord and OpenOffice.org 1
    writers) from one document: a heading, a paragraph, a heading, a paragraph."""
    import gzip

    zabw = tmp_path / "rules.zabw"  # AbiWord's compressed kind: the same XML, gzipped
    zabw.write_bytes(gzip.compress((DATA / "rules.abw").read_bytes()))
    for path, fmt in ((DATA / "rules.abw", "abw"), (zabw, "abw"), (DATA / "rules.sxw", "sxw")):
        assert detect_format(path) == fmt
        doc = load(path)
        assert doc.format == fmt and doc.loader.endswith("(converted to DOCX)")
        assert [b.text for b in doc.pages[0].blocks] == [
            "Harbour rules", "Visiting boats moor at pontoon C and pay 18 euros a night.",
            "Fuel", "Diesel is sold at the north quay from 8 to 17."]
    # OpenOffice.org 1 kept its headings' outline level
    assert load(DATA / "rules.sxw").pages[0].blocks[0].kind == "heading"


def test_mislabelled_older_word_processor_files_are_read_or_refused(flat, tmp_path):
    odt = tmp_path / "rules.odt"
    _soffice(flat["fodt"], "odt", tmp_path, tmp_path / "lo")
    assert odt.is_file()
    as_sxw = tmp_path / "renamed.sxw"
    shutil.copyfile(odt, as_sxw)
    assert detect_format(as_sxw) == "odt"  # read as the OpenDocument text it is
    assert load(as_sxw).pages[0].text == load(odt).pages[0].text
    not_abw = tmp_path / "notes.abw"
    not_abw.write_text("<?xml version='1.0'?><html><body>hello</body></html>")
    assert skip_reason(not_abw) == "not an AbiWord document (no <abiword> root; mislabelled?)"


def test_wordperfect_documents_are_read_through_libreoffice(tmp_path):
    """Real WordPerfect files from wp2latex's examples (GPL-2, Jaroslav Fojtik; Debian's
    wp2latex package): a WordPerfect 5.1 document and a 4.2 one (no header, told by its
    content), read under any of WordPerfect's names; encrypted files (5.x/Mac 3.5 with an
    encryption key in their header, 4.2 by its FE FF 61 61 start) fail in one line instead
    of as a conversion LibreOffice cannot do."""
    for name, suffix in (("texchars", ".wpd"), ("texchars", ".wp"), ("torture4", ".wp5")):
        path = shutil.copyfile(DATA / f"wp2latex-{name}.wp", tmp_path / f"{name}{suffix}")
        assert detect_format(path) == "wordperfect" and skip_reason(path) is None
        doc = load(path)
        assert doc.format == "wordperfect" and doc.loader.endswith("(converted to DOCX)")
        text = " ".join(p.text for p in doc.pages)
        want = {"texchars": "This is an example how to use WordPerfect as WYSIWIG editor for "
                            "LaTeX.",
                "torture4": "Testing headers and footers and tab settings"}[name]
        assert want in text
    for name in ("crypt3", "crypt4"):
        path = shutil.copyfile(DATA / f"wp2latex-{name}.wp", tmp_path / f"{name}.wpd")
        assert skip_reason(path) == "encrypted WordPerfect document (password protected)"
        with pytest.raises(LoadError, match=r"^encrypted WordPerfect document"):
            load(path)



def test_files_of_the_older_suites_are_read(tmp_path):
    """Real files of the 1980s' and 1990s' suites, from the test documents of libwps and
    libmwaw in LibreOffice's source (MPL-2.0): Lotus 1-2-3 (.wk1), Quattro Pro (.wq1), Works'
    spreadsheet (.wks) and database (.wdb), a ClarisWorks 5 spreadsheet (.cwk: a text, a
    spreadsheet or a drawing under one name, written as what it holds), Word 5.0 for DOS and
    Word for Windows 1.x (.doc without an OLE header; Windows Write files start as Word for
    DOS's do)."""
    sheets = {"Lotus.wk1": "123 | ABCT", "QuattroPro.wq1": "ab: azazbza",
              "Works_Windows.wks": "a simple sheet", "Works_2.0.wdb": "toto | 3 | 1904-01-01",
              "CW5_calc.cwk": "normal: red; bold: green"}
    for name, want in sheets.items():
        path = DATA / f"libreoffice-{name}"
        assert skip_reason(path) is None, name
        doc = load(path)
        assert doc.loader.endswith("(converted to XLSX)") and want in doc.pages[0].text, name
    assert load(DATA / "libreoffice-Works_2.0.wdb").format == "lotus"

    dos = load(DATA / "libreoffice-Word_5.0_DOS.doc")
    assert (dos.format, dos.loader.endswith("(converted to DOCX)")) == ("doc", True)
    assert dos.pages[0].blocks[0].text.startswith(
        "This document is written in Microsoft Word for DOS 5.0")
    winword = load(DATA / "libreoffice-ooo40683-1-WW1.doc")  # Word for Windows 1.x, 1990
    assert winword.pages[0].blocks[1].text == "Betr.: Sonderaktion Winter 1990/1991"
    write = shutil.copyfile(DATA / "libreoffice-Word_5.0_DOS.doc", tmp_path / "letter.wri")
    assert detect_format(write) == "write"
    assert "Copyright (C) 2015 Sean Young" in load(write).pages[0].text
    word_pro = load(DATA / "libreoffice-wordpro.lwp")  # Lotus Word Pro 9.6 (lotuswordpro's test)
    assert (word_pro.format, word_pro.pages[0].blocks[0].text) == (
        "wordpro", "This document is created using Lotus Wordpro release 9.6 for Windows.")

    for name, reason in (("notes.wri", "not a Write document file (unknown header; "),
                         ("budget.wk1", "not a Lotus 1-2-3, Quattro Pro or Works spreadsheet "
                                        "file (unknown header; "),
                         ("old.cwk", "not an AppleWorks / ClarisWorks document file (unknown"),
                         ("memo.lwp", "not a Lotus Word Pro document file (unknown header; ")):
        (tmp_path / name).write_bytes(b"PK\x03\x04" + bytes(60))
        assert (skip_reason(tmp_path / name) or "").startswith(reason), name


def test_gnumeric_sylk_and_dif_spreadsheets_are_read(tmp_path):
    """Real files from LibreOffice's tests (MPL-2.0): Gnumeric's own gzipped XML (its formulas
    computed by LibreOffice), a SYLK export of a household budget (Mac software of 2003) and
    a DIF file, each cited by sheet."""
    book = load(DATA / "libreoffice-universal-content.gnumeric")
    assert (book.format, book.loader.endswith("(converted to XLSX)")) == ("gnumeric", True)
    assert [b.text for b in book.pages[0].blocks[:2]] == [
        "Sheet1", "1 | String1 | 6\n2 | String2 | 5\n |  | -1\n |  | 11"]
    budget = load(DATA / "libreoffice-ooo80484-1.slk")
    assert detect_format(DATA / "libreoffice-ooo80484-1.slk") == "slk"
    assert ("Category: Fuel; 2003-01-30: 54.43; 2003-02-27: 0; 2003-03-30: 285.52"
            in budget.pages[0].text)
    dif = load(DATA / "libreoffice-universal-content.dif")
    assert dif.format == "dif" and "2 | String2 | 5" in dif.pages[0].text
    assert page_unit("budget.sylk") == "sheet" and page_unit("data.dif") == "sheet"
    # a unified diff named .dif, text named .slk, and a zip named .gnumeric are refused
    (tmp_path / "fix.dif").write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    assert skip_reason(tmp_path / "fix.dif") == \
        "not a DIF spreadsheet (.dif) file (unknown header; mislabelled?)"
    (tmp_path / "notes.slk").write_text("hello")
    assert "SYLK spreadsheet (.slk) file (unknown header" in skip_reason(tmp_path / "notes.slk")
    shutil.copyfile(DATA / "kordoc-simple-draft-form.hwpx", tmp_path / "book.gnumeric")
    assert skip_reason(tmp_path / "book.gnumeric").startswith("not a Gnumeric spreadsheet")


def test_excel_binary_workbooks_and_openoffice_1_sheets_and_decks_are_read(tmp_path):
    """Real files from LibreOffice's tests (MPL-2.0): an Excel binary workbook (.xlsb, with a
    cell comment), an OpenOffice.org 1 spreadsheet (.sxc) and presentation (.sxi: Andrew
    Pitonyak's OOoCon 2004 talk on macro programming), each cited by sheet or slide."""
    xlsb = load(DATA / "libreoffice-universal-content.xlsb")
    assert (xlsb.format, xlsb.loader.endswith("(converted to XLSX)")) == ("xlsb", True)
    assert [b.text for b in xlsb.pages[0].blocks[:2]] == [
        "Sheet1", "1 | String1 | 6\n2 | String2 | 5\n |  | -1\n |  | 11"]
    assert "H3: Test" in xlsb.pages[0].text  # the comment on H3
    deck = load(DATA / "libreoffice-ooo41061-1.sxi")
    assert (deck.format, len(deck.pages)) == ("sxi", 26)
    assert deck.pages[1].blocks[0].text == "Agenda"
    assert "Copy by reference versus copy by value" in deck.pages[1].text
    sheet = load(DATA / "libreoffice-Calc_6.sxc")
    assert (sheet.format, sheet.pages[1].blocks[0].text) == ("sxc", "NAT_NUM_2")
    assert page_unit(str(DATA / "libreoffice-Calc_6.sxc")) == "sheet"
    assert page_unit("talk.sxi") == "slide" and page_unit("big.xlsb") == "sheet"

    # a deck named as a spreadsheet is read as the deck it is (LibreOffice is handed a copy
    # named .sxi); an .xlsb that is an encrypted package or not a workbook fails in one line
    renamed = shutil.copyfile(DATA / "libreoffice-ooo41061-1.sxi", tmp_path / "talk.sxc")
    assert detect_format(renamed) == "sxi"
    bare = shutil.copyfile(DATA / "libreoffice-ooo41061-1.sxi", tmp_path / "talk")
    assert detect_format(bare) == "sxi"  # a download without its extension, by its mimetype
    assert load(renamed).pages[1].blocks[0].text == "Agenda"
    (tmp_path / "book.xlsb").write_bytes(b"PK\x05\x06" + bytes(18))
    assert skip_reason(tmp_path / "book.xlsb") == (
        "corrupt Excel binary workbook (.xlsb): empty zip archive")
    secret = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    secret[1024:1024] = "EncryptedPackage".encode("utf-16-le")  # as Excel writes one
    (tmp_path / "secret.xlsb").write_bytes(bytes(secret))
    assert skip_reason(tmp_path / "secret.xlsb") == (
        "encrypted Excel binary workbook (.xlsb) (password protected)")
    other = tmp_path / "notes.xlsb"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("notes.txt", "not a workbook")
    assert skip_reason(other) == (
        "not an Excel binary workbook (.xlsb) file (zip archive without xl/workbook.bin)")
