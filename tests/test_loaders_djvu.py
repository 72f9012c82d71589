"""DjVu scans: real files made by DjVuLibre's own encoders (cjb2 for a bitonal scan, c44 for a
grayscale one, djvm to bind pages, djvused to add the hidden text layer an OCR program writes),
read through DjVuLibre and Tesseract."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest import progress
from engine.ingest.document import LoadError, LoadOptions
from engine.ingest.loaders import detect_format, djvu, load, skip_reason

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("cjb2", "c44", "djvm", "djvused", "ddjvu", "tesseract")),
    reason="needs DjVuLibre (djvulibre-bin) and Tesseract")

SENTENCES = [
    "The harbour survey found seventeen corroded mooring chains near the eastern pier.",
    "Volunteers counted four hundred puffins nesting on the northern cliffs in spring.",
]
#: What an OCR program wrote into page 1's hidden text layer (two lines of one paragraph, then
#: a second paragraph).
TEXT_LAYER = """(page 0 0 1700 2200
 (para 150 1700 1600 1900
  (line 150 1850 1600 1900 "The harbour survey found seventeen corroded")
  (line 150 1780 1600 1830 "mooring chains near the eastern pier."))
 (para 150 1500 1600 1600
  (line 150 1500 1600 1550 "Report filed by the harbour master.")))
"""


def _scan(path: Path, text: str) -> Path:
    """A 200 dpi page image with ``text`` in large type (PGM, plus PBM for the bitonal coder)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("DejaVuSans.ttf", 40)
    image = Image.new("L", (1700, 2200), 255)
    ImageDraw.Draw(image).multiline_text((150, 300), "\n".join(textwrap.wrap(text, 45)),
                                         fill=0, font=font, spacing=20)
    image.save(path.with_suffix(".pgm"))
    image.point(lambda v: 255 if v > 128 else 0).convert("1").save(path.with_suffix(".pbm"))
    return path


@pytest.fixture(scope="module")
def djvus(tmp_path_factory) -> dict[str, Path]:
    """book.djvu (page 1 with a text layer, page 2 a bare grayscale scan), bare.djvu (two bare
    pages), single.djvu (one bitonal page)."""
    folder = tmp_path_factory.mktemp("djvu")
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True, timeout=60)  # noqa: E731
    for n, sentence in enumerate(SENTENCES, start=1):
        _scan(folder / f"p{n}", sentence)
    run("cjb2", "-dpi", "200", str(folder / "p1.pbm"), str(folder / "p1.djvu"))
    run("c44", "-dpi", "200", str(folder / "p2.pgm"), str(folder / "p2.djvu"))
    run("djvm", "-c", str(folder / "bare.djvu"), str(folder / "p1.djvu"), str(folder / "p2.djvu"))
    shutil.copyfile(folder / "bare.djvu", folder / "book.djvu")
    (folder / "layer.txt").write_text(TEXT_LAYER)
    run("djvused", str(folder / "book.djvu"), "-e",
        f"select 1; set-txt {folder / 'layer.txt'}", "-s")
    shutil.copyfile(folder / "p1.djvu", folder / "single.djvu")
    return {p.name: p for p in folder.glob("*.djvu")}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _reads(text: str, sentence: str) -> bool:
    want = re.findall(r"[a-z0-9]+", sentence.lower())
    return sum(w in _words(text) for w in want) >= 0.9 * len(want)


def test_text_layer_is_read_and_a_bare_page_is_ocrd(djvus):
    got: list[str] = []
    progress.set_reporter(got.append)
    try:
        doc = load(djvus["book.djvu"])
    finally:
        progress.set_reporter(None)
    assert detect_format(djvus["book.djvu"]) == "djvu"
    assert doc.format == "djvu" and [p.number for p in doc.pages] == [1, 2]
    # page 1: the text layer word for word, its paragraphs kept, its lines joined
    assert [b.text for b in doc.pages[0].blocks] == [
        "The harbour survey found seventeen corroded mooring chains near the eastern pier.",
        "Report filed by the harbour master."]
    assert _reads(doc.pages[1].text, SENTENCES[1])  # page 2 by OCR
    assert doc.loader == "DjVu text layer (DjVuLibre) + OCR (Tesseract) on 1 of 2 pages"
    assert got == ["OCR page 2 of 2"]  # only the page without text went to Tesseract


