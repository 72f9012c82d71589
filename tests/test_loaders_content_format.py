"""A file whose name says one format and whose content is another is read by its content.

Real files: the sample corpus saved under the names people and programs give them (a DOCX or a
PDF named .doc, an HTML export named .xls, a message saved as .msg), and text that only pretends
to be a format, which is still refused in one line.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.loaders import (
    DISPLAY_NAMES,
    LoadError,
    NothingToRead,
    detect_format,
    load,
    skip_reason,
)
from engine.ingest.loaders.content_format import OVERRULED_NAMES, format_by_content
from engine.samples import CORPUS_DIR
from tests.helpers_mail import MsgSpec, write_msg

RTF = (r"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard "
       r"The harbour master opens the north gate at dawn.\par}")
MAIL = ("From: ann@example.org\nTo: bob@example.org\nSubject: Dock keys\n"
        "Date: Mon, 2 Jun 2025 10:00:00 +0000\n\nThe dock keys hang in the boat shed.\n")
MHT = ('MIME-Version: 1.0\nContent-Type: multipart/related; boundary="b1"\n\n--b1\n'
       'Content-Type: text/html; charset="utf-8"\n\n'
       "<html><body><p>The ferry leaves the pier at noon.</p></body></html>\n--b1--\n")


def _text(path: Path) -> str:
    return " ".join(page.text for page in load(path).pages)


def _copy(name: str, to: Path) -> Path:
    shutil.copyfile(CORPUS_DIR / name, to)
    return to


@pytest.mark.parametrize(("source", "named", "held"), [
    ("field_safety_handbook.docx", "handbook.doc", "docx"),
    ("annual_report_2025.pdf", "report.doc", "pdf"),
    ("stores_and_fleet.xlsx", "stores.xls", "xlsx"),
    ("council_minutes_2025-06-02.odt", "minutes.doc", "odt"),
    ("station_news.html", "news.xls", "html"),
    ("onboarding_2025.pptx", "onboarding.ppt", "pptx"),
    ("history_of_halcyon_reach.epub", "history.odt", "epub"),
    ("station_news.html", "index.svg", "html"),  # gnuplot's demo index
])
def test_corpus_files_under_the_wrong_name_read_as_under_their_own(tmp_path, source, named,
                                                                   held):
    mislabelled = _copy(source, tmp_path / named)
    assert detect_format(mislabelled) == held
    doc = load(mislabelled)
    assert doc.format == held
    assert _text(mislabelled) == _text(CORPUS_DIR / source)  # the same words, the same pages
    suffix = Path(named).suffix
    assert f"read by its content: a {suffix} file that is" in doc.loader
    assert "read by its content" not in load(CORPUS_DIR / source).loader


@pytest.mark.parametrize(("source", "named", "held"), [
    ("annual_report_2025.pdf", "Annual report", "pdf"),  # a download that lost its extension
    ("field_safety_handbook.docx", "handbook.final", "docx"),
    ("stores_and_fleet.xlsx", "stores.2025-06", "xlsx"),
    ("council_minutes_2025-06-02.odt", "minutes", "odt"),
])
def test_documents_whose_name_says_nothing_are_read_by_their_signature(tmp_path, source, named,
                                                                       held):
    unnamed = _copy(source, tmp_path / named)
    assert detect_format(unnamed) == held
    doc = load(unnamed)
    assert doc.format == held and _text(unnamed) == _text(CORPUS_DIR / source)
    assert doc.loader.endswith(" that is " + DISPLAY_NAMES[held])
    assert ("a file without an extension" in doc.loader) == ("." not in named)


def test_an_outlook_message_saved_without_extension_is_read(tmp_path):
    msg = write_msg(tmp_path / "saved.msg", MsgSpec("Dock keys", body="They hang in the shed."))
    unnamed = msg.rename(tmp_path / "Dock keys")
    doc = load(unnamed)
    assert doc.format == "msg" and doc.title == "Dock keys"
    assert "They hang in the shed." in _text(unnamed)
    program = tmp_path / "harbourctl"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 4)
    assert skip_reason(program) == "unsupported file type (no extension: not text)"


def test_text_formats_under_an_office_name(tmp_path):
    (tmp_path / "letter.doc").write_text(RTF, encoding="ascii")
    (tmp_path / "keys.msg").write_text(MAIL, encoding="ascii")
    (tmp_path / "page.doc").write_text(MHT, encoding="ascii")
    (tmp_path / "export.xls").write_text("item\tqty\tplace\nrope\t4\tdock\nbuoy\t2\tshed\n")
    (tmp_path / "pdb.doc").write_text("The Python Debugger\n\nType help at the prompt.\n")
    # a web page's "export to Excel": a bare HTML table, no <html> around it
    (tmp_path / "sales.xls").write_text('<meta charset="utf-8"><table><tr><th>Region</th>'
                                        "<th>Sales</th></tr><tr><td>Norfolk</td><td>8812</td>"
                                        "</tr></table>", encoding="utf-8")
    (tmp_path / "harbour.pot").write_text('# Translations template for Harbour.\n\n'
                                          'msgid "Berth closed"\nmsgstr ""\n')  # gettext
    expected = {"keys.msg": ("eml", "The dock keys hang in the boat shed."),
                "harbour.pot": ("text", 'msgid "Berth closed"'),
                "page.doc": ("mhtml", "The ferry leaves the pier at noon."),
                "export.xls": ("csv", "rope"),
                "pdb.doc": ("text", "Type help at the prompt."),
                "sales.xls": ("html", "Region: Norfolk; Sales: 8812")}
    if shutil.which("soffice"):  # RTF is converted by LibreOffice
        expected["letter.doc"] = ("rtf", "The harbour master opens the north gate at dawn.")
    for name, (fmt, words) in expected.items():
        doc = load(tmp_path / name)
        assert doc.format == fmt, name
        assert words in _text(tmp_path / name), name


def test_an_outlook_message_saved_as_eml_is_read_as_one(tmp_path):
    from tests.helpers_mail import MsgSpec, write_msg

    saved = write_msg(tmp_path / "minutes.eml", MsgSpec("Pier minutes", body="The pier opens "
                                                       "at eight on weekdays."))
    doc = load(saved)
    assert (doc.format, doc.title) == ("msg", "Pier minutes")
    assert "The pier opens at eight on weekdays." in doc.pages[0].text


def test_what_only_pretends_is_still_refused_in_one_line(tmp_path):
    cases = {
        "fake.pdf": "not a PDF (no %PDF header; mislabelled?)",
        "fake.docx": "not a DOCX file (not a zip archive; mislabelled?)",
        # prose is not rows
        "notes.xls": "not an Excel 97-2003 (.xls) file (no OLE header; mislabelled?)",
    }
    (tmp_path / "fake.pdf").write_text("plain words pretending to be a PDF\n")
    (tmp_path / "fake.docx").write_text("plain words pretending to be a document\n")
    (tmp_path / "notes.xls").write_text("Remember the buoys.\nAnd the rope, twice.\n")
    for name, reason in cases.items():
        assert detect_format(tmp_path / name) is None
        assert skip_reason(tmp_path / name) == reason
        with pytest.raises(LoadError, match=f"^{re.escape(reason)}$"):
            load(tmp_path / name)


def test_a_text_msg_that_is_not_mail_is_skipped_not_failed(tmp_path):
    """Tcl's message catalogues (/usr/share/tcltk/*/msgs/*.msg, 145 files here) are programs'
    data: skipped like programs, not 145 failures to fix."""
    catalogue = tmp_path / "fr.msg"
    catalogue.write_text('namespace eval ::tk {\n  ::msgcat::mcset fr "&Abort" "&Annuler"\n}\n')
    assert skip_reason(catalogue) == (
        "unsupported file type (.msg: text, not an Outlook message)")
    with pytest.raises(NothingToRead):
        load(catalogue)
    binary = tmp_path / "odd.msg"
    binary.write_bytes(bytes(range(256)) * 8)  # neither text nor OLE: a failure, as before
    assert skip_reason(binary) == "not an Outlook message (.msg) file (no OLE header; mislabelled?)"


def test_a_zip_that_is_no_office_package_is_not_taken_for_one(tmp_path):
    """A word/ folder is not enough: an Office package has [Content_Types].xml."""
    odd = tmp_path / "odd.pptx"
    with zipfile.ZipFile(odd, "w") as zf:
        zf.writestr("word/document.xml", "<xml/>")
    assert format_by_content(odd, odd.read_bytes()[:4096], "pptx") is None
    assert skip_reason(odd) == "not a PPTX file (zip archive without ppt/)"


def test_a_damaged_file_under_another_name_says_what_it_was_read_as(tmp_path):
    data = (CORPUS_DIR / "annual_report_2025.pdf").read_bytes()
    cut = tmp_path / "report.doc"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(LoadError) as caught:
        load(cut)
    reason = str(caught.value)
    assert reason.endswith("(read by its content: a .doc file that is PDF)"), reason
    assert "\n" not in reason


@settings(max_examples=60, deadline=None)
@given(head=st.binary(max_size=600), named=st.sampled_from(sorted(OVERRULED_NAMES)),
       prefix=st.sampled_from([b"", b"%PDF-1.7\n", b"{\\rtf1 ", b"PK\x03\x04",
                               b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<html>",
                               b"MIME-Version: 1.0\n"]))
def test_content_sniffing_never_fails_and_never_repeats_the_name(tmp_path_factory, head, named,
                                                                 prefix):
    """Any bytes under any overruled name: a known format other than the name's, or None."""
    path = tmp_path_factory.mktemp("sniff") / f"file.{named}"
    data = prefix + head
    path.write_bytes(data)
    found = format_by_content(path, data[:4096], named)
    assert found is None or (found != named and found in {
        "pdf", "rtf", "doc", "xls", "ppt", "msg", "docx", "xlsx", "pptx", "odt", "ods", "odp",
        "epub", "html", "mhtml", "eml", "mbox", "text", "csv"})
    os.unlink(path)


