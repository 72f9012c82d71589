"""Hangul Word Processor documents (.hwp).

The HWP 5 files are real documents from the test folder of npm's node-hwp 0.1.0-alpha (MIT),
unchanged: a Korean Food and Drug Administration press report with a table of vitamin
allowances (``sample-2``), Naver's Hangul campaign template for a master's thesis (11 pages:
title pages, contents, headings, footnotes, a table), a KAIST application form of tables
(``kaist-055``), and a table test with merged cells. ``libreoffice-hangul97-3.0.hwp`` is
LibreOffice 7.4's own HWP 3 (Hangul 97) test document.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import olefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.document import LoadError, LoadOptions
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.hangul import inflate_stream, paragraph_text, records, tree
from engine.places import place

DATA = Path(__file__).parent / "data"
REPORT = DATA / "node-hwp-sample-2.hwp"
THESIS = DATA / "node-hwp-dissertation.hwp"
FORM = DATA / "node-hwp-kaist-055.hwp"
MERGED = DATA / "node-hwp-table-simple-1.hwp"
HANGUL97 = DATA / "libreoffice-hangul97-3.0.hwp"
NO_OCR = LoadOptions(ocr=False)


def _blocks(doc, number: int) -> list[tuple[str, str]]:
    page = next(p for p in doc.pages if p.number == number)
    return [(b.kind, b.text) for b in page.blocks]


def test_a_report_is_read_by_page_with_its_table():
    doc = load(REPORT, options=NO_OCR)
    assert detect_format(REPORT) == "hwp" and doc.format == "hwp"
    assert doc.loader == "Hangul reader (olefile)"
    assert doc.title == "2011년 5월 8일" and doc.metadata["author"] == "박지영"
    # the layout Hangul saved puts the last section on the second page
    assert [p.number for p in doc.pages] == [1, 2] and place(str(REPORT), 2) == "page 2"
    first = [t for _, t in _blocks(doc, 1)]
    assert first[0].startswith("2011년 5월 8일, 영국 식품규격청(FSA)은 비타민(Vitamin)과")
    assert "그 주요 내용(內容)은 다음과 같다." in first[0]  # Hanja kept
    (table,) = [t for k, t in _blocks(doc, 1) if k == "table"]
    assert "구분: 비타민 C; 권장량: 70; 기준치: 55; 저함량: 50" in table.splitlines()
    assert _blocks(doc, 2)[0] == ("paragraph", "향후 조치 및 계획")
    assert _blocks(doc, 2)[-1] == ("paragraph", "고찬엽 기자(mrkocy@kfda.go.kr)")


def test_a_thesis_keeps_its_pages_headings_and_footnotes():
    doc = load(THESIS, options=NO_OCR)
    assert doc.pages[-1].number == 11 and doc.metadata["author"] == "네이버 한글캠페인"
    assert _blocks(doc, 1)[0] == ("paragraph", "석사학위 논문")
    body = _blocks(doc, 8)
    assert ("heading", "본문 중제목") in body  # a paragraph in an outline style
    # footnotes follow the page that refers to them, numbered on through the document
    assert ("paragraph", "Note 1: 이 부분은 각주 목록으로 작성합니다(각주1).") in body
    assert ("paragraph", "Note 2: 이 부분은 각주 목록으로 작성합니다(각주2).") in body
    # a contents line (entry, tab, page number) is never a heading, whatever its style
    contents = _blocks(doc, 5)
    assert ("paragraph", "‘목차 제목2’의 목록을 적용합니다. 22") in contents
    assert not any(k == "heading" and t.endswith(" 22") for k, t in contents)
    assert any(k == "table" and "표 내용" in t for k, t in _blocks(doc, 9))


def test_a_form_of_tables_and_its_summary_title():
    doc = load(FORM, options=NO_OCR)
    assert doc.title == "(복수전공, 부전공) 신청서"  # the summary's, without what follows it
    tables = [t for k, t in _blocks(doc, 1) if k == "table"]
    assert tables[0] == "과 정 | 학과/전공 | 학 번 | 성 명 | 학생구분"
    texts = [t for _, t in _blocks(doc, 1)]
    assert "※ 학과가 결정되지 아니한 학생은 복수전공 및 부전공 신청을 할 수 없음." in texts
    assert texts[-1] == "과기서 55(21.0cm×29.7cm)"


def test_merged_cells_keep_their_text_once():
    doc = load(MERGED, options=NO_OCR)
    (table,) = [t for k, t in _blocks(doc, 1) if k == "table"]
    assert table.count("동해물과 백두산이 마르고 닳도록") == 1
    assert "무궁화 삼천리 화려강산" in table  # a cell's second paragraph


def test_a_hangul_97_document_is_read_through_libreoffice():
    doc = load(HANGUL97, options=NO_OCR)
    assert doc.format == "hwp" and doc.loader.startswith("LibreOffice")
    assert "안녕하세요 오픈오피스!" in doc.pages[0].text


def _with_flags(src: Path, dest: Path, flags: int) -> Path:
    shutil.copy(src, dest)
    with olefile.OleFileIO(str(dest), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        header[36:40] = struct.pack("<I", flags)
        ole.write_stream("FileHeader", bytes(header))
    return dest


def test_protected_documents_fail_in_one_line(tmp_path):
    locked = _with_flags(REPORT, tmp_path / "locked.hwp", 0x1 | 0x2)
    with pytest.raises(LoadError, match=r"^encrypted Hangul document \(password protected\)$"):
        load(locked)
    copy_protected = _with_flags(REPORT, tmp_path / "distributed.hwp", 0x1 | 0x4)
    with pytest.raises(LoadError, match=r"^a Hangul distribution document"):
        load(copy_protected)


def _damaged(tmp_path: Path, section: str, start: int) -> Path:
    """The thesis with ``section``'s compressed bytes from ``start`` on wiped."""
    damaged = tmp_path / f"thesis-{section[-1]}-{start}.hwp"
    shutil.copy(THESIS, damaged)
    with olefile.OleFileIO(str(damaged), write_mode=True) as ole:
        body = bytearray(ole.openstream(section).read())
        body[start:] = bytes(len(body) - start)
        ole.write_stream(section, bytes(body))
    return damaged


