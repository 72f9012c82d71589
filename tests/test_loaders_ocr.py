"""OCR of images and scanned PDF pages with the real Tesseract (issue 13).

The scans are made here: a two-page text PDF (fpdf2, large clear type) is rendered with pypdfium2
and the page images are saved as PNG, as a two-frame TIFF, and embedded in an image-only PDF and
a mixed PDF (page 1 text, page 2 image). OCR output is compared on normalised words, since
Tesseract may differ from the source in punctuation or case.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ingest import progress
from engine.ingest.document import LoadError, LoadOptions
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders import ocr as ocr_mod

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="needs the tesseract command (tesseract-ocr)")

SENTENCES = [
    "The harbour survey found seventeen corroded mooring chains near the eastern pier.",
    "Volunteers counted four hundred puffins nesting on the northern cliffs in spring.",
]
RENDER_DPI = 150  # what the "scanner" produced; the PDF loader renders at its own DPI


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _assert_reads(text: str, sentence: str) -> None:
    """At least 90 % of the sentence's words are in the OCR'd text."""
    have = set(_words(text))
    want = _words(sentence)
    found = sum(w in have for w in want)
    assert found >= 0.9 * len(want), (sentence, text)


def _text_pdf(path: Path, pages: list[str | None]) -> Path:
    """One page per entry: a sentence in large type, or (a Path) a full-page image."""
    from fpdf import FPDF

    pdf = FPDF()
    for item in pages:
        pdf.add_page()
        if isinstance(item, Path):
            pdf.image(str(item), x=0, y=0, w=pdf.w, h=pdf.h)
        else:
            pdf.set_font("helvetica", size=22)
            pdf.multi_cell(w=0, h=12, text=item)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[str, Path]:
    """text.pdf, page1.png, page2.png, pages.tif (2 frames), scanned.pdf, mixed.pdf."""
    import pypdfium2 as pdfium

    folder = tmp_path_factory.mktemp("scans")
    text_pdf = _text_pdf(folder / "text.pdf", list(SENTENCES))
    pdf = pdfium.PdfDocument(text_pdf)
    images = []
    for index in range(len(pdf)):
        page = pdf[index]
        bitmap = page.render(scale=RENDER_DPI / 72, grayscale=True)
        image = bitmap.to_pil().copy()
        bitmap.close()
        page.close()
        images.append(image)
    pdf.close()
    # The TIFF first: Pillow 13 keeps a PNG save's encoder settings on the image, and a later
    # libtiff save then passes them on and fails.
    images[0].save(folder / "pages.tif", save_all=True, append_images=images[1:],
                   compression="tiff_lzw")
    for number, image in enumerate(images, start=1):
        image.save(folder / f"page{number}.png", dpi=(RENDER_DPI, RENDER_DPI))
    pngs = [folder / "page1.png", folder / "page2.png"]
    _text_pdf(folder / "scanned.pdf", pngs)
    _text_pdf(folder / "mixed.pdf", [SENTENCES[0], pngs[1]])
    return {p.name: p for p in folder.iterdir()}


@pytest.fixture
def reports():
    """Progress messages sent during the test."""
    got: list[str] = []
    progress.set_reporter(got.append)
    yield got
    progress.set_reporter(None)


def test_png_is_read_by_ocr(scans, reports):
    doc = load(scans["page1.png"])
    assert doc.format == "image"
    assert doc.title == "page1.png"
    assert doc.loader.startswith("OCR (Tesseract 5.") and doc.loader.endswith(", eng)")
    assert [p.number for p in doc.pages] == [1]
    _assert_reads(doc.pages[0].text, SENTENCES[0])
    assert all(b.kind == "paragraph" for b in doc.pages[0].blocks)
    assert reports == ["OCR page 1 of 1"]


def test_multi_frame_tiff_gives_one_page_per_frame(scans, reports):
    doc = load(scans["pages.tif"])
    assert [p.number for p in doc.pages] == [1, 2]
    for page, sentence in zip(doc.pages, SENTENCES, strict=True):
        _assert_reads(page.text, sentence)
    assert reports == ["OCR page 1 of 2", "OCR page 2 of 2"]


def _has_orientation_data() -> bool:
    return bool(shutil.which("tesseract")) and "osd" in ocr_mod.find_tesseract().languages


@pytest.mark.skipif(not _has_orientation_data(),
                    reason="needs Tesseract's orientation data (tesseract-ocr-osd)")
def test_pages_scanned_upside_down_or_sideways_are_read(scans, tmp_path):
    """A page fed into the scanner the wrong way round, as an image and inside a PDF.

    A page of text, as a scanned letter is: Tesseract needs a few lines to tell which way up
    they are (a one-line page is read as it lies)."""
    import pypdfium2 as pdfium

    letter = _text_pdf(tmp_path / "letter.pdf", [" ".join([*SENTENCES, *SENTENCES[::-1]] * 2)])
    pdf = pdfium.PdfDocument(letter)
    bitmap = pdf[0].render(scale=RENDER_DPI / 72, grayscale=True)
    page = bitmap.to_pil().copy()
    bitmap.close()
    pdf.close()
    page.rotate(180, expand=True).save(tmp_path / "upside_down.png")
    page.rotate(90, expand=True).save(tmp_path / "sideways.png")
    for name in ("upside_down.png", "sideways.png"):
        _assert_reads(load(tmp_path / name).pages[0].text, SENTENCES[0])
    pdf = _text_pdf(tmp_path / "turned.pdf", [tmp_path / "upside_down.png"])
    _assert_reads(load(pdf).pages[0].text, SENTENCES[0])
    assert ocr_mod.page_mode(ocr_mod.find_tesseract()) == "1"


def test_webp_and_gif_screenshots_are_read(scans, tmp_path, reports):
    """Screenshots saved as WebP (browsers, Android) and GIF are read like PNGs; an animated
    GIF's frames are moments of one picture, so only its first frame is read."""
    from PIL import Image

    page1 = Image.open(scans["page1.png"])
    page1.save(tmp_path / "shot.webp", lossless=True)
    page1.convert("P").save(tmp_path / "shot.gif")
    blank = Image.new("L", page1.size, 255)
    page1.convert("L").save(tmp_path / "anim.gif", save_all=True, append_images=[blank] * 3,
                            duration=100)
    for name in ("shot.webp", "shot.gif", "anim.gif"):
        assert detect_format(tmp_path / name) == "image"
        doc = load(tmp_path / name)
        assert [p.number for p in doc.pages] == [1], name
        _assert_reads(doc.pages[0].text, SENTENCES[0])
    assert reports.count("OCR page 1 of 1") == 3 and not any("of 4" in r for r in reports)
    # a text file named .webp is not an image
    (tmp_path / "fake.webp").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    assert detect_format(tmp_path / "fake.webp") is None
    assert skip_reason(tmp_path / "fake.webp") == "not a WEBP image (unknown header)"