def test_indexing_reads_mislabelled_files_once_and_retries_old_refusals(tmp_path):
    """A file read by its content is not read again at every run (its name maps to another
    format than its tag's), and a refusal recorded before content could overrule a name is
    tried once more: the file is read now, with no --retry-failed."""
    from dataclasses import replace

    from engine import index
    from engine.indexer import index_paths
    from engine.ingest.revisions import failed_under_today, reading_tag
    from engine.retrieve import search

    folder = tmp_path / "docs"
    folder.mkdir()
    handbook = _copy("field_safety_handbook.docx", folder / "handbook.doc")
    (folder / "pdb.doc").write_text("The Python Debugger\n\nType help at the prompt to list "
                                    "the debugger commands.\n")
    (folder / "fake.pdf").write_text("plain words pretending to be a PDF\n")
    first = index_paths([folder])
    assert (first.files_indexed, [f["path"] for f in first.files_failed]) == (
        2, [str(folder / "fake.pdf")])
    rows = index.Collection.open("default").documents()
    assert rows[str(handbook)].format == "docx"
    assert failed_under_today(rows[str(folder / "fake.pdf")].reader)
    assert search("debugger commands", "default", k=1)[0].path == str(folder / "pdb.doc")

    again = index_paths([folder])  # nothing moved: nothing is read, the refusal is not retried
    assert (again.files_indexed, again.files_unchanged, len(again.files_failed)) == (0, 2, 1)

    # the row an earlier Satchel wrote for pdb.doc, when a .doc of plain text was refused
    coll = index.Collection.open("default")
    coll.touch_documents([replace(rows[str(folder / "pdb.doc")], status="failed", chunks=0,
                                  error="not a Word 97-2003 (.doc) file (no OLE header; "
                                        "mislabelled?)", reader=reading_tag(["doc"]))])
    third = index_paths([folder])
    assert third.files_indexed == 1 and len(third.files_failed) == 1  # fake.pdf, not retried
    assert index.Collection.open("default").documents()[str(folder / "pdb.doc")].status == "ok"


