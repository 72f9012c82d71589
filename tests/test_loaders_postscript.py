"""PostScript (.ps, .eps, .ps.gz): read as the PDF Ghostscript prints from it.

Real PostScript from real tools: Ghostscript's ps2write and eps2write print the sample corpus's
PDF, groff typesets a manual page, and Vim's printing resources (an encoding vector, no page)
stand for the PostScript that is no document.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from engine.ingest.document import LoadError, NothingToRead, display_name
from engine.ingest.loaders import detect_format, load, postscript, skip_reason
from engine.samples import CORPUS_DIR

pytestmark = pytest.mark.skipif(shutil.which("gs") is None,
                                reason="needs Ghostscript (ghostscript)")

REPORT = CORPUS_DIR / "annual_report_2025.pdf"


def _gs(device: str, source: Path, out: Path, *extra: str) -> Path:
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", f"-sDEVICE={device}", *extra,
                    f"-sOutputFile={out}", str(source)], check=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> Path:
    """The sample annual report (5 pages) printed to PostScript by Ghostscript."""
    return _gs("ps2write", REPORT, tmp_path_factory.mktemp("ps") / "annual report.ps")


def test_a_printed_report_keeps_its_pages_and_text(printed):
    assert detect_format(printed) == "postscript"
    doc = load(printed)
    original = load(REPORT)
    assert doc.format == "postscript" and doc.path == str(printed)
    assert doc.loader.startswith("Ghostscript (PDF) + PDF text layer")
    assert [p.number for p in doc.pages] == [p.number for p in original.pages] == [1, 2, 3, 4, 5]
    for mine, theirs in zip(doc.pages, original.pages, strict=True):
        assert " ".join(mine.text.split()) == " ".join(theirs.text.split())
    assert any(b.kind == "heading" for p in doc.pages for b in p.blocks)


def test_groff_manual_page_and_gzipped_postscript(tmp_path):
    page = tmp_path / "survey.1"
    page.write_text(".TH SURVEY 1\n.SH NAME\nsurvey \\- harbour survey\n.SH DESCRIPTION\n"
                    "The harbour survey found seventeen corroded mooring chains.\n.bp\n"
                    "Volunteers counted four hundred puffins on the northern cliffs.\n")
    ps = tmp_path / "survey.ps"
    ps.write_bytes(subprocess.run(["groff", "-man", "-Tps", str(page)], capture_output=True,
                                  check=True).stdout)
    doc = load(ps)
    assert [p.number for p in doc.pages] == [1, 2]
    assert "seventeen corroded mooring chains" in doc.pages[0].text
    assert "four hundred puffins" in doc.pages[1].text
    packed = tmp_path / "survey.ps.gz"
    packed.write_bytes(gzip.compress(ps.read_bytes()))
    inner = load(packed).parts[0]
    assert display_name(inner.path) == "survey.ps.gz › survey.ps"
    assert "four hundred puffins" in inner.pages[1].text


def test_an_eps_figure_is_read_cropped_to_its_drawing(tmp_path):
    eps = _gs("eps2write", REPORT, tmp_path / "cover.eps", "-dFirstPage=1", "-dLastPage=1")
    doc = load(eps)
    assert len(doc.pages) == 1 and doc.format == "postscript"
    assert " ".join(doc.pages[0].text.split()) == " ".join(load(REPORT).pages[0].text.split())


def test_postscript_without_a_page_or_text_is_skipped_not_failed(tmp_path):
    resource = Path("/usr/share/vim/vim90/print/cp1252.ps")
    if resource.is_file():  # Vim's encoding vector: a PostScript resource
        with pytest.raises(NothingToRead):
            load(resource)
    (tmp_path / "nothing.ps").write_text("%!PS-Adobe-3.0\n% a procedure set\n/x 1 def\n")
    with pytest.raises(NothingToRead, match=r"^no text in this PostScript"):
        load(tmp_path / "nothing.ps")
    (tmp_path / "box.ps").write_text("%!PS\nnewpath 100 100 moveto 200 200 lineto stroke "
                                     "showpage\n")
    with pytest.raises(NothingToRead, match=r"^no text in this PostScript"):
        load(tmp_path / "box.ps")


def test_broken_endless_and_mislabelled_postscript_fail_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "notes.ps").write_text("plain notes, not PostScript\n")
    assert skip_reason(tmp_path / "notes.ps") == ("not a PostScript file (no %! header; "
                                                  "mislabelled?)")
    (tmp_path / "bad.ps").write_text("%!PS\n72 700 moveto (x) undefinedthing showpage\n")
    with pytest.raises(LoadError, match=r"^corrupt or unreadable PostScript \(Error: "
                                        r"/undefined in undefinedthing\)$"):
        load(tmp_path / "bad.ps")
    (tmp_path / "loop.ps").write_text("%!PS\n{ } loop\n")  # a program that never ends
    monkeypatch.setattr(postscript, "CONVERT_TIMEOUT_S", 2.0)
    scratch = tmp_path / "tmp"  # where Ghostscript would put its temp files by TMPDIR
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    started = time.monotonic()
    with pytest.raises(LoadError, match=r"^Ghostscript took longer than 2 s"):
        load(tmp_path / "loop.ps")
    assert time.monotonic() - started < 10
    gone = subprocess.run(["pgrep", "-f", str(tmp_path / "loop.ps")], capture_output=True)
    assert gone.returncode == 1, gone.stdout  # killed, not left running
    assert not list(scratch.iterdir())  # its temp files went with the work folder


def test_without_ghostscript_the_error_says_what_to_install(printed, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "gs"
                        else real(name, *a, **k))
    with pytest.raises(LoadError, match=r"^reading PostScript needs Ghostscript: sudo apt "
                                        r"install ghostscript$"):
        load(printed)