def test_scanned_pdf_is_ocrd_page_by_page(scans, reports):
    doc = load(scans["scanned.pdf"])
    assert doc.format == "pdf"
    assert [p.number for p in doc.pages] == [1, 2]
    for page, sentence in zip(doc.pages, SENTENCES, strict=True):
        _assert_reads(page.text, sentence)
    assert doc.loader == "PDF text layer (pypdfium2) + OCR (Tesseract) on 2 of 2 pages"
    assert reports == ["OCR page 1 of 2", "OCR page 2 of 2"]


def test_mixed_pdf_ocrs_only_the_image_page(scans, reports):
    doc = load(scans["mixed.pdf"])
    assert doc.pages[0].text == SENTENCES[0]  # the text layer, verbatim: not OCR'd
    _assert_reads(doc.pages[1].text, SENTENCES[1])
    assert doc.loader == "PDF text layer (pypdfium2) + OCR (Tesseract) on 1 of 2 pages"
    assert reports == ["OCR page 2 of 2"]


def test_text_pdf_is_not_ocrd(scans, reports):
    doc = load(scans["text.pdf"])
    assert doc.loader == "PDF text layer (pypdfium2)"
    assert [p.text for p in doc.pages] == SENTENCES
    assert reports == []


def _type3_pdf(path: Path, line: str) -> Path:
    """A page showing ``line`` in a Type 3 font without a Unicode mapping: each glyph is a
    procedure (here drawing the letter in Helvetica) named /g1, /g2 ..., as old TeX and some
    report generators write them; the text layer holds the glyph codes, not the letters."""
    from tests.test_loaders import _write_pdf

    letters = sorted(set(line))
    width = {ch: 280 if ch == " " else 720 for ch in letters}
    procs = [f"{width[ch]} 0 d0" + ("" if ch == " " else f" BT /F1 1000 Tf 0 0 Td ({ch}) Tj ET")
             for ch in letters]
    shown = "".join(f"\\{letters.index(ch) + 1:03o}" for ch in line)
    content = f"BT /T3 24 Tf 40 100 Td ({shown}) Tj ET"
    names = [f"/g{i + 1}" for i in range(len(letters))]
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 500 200] /Contents 4 0 R "
        "/Resources << /Font << /T3 5 0 R >> >> >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] "
        "/FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << "
        + " ".join(f"{name} {7 + i} 0 R" for i, name in enumerate(names))
        + f" >> /Encoding << /Type /Encoding /Differences [1 {' '.join(names)}] >> "
        f"/FirstChar 1 /LastChar {len(letters)} "
        f"/Widths [{' '.join(str(width[ch]) for ch in letters)}] "
        "/Resources << /Font << /F1 6 0 R >> >> >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ] + [f"<< /Length {len(proc)} >>\nstream\n{proc}\nendstream" for proc in procs]
    return _write_pdf(path, objects)


