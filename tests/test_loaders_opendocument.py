"""What LibreOffice writes: OpenDocument spreadsheets (ODS) and presentations (ODP), which it
saves by default, and PDFs exported from a Word document.

The main files are real LibreOffice output: the sample corpus's XLSX workbook and PPTX deck,
saved as ODS/ODP by ``soffice --convert-to``, must read exactly like the originals (same pages,
labels, blocks). The storage details LibreOffice writes only for bigger sheets (repeated cells
and rows, merged cells, the empty million rows at a sheet's end) are built with odfpy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from engine.ingest.document import Document, LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.samples import CORPUS_DIR

SOFFICE = shutil.which("soffice")


def _convert(sources: list[Path], fmt: str, out: Path) -> None:
    profile = out.parent / "lo-profile"
    home = out.parent / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--nolockcheck", "--convert-to", fmt, "--outdir", str(out), *map(str, sources)],
        env={**os.environ, "HOME": str(home)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert proc.wait(120) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if SOFFICE is None:
        pytest.skip("needs LibreOffice (soffice)")
    out = tmp_path_factory.mktemp("odf") / "out"
    out.mkdir()
    _convert([CORPUS_DIR / "stores_and_fleet.xlsx"], "ods", out)
    _convert([CORPUS_DIR / "onboarding_2025.pptx"], "odp", out)
    return out


def _pages(doc: Document) -> list[tuple[int, str | None, list[tuple[str, str, int]]]]:
    return [(p.number, p.label, [(b.kind, b.text, b.level) for b in p.blocks])
            for p in doc.pages]


@pytest.mark.parametrize(("odf", "ooxml"), [("stores_and_fleet.ods", "stores_and_fleet.xlsx"),
                                            ("onboarding_2025.odp", "onboarding_2025.pptx")])
def test_libreoffice_files_read_like_their_office_originals(converted, odf, ooxml):
    doc, original = load(converted / odf), load(CORPUS_DIR / ooxml)
    assert doc.format == odf.rsplit(".", 1)[1]
    assert _pages(doc) == _pages(original)
    assert doc.title == original.title
    assert doc.metadata.get("author") == original.metadata.get("author")


def test_odp_keeps_slide_titles_lists_and_speaker_notes(converted):
    doc = load(converted / "onboarding_2025.odp")
    assert [p.label for p in doc.pages][:2] == ["Welcome to Halcyon Reach", "Getting around"]
    kinds = {b.kind for p in doc.pages for b in p.blocks}
    assert {"heading", "list"} <= kinds
    assert all(any(b.text == "Speaker notes" for b in p.blocks) for p in doc.pages)


def _sheet_file(path: Path, rows: list[list[tuple[str, int]] | tuple[list[tuple[str, int]], int]],
                name: str = "Log", notes: dict[str, str] | None = None) -> Path:
    """An ODS with one sheet; each row is [(text, columns repeated)] or (that, rows repeated).
    An empty text is an empty cell; "<covered>" a cell merged over. ``notes``: a comment on
    the cell of each text, as LibreOffice writes it (author, date, paragraphs)."""
    from odf.dc import Creator, Date
    from odf.office import Annotation
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name=name)
    for spec in rows:
        cells, times = spec if isinstance(spec, tuple) else (spec, 1)
        row = TableRow(numberrowsrepeated=times) if times > 1 else TableRow()
        for text, repeat in cells:
            if text == "<covered>":
                row.addElement(CoveredTableCell())
                continue
            cell = TableCell(numbercolumnsrepeated=repeat) if repeat > 1 else TableCell()
            if text in (notes or {}):
                note = Annotation()
                note.addElement(Creator(text="Ada Stone"))
                note.addElement(Date(text="2025-05-02T10:00:00"))
                note.addElement(P(text=(notes or {})[text]))
                cell.addElement(note)
            if text:
                cell.addElement(P(text=text))
            row.addElement(cell)
        table.addElement(row)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def test_ods_repeated_and_merged_cells_keep_columns_aligned(tmp_path):
    path = _sheet_file(tmp_path / "log.ods", [
        [("Boat", 1), ("", 2), ("Skipper", 1), ("", 1020)],           # a gap in the header
        [("Kittiwake", 1), ("<covered>", 1), ("", 1), ("Mara Quist", 1)],
        ([("Tern", 1), ("", 2), ("Ole Berg", 1)], 3),                    # a row filled down
        ([("", 1024)], 1_048_000),                                       # the empty rest
    ])
    started = time.perf_counter()
    doc = load(path)
    assert time.perf_counter() - started < 5  # the million empty rows are never expanded
    assert doc.pages[0].label == "Log"
    text = doc.pages[0].text
    assert "Boat: Kittiwake; Skipper: Mara Quist" in text
    assert text.count("Boat: Tern; Skipper: Ole Berg") == 3


def test_ods_comments_follow_their_sheet_with_their_cells(tmp_path):
    path = _sheet_file(tmp_path / "log.ods", [
        [("Boat", 1), ("", 2), ("Skipper", 1)],
        [("Kittiwake", 1), ("<covered>", 1), ("", 1), ("Mara Quist", 1)],
        ([("Tern", 1), ("", 2), ("Ole Berg", 1)], 3),
        [("Gull", 1), ("", 2), ("Ada", 1)],
    ], notes={"Boat": "Registered name, not the nickname.", "Ada": "Relief skipper in May."})
    text = load(path).pages[0].text
    assert text.endswith("Boat: Gull; Skipper: Ada\n\nComments\n\n"
                         "A1: Registered name, not the nickname.\n\nD6: Relief skipper in May.")
    assert "Ada Stone" not in text and text.count("Relief skipper") == 1


def test_an_indented_content_xml_is_read(tmp_path):
    """pandoc writes content.xml indented: a line break comes before ``office:text``, which
    odfpy took for the document's body, and the file read as "no extractable text"."""
    content = """<?xml version="1.0" encoding="utf-8" ?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
  <office:body>
    <office:text>
      <text:h text:outline-level="2">5.1. Syntax of control files</text:h>
      <text:p>A control file consists of one or more stanzas of fields.</text:p>
    </office:text>
  </office:body>
</office:document-content>
"""
    manifest = """<?xml version="1.0" encoding="utf-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
  <manifest:file-entry manifest:media-type="application/vnd.oasis.opendocument.text"
    manifest:full-path="/"/>
  <manifest:file-entry manifest:media-type="text/xml" manifest:full-path="content.xml"/>
</manifest:manifest>
"""
    path = tmp_path / "policy.odt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", content)
        zf.writestr("META-INF/manifest.xml", manifest)
    blocks = load(path).pages[0].blocks
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "5.1. Syntax of control files"),
        ("paragraph", "A control file consists of one or more stanzas of fields.")]