def test_a_zip_directory_entry_of_an_unknown_version_fails_in_one_line(tmp_path):
    """zipfile raises NotImplementedError ("zip file version 25.5") for a directory entry
    whose "version needed to extract" byte is garbled: sniffing a document named for a zip
    package, or named for nothing, gave the user a traceback instead of a reason."""
    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    data = bytearray(package.read_bytes())
    entry = data.find(b"PK\x01\x02")
    data[entry + 6:entry + 8] = (0xFF).to_bytes(2, "little")  # needs version 25.5
    for name in ("report.docx", "notes.odt", "book.epub", "form.hwpx", "download"):
        (tmp_path / name).write_bytes(bytes(data))
    assert skip_reason(tmp_path / "report.docx") == \
        "corrupt or truncated DOCX (damaged zip archive: zip file version 25.5)"
    assert skip_reason(tmp_path / "notes.odt").startswith("corrupt or truncated ODT")
    assert skip_reason(tmp_path / "book.epub").startswith("corrupt or truncated EPUB")
    assert skip_reason(tmp_path / "form.hwpx") == \
        "corrupt or truncated Hangul document (damaged zip archive: zip file version 25.5)"
    assert skip_reason(tmp_path / "download").startswith("unsupported file type")


def test_a_package_member_that_does_not_decompress_fails_in_one_line(tmp_path):
    """An ODT whose manifest's compressed bytes are damaged: zipfile lets zlib.error through
    when the member is read (found by fuzzing the sample ODT)."""
    odt = tmp_path / "minutes.odt"
    with zipfile.ZipFile(odt, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", "<office:document-content/>")
        zf.writestr("META-INF/manifest.xml", "<manifest:manifest/>" * 20,
                    compress_type=zipfile.ZIP_DEFLATED)
    data = bytearray(odt.read_bytes())
    with zipfile.ZipFile(odt) as zf:
        info = zf.getinfo("META-INF/manifest.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + info.compress_size] = b"\xff" * info.compress_size  # reserved block type
    odt.write_bytes(bytes(data))
    assert skip_reason(odt) == ("corrupt or truncated ODT (damaged zip archive: Error -3 while "
                                "decompressing data: invalid block type)")