def test_text_in_a_font_without_unicode_mapping_is_read_by_ocr(tmp_path):
    """A page whose text layer gives glyph codes (control characters) for the letters it
    shows is read by OCR, not dropped as "no extractable text" (ocrmypdf's
    type3_font_nomapping.pdf); with OCR off the file says OCR would read it."""
    path = _type3_pdf(tmp_path / "type3.pdf", "BERTH FEES ARE DUE")
    doc = load(path)
    assert doc.loader == "PDF text layer (pypdfium2) + OCR (Tesseract) on 1 of 1 pages"
    _assert_reads(doc.pages[0].text, "BERTH FEES ARE DUE")
    with pytest.raises(LoadError, match=r"OCR is off\?"):
        load(path, options=LoadOptions(ocr=False))


def test_ocr_off(scans, reports):
    off = LoadOptions(ocr=False)
    with pytest.raises(LoadError, match=r"^image needs OCR, which is turned off \(setting ocr\)$"):
        load(scans["page1.png"], options=off)
    with pytest.raises(LoadError, match=r"scanned or image-only, and OCR is off\?"):
        load(scans["scanned.pdf"], options=off)
    mixed = load(scans["mixed.pdf"], options=off)
    assert [p.text for p in mixed.pages] == [SENTENCES[0], ""]
    assert mixed.loader == "PDF text layer (pypdfium2); 1 of 2 pages without text (OCR is off)"
    assert reports == []


def test_missing_tesseract_gives_install_hint(scans, monkeypatch):
    monkeypatch.setattr(ocr_mod.shutil, "which", lambda name, *a, **k: None)
    hint = "reading images needs Tesseract OCR: sudo apt install tesseract-ocr tesseract-ocr-eng"
    for name in ("page1.png", "scanned.pdf"):
        with pytest.raises(LoadError) as info:
            load(scans[name])
        assert str(info.value) == hint
    mixed = load(scans["mixed.pdf"])  # the text page still loads; the loader says what is missing
    assert mixed.pages[0].text == SENTENCES[0]
    assert mixed.loader.endswith(f"1 of 2 pages without text (not OCR'd: {hint})")


def test_missing_language_is_named(scans):
    with pytest.raises(LoadError) as info:
        load(scans["page1.png"], options=LoadOptions(ocr_languages="eng+xyz"))
    message = str(info.value)
    assert "\n" not in message
    assert "OCR language 'xyz' is not installed" in message
    assert "tesseract-ocr-xyz" in message


def test_corrupt_and_truncated_images(scans, tmp_path):
    from PIL import Image

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    cut = tmp_path / "cut.png"
    data = scans["page1.png"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    header_cut = tmp_path / "header-cut.jpg"  # its comment segment ends early: open() fails
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "JPEG", comment=b"x" * 200)
    header_cut.write_bytes(buffer.getvalue()[:100])
    for path in (junk, cut, header_cut):
        with pytest.raises(LoadError) as info:
            load(path)
        message = str(info.value)
        assert message.startswith("corrupt") and "\n" not in message and len(message) < 200