def test_text_boxes_are_read_after_their_paragraph_with_their_tables(tmp_path):
    """A frame anchored in a paragraph was read inline: its text cut into the paragraph's,
    and a table in a text box ran its cells together ("1.)nb012.)nb02" in JFractionLab's
    worksheet templates, as Debian ships them). A box is read after its paragraph, its table
    as a table, as Word's text boxes are."""
    from odf.draw import Frame, TextBox
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    document = OpenDocumentText()
    anchor = P(text="Winter crossings:")
    frame = Frame(anchortype="paragraph", width="5cm", height="4cm")
    box = TextBox()
    table = Table(name="Crossings")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    for values in (("Route", "Leaves"), ("North", "08:10"), ("South", "09:40")):
        row = TableRow()
        for value in values:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=value))
            row.addElement(cell)
        table.addElement(row)
    box.addElement(table)
    box.addElement(P(text="Tickets are sold on board."))
    frame.addElement(box)
    anchor.addElement(frame)
    anchor.addText(" the last boat leaves early.")
    document.text.addElement(anchor)
    document.text.addElement(P(text="Summer crossings resume in April."))
    document.save(str(tmp_path / "timetable.odt"))
    assert [(b.kind, b.text) for b in load(tmp_path / "timetable.odt").pages[0].blocks] == [
        ("paragraph", "Winter crossings: the last boat leaves early."),
        ("table", "Route: North; Leaves: 08:10\nRoute: South; Leaves: 09:40"),
        ("paragraph", "Tickets are sold on board."),
        ("paragraph", "Summer crossings resume in April.")]


