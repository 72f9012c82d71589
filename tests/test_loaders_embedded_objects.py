"""Files embedded in Word documents and PowerPoint decks are read as their parts.

The documents are built as Word and PowerPoint store them: a python-docx / python-pptx file
whose body part links an OLE object (``word/embeddings/oleObject1.bin``, written with
extract-msg's OLE writer, holding a dropped-in file in its "\\x01Ole10Native" stream, byte for
byte as in oletools' embedded-simple-2007.docx) and an embedded workbook package.
"""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import pytest

from engine.ingest.document import display_name
from engine.ingest.loaders import load
from engine.ingest.loaders.ooxml_embedded import ole_object_file
from tests.helpers_ooxml import before, relationships, repack

_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
NOTE = b"Tide gauge 7 was recalibrated on 4 March by the harbour engineer."


def _ole10native(name: str, data: bytes) -> bytes:
    """The stream Word writes for a dropped-in file (as in embedded-simple-2007.docx)."""
    source = f"C:\\Users\\user\\Documents\\{name}".encode("cp1252") + b"\0"
    temp = f"C:\\Users\\user\\AppData\\Local\\Temp\\{name}".encode("cp1252") + b"\0"
    body = (b"\x02\x00" + name.encode("cp1252") + b"\0" + source + b"\x00\x00\x03\x00" +
            struct.pack("<I", len(temp)) + temp + struct.pack("<I", len(data)) + data)
    return struct.pack("<I", len(body)) + body


def _ole_object(stream: str, data: bytes, tmp_path: Path) -> bytes:
    from extract_msg.ole_writer import OleWriter

    writer = OleWriter()
    writer.addEntry("\x01CompObj", b"\x01\x00\xfe\xff\x03\x0a\x00\x00" + b"\0" * 20)
    writer.addEntry(stream, data)
    path = tmp_path / "object.bin"
    writer.write(str(path))
    return path.read_bytes()


def _icon() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (48, 24), "white").save(out, "PNG")
    return out.getvalue()


