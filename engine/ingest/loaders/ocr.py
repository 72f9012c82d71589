"""OCR with Tesseract: images (PNG, JPEG, TIFF, BMP, WebP, GIF, phones' HEIC, AVIF, JPEG 2000) and
the scanned pages of PDFs.

Tesseract runs as the ``tesseract`` command (Debian/Ubuntu: ``tesseract-ocr``), one process per
page, image on stdin and text on stdout. No Python binding is needed, and a page that hangs
Tesseract is killed after :data:`PAGE_TIMEOUT_S` without touching the parser process.

Measured on the 2-core development machine (rendered A4 pages, clean and scanner-degraded):

* ``OMP_THREAD_LIMIT=1`` is set for every call. Tesseract's OpenMP build with two threads was no
  faster with a core free (2.7-3.0 s per page either way) and 5-20x *slower* when another process
  kept the cores busy (30-37 s instead of 1.8-2.6 s), as the embedder does during indexing.
* Pages are sent as uncompressed grayscale PGM: encoding takes 0.02 s against 0.19 s for PNG, and
  Tesseract reads both equally fast.
* PDF pages are rendered at :data:`PDF_DPI` (200): words correct equal 300 dpi on every test page
  (99.8-100 %; 93 % for 6 pt scanned text at both), at about 75 % of the time; 150 dpi lost small
  print (68 % at 6 pt).

Progress: each page OCR'd sends ``progress.report("OCR page 3 of 40")``, which also tells the
indexer the parser is alive, so a long scan is not stopped by the parser's silence time limit.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.ingest import progress
from engine.ingest.document import Block, Document, LoadError, LoadOptions, Page
from engine.ingest.loaders.common import (
    MAX_BLOCK_CHARS,
    NUMBERED_HEADING,
    clean_text,
    one_line,
    short_message,
)

if TYPE_CHECKING:
    from PIL.Image import Image

#: Resolution scanned PDF pages are rendered at for OCR (see the module docstring).
PDF_DPI = 200
#: Longest Tesseract may spend on one page before it is killed.
PAGE_TIMEOUT_S = 60.0
#: Larger images are scaled down before OCR: an A4 page at 600 dpi (35 Mpx) becomes ~410 dpi,
#: still more than Tesseract needs, with less than half the pixels to process and hold.
MAX_PIXELS = 16_000_000
#: Longest side sent to Tesseract (a tall screenshot keeps its width; Leptonica limits sides).
MAX_SIDE = 12_000

INSTALL_HINT = ("reading images needs Tesseract OCR: "
                "sudo apt install tesseract-ocr tesseract-ocr-eng")

_LANG = re.compile(r"[A-Za-z_]+")
_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25cf\u2013\u00b7*-]|\d{1,3}[.)])\s")


@dataclass(frozen=True)
class Tesseract:
    """The installed Tesseract: its path, short version ("5.3") and installed languages."""

    binary: str
    version: str
    languages: frozenset[str]


def find_tesseract() -> Tesseract:
    """The ``tesseract`` on PATH (version and languages asked once), or LoadError with the
    install hint."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise LoadError(INSTALL_HINT)
    return _probe(binary)


