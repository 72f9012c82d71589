"""PDF via pypdfium2: one Page per PDF page, with paragraphs and headings recovered from layout.

PDFium returns a page's text as lines with no notion of paragraphs. Chunking line by line would cut
sentences, so lines are regrouped here: a larger gap between baselines than the body's usual
leading starts a new paragraph, and a line set in a font clearly larger than the document's body
text becomes a heading (levels ranked by size across the whole document). A bold line counts at a
smaller step: LaTeX sets a subsection in 12 pt bold over 10.95 pt text (1.10 times), and a
subsubsection at body size, which is a heading when it is numbered ("2.3.1 Limits") and a line of
its own; without that, a LaTeX document's subsections ran into the text. Only five characters
per line are asked for their position and size, which keeps big PDFs fast; the line takes the
size most of them share, so a bullet glyph or a code word that starts a line does not cut its
paragraph in two (measured on a DocBook spec: "magic-deleteall" in a 9 pt code font began a
wrapped line of 10 pt text, and 8 pt bullets began every list item).

A table's rows are read as rows that name their columns ("Date: 2025-03-09; Amount: -1,100.00"),
not run together into a paragraph of numbers (:mod:`engine.ingest.loaders.pdf_tables`).

Pages without a text layer (a scan, a photo, text drawn as outlines; see :func:`_needs_ocr`) are
rendered one at a time and read with Tesseract (:mod:`engine.ingest.loaders.ocr`), only those
pages, so a mixed PDF keeps its real text elsewhere. Pages that render blank are not OCR'd.

PDFium is not thread-safe; the indexer runs loaders in a child process, one file at a time.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.ingest import progress
from engine.ingest.document import Block, Document, LoadError, LoadOptions, Page
from engine.ingest.loaders import ocr
from engine.ingest.loaders.common import (
    NUMBERED_HEADING,
    clean_inline,
    library_errors,
    one_line,
    short_message,
    table_blocks,
)
from engine.ingest.loaders.page_furniture import strip_running_lines
from engine.ingest.loaders.pdf_forms import page_additions
from engine.ingest.loaders.pdf_tables import LEADER, Cell, find_tables, line_cells
from engine.ingest.revisions import OCR_OFF_KEY

#: How far back from the end of the file an ``%%EOF`` marker must appear (trailing junk happens).
_EOF_WINDOW = 16384
#: Bytes that may pad a PDF after its ``%%EOF`` marker, and how much of them is looked past.
_PADDING = b"\0 \t\r\n\f"
_PADDING_LIMIT = 64 * 1024 * 1024
_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25cf\u25a0\u25a1\u25e6\u27a2\u2756\u2713\u2751\u2013"
                     r"\u00b7*-]|\d{1,3}[.)])\s")
#: Word and LibreOffice set list bullets in the Symbol and Wingdings fonts, whose glyphs a PDF's
#: text layer gives as private-use code points (U+F0B7 for the usual round bullet). Unmapped, a
#: bulleted list of a PDF made from a Word document read as one run-on paragraph of "\uf0b7 A
#: lantern \uf0b7 Two coils ...". Each maps to the character it shows.
_SYMBOL_BULLETS = str.maketrans({
    "\uf0b7": "\u2022", "\uf06c": "\u25cf", "\uf0a7": "\u25aa", "\uf06e": "\u25a0",
    "\uf0a8": "\u25a1", "\uf06f": "\u25a1", "\uf071": "\u2751", "\uf076": "\u2756",
    "\uf0d8": "\u27a2", "\uf0fc": "\u2713", "\uf09f": "\u2022", "\uf0a1": "\u25e6",
})
#: What a text layer gives for glyphs of a font without a Unicode mapping (a Type 3 font, a
#: subset without ToUnicode): control codes, U+FFFD, private-use code points. A page whose text
#: is mostly these shows text that only OCR can read (ocrmypdf's type3_font_nomapping.pdf
#: shows "ua" and read "\x19\x12": "no extractable text").
_UNMAPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
#: A page holding an image whose text layer has fewer non-space characters than this is read by
#: OCR (a scanner's "Page 3" stamp or footer must not hide the scanned page behind it).
MIN_TEXT_CHARS = 20
#: A rendered page whose darkest and lightest pixels differ by less than this is blank.
_BLANK_RANGE = 8
_LOADER = "PDF text layer (pypdfium2)"
#: A line set this much larger than body text is a heading (when short).
HEADING_STEP = 1.15
#: ... and a line wholly in bold this much larger (LaTeX's 12 pt subsections over 10.95 pt).
BOLD_HEADING_STEP = 1.05
#: PDFium's font weight from which a character counts as bold (regular faces report 300-400).
BOLD_WEIGHT = 500
#: A table of contents' line with dot leaders to its page: never a heading, whatever its font
#: (Texinfo sets the chapter lines of a GNU manual's contents in a heading's bold; :func:`_join`
#: has made a long leader one "…").
_LEADERS = re.compile(r"(?:(?:\s?\.){4,}|(?:\s\.){2,}|…)\s*(?:\d{1,4}|[ivxlc]{1,6})$",
                      re.IGNORECASE)
#: A table of contents' line: a section number, its title, the page it starts on.
_CONTENTS_LINE = re.compile(r"^(?:\d{1,2}|[A-Z])(?:\.\d{1,2}){0,4}\.?\s+\S.*\s\d{1,4}$")
#: Bold by name, for fonts that declare no weight (TeX's EC fonts: SFBX1000 reports 250).
_BOLD_NAME = re.compile(rb"(?i:bold|black|heavy|demi)|BX(?:TI|SL)?\d")
#: Where along a line (fractions of its visible characters) its font is sampled.
_SAMPLES = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class _Line:
    text: str
    size: float
    y: float
    bold: bool = False  # every sampled character is bold
    cells: tuple[Cell, ...] = ()  # its pieces, for finding tables (:mod:`.pdf_tables`)

    @property
    def style(self) -> tuple[float, bool]:
        return self.size, self.bold


def _check_complete(path: Path) -> None:
    """A PDF cut short in transfer has no ``%%EOF`` near its end; PDFium would otherwise rebuild
    what it can and silently index half a document. Padding after the marker is not the end:
    some tools save a PDF into a larger zero-filled buffer (pypdf's selenium-pypdf-issue-177.pdf
    ends in 20 KB of NUL bytes), and a complete PDF followed by padding reads as well as without
    it, while a download cut short into a preallocated file has no marker before its zeros."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = end = fh.tell()
        while end > 0 and size - end < _PADDING_LIMIT:  # step back over trailing padding
            start = max(0, end - _EOF_WINDOW)
            fh.seek(start)
            kept = fh.read(end - start).rstrip(_PADDING)
            end = start + len(kept)
            if kept:
                break
        start = max(0, end - _EOF_WINDOW)
        fh.seek(start)
        tail = fh.read(end - start)
    if b"%%EOF" not in tail:
        raise LoadError("truncated PDF (end-of-file marker missing; incomplete download?)")