def _workbook() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Tides"
    book.active.append(["Gauge", "Offset (cm)"])
    book.active.append(["Gauge 7", 4.5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_OBJECT = ('<w:p><w:r><w:object xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-'
           'microsoft-com:office:office" w:dxaOrig="1816" w:dyaOrig="811"><v:shape id="obj{0}" '
           'style="width:90pt;height:40pt" o:ole=""><v:imagedata r:id="rIdIcon{0}" o:title=""/>'
           '</v:shape><o:OLEObject Type="Embed" ProgID="Package" '
           'ShapeID="obj{0}" DrawAspect="Content" ObjectID="_15776911{0}" r:id="rIdEmb{0}"/>'
           "</w:object></w:r></w:p>")


def _embed(path: Path, body_rels: str, objects: dict[str, tuple[str, bytes]]) -> None:
    """Add ``objects`` (part name -> relationship kind, bytes) to the package at ``path``,
    linked from its body part's relationships (``body_rels``), shown in a Word body."""
    up = "../" if "slides" in body_rels else ""
    links = [(f"rIdEmb{n}", kind, f"{up}embeddings/{name}")
             for n, (name, (kind, _)) in enumerate(objects.items())]
    folder = body_rels.split("/")[0]
    add = {f"{folder}/embeddings/{name}": data for name, (_, data) in objects.items()}
    if folder == "word":  # the icon Word shows for each object
        links += [(f"rIdIcon{n}", "image", f"media/icon{n}.png") for n in range(len(objects))]
        add |= {f"word/media/icon{n}.png": _icon() for n in range(len(objects))}
    types = ('<Default Extension="bin" ContentType="application/vnd.openxmlformats-'
             'officedocument.oleObject"/><Default Extension="xlsx" ContentType="application/'
             'vnd.openxmlformats-officedocument.spreadsheetml.sheet"/>')

    def content_types(data: bytes) -> bytes:
        png = b'Extension="png"' in data
        return before("</Types>", types + ("" if png else '<Default Extension="png" '
                                           'ContentType="image/png"/>'))(data)

    repack(path.read_bytes(), path, {
        body_rels: relationships(*links),
        "[Content_Types].xml": content_types,
        "word/document.xml": before("</w:body>", "".join(
            _OBJECT.format(n) for n in range(len(objects))))}, add)


def test_files_embedded_in_a_word_document_are_its_parts(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Calibration report: the log is embedded below.")
    path = tmp_path / "report.docx"
    document.save(path)
    _embed(path, "word/_rels/document.xml.rels", {
        "oleObject1.bin": ("oleObject", _ole_object(
            "\x01Ole10Native", _ole10native("gauge-log.txt", NOTE), tmp_path)),
        "Microsoft_Excel_Worksheet.xlsx": ("package", _workbook()),
        "oleObject2.bin": ("oleObject", _ole_object(
            "\x01Ole10Native", _ole10native("setup.exe", b"MZ\x90\x00" * 64), tmp_path)),
        "oleObject3.bin": ("oleObject", _ole_object("Equation Native", b"\x1c\x00" * 40,
                                                    tmp_path)),
    })
    doc = load(path)
    assert doc.pages[0].text == "Calibration report: the log is embedded below."
    parts = {display_name(p.path): p for p in doc.parts}
    assert list(parts) == ["report.docx › gauge-log.txt",
                           "report.docx › Microsoft_Excel_Worksheet.xlsx"]
    assert parts["report.docx › gauge-log.txt"].pages[0].text == NOTE.decode()
    assert "Gauge 7" in parts["report.docx › Microsoft_Excel_Worksheet.xlsx"].pages[0].text
    # a program is listed as skipped; an equation holds no file and is not listed at all
    assert [(u.key, u.skipped) for u in doc.unread] == [("setup.exe", True)]


def test_a_file_dropped_onto_a_slide_is_a_part_of_the_deck(tmp_path):
    import pptx

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Gauge log"
    path = tmp_path / "briefing.pptx"
    deck.save(path)
    _embed(path, "ppt/slides/_rels/slide1.xml.rels", {"oleObject1.bin": ("oleObject", _ole_object(
        "\x01Ole10Native", _ole10native("gauge-log.txt", NOTE), tmp_path))})
    doc = load(path)
    assert [display_name(p.path) for p in doc.parts] == ["briefing.pptx › gauge-log.txt"]
    assert doc.parts[0].pages[0].text == NOTE.decode()


def test_ole_objects_are_unwrapped_to_the_file_they_hold(tmp_path):
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    assert ole_object_file("oleObject4.bin", _ole_object("CONTENTS", pdf, tmp_path)) == (
        "oleObject4.pdf", pdf)
    workbook = _workbook()
    assert ole_object_file("oleObject5.bin", _ole_object("Package", workbook, tmp_path)) == (
        "oleObject5.xlsx", workbook)
    assert ole_object_file("oleObject6.bin", b"not an OLE file at all") is None


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_an_old_word_document_keeps_its_embedded_files_under_its_own_path(tmp_path):
    """A .doc is read through its DOCX conversion: its parts are cited by the .doc's path,
    not the conversion's temporary one."""
    import docx

    from engine.ingest.loaders.legacy import convert

    document = docx.Document()
    document.add_paragraph("Calibration report.")
    path = tmp_path / "report.docx"
    document.save(path)
    _embed(path, "word/_rels/document.xml.rels", {"oleObject1.bin": ("oleObject", _ole_object(
        "\x01Ole10Native", _ole10native("gauge-log.txt", NOTE), tmp_path))})
    work = tmp_path / "work"
    work.mkdir()
    old = convert(path, "doc", work)
    doc = load(old)
    assert [p.path for p in doc.parts] == [f"{old}//gauge-log.txt"]
    assert doc.parts[0].pages[0].text == NOTE.decode()