def test_damage_costs_only_what_comes_after_it(tmp_path):
    whole = load(THESIS, options=NO_OCR)
    texts = {t for p in whole.pages for _, t in _blocks(whole, p.number)}
    # the second section damaged half way: the first whole, the second up to the damage
    half = load(_damaged(tmp_path, "BodyText/Section1", 1500), options=NO_OCR)
    kept = {t for p in half.pages for _, t in _blocks(half, p.number)}
    assert _blocks(half, 1)[0] == ("paragraph", "석사학위 논문")
    assert "간추린 글" in kept and kept < texts
    # the first section unreadable: the second is read all the same
    second = load(_damaged(tmp_path, "BodyText/Section0", 0), options=NO_OCR)
    assert "석사학위 논문" not in {t for p in second.pages for _, t in _blocks(second, p.number)}
    assert any(k == "heading" and t == "본문 중제목" for p in second.pages
               for k, t in _blocks(second, p.number))
    cut = tmp_path / "cut.hwp"
    cut.write_bytes(THESIS.read_bytes()[:20_000])
    with pytest.raises(LoadError) as failed:
        load(cut)
    assert "\n" not in str(failed.value)


def test_a_document_of_pictures_only_waits_for_ocr(tmp_path):
    """Its text sections emptied, the thesis holds only its picture: read by OCR, as a Word
    file of pasted-in scans is (engine.ingest.loaders.word.scanned_pages); with OCR off it is
    marked so that indexing reads it again once OCR is on."""
    pictures = tmp_path / "scan.hwp"
    shutil.copy(THESIS, pictures)
    with olefile.OleFileIO(str(pictures), write_mode=True) as ole:
        for section in ("BodyText/Section0", "BodyText/Section1"):
            size = len(ole.openstream(section).read())
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
            empty = deflate.compress(b"") + deflate.flush()
            ole.write_stream(section, empty + bytes(size - len(empty)))
    with pytest.raises(LoadError, match=r"^no extractable text \(scanned or image-only, and OCR"):
        load(pictures, options=NO_OCR)


def test_a_stream_damaged_half_way_keeps_its_first_half():
    half = "".join(f"동해물과 백두산이 마르고 닳도록 {i}. " for i in range(1500))
    half = half.encode("utf-16-le")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(half) + deflate.flush(zlib.Z_FULL_FLUSH)  # ends a block
    second = deflate.compress(half) + deflate.flush()
    damaged = first + b"\xff" + second[1:]  # the next block of a reserved type
    with pytest.raises(zlib.error, match="invalid block type"):
        zlib.decompress(damaged, -15)
    out = inflate_stream(damaged, compressed=True)
    assert half.startswith(out) and len(out) > len(half) // 2
    with pytest.raises(LoadError, match=r"^corrupt Hangul document"):
        inflate_stream(b"\xff" + second[1:], compressed=True)