def test_page_timeout_kills_tesseract(scans, monkeypatch):
    monkeypatch.setattr(ocr_mod, "PAGE_TIMEOUT_S", 0.001)
    with pytest.raises(LoadError, match=r"^OCR of page 1 took longer than 0.001 s; the file"):
        load(scans["scanned.pdf"])


def test_big_images_are_scaled_down():
    assert ocr_mod.fit_scale(2480, 3508) == 1.0  # A4 at 300 dpi goes as it is
    scale = ocr_mod.fit_scale(9920, 14032)  # A4 at 1200 dpi
    assert 9920 * 14032 * scale**2 <= ocr_mod.MAX_PIXELS * 1.0001
    assert 30_000 * ocr_mod.fit_scale(1000, 30_000) <= ocr_mod.MAX_SIDE


def test_ocr_paragraphs_join_lines_and_undo_hyphens():
    text = "The engi-\nneers met\nat noon.\n\n- first item\n- second item\n\x0c"
    blocks = ocr_mod.text_blocks(text)
    assert [b.text for b in blocks] == ["The engineers met at noon.",
                                        "- first item\n- second item"]


def test_ocr_numbered_headings_on_lines_of_their_own_are_headings():
    """Scanned manuals and reports keep their sections as numbered lines; a list item ("1.")
    or a line of running text is not one."""
    text = ("2 Mooring\n\n2.1 What is checked?\n\nThe chains are checked\nevery spring.\n\n"
            "1. Bring the logbook\n\n3 apples were found\n\nA.2 Tide tables\n")
    assert [(b.kind, b.level, b.text) for b in ocr_mod.text_blocks(text)] == [
        ("heading", 1, "2 Mooring"), ("heading", 2, "2.1 What is checked?"),
        ("paragraph", 0, "The chains are checked every spring."),
        ("paragraph", 0, "1. Bring the logbook"), ("paragraph", 0, "3 apples were found"),
        ("heading", 2, "A.2 Tide tables")]


def test_a_scanned_report_keeps_its_numbered_sections(tmp_path):
    import pypdfium2 as pdfium

    source = _text_pdf(tmp_path / "report.pdf", [f"3.2 Mooring chains\n\n{SENTENCES[0]}"])
    pdf = pdfium.PdfDocument(source)
    image = pdf[0].render(scale=RENDER_DPI / 72, grayscale=True).to_pil().copy()
    pdf.close()
    image.save(tmp_path / "scan.png", dpi=(RENDER_DPI, RENDER_DPI))
    blocks = load(tmp_path / "scan.png").pages[0].blocks
    assert (blocks[0].kind, blocks[0].level, blocks[0].text) == (
        "heading", 2, "3.2 Mooring chains")
    _assert_reads(blocks[1].text, SENTENCES[0])


@pytest.mark.slow
def test_scanned_pdf_is_searchable_end_to_end(scans, tmp_path):
    """Through the parser child (progress messages on the same pipe) into the index."""
    from engine.indexer import index_paths
    from engine.retrieve import search

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(scans["scanned.pdf"], folder / "scanned.pdf")
    summary = index_paths([folder])
    assert summary.files_failed == [] and summary.files_indexed == 1
    hits = search(SENTENCES[1], mode="text")
    assert hits and hits[0].path.endswith("scanned.pdf")
    assert hits[0].page == 2
    _assert_reads(hits[0].text, SENTENCES[1])


def test_an_image_without_words_is_skipped_not_failed(scans, tmp_path):
    """A photo or an icon is fine, it just holds no text: skipped, remembered, not read again."""
    from PIL import Image

    from engine.indexer import index_paths
    from engine.ingest.document import NothingToRead

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (320, 200), (40, 120, 200)).save(folder / "sky.png")  # a plain photo
    shutil.copy(scans["page1.png"], folder / "note.png")
    with pytest.raises(NothingToRead, match=r"^no text in this image$"):
        load(folder / "sky.png")
    summary = index_paths([folder], "photos")
    assert summary.files_failed == [] and summary.files_indexed == 1
    assert summary.files_skipped == [{"path": str(folder / "sky.png"),
                                      "reason": "no text in this image"}]
    from engine.index import Collection

    record = Collection.open("photos").documents()[str(folder / "sky.png")]
    assert record.status == "empty"
    again = index_paths([folder], "photos")  # recorded: the photo is not OCR'd again
    assert again.files_unchanged == 1 and again.files_skipped == summary.files_skipped
    assert again.files_indexed == 0
    assert Collection.open("photos").documents()[str(folder / "sky.png")] == record