def _open(path: Path):  # -> pypdfium2.PdfDocument
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        # PDFium keeps its last error across documents and does not set it for every failure:
        # a PDF without pages, read after an encrypted one by the same parser process, was
        # reported "password protected" (pikepdf's newline-buffer-test.pdf). Encryption is
        # believed only of a file that has an encryption dictionary.
        if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY) and not _has_encrypt(
                path):
            code = pdfium_c.FPDF_ERR_SUCCESS
        if code in (None, pdfium_c.FPDF_ERR_SUCCESS):
            raise LoadError("corrupt PDF: PDFium cannot open it (no pages, or a broken "
                            "structure)") from exc
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            raise LoadError("encrypted PDF (password protected)") from exc
        if code == pdfium_c.FPDF_ERR_SECURITY:
            raise LoadError("encrypted PDF (unsupported security handler)") from exc
        if code == pdfium_c.FPDF_ERR_FORMAT:
            raise LoadError("corrupt PDF: not a valid PDF structure") from exc
        raise LoadError(f"corrupt PDF: {one_line(short_message(exc))}") from exc


def _has_encrypt(path: Path) -> bool:
    """Whether the file names an encryption dictionary (``/Encrypt``, in its trailer or its
    cross-reference stream's dictionary, both uncompressed). Read only when opening failed."""
    with path.open("rb") as fh:
        tail = b""
        while block := fh.read(1 << 20):
            if b"/Encrypt" in tail + block:
                return True
            tail = block[-16:]
    return False