def test_a_scan_without_any_text_layer_is_ocrd_page_by_page(djvus):
    doc = load(djvus["bare.djvu"])
    assert len(doc.pages) == 2
    for page, sentence in zip(doc.pages, SENTENCES, strict=True):
        assert _reads(page.text, sentence)
    single = load(djvus["single.djvu"])  # one page, not bound by djvm
    assert len(single.pages) == 1 and _reads(single.pages[0].text, SENTENCES[0])


def test_ocr_off_keeps_the_text_layer_and_marks_the_file_for_later(djvus):
    doc = load(djvus["book.djvu"], options=LoadOptions(ocr=False))
    assert "seventeen corroded mooring chains" in doc.pages[0].text
    assert doc.pages[1].text == ""
    assert doc.metadata["ocr_off_pages"] == "1"  # read again once OCR is on
    assert doc.loader.endswith("; 1 of 2 pages without text (OCR is off)")
    with pytest.raises(LoadError, match=r"^no extractable text \(scanned or image-only, and "
                                        r"OCR is off\?\)$"):
        load(djvus["bare.djvu"], options=LoadOptions(ocr=False))


def test_damaged_and_mislabelled_files_get_one_line_reasons(djvus, tmp_path):
    data = djvus["book.djvu"].read_bytes()
    truncated = tmp_path / "truncated.djvu"
    truncated.write_bytes(data[: len(data) // 3])
    with pytest.raises(LoadError) as info:
        load(truncated)
    message = str(info.value)
    assert message.startswith("corrupt or unreadable DjVu (") and "\n" not in message
    text = tmp_path / "notes.djvu"
    text.write_text("not a scan at all")
    assert skip_reason(text) == "not a DjVu file (no AT&T FORM header; mislabelled?)"
    include = tmp_path / "shared.djvu"
    include.write_bytes(b"AT&TFORM\x00\x00\x00\x10DJVIINCL\x00\x00\x00\x00")
    assert skip_reason(include).startswith("a DjVu include file")


def test_missing_djvulibre_names_the_package(djvus, monkeypatch):
    monkeypatch.setattr(djvu.shutil, "which", lambda name: None)
    with pytest.raises(LoadError, match=r"^reading DjVu needs DjVuLibre: sudo apt install "
                                        r"djvulibre-bin$"):
        load(djvus["book.djvu"])


@given(st.lists(st.lists(st.text(alphabet="abc xyz.", min_size=1, max_size=20), min_size=1,
                         max_size=3), min_size=1, max_size=4))
def test_text_layer_marks_become_paragraphs_and_lines(paragraphs):
    """Paragraph marks end blocks; no mark survives; every word is kept, in order."""
    raw = "\x1f".join("\x0b".join(lines) for lines in paragraphs)
    blocks = djvu.text_layer_blocks(raw)
    joined = " ".join(b.text for b in blocks)
    assert not re.search("[\x0b\x1d\x1f]", joined)
    assert joined.split() == [w for lines in paragraphs for line in lines for w in line.split()]
    assert len(blocks) <= len(paragraphs)


def test_an_indexed_djvu_is_searched_and_cited_at_its_page(djvus, tmp_path):
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copyfile(djvus["book.djvu"], folder / "harbour.djvu")
    summary = index_paths([folder])
    assert summary.files_indexed == 1 and not summary.files_failed
    hit = search("puffins nesting northern cliffs", mode="text", k=1)[0]
    assert hit.path.endswith("harbour.djvu") and hit.page == 2
    assert index_paths([folder]).files_indexed == 0


def test_without_tesseract_the_text_layers_are_still_read(djvus, monkeypatch):
    from engine.ingest.loaders import ocr

    def missing():
        raise LoadError(ocr.INSTALL_HINT)

    monkeypatch.setattr(ocr, "find_tesseract", missing)
    doc = load(djvus["book.djvu"])
    assert "seventeen corroded mooring chains" in doc.pages[0].text
    assert doc.pages[1].text == ""
    assert doc.loader.endswith(f"; 1 of 2 pages without text (not OCR'd: {ocr.INSTALL_HINT})")
    assert "ocr_off_pages" not in doc.metadata  # OCR is on: turning it on changes nothing
    with pytest.raises(LoadError, match=re.escape(ocr.INSTALL_HINT)):
        load(djvus["bare.djvu"])