def test_phone_photos_avif_and_jpeg_2000_are_read(scans, tmp_path, reports):
    """HEIC (iPhones and many Android phones), AVIF and JPEG 2000 (archives' scans) are OCR'd
    like PNGs. A phone photo taken sideways stores its pixels turned, with a rotation that
    libheif applies: the page is read upright, not turned a second time."""
    import pillow_heif
    from PIL import Image

    page = Image.open(scans["page1.png"]).convert("RGB")
    page.save(tmp_path / "scan.avif", quality=90)
    page.save(tmp_path / "scan.jp2")
    page.save(tmp_path / "scan.j2k")
    pillow_heif.from_pillow(page).save(tmp_path / "receipt.heic", quality=90)
    turned = Image.Exif()
    turned[0x0112] = 6  # "rotate 90 degrees clockwise to view": how a sideways shot is stored
    pillow_heif.from_pillow(page.rotate(90, expand=True)).save(
        tmp_path / "sideways.heic", quality=90, exif=turned.tobytes())
    for name in ("scan.avif", "scan.jp2", "scan.j2k", "receipt.heic", "sideways.heic"):
        assert detect_format(tmp_path / name) == "image", name
        doc = load(tmp_path / name)
        assert doc.format == "image" and [p.number for p in doc.pages] == [1], name
        _assert_reads(doc.pages[0].text, SENTENCES[0])
    assert reports.count("OCR page 1 of 1") == 5