def _page_lines(textpage) -> list[_Line]:  # textpage: pypdfium2.PdfTextPage
    """The page's text lines, each with its font size and baseline (see :func:`_line_font`)."""
    text = textpage.get_text_range()
    if not text.strip():
        return []
    bmp_only = len(text.encode("utf-16-le")) == 2 * len(text)
    lines: list[_Line] = []
    for match in re.finditer(r"[^\r\n]+", text):
        raw = match.group()
        content = raw.strip()
        if not content:
            continue
        first = match.start() + (len(raw) - len(raw.lstrip()))
        solid = [i for i, ch in enumerate(content) if not ch.isspace()]
        picks = sorted({first + solid[round(f * (len(solid) - 1))] for f in _SAMPLES})
        indexes = picks if bmp_only else [len(text[:i].encode("utf-16-le")) // 2 for i in picks]
        size, baseline, bold, upright = _line_font(textpage, indexes)
        cells: tuple[Cell, ...] = ()
        if bmp_only and upright:
            cells = line_cells(textpage, first, len(content), size)
            content = _spell_spaces(textpage, first, content, size)
        lines.append(_Line(content.translate(_SYMBOL_BULLETS), size, baseline, bold, cells))
    return lines


#: A gap between two characters of a line wider than the line's usual gap by this share of the
#: font size is a word space the PDF does not spell out. groff's PDFs (man pages, ``man -Tpdf``)
#: set justified words apart by position alone, and PDFium read "commands to save inahistory
#: list": in bash's manual page 326 of 4,251 words of 9 letters or more ran into the next.
#: Letters there sit 0.03 em apart, words 0.32-0.40 em; a monospaced word's letters 0.15-0.27 em
#: apart (so the line's usual gap counts, not a fixed width), and texinfo's and LibreOffice's
#: PDFs, which spell their spaces, have no such gap.
SPACE_GAP_EM = 0.15


def _spell_spaces(textpage, first: int, content: str, size: float) -> str:
    """``content`` (the line at text index ``first``) with the word spaces its PDF only shows
    by position written in (:data:`SPACE_GAP_EM`)."""
    import pypdfium2.raw as pdfium_c

    if size <= 0 or len(content) < 3:
        return content
    # the loose box spans the glyph's advance, so "c()" or "1:" shows no gap a tight box would
    box, edges = pdfium_c.FS_RECTF(), []
    for index in range(first, first + len(content)):
        pdfium_c.FPDFText_GetLooseCharBox(textpage.raw, index, box)
        edges.append((box.left, box.right))
    gaps = [(i, edges[i][0] - edges[i - 1][1]) for i in range(1, len(content))
            if not content[i].isspace() and not content[i - 1].isspace()]
    if len(gaps) < 2:
        return content
    wide = statistics.median(g for _, g in gaps) + SPACE_GAP_EM * size
    cuts = [i for i, gap in gaps if gap > wide]
    for i in reversed(cuts):
        content = f"{content[:i]} {content[i:]}"
    return content


def _line_font(textpage, text_indexes: list[int]) -> tuple[float, float, bool, bool]:
    """(size, baseline, bold, upright) of a line from a few of its visible characters
    (:data:`_SAMPLES`): the size most of them share (on a tie, the one nearest the middle),
    that character's baseline and whether it is set upright (:func:`_drawn_size`), and
    whether all of them are bold; (0, nan, False, True) when PDFium knows nothing."""
    import pypdfium2.raw as pdfium_c

    x, y = ctypes.c_double(), ctypes.c_double()
    matrix = pdfium_c.FS_MATRIX()
    found: list[tuple[float, float, bool]] = []
    bold = True
    for text_index in text_indexes:
        char_index = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, text_index)
        if char_index < 0:
            continue
        size, upright = _drawn_size(textpage, char_index, matrix)
        baseline = float("nan")
        if pdfium_c.FPDFText_GetCharOrigin(textpage.raw, char_index, x, y):
            baseline = y.value
        found.append((size, baseline, upright))
        bold = bold and _is_bold(textpage, char_index)
    if not found:
        return 0.0, float("nan"), False, True
    counts = Counter(size for size, _, _ in found)
    top = max(counts.values())
    middle = (len(found) - 1) / 2
    size, baseline, upright = min((f for f in found if counts[f[0]] == top),
                                  key=lambda f: abs(found.index(f) - middle))
    return size, baseline, bold, upright