def test_mislabelled_hangul_files(tmp_path):
    named_doc = tmp_path / "보도자료.doc"
    shutil.copy(REPORT, named_doc)
    assert detect_format(named_doc) == "hwp"
    assert load(named_doc, options=NO_OCR).pages[0].blocks[0].text.startswith("2011년 5월 8일")
    (tmp_path / "notes.hwp").write_text("not a document")
    assert skip_reason(tmp_path / "notes.hwp") == \
        "not a Hangul document (no HWP header; mislabelled?)"
    message = tmp_path / "message.hwp"  # an Outlook message named .hwp
    shutil.copy(DATA / "msgconvert-charset.msg", message)
    assert detect_format(message) == "msg"


# -- the record and text layer ----------------------------------------------------------------

_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0xFFFF,
                                       blacklist_categories=("Cs",)), min_size=1, max_size=8)


@st.composite
def _paragraph(draw):
    """A PARA_TEXT payload and the text it stands for: plain runs, line breaks, non-breaking
    spaces, tabs (inline controls) and table anchors (extended controls) mixed."""
    units: list[int] = []
    expected = []
    for kind in draw(st.lists(st.sampled_from(["text", "break", "nbsp", "tab", "anchor"]),
                              max_size=12)):
        if kind == "text":
            text = draw(_TEXT)
            units += list(struct.unpack(f"<{len(text.encode('utf-16-le')) // 2}H",
                                        text.encode("utf-16-le")))
            expected.append(text)
        elif kind == "break":
            units.append(10)
            expected.append("\n")
        elif kind == "nbsp":
            units.append(30)
            expected.append(" ")
        else:
            code = 9 if kind == "tab" else 11
            units += [code, *draw(st.lists(st.integers(0, 0xFFFF), min_size=6, max_size=6)),
                      code]
            expected.append("\t" if kind == "tab" else "")
    units.append(13)  # the paragraph's end
    return struct.pack(f"<{len(units)}H", *units), "".join(expected)