def test_heif_and_avif_are_told_from_video_and_damage(scans, tmp_path):
    """An .heic that is an MP4 video (the same box format) or a damaged photo: one line each."""
    import pillow_heif
    from PIL import Image

    (tmp_path / "clip.heic").write_bytes(
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64)
    assert skip_reason(tmp_path / "clip.heic") == "not a HEIC image (unknown header)"
    (tmp_path / "clip.avif").write_bytes((tmp_path / "clip.heic").read_bytes())
    assert detect_format(tmp_path / "clip.avif") is None
    page = Image.open(scans["page1.png"]).convert("RGB")
    pillow_heif.from_pillow(page).save(tmp_path / "whole.heic", quality=60)
    data = (tmp_path / "whole.heic").read_bytes()
    (tmp_path / "cut.heic").write_bytes(data[: len(data) // 2])
    with pytest.raises(LoadError) as info:
        load(tmp_path / "cut.heic")
    message = str(info.value)
    assert message.startswith("corrupt") and "\n" not in message and len(message) < 200


@given(st.binary(max_size=80), st.binary(min_size=4, max_size=4))
def test_image_container_never_raises_on_any_bytes(tail, brand):
    from engine.ingest.loaders.formats import image_container

    for head in (tail, b"\x00\x00\x00\x18ftyp" + brand + tail, b"RIFF" + tail):
        assert image_container(head) in (None, "webp", "heif", "avif")
    assert image_container(b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00heic") == "heif"
    assert image_container(b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00avif") == "avif"


def test_a_word_document_of_scanned_pages_is_read_by_ocr(scans, reports, tmp_path):
    """Pages scanned and pasted into Word: a page per picture, read by OCR; with OCR off, a
    one-line failure that says why, marked to be read again once OCR is on. A document with
    text of its own keeps its pictures unread."""
    import docx
    from docx.shared import Inches

    from engine.ingest.revisions import OCR_OFF_KEY

    scanned = docx.Document()
    for name in ("page1.png", "page2.png"):
        scanned.add_picture(str(scans[name]), width=Inches(6))
    scanned.save(tmp_path / "scanned.docx")
    doc = load(tmp_path / "scanned.docx")
    assert doc.format == "docx" and [p.number for p in doc.pages] == [1, 2]
    for page, sentence in zip(doc.pages, SENTENCES, strict=True):
        _assert_reads(page.text, sentence)
    assert doc.loader.startswith("python-docx; pictures read by OCR (Tesseract")
    assert reports[:2] == ["OCR picture 1 of 2", "OCR page 1 of 1"]
    with pytest.raises(LoadError, match=r"^no extractable text \(scanned or image-only, and OCR "
                                        r"is off\?\)$"):
        load(tmp_path / "scanned.docx", options=LoadOptions(ocr=False))
    from engine.ingest.loaders.word import load_docx

    assert load_docx(tmp_path / "scanned.docx", LoadOptions(ocr=False)).metadata[OCR_OFF_KEY] == "2"
    report = docx.Document()
    report.add_paragraph("The survey's figures are in the picture below.")
    report.add_picture(str(scans["page2.png"]), width=Inches(6))
    report.save(tmp_path / "report.docx")
    reports.clear()
    doc = load(tmp_path / "report.docx")
    assert [p.number for p in doc.pages] == [1] and reports == []
    assert doc.pages[0].text == "The survey's figures are in the picture below."


def test_slides_that_are_pictures_of_pages_are_read_by_ocr(scans, reports, tmp_path):
    """A deck exported as images: a slide that is a picture alone, or a title over one, has
    its picture read; a picture beside text and a small logo are left alone; the same picture
    on two slides is read once. With OCR off the deck is marked to be read again."""
    import pptx
    from pptx.util import Inches

    from engine.ingest.loaders.slides import load_pptx
    from engine.ingest.revisions import OCR_OFF_KEY

    deck = pptx.Presentation()
    blank, titled = deck.slide_layouts[6], deck.slide_layouts[5]
    page1, page2 = str(scans["page1.png"]), str(scans["page2.png"])
    deck.slides.add_slide(blank).shapes.add_picture(page1, 0, 0, height=deck.slide_height)
    survey = deck.slides.add_slide(titled)
    survey.shapes.title.text = "Spring survey"
    survey.shapes.add_picture(page2, Inches(1), Inches(1.5), height=Inches(5.5))
    beside = deck.slides.add_slide(blank)
    beside.shapes.add_textbox(0, 0, Inches(4), Inches(1)).text_frame.text = "Our harbour today."
    beside.shapes.add_picture(page1, Inches(4), 0, height=deck.slide_height)
    deck.slides.add_slide(blank).shapes.add_picture(page2, 0, 0, height=Inches(1))  # a logo
    deck.slides.add_slide(blank).shapes.add_picture(page1, 0, 0, height=deck.slide_height)
    path = tmp_path / "exported.pptx"
    deck.save(path)

    doc = load(path)
    texts = [page.text for page in doc.pages]
    _assert_reads(texts[0], SENTENCES[0])
    assert texts[1].startswith("Spring survey\n")
    _assert_reads(texts[1], SENTENCES[1])
    assert texts[2] == "Our harbour today." and texts[3] == ""
    assert texts[4] == texts[0]
    assert reports.count("OCR page 1 of 1") == 2  # page1.png once, for slides 1 and 5
    assert doc.loader.startswith("python-pptx; pictures of 3 slides read by OCR (Tesseract")
    off = load_pptx(path, LoadOptions(ocr=False))
    assert off.metadata[OCR_OFF_KEY] == "3" and [p.text for p in off.pages][:2] == [
        "", "Spring survey"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_an_old_word_document_of_scanned_pages_follows_the_ocr_setting(scans, tmp_path):
    """The same scans saved as Word 97 (.doc): read through its DOCX conversion, by OCR only
    when OCR is on."""
    import docx
    from docx.shared import Inches

    from engine.ingest.loaders.legacy import convert

    scanned = docx.Document()
    scanned.add_picture(str(scans["page1.png"]), width=Inches(6))
    scanned.save(tmp_path / "scan.docx")
    work = tmp_path / "work"
    work.mkdir()
    old = convert(tmp_path / "scan.docx", "doc", work)
    doc = load(old)
    assert doc.format == "doc" and len(doc.pages) == 1
    _assert_reads(doc.pages[0].text, SENTENCES[0])
    assert "(converted to DOCX); pictures read by OCR (Tesseract" in doc.loader
    with pytest.raises(LoadError, match=r"OCR is off\?\)$"):
        load(old, options=LoadOptions(ocr=False))