#: A ``Tf`` size below this is type scaled by its matrix (:func:`_drawn_size`); at or above it,
#: the size is taken as drawn, which spares every ordinary PDF a call per sampled character.
SCALED_TYPE_BELOW = 4.0


def _drawn_size(textpage, char_index: int, matrix) -> tuple[float, bool]:
    """(size, upright) of a character as drawn. PDFium gives a character's size as the ``Tf``
    operand, and some producers set every font at size 1 and scale it with the text matrix
    (InDesign; the "Document 1 sans titre" of pypdf's selenium-pypdf-issue-177.pdf: 1 pt type
    drawn at 11 pt). Read at size 1, every line was the same size, no heading was found, and
    rounding noise between letters read as word spaces ("Fichie r : Do cum e nt"). Such type is
    measured by its matrix's vertical scale, and a line of it turned on its side is not upright
    (gaps are measured along x: a drawing's "27 mm" was cut up into "2 7 m m")."""
    import pypdfium2.raw as pdfium_c

    size = float(pdfium_c.FPDFText_GetFontSize(textpage.raw, char_index))
    if size >= SCALED_TYPE_BELOW or not pdfium_c.FPDFText_GetMatrix(textpage.raw, char_index,
                                                                     matrix):
        return round(size, 1), True
    scale = math.hypot(matrix.c, matrix.d)
    upright = abs(matrix.b) + abs(matrix.c) <= 0.05 * (abs(matrix.a) + abs(matrix.d))
    return round(size * scale if scale > 0 else size, 1), upright


def _is_bold(textpage, char_index: int) -> bool:  # textpage: pypdfium2.PdfTextPage
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFText_GetFontWeight(textpage.raw, char_index) >= BOLD_WEIGHT:
        return True
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    size = pdfium_c.FPDFText_GetFontInfo(textpage.raw, char_index, name, len(name),
                                         ctypes.byref(flags))
    return bool(size) and bool(_BOLD_NAME.search(name.value))


def _body_style(pages: list[list[_Line]]) -> tuple[float, bool]:
    """The (font size, bold) carrying the most characters: the document's body text."""
    weights: Counter[tuple[float, bool]] = Counter()
    for lines in pages:
        for line in lines:
            weights[line.style] += len(line.text)
    return weights.most_common(1)[0][0] if weights else (0.0, False)


