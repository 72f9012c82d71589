"""Office's one-file XML documents: XML Spreadsheet 2003, Word 2003 XML, Flat OPC, flat ODF as .xml.

Real files: ``libreoffice-tdf137621-spreadsheet2003.xml``, ``libreoffice-bnc891663-word2003.xml``
and ``mammoth-strict-format-word2003.xml`` are LibreOffice 7.4's exports ("MS Excel 2003 XML",
"MS Word 2003 XML") of the test documents beside them (``libreoffice-tdf137621.ods``,
``libreoffice-bnc891663.docx``, ``mammoth-strict-format.docx``), so each is checked against the
same document read from its own format. The Flat OPC file is written here from a real DOCX,
part by part, as Word writes "Word XML Document".
"""

from __future__ import annotations

import base64
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.office_xml import office_xml_format
from engine.ingest.loaders.sheets import MAX_ROWS_PER_SHEET

DATA = Path(__file__).parent / "data"
SOFFICE = shutil.which("soffice")

#: Written as Excel 2003 and Word 2003 write these files (their elements, namespaces and hints),
#: holding what a loader must get right: sparse rows and cells, dates, comments, rich text;
#: sections, styles based on headings, lists, notes, tracked changes, fields, merged cells.
SPREADSHEET = (DATA / "spreadsheet2003-depot-returns.xml").read_text(encoding="utf-8")
WORD_2003 = (DATA / "word2003-ferry-notes.xml").read_text(encoding="utf-8")


def _blocks(path: Path) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, b.text) for p in load(path).pages for b in p.blocks]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- XML Spreadsheet 2003


@pytest.mark.parametrize("name", ["returns.xml", "returns.xls"])
def test_xml_spreadsheet_reads_as_a_workbook_by_its_name_or_as_an_excel_file(tmp_path, name):
    path = _write(tmp_path, name, SPREADSHEET)
    doc = load(path)
    assert doc.format == "spreadsheetml"
    assert doc.title == "Depot returns" and doc.metadata["author"] == "Philippa Quorn"
    assert [(p.number, p.label) for p in doc.pages] == [(1, "Returns"), (2, "Notes")]
    text = doc.pages[0].text
    # the merged title row above the header is a title, the blank row 2 is skipped, and each
    # row carries its headers: dates as dates, booleans as TRUE/FALSE, a sparse cell in place
    assert "Depot returns, first quarter" in text
    assert "Depot: Harrowgate; Opened: 2019-04-01; Pallets: 41200; Audited: TRUE" in text
    assert "Depot: Lundy; Pallets: 12.5; Audited: FALSE" in text
    assert "Depot: Bideford annex; Opened: 2021-11-30 14:45; Pallets: 82400" in text
    assert "C4: PQ: Estimate, not the audited figure" in text  # the cell's comment
    assert "Pallets are counted at the gate." in doc.pages[1].text
    assert "read by its content" in doc.loader if name.endswith(".xls") else True


def test_a_prefixed_namespace_is_the_same_spreadsheet(tmp_path):
    """roo-xls's excel2003_namespace.xml: every element written ``s:`` (a valid XML choice)."""
    prefixed = (SPREADSHEET.replace("<Workbook xmlns=", "<s:Workbook xmlns:s=\"urn:schemas-"
                                    "microsoft-com:office:spreadsheet\" xmlns=")
                .replace("</Workbook>", "</s:Workbook>"))
    assert office_xml_format(prefixed.encode()) == "spreadsheetml"
    assert "Depot: Harrowgate" in load(_write(tmp_path, "prefixed.xml", prefixed)).pages[0].text


def test_libreoffice_export_reads_as_the_workbook_it_came_from():
    exported = load(DATA / "libreoffice-tdf137621-spreadsheet2003.xml")
    original = load(DATA / "libreoffice-tdf137621.ods")
    assert exported.format == "spreadsheetml"
    assert [p.label for p in exported.pages] == [p.label for p in original.pages]
    # the ODS shows its booleans in Hungarian (IGAZ, HAMIS); the words around them are the same
    words = {w for p in original.pages for w in p.text.split() if w not in ("IGAZ", "HAMIS")}
    exported_words = {w for p in exported.pages for w in p.text.split()}
    assert words - {"|"} <= exported_words


def test_rows_past_a_sheets_limit_are_counted_not_indexed(tmp_path):
    rows = "".join(f'<Row><Cell><Data ss:Type="String">Item {n}</Data></Cell>'
                   f'<Cell><Data ss:Type="Number">{n}</Data></Cell></Row>'
                   for n in range(MAX_ROWS_PER_SHEET + 250))
    text = SPREADSHEET.split("<Worksheet")[0] + (
        '<Worksheet ss:Name="Big"><Table><Row><Cell><Data ss:Type="String">Name</Data></Cell>'
        f'<Cell><Data ss:Type="String">Count</Data></Cell></Row>{rows}</Table></Worksheet>'
        "</Workbook>")
    doc = load(_write(tmp_path, "big.xml", text))
    assert doc.metadata["rows_not_indexed"] == "Big: 251"
    assert "Name: Item 4998; Count: 4998" in doc.pages[0].text
    assert "Item 5100" not in doc.pages[0].text