@functools.lru_cache(maxsize=4)
def _probe(binary: str) -> Tesseract:
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, timeout=30,
                                 env=_env(), check=False)
        langs = subprocess.run([binary, "--list-langs"], capture_output=True, timeout=30,
                               env=_env(), check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LoadError(f"Tesseract OCR does not run ({one_line(short_message(exc))}); "
                        f"{INSTALL_HINT}") from exc
    if version.returncode != 0:
        raise LoadError(f"Tesseract OCR does not run (exit code {version.returncode}); "
                        f"{INSTALL_HINT}")
    match = re.search(r"tesseract\s+v?(\d+)\.(\d+)", version.stdout.decode("utf-8", "replace"))
    # --list-langs prints a header line ending in a colon, then one language code per line.
    names = [ln.strip() for ln in langs.stdout.decode("utf-8", "replace").splitlines()]
    return Tesseract(binary=binary, version=f"{match[1]}.{match[2]}" if match else "?",
                     languages=frozenset(n for n in names if n and not n.endswith(":")))


def check_languages(tess: Tesseract, languages: str) -> str:
    """``languages`` ("eng+deu") when Tesseract has data for each, else a one-line LoadError
    naming the first one missing and the package that provides it."""
    codes = [c for c in languages.split("+") if c]
    if not codes:
        raise LoadError("no OCR language set (setting ocr_languages, e.g. 'eng')")
    for code in codes:
        if not _LANG.fullmatch(code):
            raise LoadError(f"invalid OCR language code '{code}' (setting ocr_languages)")
        if code not in tess.languages:
            package = "tesseract-ocr-" + code.lower().replace("_", "-")
            have = ", ".join(sorted(tess.languages - {"osd"})) or "none"
            raise LoadError(f"OCR language '{code}' is not installed for Tesseract (installed: "
                            f"{have}); install it: sudo apt install {package}")
    return "+".join(codes)


def ocr_ready(options: LoadOptions) -> tuple[Tesseract, str]:
    """(Tesseract, languages) when OCR can run with ``options``, else LoadError saying why."""
    tess = find_tesseract()
    return tess, check_languages(tess, options.ocr_languages)


def _env() -> dict[str, str]:
    # One OpenMP thread: two threads were 5-20x slower on a shared 2-core machine (docstring).
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def page_mode(tess: Tesseract) -> str:
    """Tesseract's page segmentation mode: 1 (find the page's orientation, then read it as 3
    does) when the orientation data is installed, else 3.

    Why: pages go into scanners upside down and sideways, and phone scans lack the EXIF tag that
    would right them. Read as they lie (mode 3), a page turned 90 or 180 degrees gave garbage
    ("sINOY OMY AJ@AS..."); mode 1 read all four turns word for word, at the same time per page
    (4.4-5.1 s against 4.6-4.9 s on a 1700x2200 page, measured alternately). Debian's
    tesseract-ocr installs the orientation data (osd) with it.
    """
    return "1" if "osd" in tess.languages else "3"


def run_tesseract(tess: Tesseract, image: Image, languages: str, *,
                  dpi: float | None = None, what: str = "image") -> str:
    """The text Tesseract reads in ``image`` (any PIL image; converted to grayscale here).

    ``dpi`` is passed on when known (it helps Tesseract size its filters); otherwise Tesseract
    estimates it from the letters. Raises LoadError when Tesseract fails or exceeds
    :data:`PAGE_TIMEOUT_S` (the process is killed).
    """
    pgm = to_pgm(image)
    cmd = [tess.binary, "stdin", "stdout", "--psm", page_mode(tess), "-l", languages]
    if dpi and 70 <= dpi <= 2400:
        cmd += ["--dpi", str(round(dpi))]
    try:
        done = subprocess.run(cmd, input=pgm, capture_output=True, timeout=PAGE_TIMEOUT_S,
                              env=_env(), check=False)
    except subprocess.TimeoutExpired as exc:  # run() has killed it already
        raise LoadError(f"OCR of {what} took longer than {PAGE_TIMEOUT_S:g} s; "
                        "the file was skipped") from exc
    except OSError as exc:
        raise LoadError(f"Tesseract OCR does not run ({one_line(short_message(exc))}); "
                        f"{INSTALL_HINT}") from exc
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        detail = one_line(lines[-1])[:120] if lines else f"exit code {done.returncode}"
        raise LoadError(f"OCR failed on {what}: {detail}")
    return done.stdout.decode("utf-8", "replace")


def to_pgm(image: Image) -> bytes:
    """``image`` as 8-bit grayscale PGM bytes; transparency is laid on white first (black text
    on a transparent background would otherwise turn into black on black)."""
    from PIL import Image as PILImage

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        image = canvas
    if image.mode.startswith("I") or image.mode == "F":  # 16/32-bit scans: stretch to 8 bits
        wide = image.convert("F")
        low, high = wide.getextrema()
        image = wide.point(lambda v: (v - low) * (255.0 / max(high - low, 1e-6)))
    gray = image if image.mode == "L" else image.convert("L")
    buf = io.BytesIO()
    gray.save(buf, format="PPM")  # mode L is written as binary PGM (P5)
    return buf.getvalue()


def fit_scale(width: float, height: float) -> float:
    """Factor (<= 1) that brings a width x height image within MAX_PIXELS and MAX_SIDE."""
    scale = 1.0
    if width * height > MAX_PIXELS:
        scale = math.sqrt(MAX_PIXELS / (width * height))
    return min(scale, MAX_SIDE / max(width, height, 1))


def numbered_heading(line: str) -> Block | None:
    """A line of its own that is a numbered heading ("2.1 What is R?": a section number, a
    title that starts with a capital, no full stop) as a heading block, its level the depth of
    the number; else None. Scanned manuals and reports keep their sections this way."""
    if not NUMBERED_HEADING.match(line) or _BULLET.match(line):  # "1. Buy milk": a list item
        return None
    number, _, title = line.partition(" ")
    if not title.lstrip()[:1].isupper() or len(line.split()) > 12:
        return None
    return Block(line, "heading", min(6, number.rstrip(".").count(".") + 1))


def text_blocks(text: str) -> list[Block]:
    """Paragraph blocks from Tesseract's output: paragraphs are separated by blank lines; the
    lines inside one are joined (hyphenated line breaks undone), except list items, which keep
    their own line. A numbered heading on a line of its own is a heading
    (:func:`numbered_heading`)."""
    blocks: list[Block] = []
    for para in re.split(r"\n\s*\n", clean_text(text)):
        heading = numbered_heading(para.strip()) if "\n" not in para.strip() else None
        if heading:
            blocks.append(heading)
            continue
        lines: list[str] = []
        for line in (ln.strip() for ln in para.split("\n")):
            if not line:
                continue
            if not lines or _BULLET.match(line):
                lines.append(line)
            elif re.search(r"[^\W\d_]-$", lines[-1]) and line[0].islower():
                lines[-1] = lines[-1][:-1] + line  # "engi-" + "neer"
            else:
                lines[-1] = f"{lines[-1]} {line}"
        para_text = "\n".join(lines)
        while len(para_text) > MAX_BLOCK_CHARS:  # one huge unbroken paragraph: cut at a space
            cut = para_text.rfind(" ", 0, MAX_BLOCK_CHARS)
            cut = cut if cut > MAX_BLOCK_CHARS // 2 else MAX_BLOCK_CHARS
            blocks.append(Block(para_text[:cut].strip()))
            para_text = para_text[cut:].strip()
        if para_text:
            blocks.append(Block(para_text))
    return blocks


def _frames(path: Path):  # -> Iterator[tuple[int, int, PIL.Image.Image]]
    """(1-based frame number, frame count, frame) for every frame, decoded one at a time."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    if _is_heif(path):
        _open_heif_with_pillow()
    try:
        image = PILImage.open(path)
    except PILImage.DecompressionBombError as exc:
        raise LoadError("image too large to read (over 178 megapixels)") from exc
    except (PILImage.UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise LoadError(f"corrupt image: not a readable {_kind(path)} file") from exc
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except (OSError, EOFError) as exc:  # its header cut short ("Truncated File Read")
        raise LoadError(f"corrupt or truncated image: "
                        f"{one_line(short_message(exc, 80))}") from exc
    with image:
        # a TIFF's frames are the pages of a scan; an animated GIF's or WebP's are moments of
        # one picture (a screen recording, a spinner), read once
        count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
        for index in range(count):
            try:
                image.seek(index)
                frame = image.copy() if count > 1 else image
                frame.load()
                frame = ImageOps.exif_transpose(frame)  # phone photos are often stored sideways
            except PILImage.DecompressionBombError as exc:
                raise LoadError("image too large to read (over 178 megapixels)") from exc
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                where = f" (frame {index + 1} of {count})" if count > 1 else ""
                raise LoadError(f"corrupt or truncated image{where}: "
                                f"{one_line(short_message(exc, 80))}") from exc
            yield index + 1, count, frame


def _is_heif(path: Path) -> bool:
    from engine.ingest.loaders.formats import image_container

    try:
        with path.open("rb") as f:
            return image_container(f.read(64)) == "heif"
    except OSError:
        return False  # Pillow's open says what is wrong


@functools.cache
def _open_heif_with_pillow() -> None:
    """Teach Pillow HEIF (phones' HEIC photos), once: pillow-heif's libheif decodes them.

    Only when a HEIF file is read: loading libheif costs start-up time no other image needs.
    libheif applies the photo's rotation itself and pillow-heif then resets the EXIF
    orientation, so :func:`PIL.ImageOps.exif_transpose` does not turn it a second time.
    """
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _kind(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jpg": "JPEG", "tif": "TIFF"}.get(suffix, suffix.upper() or "image")


def load_image(path: Path, options: LoadOptions) -> Document:
    """Image -> one Page per image (every frame of a multi-page TIFF is a page), read by OCR."""
    if not options.ocr:
        raise LoadError("image needs OCR, which is turned off (setting ocr)")
    from PIL import Image as PILImage

    tess, languages = ocr_ready(options)
    pages: list[Page] = []
    for number, count, frame in _frames(path):
        progress.report(f"OCR page {number} of {count}")
        scale = fit_scale(*frame.size)
        dpi = _image_dpi(frame)
        if scale < 1:
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            frame = frame.resize(size, resample=PILImage.Resampling.BICUBIC, reducing_gap=3.0)
            dpi = dpi * scale if dpi else None
        what = f"page {number} of {count}" if count > 1 else "the image"
        text = run_tesseract(tess, frame, languages, dpi=dpi, what=what)
        pages.append(Page(number=number, blocks=text_blocks(text)))
        del frame
    return Document(
        path=str(path),
        format="image",
        pages=pages,
        title=path.name,
        metadata={"pages": str(len(pages)), "ocr_languages": languages},
        loader=f"OCR (Tesseract {tess.version}, {languages})",
    )


def _image_dpi(image: Image) -> float | None:
    """The resolution stored in the file, when it is a real one (many files say 72 or 1)."""
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if 100 <= value <= 2400 else None