@dataclass
class _Headings:
    """Heading styles (size, bold) -> level (1 = largest). ``numbered_only``: the styles that
    make a heading only of a numbered line of its own (bold at body size); ``by_bold``: those
    that are headings for being bold, whose table-of-contents lines ("2 Text fonts 4") are not."""

    levels: dict[tuple[float, bool], int]
    numbered_only: set[tuple[float, bool]]
    by_bold: set[tuple[float, bool]]

    def level(self, para: list[_Line], text: str) -> int | None:
        style = para[0].style
        if style in self.numbered_only and not (len(para) == 1 and NUMBERED_HEADING.match(text)):
            return None
        if (style in self.by_bold and _CONTENTS_LINE.match(text)) or _LEADERS.search(text):
            return None
        return self.levels.get(style)


def _heading_levels(pages: list[list[_Line]], body: tuple[float, bool]) -> _Headings:
    """The heading styles of a document whose body text is ``body``: short lines clearly
    larger, bold ones a little larger, and numbered bold lines at body size. Bold steps apply
    only when the body text is not bold itself."""
    size, body_bold = body
    styles: set[tuple[float, bool]] = set()
    bolder: set[tuple[float, bool]] = set()
    numbered: set[tuple[float, bool]] = set()
    for lines in pages:
        for line in lines:
            if not size or len(line.text) > 120:
                continue
            if line.size >= size * HEADING_STEP:
                styles.add(line.style)
            elif line.bold and not body_bold and line.size >= size * BOLD_HEADING_STEP:
                bolder.add(line.style)
            elif (line.bold and not body_bold and line.size >= size * 0.97
                  and NUMBERED_HEADING.match(line.text)):
                numbered.add(line.style)
    bolder -= styles
    numbered -= styles | bolder
    ranked = sorted(styles | bolder | numbered, key=lambda s: (-s[0], not s[1]))
    return _Headings({s: min(i + 1, 6) for i, s in enumerate(ranked)}, numbered,
                     bolder | numbered)


#: A line that ends inside a name: TeX and Texinfo break long identifiers after "_" and URLs
#: after their "://" without a hyphen ("R_" / "LIBS_USER" in R's manuals). Joined with a space,
#: "R_ LIBS_USER" is not the name a user searches for. A "_" ending that follows a letter or
#: digit and is followed by one joins; "NA_character_ ..." keeps its space.
_BROKEN_NAME = re.compile(r"(?:[A-Za-z0-9]_|://)$")




def _join(lines: list[str]) -> str:
    """Join wrapped lines into one paragraph; undo PDFium's soft-hyphen marks (``\\x02``) and
    names broken at a line end (:data:`_BROKEN_NAME`); shorten leaders
    (:data:`.pdf_tables.LEADER`)."""
    out = ""
    for line in lines:
        if out.endswith("\x02"):
            out = out[:-1] + line
        elif ((out.endswith("-") and not out.endswith(" -"))
              or (_BROKEN_NAME.search(out) and line[:1].isalnum())):
            out += line
        else:
            out = f"{out} {line}" if out else line
    return clean_inline(LEADER.sub(" … ", out))


def _blocks(lines: list[_Line], body: float, headings: _Headings) -> list[Block]:
    """A page's blocks: its tables (:func:`.pdf_tables.find_tables`) as table blocks, the lines
    between them as paragraphs, headings and lists."""
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.size == b.size and 0 < a.y - b.y < 3 * max(a.size, 1)
    ]
    leading = statistics.median(gaps) if gaps else (body or 10.0) * 1.2
    blocks: list[Block] = []
    done = 0
    for table in find_tables(lines):
        blocks += _paragraphs(lines[done:table.start], leading, body, headings)
        blocks += table_blocks(table.rows, header=table.header)
        done = table.end
    return blocks + _paragraphs(lines[done:], leading, body, headings)