# --------------------------------------------------------------------------- Word 2003 XML


@pytest.mark.parametrize("name", ["notes.xml", "notes.doc"])
def test_word_2003_xml_reads_as_a_word_document(tmp_path, name):
    doc = load(_write(tmp_path, name, WORD_2003))
    assert doc.format == "wordml"
    assert doc.title == "Ferry service notes" and doc.metadata["author"] == "Ada Lovelace"
    blocks = [(b.kind, b.level, b.text) for b in doc.pages[0].blocks]
    assert blocks[0] == ("heading", 1, "Ferry service")
    # runs joined, the footnote after the body, not mid-sentence
    assert ("paragraph", 0, "The Lundy ferry carries at most 267 passengers.") in blocks
    # tracked changes accepted, the field's result without its code, the comment after the body
    assert ("paragraph", 0, "It sails from Bideford at 10:15.") in blocks
    assert ("heading", 2, "What to bring") in blocks  # a style based on "heading 2"
    assert ("list", 0, "- A waterproof coat\n  - with a hood") in blocks
    assert ("code", 0, "ferry --book 2\n  --deck upper") in blocks
    table = next(text for kind, _, text in blocks if kind == "table")
    assert table == ("Season: Summer; Day: Tuesday; Fare: 42 GBP\n"
                     "Season: Summer; Day: Thursday; Fare: 45 GBP")
    texts = [text for _, _, text in blocks]
    # the text box after the paragraph it is anchored in
    assert texts.index("Tickets are sold at the quay.") + 1 == texts.index("Dogs travel free.")
    assert texts[-4:] == ["Notes", "Note 1: Fewer in winter: 180.", "Comments",
                          "Comment: Check the summer timetable."]
    whole = " ".join(texts)
    assert "Ilfracombe" not in whole and "TIME" not in whole and "Page footer" not in whole


@pytest.mark.parametrize("stem", ["libreoffice-bnc891663", "mammoth-strict-format"])
def test_libreoffice_export_reads_as_the_docx_it_came_from(stem):
    assert _blocks(DATA / f"{stem}-word2003.xml") == _blocks(DATA / f"{stem}.docx")


# -------------------------------------------------------------------------------- Flat OPC


def _content_types(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> content type, by the package's ``[Content_Types].xml``."""
    from lxml import etree

    root = etree.fromstring(zf.read("[Content_Types].xml"))
    defaults = {e.get("Extension").lower(): e.get("ContentType")
                for e in root if e.tag.endswith("Default")}
    overrides = {e.get("PartName").lstrip("/"): e.get("ContentType")
                 for e in root if e.tag.endswith("Override")}
    return {name: overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower(), "")
            for name in zf.namelist()}


def _flat_opc(docx: Path) -> str:
    """The package as Word's "Word XML Document" writes it: one ``pkg:part`` per part, XML
    parts inline, others in base64."""
    parts = []
    with zipfile.ZipFile(docx) as zf:
        kinds = _content_types(zf)
        for name in zf.namelist():
            if name == "[Content_Types].xml" or name.endswith("/"):
                continue
            data = zf.read(name)
            if name.endswith((".xml", ".rels")):
                xml = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", data.decode("utf-8"))
                body = f"<pkg:xmlData>{xml}</pkg:xmlData>"
            else:
                body = f"<pkg:binaryData>{base64.b64encode(data).decode()}</pkg:binaryData>"
            parts.append(f'<pkg:part pkg:name="/{name}" pkg:contentType="{kinds[name]}" '
                         f'pkg:padding="256">{body}</pkg:part>')
    return ('<?xml version="1.0" standalone="yes"?>\n<?mso-application progid="Word.Document"?>'
            '\n<pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">'
            + "".join(parts) + "</pkg:package>")


@pytest.mark.parametrize("source", ["libreoffice-tdf96749.docx", "mammoth-strict-format.docx"])
def test_flat_opc_reads_as_the_package_it_holds(tmp_path, source):
    path = _write(tmp_path, "contract.xml", _flat_opc(DATA / source))
    assert detect_format(path) == "flatopc"
    doc = load(path)
    assert doc.format == "flatopc" and doc.path == str(path)
    assert "python-docx (from a Flat OPC XML file)" in doc.loader
    assert _blocks(path) == _blocks(DATA / source)