def test_an_odf_file_that_lacks_parts_its_manifest_lists_is_read(tmp_path):
    """live-manual's ODT files, as Debian ships them, list a thumbnail their archive lacks;
    odfpy refused each whole ("There is no item named 'Thumbnails/thumbnail.png' in the
    archive"). Such a file reads as it would with the parts present."""
    from tests.helpers_ooxml import repack

    source = CORPUS_DIR / "council_minutes_2025-06-02.odt"
    entries = ('<manifest:file-entry manifest:full-path="Thumbnails/thumbnail.png" '
               'manifest:media-type="image/png"/><manifest:file-entry '
               'manifest:full-path="Pictures/harbour.png" manifest:media-type="image/png"/>')
    with zipfile.ZipFile(source) as original:
        kept = [n for n in original.namelist() if not n.startswith(("Thumbnails/", "Pictures/"))]
    end = b"</manifest:manifest>"
    lacking = repack(source, tmp_path / "minutes.odt", {
        "META-INF/manifest.xml": lambda d: d.replace(end, entries.encode() + end)})
    with zipfile.ZipFile(lacking) as package:
        assert "Thumbnails/thumbnail.png" not in package.namelist()
        assert set(kept) <= set(package.namelist())
    want = load(source)
    assert [p.text for p in load(lacking).pages] == [p.text for p in want.pages]


def test_ods_mislabelled_and_damaged_files_get_one_line_reasons(tmp_path, converted):
    odp_as_ods = tmp_path / "budget.ods"
    shutil.copy(converted / "onboarding_2025.odp", odp_as_ods)
    assert detect_format(odp_as_ods) == "odp"  # read as the presentation it holds
    truncated = tmp_path / "talk.odp"
    truncated.write_bytes((converted / "onboarding_2025.odp").read_bytes()[:3000])
    assert detect_format(truncated) is None
    assert "corrupt or truncated ODP" in (skip_reason(truncated) or "")
    with zipfile.ZipFile(tmp_path / "empty.ods", "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert skip_reason(tmp_path / "empty.ods") == (
        "not an ODS file (zip archive without content.xml)")


def test_an_odf_file_of_another_kind_without_its_mimetype_is_a_clear_error(tmp_path, converted):
    """The mimetype member names the kind; without it the body decides (no traceback)."""
    source = converted / "onboarding_2025.odp"
    stripped = tmp_path / "talk.ods"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(stripped, "w") as zout:
        for item in zin.infolist():
            if item.filename != "mimetype":
                zout.writestr(item, zin.read(item.filename))
    with pytest.raises(LoadError, match=r"^not an ODS file \(it holds no spreadsheet\)$"):
        load(stripped)


def test_bullets_of_a_pdf_made_from_a_word_document_make_a_list(tmp_path):
    """Word's bullets are Symbol-font glyphs: the PDF text layer gives U+F0B7 for each."""
    if SOFFICE is None:
        pytest.skip("needs LibreOffice (soffice)")
    import docx

    document = docx.Document()
    document.add_heading("Packing list", 1)
    document.add_paragraph("Bring these on the boat:")
    for item in ("A lantern with spare oil", "Two coils of rope", "The harbour chart"):
        document.add_paragraph(item, style="List Bullet")
    document.add_paragraph("Leave the rest ashore.")
    document.save(str(tmp_path / "packing.docx"))
    out = tmp_path / "out"
    out.mkdir()
    _convert([tmp_path / "packing.docx"], "pdf", out)
    blocks = [(b.kind, b.text) for b in load(out / "packing.pdf").pages[0].blocks]
    assert blocks == [
        ("heading", "Packing list"),
        ("paragraph", "Bring these on the boat:"),
        ("list", "\u2022 A lantern with spare oil\n\u2022 Two coils of rope\n"
                 "\u2022 The harbour chart"),
        ("paragraph", "Leave the rest ashore."),
    ]