def _paragraphs(lines: list[_Line], leading: float, body: float,
                headings: _Headings) -> list[Block]:
    blocks: list[Block] = []
    para: list[_Line] = []

    def flush() -> None:
        if not para:
            return
        text = _join([ln.text for ln in para])
        level = headings.level(para, text)
        if text:
            if level and len(text) <= 200:
                blocks.append(Block(text, "heading", level))
            else:
                blocks.append(Block(text))
        para.clear()

    # A list item's wrapped lines sit one leading apart; the next paragraph, even when the
    # document spaces it like its list items (1.38 leadings in a DocBook spec), sits further.
    for line in lines:
        if para:
            prev = para[-1]
            gap = prev.y - line.y
            new_para = (
                line.size != prev.size
                or (line.bold != prev.bold and line.size < body * HEADING_STEP
                    and (line.style in headings.levels or prev.style in headings.levels))
                or math.isnan(gap)  # position unknown
                or gap <= 0  # moved up: a new column or a floating element
                or gap > leading * (1.2 if _BULLET.match(para[0].text) else 1.4)
                or bool(_BULLET.match(line.text))
            )
            if new_para:
                flush()
        para.append(line)
    flush()
    return _merge_lists(blocks)


def _merge_lists(blocks: list[Block]) -> list[Block]:
    """Consecutive bullet paragraphs become one list block."""
    out: list[Block] = []
    for block in blocks:
        if block.kind == "paragraph" and _BULLET.match(block.text):
            if out and out[-1].kind == "list":
                out[-1] = Block(f"{out[-1].text}\n{block.text}", "list")
            else:
                out.append(Block(block.text, "list"))
        else:
            out.append(block)
    return out


def _needs_ocr(page, lines: list[_Line]) -> bool:  # page: pypdfium2.PdfPage
    """No text layer: no characters at all (a scan, text drawn as outlines, an empty page), or
    almost none on a page holding an image. A sparse page of real text ("Chapter 2") is not."""
    import pypdfium2.raw as pdfium_c

    chars = sum(len("".join(ln.text.split())) for ln in lines)
    if chars == 0:
        return True
    if sum(len(_UNMAPPED.findall(ln.text)) for ln in lines) * 2 > chars:
        return True  # glyphs without Unicode: the page shows text its text layer does not have
    if chars >= MIN_TEXT_CHARS:
        return False
    images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4)
    return next(images, None) is not None


class _PageOcr:
    """OCR for the pages without a text layer; finds Tesseract when the first such page comes."""

    def __init__(self, options: LoadOptions, total: int) -> None:
        self.options = options
        self.total = total
        self.ready: tuple[ocr.Tesseract, str] | None = None
        self.unavailable: str | None = None  # why OCR cannot run (no Tesseract, no language)
        self.done = 0  # pages sent to Tesseract
        self.blank = 0  # pages that rendered blank
        self.missed = 0  # pages that needed OCR and did not get it (OCR off or unavailable)

    def read(self, page, number: int) -> list[Block] | None:  # page: pypdfium2.PdfPage
        """The page's OCR blocks, or None when it is blank or OCR cannot run."""
        if not self.options.ocr:
            import pypdfium2.raw as pdfium_c

            self.missed += pdfium_c.FPDFPage_CountObjects(page.raw) > 0
            return None
        if self.ready is None and self.unavailable is None:
            try:
                self.ready = ocr.ocr_ready(self.options)
            except LoadError as exc:
                self.unavailable = str(exc)
        if self.ready is None:
            self.missed += 1
            return None
        tess, languages = self.ready
        width, height = page.get_size()
        scale = ocr.PDF_DPI / 72
        scale *= ocr.fit_scale(width * scale, height * scale)
        # without annotations and form fields: their text is read as text (pdf_forms), and
        # drawn into the scan it would be read a second time by OCR
        bitmap = page.render(scale=scale, grayscale=True, limit_image_cache=True,
                             draw_annots=False, may_draw_forms=False)
        try:
            image = bitmap.to_pil()  # shares the bitmap's memory: used before close() only
            gray = image if image.mode == "L" else image.convert("L")
            low, high = gray.getextrema()
            if high - low < _BLANK_RANGE:
                self.blank += 1
                return None
            progress.report(f"OCR page {number} of {self.total}")
            text = ocr.run_tesseract(tess, gray, languages, dpi=scale * 72,
                                     what=f"page {number}")
        finally:
            bitmap.close()
        self.done += 1
        return ocr.text_blocks(text)

    def loader(self) -> str:
        """The loader string: what read the text, and pages OCR could not read."""
        name = _LOADER
        if self.done:
            name += f" + OCR (Tesseract) on {self.done} of {self.total} pages"
        if self.missed:
            why = "OCR is off" if not self.options.ocr else f"not OCR'd: {self.unavailable}"
            name += f"; {self.missed} of {self.total} pages without text ({why})"
        return name

    def empty_reason(self) -> str | None:
        """Why a PDF without any text fails, when OCR was on (else None: the generic reason)."""
        if not self.options.ocr:
            return None
        if self.unavailable and self.missed:
            return self.unavailable
        if self.done:
            pages = "page" if self.done == 1 else "pages"
            return f"no extractable text (OCR found none on {self.done} image-only {pages})"
        if self.blank:
            return "no extractable text (the pages are blank)"
        return None