def test_a_flat_opc_package_without_a_document_is_refused_in_one_line(tmp_path):
    path = _write(tmp_path, "parts.xml", '<pkg:package xmlns:pkg="http://schemas.microsoft.com/'
                  'office/2006/xmlPackage"><pkg:part pkg:name="/a.xml"><pkg:xmlData><a/>'
                  "</pkg:xmlData></pkg:part></pkg:package>")
    with pytest.raises(LoadError, match="without a main part") as err:
        load(path)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------ telling them apart


@pytest.mark.parametrize(("text", "expected"), [
    ('<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"/>', None),
    ('<?mso-application progid="Excel.Sheet"?><Workbook xmlns="urn:other"/>', None),
    ('<!-- exported --><!DOCTYPE Workbook [<!ENTITY x "y">]>\n<Workbook xmlns="urn:schemas-'
     'microsoft-com:office:spreadsheet"/>', "spreadsheetml"),
    ("<w:wordDocument xmlns:w='http://schemas.microsoft.com/office/word/2003/wordml'/>",
     "wordml"),
    ('<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
     'office:mimetype="application/vnd.oasis.opendocument.text">', "fodt"),
    ("The Workbook of urn:schemas-microsoft-com:office:spreadsheet", None),
])
def test_the_root_element_and_its_namespace_tell_the_format(text, expected):
    assert office_xml_format(text.encode()) == expected
    assert office_xml_format(text.encode("utf-16")) == expected  # with its byte order mark


@given(st.binary(max_size=300))
def test_telling_never_fails_on_any_bytes(head):
    assert office_xml_format(head) in (None, "spreadsheetml", "wordml", "flatopc", "fodt",
                                       "fods", "fodp")


def test_other_xml_stays_markup_and_other_text_named_xls_is_refused(tmp_path):
    pom = _write(tmp_path, "pom.xml", '<?xml version="1.0"?><project><name>demo</name>'
                 "</project>")
    assert detect_format(pom) == "code"
    xls = _write(tmp_path, "export.xls", "<?xml version='1.0'?><report><row>1</row></report>")
    assert "not an Excel 97-2003 (.xls) file" in (skip_reason(xls) or "")


def test_a_damaged_word_xml_file_fails_in_one_line(tmp_path):
    path = _write(tmp_path, "broken.xml", WORD_2003[: len(WORD_2003) // 2])
    with pytest.raises(LoadError, match="corrupt Word XML document") as err:
        load(path)
    assert "\n" not in str(err.value)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_a_flat_opendocument_text_named_xml_is_read_as_one(tmp_path):
    text = ('<?xml version="1.0" encoding="UTF-8"?><office:document xmlns:office="urn:oasis:'
            'names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:'
            'opendocument:xmlns:text:1.0" office:version="1.3" office:mimetype="application/'
            'vnd.oasis.opendocument.text"><office:body><office:text><text:h text:outline-'
            'level="1">Harbour</text:h><text:p>The harbour master is Ruth Penhallow.</text:p>'
            "</office:text></office:body></office:document>")
    doc = load(_write(tmp_path, "harbour.xml", text))
    assert doc.format == "fodt" and "read by its content" in doc.loader
    assert "The harbour master is Ruth Penhallow." in doc.pages[0].text


def test_an_index_reads_them_once_and_reads_again_what_an_older_satchel_took_for_markup(
        tmp_path):
    """Read by content, these files are current at the next run (their names map to other
    formats: .xml to markup, .xls to Excel 97-2003); an .xml indexed as markup by an older
    Satchel, and a .xls it refused, are read as the documents they are at the next run."""
    from dataclasses import replace

    from engine import index
    from engine.indexer import index_paths
    from engine.ingest.revisions import failure_tag
    from engine.retrieve import search

    folder = tmp_path / "exports"
    folder.mkdir()
    _write(folder, "returns.xml", SPREADSHEET)
    _write(folder, "returns-copy.xls", SPREADSHEET.replace("Harrowgate", "Ilfracombe"))
    _write(folder, "notes.doc", WORD_2003)
    first = index_paths([folder])
    assert first.files_indexed == 3 and not first.files_failed
    again = index_paths([folder])
    assert (again.files_indexed, again.files_unchanged) == (0, 3)

    coll = index.Collection.open("default")
    rows = coll.documents()
    older = [replace(rows[str(folder / "returns.xml")], reader="chunks/1 code/1"),
             replace(rows[str(folder / "returns-copy.xls")], status="failed", chunks=0,
                     reader=failure_tag("xls").replace("sniff/9", "sniff/8"),
                     error="not an Excel 97-2003 (.xls) file (no OLE header; mislabelled?)")]
    coll.touch_documents(older)
    third = index_paths([folder])
    assert (third.files_indexed, third.files_unchanged) == (2, 1) and not third.files_failed
    hit = search("Ilfracombe pallets", "default", k=1)[0]
    assert hit.path == str(folder / "returns-copy.xls") and "Depot: Ilfracombe" in hit.text
