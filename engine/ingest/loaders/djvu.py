"""DjVu documents (.djvu, .djv): scanned books, manuals and papers, read page by page.

DjVu is the other format scans are kept in (digital libraries, archive.org, old manuals): a page is
a compressed scan, often with a hidden text layer an OCR program wrote. Read with DjVuLibre's
command-line tools (Debian/Ubuntu: ``djvulibre-bin``), which Satchel runs as programs, like
Tesseract and LibreOffice, so a file that hangs or crashes them is killed after a time limit
without touching the parser process:

* ``djvused`` counts the pages and prints every page's text layer in one call;
* a page without a text layer is rendered by ``ddjvu`` as grayscale at its own resolution (at
  most :data:`engine.ingest.loaders.ocr.MAX_PIXELS`) and read by Tesseract, like a scanned PDF
  page. With OCR off, such pages are counted and the file is read again once OCR is on.

The text layer's own marks are kept as structure: a paragraph mark (0x1F) or a column mark (0x1D)
ends a paragraph, a line mark (0x0B) a line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from engine.ingest import progress
from engine.ingest.document import Block, Document, LoadError, LoadOptions, Page
from engine.ingest.loaders import ocr
from engine.ingest.loaders.common import one_line
from engine.ingest.revisions import OCR_OFF_KEY

#: Longest one DjVuLibre call may take (counting pages, printing the text, rendering a page).
TOOL_TIMEOUT_S = 60.0
INSTALL_HINT = "reading DjVu needs DjVuLibre: sudo apt install djvulibre-bin"
#: The end of a page in ``print-pure-txt`` output.
_PAGE_END = "\f"
_PARAGRAPH_MARKS = re.compile("[\x1d\x1f]")
_SIZE = re.compile(r"width=(\d+)\s+height=(\d+)")


def find_djvulibre() -> tuple[str, str]:
    """Paths of ``djvused`` and ``ddjvu``; LoadError with the package to install if missing."""
    djvused, ddjvu = shutil.which("djvused"), shutil.which("ddjvu")
    if not djvused or not ddjvu:
        raise LoadError(INSTALL_HINT)
    return djvused, ddjvu


def _run(cmd: list[str], what: str) -> bytes:
    """stdout of a DjVuLibre call; LoadError (one line) when it fails or runs too long."""
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"DjVuLibre took longer than {TOOL_TIMEOUT_S:g} s on {what}; the file "
                        "was skipped") from exc
    except OSError as exc:
        raise LoadError(f"DjVuLibre does not run ({exc.strerror or type(exc).__name__}); "
                        f"{INSTALL_HINT}") from exc
    if done.returncode != 0:
        lines = [ln.strip(" *") for ln in done.stderr.decode("utf-8", "replace").splitlines()
                 if ln.strip(" *") and not ln.lstrip(" *").startswith(("(", "'"))]
        detail = one_line(lines[0])[:120] if lines else f"exit code {done.returncode}"
        raise LoadError(f"corrupt or unreadable DjVu ({what}: {detail})")
    return done.stdout


def page_texts(djvused: str, path: Path) -> list[str]:
    """The text layer of every page ("" for a page without one), in page order."""
    count_out = _run([djvused, str(path), "-e", "n"], "counting its pages").decode()
    try:
        count = int(count_out.strip())
    except ValueError as exc:
        raise LoadError("corrupt or unreadable DjVu (no page count)") from exc
    if count < 1:
        raise LoadError("corrupt or unreadable DjVu (no pages)")
    raw = _run([djvused, str(path), "-e", "print-pure-txt"], "its text layer")
    parts = raw.decode("utf-8", "replace").split(_PAGE_END)
    if len(parts) == count + 1 and not parts[-1].strip():
        return parts[:count]
    # a page whose text holds a form feed itself: ask page by page
    return [_run([djvused, str(path), "-e", f"select {n}; print-pure-txt"],
                 f"page {n}").decode("utf-8", "replace").rstrip(_PAGE_END) for n in
            range(1, count + 1)]


def text_layer_blocks(text: str) -> list[Block]:
    """Paragraph blocks from a page's text layer (its paragraph marks are blank lines)."""
    text = _PARAGRAPH_MARKS.sub("\n\n", text).replace("\x0b", "\n")
    return ocr.text_blocks(text)


def _render(ddjvu: str, djvused: str, path: Path, number: int, work: Path):  # -> PIL Image
    """Page ``number`` as a grayscale image at its own resolution, within OCR's pixel limits."""
    from PIL import Image

    size = _SIZE.search(_run([djvused, str(path), "-e", f"select {number}; size"],
                             f"page {number}").decode())
    if not size:
        raise LoadError(f"corrupt or unreadable DjVu (page {number} has no size)")
    width, height = int(size[1]), int(size[2])
    scale = ocr.fit_scale(width, height)
    box = f"{max(1, round(width * scale))}x{max(1, round(height * scale))}"
    out = work / f"page{number}.pgm"
    _run([ddjvu, "-format=pgm", f"-page={number}", f"-size={box}", str(path), str(out)],
         f"page {number}")
    with Image.open(out) as image:
        image.load()
        return image.copy()


def load_djvu(path: Path, options: LoadOptions | None = None) -> Document:
    """DjVu -> one Page per page: its text layer, else (OCR on) what Tesseract reads in it."""
    options = options or LoadOptions()
    djvused, ddjvu = find_djvulibre()
    texts = page_texts(djvused, path)
    total = len(texts)
    pages: list[Page] = []
    ocr_done = missed = 0
    tess: tuple[ocr.Tesseract, str] | None = None
    unavailable = ""  # why OCR cannot run (no Tesseract, no language), once found out
    with tempfile.TemporaryDirectory(prefix="satchel-djvu-") as tmp:
        for number, text in enumerate(texts, start=1):
            blocks = text_layer_blocks(text) if text.strip() else []
            if not blocks and options.ocr and tess is None and not unavailable:
                try:
                    tess = ocr.ocr_ready(options)
                except LoadError as exc:  # the text layers are still worth reading
                    unavailable = str(exc)
            if not blocks and tess is not None:
                progress.report(f"OCR page {number} of {total}")
                image = _render(ddjvu, djvused, path, number, Path(tmp))
                blocks = ocr.text_blocks(ocr.run_tesseract(tess[0], image, tess[1],
                                                           what=f"page {number}"))
                ocr_done += 1
            elif not blocks:
                missed += 1
            pages.append(Page(number=number, blocks=blocks))
    loader = "DjVu text layer (DjVuLibre)"
    if ocr_done:
        loader += f" + OCR (Tesseract) on {ocr_done} of {total} pages"
    if missed:
        why = f"not OCR'd: {unavailable}" if unavailable else "OCR is off"
        loader += f"; {missed} of {total} pages without text ({why})"
    if unavailable and not any(p.blocks for p in pages):
        raise LoadError(unavailable)
    metadata = {"pages": str(total)}
    if missed and not options.ocr:
        metadata[OCR_OFF_KEY] = str(missed)  # read again once OCR is on
    return Document(path=str(path), format="djvu", pages=pages, title=path.name,
                    metadata=metadata, loader=loader)