def load_pdf(path: Path, options: LoadOptions | None = None) -> Document:
    """PDF -> one Page per page (1-based, PDF page labels kept when they differ); pages without a
    text layer are read by OCR when ``options.ocr`` is on."""
    options = options or LoadOptions()
    with library_errors("PDF"):
        _check_complete(path)
        pdf = _open(path)
        try:
            meta = {k: clean_inline(v) for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
            pdf.init_forms()  # before any page is loaded: a filled form's values (pdf_forms)
            raw_pages: list[list[_Line]] = []
            labels: list[str | None] = []
            scanned: dict[int, list[Block]] = {}  # page index -> OCR blocks
            filled: dict[int, list[Block]] = {}  # page index -> what was typed onto it
            reader = _PageOcr(options, len(pdf))
            for index in range(len(pdf)):
                page = pdf[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        lines = _page_lines(textpage)
                    finally:
                        textpage.close()
                    raw_pages.append(lines)
                    if added := page_additions(pdf.formenv, page):
                        filled[index] = added
                    if _needs_ocr(page, lines):
                        blocks = reader.read(page, index + 1)
                        if blocks:
                            scanned[index] = blocks
                finally:
                    page.close()
                label = clean_inline(pdf.get_page_label(index) or "")
                labels.append(label if label and label != str(index + 1) else None)
        finally:
            pdf.close()
    text_pages = [lines for i, lines in enumerate(raw_pages) if i not in scanned]
    body = _body_style(text_pages)
    headings = _heading_levels(text_pages, body)
    pages = [
        Page(number=n, label=label,
             blocks=(scanned.get(n - 1) or _blocks(lines, body[0], headings))
             + filled.get(n - 1, []))
        for n, (lines, label) in enumerate(zip(raw_pages, labels, strict=True), start=1)
    ]
    reason = None if any(b.text.strip() for p in pages for b in p.blocks) else reader.empty_reason()
    if reason:
        raise LoadError(reason)
    furniture = strip_running_lines(pages)
    metadata = {"pages": str(len(pages))}
    if furniture:
        metadata["running_lines_removed"] = str(furniture)
    if reader.missed and not options.ocr:  # read again once OCR is on (engine.ingest.revisions)
        metadata[OCR_OFF_KEY] = str(reader.missed)
    for key in ("Author", "Subject", "Creator", "Producer"):
        if meta.get(key):
            metadata[key.lower()] = meta[key]
    return Document(
        path=str(path),
        format="pdf",
        pages=pages,
        title=meta.get("Title") or _first_heading(pages),
        metadata=metadata,
        loader=reader.loader(),
    )


def _first_heading(pages: list[Page]) -> str | None:
    for page in pages:
        for block in page.blocks:
            if block.kind == "heading":
                return block.text
    return None
