"""CHM help files, read through chmlib: a page per topic, in the order of their contents.

``tests/data/openmcdf-help.chm`` is OpenMCDF's API reference as Debian ships it (MPL-1.1,
Federico Blaseotto; package openmcdf, 157 KB): 93 topics compiled by Sandcastle, LZX
compressed, with a contents tree (.hhc) whose names label the pages.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.ingest.document import LoadError
from engine.ingest.loaders import chm, detect_format, load, skip_reason

DATA = Path(__file__).resolve().parent / "data"
HELP = DATA / "openmcdf-help.chm"

pytestmark = pytest.mark.skipif(chm.chmlib_path() is None, reason=chm.INSTALL_HINT)


def test_a_help_file_reads_a_page_per_topic_in_contents_order():
    from engine.ingest import progress

    assert detect_format(HELP) == "chm" and skip_reason(HELP) is None
    reports: list[str] = []
    progress.set_reporter(reports.append)
    try:
        doc = load(HELP)
    finally:
        progress.set_reporter(None)
    assert reports == ["topic 50 of 93"]  # a sign of life for the indexer, every 50 topics
    assert doc.format == "chm" and doc.loader == "CHM reader (chmlib)"
    assert doc.title == "Open MCDF"
    assert len(doc.pages) == 93 and doc.metadata["topics"] == "93"
    assert [p.label for p in doc.pages[:3]] == [
        "OpenMcdf Namespace", "CFCorruptedFileException Class",
        "CFCorruptedFileException Constructor"]
    text = doc.pages[1].text
    assert "Raised when trying to load a Compound File with invalid, corrupted or mismatched " \
           "fields" in text
    assert "public class CFCorruptedFileException : CFException" in text
    assert all(p.number == n for n, p in enumerate(doc.pages, 1))


def test_files_that_are_not_help_files_fail_in_one_line(tmp_path):
    (tmp_path / "notes.chm").write_text("Just notes with the wrong name.")
    assert skip_reason(tmp_path / "notes.chm") == (
        "not a CHM help file (no ITSF header; mislabelled?)")
    cut = tmp_path / "cut.chm"
    cut.write_bytes(HELP.read_bytes()[:300])
    with pytest.raises(LoadError) as caught:
        load(cut)
    assert "\n" not in str(caught.value)


def test_without_chmlib_the_reason_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(chm, "_library", lambda: None)
    shutil.copyfile(HELP, tmp_path / "help.chm")
    with pytest.raises(LoadError, match=r"^reading \.chm needs chmlib: sudo apt install libchm1$"):
        load(tmp_path / "help.chm")