@settings(max_examples=200, deadline=None)
@given(_paragraph())
def test_paragraph_text_reads_what_the_controls_stand_for(case):
    payload, expected = case
    pieces = paragraph_text(payload)
    assert "".join(t for _, t in pieces) == expected
    positions = [p for p, _ in pieces]
    assert positions == sorted(positions) and all(p < len(payload) // 2 for p in positions)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_make_records_without_raising(data):
    found = list(records(data))
    assert sum(len(p) for _, _, p in found) <= len(data)
    tree(data)


def test_record_levels_make_the_tree():
    def record(tag: int, level: int, payload: bytes) -> bytes:
        return struct.pack("<I", tag | level << 10 | len(payload) << 20) + payload

    big = bytes(5000)  # a size too large for the header's 12 bits follows it
    data = (record(0x42, 0, b"p") + record(0x43, 1, b"t") + record(0x47, 1, b" lbt")
            + record(0x48, 2, b"") + struct.pack("<I", 0x42 | 2 << 10 | 0xFFF << 20)
            + struct.pack("<I", len(big)) + big + record(0x42, 0, b"q"))
    roots = tree(data)
    assert [n.tag for n in roots] == [0x42, 0x42]
    assert [n.tag for n in roots[0].children] == [0x43, 0x47]
    assert roots[0].children[1].ctrl_id() == "tbl "
    assert [len(n.payload) for n in roots[0].children[1].children] == [0, 5000]


# -- .hwpx (OWPML) -----------------------------------------------------------------------------

GENERAL_FORM = DATA / "kordoc-general-draft-form.hwpx"  # npm kordoc 4.14.1's templates (MIT):
SIMPLE_FORM = DATA / "kordoc-simple-draft-form.hwpx"  # Korean government draft document forms
_NS = ('xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph" '
       'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" '
       'xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head"')


def test_government_draft_forms_are_read():
    doc = load(GENERAL_FORM)
    assert detect_format(GENERAL_FORM) == "hwpx" and doc.loader == "Hangul XML reader (lxml)"
    texts = [t for _, t in _blocks(doc, 1)]
    assert texts[:3] == ["수신", "(경유)", "제목"] and "붙임 1부. 끝." in texts
    assert place(str(GENERAL_FORM), 1) == "page 1"
    tables = [t for k, t in _blocks(load(SIMPLE_FORM), 1) if k == "table"]
    assert "생산등록번호: 결재일" in tables[0].splitlines()


def _line(vert: int, pos: int = 0) -> str:
    return (f'<hp:linesegarray><hp:lineseg textpos="{pos}" vertpos="{vert}" horzpos="0"/>'
            '</hp:linesegarray>')


def _para(body: str, vert: int, style: str = "0") -> str:
    return f'<hp:p styleIDRef="{style}" paraPrIDRef="0"><hp:run>{body}</hp:run>{_line(vert)}</hp:p>'


def _made_hwpx(path: Path, section: str, *, manifest: str = "") -> Path:
    """The real form with its section and styles replaced: what Hangul writes for headings,
    tabs, notes, text boxes, tables and a second page."""
    with zipfile.ZipFile(GENERAL_FORM) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "Contents/section0.xml":
                data = f'<hs:sec {_NS}>{section}</hs:sec>'.encode()
            elif info.filename == "Contents/header.xml":
                data = (f'<hh:head {_NS}><hh:refList><hh:styles>'
                        '<hh:style id="0" type="PARA" name="바탕글" engName="Normal"/>'
                        '<hh:style id="1" type="PARA" name="개요 1" engName="Outline 1"/>'
                        '</hh:styles></hh:refList></hh:head>').encode()
            elif info.filename == "META-INF/manifest.xml" and manifest:
                data = manifest.encode()
            out.writestr(info, data)
    return path


def test_a_made_hwpx_keeps_headings_notes_boxes_tables_and_pages(tmp_path):
    cell = ('<hp:tc><hp:subList><hp:p><hp:run><hp:t>{}</hp:t></hp:run></hp:p></hp:subList>'
            '<hp:cellAddr colAddr="{}" rowAddr="{}"/></hp:tc>')
    section = "".join([
        _para("<hp:t>1. 추진 배경</hp:t>", 0, style="1"),
        _para('<hp:t>회의 일시<hp:tab/>3월 4일</hp:t><hp:ctrl><hp:footNote><hp:subList><hp:p>'
              '<hp:run><hp:t>장소는 별관 2층</hp:t></hp:run></hp:p></hp:subList></hp:footNote>'
              '<hp:header><hp:subList><hp:p><hp:run><hp:t>머리말</hp:t></hp:run></hp:p>'
              '</hp:subList></hp:header></hp:ctrl>', 1000),
        _para('<hp:rect><hp:drawText><hp:subList><hp:p><hp:run><hp:t>글상자 내용</hp:t>'
              '</hp:run></hp:p></hp:subList></hp:drawText></hp:rect>', 2000),
        _para('<hp:tbl><hp:tr>' + cell.format("구분", 0, 0) + cell.format("금액", 1, 0)
              + '</hp:tr><hp:tr>' + cell.format("예산", 0, 1) + cell.format("3,500만 원", 1, 1)
              + '</hp:tr><hp:tr>' + cell.format("집행", 0, 2) + cell.format("1,200만 원", 1, 2)
              + '</hp:tr></hp:tbl>', 3000),
        _para("<hp:t>둘째 쪽의 문단</hp:t>", 0),  # above the last line: a new page
    ])
    doc = load(_made_hwpx(tmp_path / "보고서.hwpx", section))
    first = _blocks(doc, 1)
    assert first[0] == ("heading", "1. 추진 배경")
    assert ("paragraph", "회의 일시 3월 4일") in first and ("paragraph", "글상자 내용") in first
    assert ("paragraph", "Note 1: 장소는 별관 2층") in first
    assert not any("머리말" in t for _, t in first)  # a running header: not read
    assert ("table", "구분: 예산; 금액: 3,500만 원\n구분: 집행; 금액: 1,200만 원") in first
    assert _blocks(doc, 2) == [("paragraph", "둘째 쪽의 문단")]


def test_mislabelled_and_encrypted_hwpx(tmp_path):
    bare = tmp_path / "download"
    shutil.copy(GENERAL_FORM, bare)
    assert detect_format(bare) == "hwpx"
    with zipfile.ZipFile(tmp_path / "photos.hwpx", "w") as plain:
        plain.writestr("a.txt", "hello")
    assert skip_reason(tmp_path / "photos.hwpx") == \
        "not a Hangul document (a zip archive without Hangul's mimetype)"
    locked = _made_hwpx(tmp_path / "locked.hwpx", _para("<hp:t>x</hp:t>", 0), manifest=(
        '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<odf:file-entry odf:full-path="Contents/section0.xml"><odf:encryption-data/>'
        '</odf:file-entry></odf:manifest>'))
    with pytest.raises(LoadError, match=r"^encrypted Hangul document \(password protected\)$"):
        load(locked)
