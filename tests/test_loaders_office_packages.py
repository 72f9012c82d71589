"""Office and OpenDocument files as real programs write them, which python-docx, python-pptx,
openpyxl and odfpy alone refuse or read in part.

The libreoffice-* files are LibreOffice's own test documents (MPL-2.0, from its 7.4 source in
Debian), most of them attached to bug reports by the people whose documents they were:
tdf96749.docx (an invoice linking a header part its archive lacks), bnc891663.docx (a picture
[Content_Types].xml has no type for) and alt-chunk.docx (a document merged into another as an
"alternative format chunk", the Open XML SDK's merge recipe), ooo72169-1.odp (an
OpenOffice.org 2 presentation, its manifest declaring OpenOffice.org's DTD) and tdf137621.ods
(booleans written as -1).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml

from engine.ingest.document import LoadError
from engine.ingest.loaders import load
from engine.ingest.loaders.ooxml import open_word
from tests.helpers_ooxml import repack, text_box_run

DATA = Path(__file__).resolve().parent / "data"
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def test_a_package_linking_parts_it_lacks_is_read_without_them(tmp_path):
    """Word opens a package whose relationships name a missing part (a header, a picture,
    numbering, a font table) or a part without a content type; python-docx refused the whole
    document ("There is no item named 'word/header1.xml' in the archive")."""
    invoice = load(DATA / "libreoffice-tdf96749.docx")
    assert invoice.pages[0].blocks[0].text == "Акт № 131 от 01 октября 2015 г."
    assert "ООО \"ВАШ ЭКСПЕРТ\", ИНН 9102031533" in invoice.pages[0].text

    letter = DATA / "libreoffice-bnc891663.docx"
    assert load(letter).pages[0].text == "Somebody Something Some Some Corporation: Some text"
    # the untyped picture is kept, typed by its name (a scanned page is read by OCR)
    pictures = [p for p in open_word(letter).part.related_parts.values()
                if str(p.partname).endswith(".png")]
    assert [p.content_type for p in pictures] == ["image/png"]

    # a dangling link to a footer part (XML: nothing can type it) is left out as well
    made = tmp_path / "memo.docx"
    document = docx.Document()
    document.add_paragraph("Moorings are paid by the night.")
    document.save(made)
    with zipfile.ZipFile(made) as zf:
        rels = zf.read("word/_rels/document.xml.rels").decode()
    assert 'footer9.xml"' not in rels
    dangling = repack(made, tmp_path / "dangling.docx", {
        "word/_rels/document.xml.rels": lambda d: d.replace(
            b"</Relationships>", b'<Relationship Id="rId99" Type="' + RT.FOOTER.encode()
            + b'" Target="footer9.xml"/></Relationships>')})
    assert load(dangling).pages[0].text == "Moorings are paid by the night."


def test_a_broken_package_still_fails_in_one_line(tmp_path):
    """The repair is for dangling links only: a package without its document part is still
    refused, in one line."""
    made = tmp_path / "memo.docx"
    docx.Document().save(made)
    with zipfile.ZipFile(made) as src, zipfile.ZipFile(tmp_path / "hollow.docx", "w") as dst:
        for name in src.namelist():
            if name != "word/document.xml":
                dst.writestr(name, src.read(name))
    with pytest.raises(LoadError, match=r"^corrupt DOCX") as refused:
        load(tmp_path / "hollow.docx")
    assert "\n" not in str(refused.value)


def _control(inner: str) -> str:
    return f"<w:sdt><w:sdtPr><w:alias w:val=\"Field\"/></w:sdtPr><w:sdtContent>{inner}" \
           "</w:sdtContent></w:sdt>"


def _cell(text: str) -> str:
    return f"<w:tc><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


def test_content_controls_around_rows_cells_and_cell_paragraphs_are_read(tmp_path):
    """A cover page's title in a control around its cell, a form's repeating section around
    rows, a rich-text control around a cell's paragraph: python-docx's rows, cells and cell
    paragraphs are only the direct children of table, row and cell, so all three were lost
    (LibreOffice's paragraph-sdt.docx: "no extractable text")."""
    table = parse_xml(
        f'<w:tbl {W}><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>'
        f'<w:tr>{_cell("Vessel")}{_cell("Berth")}</w:tr>'
        + _control(f'<w:tr>{_cell("Kittiwake")}{_control(_cell("C4"))}</w:tr>')
        + f'<w:tr>{_cell("Tern")}<w:tc>{_control("<w:p><w:r><w:t>A1</w:t></w:r></w:p>")}'
          "</w:tc></w:tr></w:tbl>")
    document = docx.Document()
    document.add_paragraph("Harbour berths")
    document.element.body.insert(1, table)
    document.save(tmp_path / "berths.docx")
    blocks = [b.text for b in load(tmp_path / "berths.docx").pages[0].blocks]
    assert blocks == ["Harbour berths", "Vessel: Kittiwake; Berth: C4\nVessel: Tern; Berth: A1"]


def test_documents_merged_in_as_chunks_are_read_where_they_stand(tmp_path):
    """A .docx chunk typed as a Word main part made python-docx fail the whole file ("corrupt
    DOCX: Start tag expected"); chunks of any format Satchel reads are read in place."""
    merged = [b.text for b in load(DATA / "libreoffice-alt-chunk.docx").pages[0].blocks]
    assert merged == ["outer, before sect break", "outer, after sect break",
                      "inner doc, first para", "inner doc, last para"]

    document = docx.Document()
    document.add_paragraph("Report, part 1")
    chunks = [("/word/chunk1.html", "text/html",
               b"<html><body><h1>Fees</h1><p>The berth fee is 45 EUR.</p></body></html>"),
              ("/word/chunk2.txt", "text/plain", b"Fuel is sold at the north quay."),
              ("/word/chunk4.xml", "application/xhtml+xml",
               b'<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Water is at berth C.</p>'
               b"</body></html>"),
              ("/word/chunk3.bin", "application/octet-stream", b"\x00\x01 not a document")]
    for name, content_type, blob in chunks:
        part = Part(PackURI(name), content_type, blob, document.part.package)
        rid = document.part.relate_to(part, RT.A_F_CHUNK)
        document.element.body.insert(-1, parse_xml(f'<w:altChunk {W} {R} r:id="{rid}"/>'))
    document.add_paragraph("Report, part 2")
    document.save(tmp_path / "report.docx")
    blocks = [(b.kind, b.text) for b in load(tmp_path / "report.docx").pages[0].blocks]
    assert blocks == [("paragraph", "Report, part 1"), ("heading", "Fees"),
                      ("paragraph", "The berth fee is 45 EUR."),
                      ("paragraph", "Fuel is sold at the north quay."),
                      ("paragraph", "Water is at berth C."),
                      ("paragraph", "Report, part 2")]


def test_a_picture_in_the_title_placeholder_is_not_a_title(tmp_path):
    """A picture dropped into a slide's title placeholder is the slide's "title" shape to
    python-pptx, without a text frame: the whole deck failed with an AttributeError
    (LibreOffice's fdo71434.pptx)."""
    import pptx
    from PIL import Image

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only"
    slide.shapes.title._element.getparent().remove(slide.shapes.title._element)
    Image.new("RGB", (40, 20), "navy").save(tmp_path / "logo.png")
    picture = slide.shapes.add_picture(str(tmp_path / "logo.png"), 0, 0)
    nv_pr = picture._element.nvPicPr.nvPr
    nv_pr.append(parse_xml('<p:ph xmlns:p="http://schemas.openxmlformats.org/presentationml/'
                           '2006/main" type="title"/>'))
    box = slide.shapes.add_textbox(0, 0, 100, 100)
    box.text_frame.text = "Fees rose in May."
    deck.save(tmp_path / "deck.pptx")
    doc = load(tmp_path / "deck.pptx")
    assert [(b.kind, b.text) for b in doc.pages[0].blocks] == [("paragraph", "Fees rose in May.")]


def test_a_sheet_with_a_formatting_rule_outside_the_schema_is_read(tmp_path):
    """LibreOffice wrote operator="expression" on expression rules, which Excel ignores;
    openpyxl's read-only parser parsed the rule after the cells and failed the whole workbook
    ("corrupt XLSX: Value must be one of ...", LibreOffice's formats.xlsx)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Vessel", "Berth"])
    book.active.append(["Kittiwake", "C4"])
    book.save(tmp_path / "berths.xlsx")
    rule = (b'<conditionalFormatting sqref="A2"><cfRule type="expression" dxfId="0" '
            b'priority="1" operator="expression"><formula>A2&lt;&gt;""</formula></cfRule>'
            b"</conditionalFormatting>")
    odd = repack(tmp_path / "berths.xlsx", tmp_path / "odd.xlsx", {
        "xl/worksheets/sheet1.xml": lambda d: d.replace(b"</sheetData>", b"</sheetData>" + rule)})
    assert load(odd).pages[0].text == "Sheet\n\nVessel: Kittiwake; Berth: C4"


def _odt(path: Path, text: str) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    document.text.addElement(P(text=text))
    document.save(str(path))
    return path


def test_opendocument_files_odfpy_refused_are_read():
    """odfpy parses with defusedxml, which refuses the DTD OpenOffice.org declared in its
    manifests and formula objects, and checks attribute values by the schema: both failed the
    whole file."""
    slides = load(DATA / "libreoffice-ooo72169-1.odp")
    assert [p.text for p in slides.pages] == [
        "Slide: 0\n\nTopic: Transition effects\n\nSome text to show text effects",
        "Slide: 1\n\nTopic: Property effects\n\nSome text to show text effects"]
    sheet = load(DATA / "libreoffice-tdf137621.ods")  # Hungarian: IGAZ is TRUE, HAMIS FALSE
    assert "IGAZ | HAMIS | IGAZ | HAMIS | IGAZ | HAMIS" in sheet.pages[0].text


def test_a_part_declaring_a_dtd_is_read_without_the_declaration(tmp_path):
    made = _odt(tmp_path / "rules.odt", "Visiting boats moor at pontoon C.")
    doctype = (b'<!DOCTYPE math:math PUBLIC "-//OpenOffice.org//DTD Modified W3C MathML 1.01//EN"'
               b' "math.dtd">')
    declared = repack(made, tmp_path / "declared.odt", {
        "content.xml": lambda d: d.replace(b"?>", b"?>" + doctype, 1)})
    assert load(declared).pages[0].text == "Visiting boats moor at pontoon C."


def test_a_part_odfpy_cannot_parse_is_not_printed(tmp_path, capfd):
    """odfpy printed a part it could not parse, whole, to standard output: the document's text
    in the terminal, and `satchel index --json` broken. Neither the loader nor the indexer's
    parser process writes it."""
    from engine.indexer import index_paths

    (tmp_path / "docs").mkdir()
    made = _odt(tmp_path / "docs" / "rules.odt", "Visiting boats moor at pontoon C.")
    broken = b'<?xml version="1.0"?><office:document-styles>Secret styles<'
    repack(made.read_bytes(), made, {"styles.xml": lambda d: broken})
    assert load(made).pages[0].text == "Visiting boats moor at pontoon C."
    summary = index_paths([made.parent])
    assert summary.files_indexed == 1
    out = capfd.readouterr().out
    assert "Secret styles" not in out and "SAX FAILED" not in out


def test_text_boxes_and_nested_tables_in_cells_are_read(tmp_path):
    """A banner in a frame in a table cell, a form laid out in tables inside a table: the cell
    text read only the cell's own paragraphs (LibreOffice's tdf138039.odt and tdf88453.odt
    were "no extractable text"). Empty nested cells add no separators."""
    import docx
    from odf.draw import Frame, TextBox
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    def odf_table(rows: list[list[object]]) -> Table:
        table = Table()
        table.addElement(TableColumn(numbercolumnsrepeated=len(rows[0])))
        for row in rows:
            tr = TableRow()
            for content in row:
                cell = TableCell()
                cell.addElement(content if not isinstance(content, str) else P(text=content))
                tr.addElement(cell)
            table.addElement(tr)
        return table

    banner = P()
    frame = Frame(width="5cm", height="1cm", anchortype="char")
    box = TextBox()
    box.addElement(P(text="Harbour closed on Sunday"))
    frame.addElement(box)
    banner.addElement(frame)
    form = odf_table([["Vessel", ""], ["Kittiwake", "C4"]])
    document = OpenDocumentText()
    document.text.addElement(odf_table([["Notice", "Berths"], [banner, form]]))
    document.save(str(tmp_path / "notice.odt"))
    assert load(tmp_path / "notice.odt").pages[0].text == (
        "Notice: Harbour closed on Sunday; Berths: Vessel Kittiwake | C4")

    word = docx.Document()
    cells = word.add_table(rows=2, cols=1).rows
    cells[0].cells[0].text = "Notice"
    cells[1].cells[0].paragraphs[0]._p.append(parse_xml(text_box_run(["Fuel at the north quay"])))
    word.save(tmp_path / "notice.docx")
    assert load(tmp_path / "notice.docx").pages[0].text == "Notice: Fuel at the north quay"


def test_a_merge_continued_from_above_the_first_row_is_read(tmp_path):
    """A first-row cell that continues a vertical merge (nothing above it to continue):
    LibreOffice writes one converting some .doc files (tdf106799.doc), and python-docx raised
    "no tr above topmost tr", failing the document."""
    word = docx.Document()
    rows = word.add_table(rows=2, cols=2).rows
    for row, texts in zip(rows, (["Berth", "Fee"], ["C4", "45 EUR"]), strict=True):
        for cell, text in zip(row.cells, texts, strict=True):
            cell.text = text
    rows[0].cells[0]._tc.get_or_add_tcPr().append(parse_xml(f"<w:vMerge {W}/>"))
    word.save(tmp_path / "fees.docx")
    with pytest.raises(ValueError, match="topmost"):
        _ = docx.Document(tmp_path / "fees.docx").tables[0].rows[0].cells
    assert load(tmp_path / "fees.docx").pages[0].text == "Berth: C4; Fee: 45 EUR"
