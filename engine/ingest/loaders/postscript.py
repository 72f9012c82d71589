"""PostScript (.ps, .eps; .ps.gz through the compressed-file reader): read as the PDF it prints.

Papers, theses, manuals and printouts of the 1990s and 2000s were kept as PostScript (often
gzipped: "paper.ps.gz"), and "print to file" still writes it. Ghostscript (Debian/Ubuntu:
``ghostscript``) converts the file to PDF with its ``pdfwrite`` device, and the PDF loader
reads that: page numbers, headings, running headers and footers, and OCR for pages whose text
did not survive (bitmap fonts). Satchel runs ``gs`` as a program, like LibreOffice and
DjVuLibre:

* ``-dSAFER``: a PostScript file is a program; it may not read or write other files;
* a time limit (:data:`CONVERT_TIMEOUT_S`), since a PostScript program can loop forever, with
  progress reports while it runs so the indexer does not take a long conversion for a hang;
* on Linux, Ghostscript dies with the process that started it (``setpriv --pdeathsig``), so a
  cancelled or timed-out parser leaves no converter behind;
* an EPS figure is cropped to its bounding box (``-dEPSCrop``), not placed on a full page.

A file that prints no text (a drawing; a font, an encoding vector or a procedure set, which are
PostScript resources) is no document and is skipped, not failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from engine.ingest.document import Document, LoadError, LoadOptions, NothingToRead
from engine.ingest.loaders.common import one_line, wait_reporting

#: Longest one conversion may take; then Ghostscript is killed and the file reported.
CONVERT_TIMEOUT_S = 120.0
INSTALL_HINT = "reading PostScript needs Ghostscript: sudo apt install ghostscript"
#: A drawing, blank pages, or a PostScript resource (a font, an encoding, a procedure set): no
#: document, skipped rather than failed.
NO_TEXT = "no text in this PostScript (a drawing, blank pages or a resource)"


def _dying_with_parent(cmd: list[str]) -> list[str]:
    """``cmd`` run so that it is killed when the process that started it dies (Linux:
    util-linux's ``setpriv --pdeathsig``, which sets it and then runs the command; not
    ``preexec_fn``, which may deadlock a process that has threads)."""
    setpriv = shutil.which("setpriv") if os.name == "posix" else None
    return [setpriv, "--pdeathsig", "KILL", *cmd] if setpriv else cmd


def to_pdf(path: Path, out: Path, *, eps: bool) -> None:
    """Convert ``path`` to the PDF ``out`` with Ghostscript; LoadError (one line) on failure."""
    gs = shutil.which("gs")
    if gs is None:
        raise LoadError(INSTALL_HINT)
    cmd = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT", "-sDEVICE=pdfwrite",
           *(["-dEPSCrop"] if eps else []), f"-sOutputFile={out}", "-f", str(path)]
    log = out.with_suffix(".log")
    started = time.monotonic()
    with log.open("wb") as sink:
        try:
            # its temp files (gs_*) in the work folder: left behind when it is killed at the
            # time limit, they go with the folder instead of piling up in /tmp
            proc = subprocess.Popen(_dying_with_parent(cmd), stdin=subprocess.DEVNULL,
                                    stdout=sink, stderr=sink, cwd=out.parent,
                                    env={**os.environ, "TMPDIR": str(out.parent)})
        except OSError as exc:
            raise LoadError(f"Ghostscript does not run ({exc.strerror or type(exc).__name__});"
                            f" {INSTALL_HINT}") from exc
        try:
            code = wait_reporting(proc, f"converting {path.name} with Ghostscript", started,
                                  CONVERT_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if code is None:
        raise LoadError(f"Ghostscript took longer than {CONVERT_TIMEOUT_S:g} s to convert this "
                        "PostScript (time limit); the file was skipped")
    if code != 0:
        lines = [ln.strip() for ln in log.read_text("utf-8", "replace").splitlines()
                 if ln.strip() and not ln.startswith(("%%[", "Operand stack", "Execution stack",
                                                      "Dictionary stack", "Current allocation",
                                                      "Last OS error", "GPL Ghostscript"))]
        detail = one_line(lines[0])[:120] if lines else f"exit code {code}"
        raise LoadError(f"corrupt or unreadable PostScript ({detail})")
    if not out.is_file() or out.stat().st_size == 0:
        raise NothingToRead(NO_TEXT)


def load_postscript(path: Path, options: LoadOptions | None = None) -> Document:
    """PostScript -> the Document of the PDF Ghostscript prints from it, under its own name."""
    from engine.ingest.loaders.pdf import load_pdf

    options = options or LoadOptions()
    eps = path.suffix.lower() in (".eps", ".epsf", ".epsi")
    with tempfile.TemporaryDirectory(prefix="satchel-ps-") as tmp:
        pdf = Path(tmp) / "printed.pdf"
        to_pdf(path, pdf, eps=eps)
        try:
            doc = load_pdf(pdf, options)
        except LoadError as exc:
            if "the pages are blank" in str(exc) or "OCR found none" in str(exc):
                raise NothingToRead(NO_TEXT) from exc
            raise
    doc.path = str(path)
    doc.format = "postscript"
    doc.title = doc.metadata.get("Title") or path.name
    doc.loader = f"Ghostscript (PDF) + {doc.loader}" if doc.loader else "Ghostscript (PDF)"
    return doc
