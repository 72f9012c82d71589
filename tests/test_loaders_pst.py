"""Outlook data files (.pst, .ost) read with libpff.

The file is real: pst-extractor's enron.pst (npm package pst-extractor 1.12.0, its example test
data), one Enron employee's mailbox as FERC released it: 71 messages in nested folders, with
attachments. To stay small it is stored xz-compressed, and the bytes of its attachments above
16,000 bytes were zeroed in place (found by their encoded bytes; the PST's structure, bodies and
small attachments are untouched): those attachments now read as damaged files, which is how
one damaged attachment must be met anyway.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from engine.ingest import progress
from engine.ingest.document import LoadError, LoadOptions, display_name
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.outlook_pst import _unwrapped, pst_message
from engine.ingest.loaders.parts import extract_part, extractable

DATA = Path(__file__).parent / "data"
FOLDER = "lokay-m › MLOKAY (Non-Privileged)"
WEST_TEXAS = f"{FOLDER} › TW-Commercial Group › 3"
NO_OCR = LoadOptions(ocr=False)


@pytest.fixture(scope="module")
def enron(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pst") / "enron.pst"
    path.write_bytes(lzma.decompress((DATA / "pst-extractor-enron.pst.xz").read_bytes()))
    return path


REPORTS: list[str] = []


@pytest.fixture(scope="module")
def archive(enron: Path):
    """The archive read once, with its progress reports kept in REPORTS."""
    progress.set_reporter(REPORTS.append)
    try:
        return load(enron, options=NO_OCR)
    finally:
        progress.set_reporter(None)


def _part(doc, key: str):
    wanted = f"{doc.path}//{key}"
    return next(p for p in doc.parts if p.path == wanted)


def test_every_message_of_the_user_folders_is_a_part_keyed_by_folder(archive, enron):
    assert detect_format(enron) == "pst"
    assert archive.format == "pst" and archive.loader == "Outlook data file (libpff)"
    assert archive.title == "enron.pst: 71 messages"
    assert archive.metadata["messages"] == "71" and not archive.unread
    keys = [p.path.split("//")[1] for p in archive.parts]
    assert len(keys) == len(set(keys)) == 71
    # the tree under "Top of Personal Folders", not the store's search folders
    assert {k.split(" › ")[0] for k in keys} == {"lokay-m"}
    assert sum(k.startswith(f"{FOLDER} › Personal › ") for k in keys) == 47
    assert display_name(_part(archive, WEST_TEXAS).path) == f"enron.pst › {WEST_TEXAS}"


def test_a_message_reads_as_mail_heading_people_and_body(archive):
    blocks = _part(archive, WEST_TEXAS).pages[0].blocks
    assert blocks[0].kind == "heading"
    assert blocks[0].text == "West Texas Capacity — dlsmith@pplweb.com, 2001-10-24 17:19"
    people = blocks[1].text.splitlines()
    assert people[0] == "From: dlsmith@pplweb.com"
    assert people[1] == "To: Michelle Lokay <michelle.lokay@enron.com>"
    assert people[2] == "Cc: jacammarano@pplweb.com, baveety@pplweb.com"
    body = " ".join(b.text for b in blocks[2:])
    assert "PPL EnergyPlus requests 10,000 dth of available West Texas receipts" in body
    # a Lotus Notes sender as Exchange wrapped it: the name says it all, the wrapper is gone
    forwarded = _part(archive, f"{FOLDER} › Personal › 1").pages[0].blocks[1].text
    assert forwarded.splitlines()[0] == "From: Jim Lokay jimbomania@hotmail.com@ENRON"
    assert _unwrapped("IMCEASMTP-ann+40example+2Eorg@corp.example") == "ann@example.org"


def test_attachments_are_parts_and_a_damaged_one_costs_only_itself(archive):
    spreadsheet = _part(archive, f"{FOLDER} › Personal › 39")
    (sheet,) = spreadsheet.parts
    assert sheet.path.endswith("//Michelle.xls") and sheet.format == "xls"
    assert any(b.text.strip() for page in sheet.pages for b in page.blocks)
    oba = _part(archive, f"{FOLDER} › TW-Commercial Group › 1")  # eleven zeroed .doc files
    assert oba.pages[0].blocks[0].text.startswith("New OBA's")
    assert len(oba.unread) == 11 and not oba.parts
    assert all("\n" not in u.reason for u in oba.unread)
    assert "OBA_27602_Citizens.doc" in oba.metadata["attachments_skipped"]


def test_one_message_is_read_alone_and_an_attachment_copied_out(archive, enron, tmp_path):
    alone = pst_message(enron, WEST_TEXAS, NO_OCR)
    assert alone.path == _part(archive, WEST_TEXAS).path
    assert alone.pages[0].blocks == _part(archive, WEST_TEXAS).pages[0].blocks
    with pytest.raises(LoadError, match="no message"):
        pst_message(enron, f"{FOLDER} › Personal › 48", NO_OCR)
    cited = f"{enron}//{FOLDER} › Personal › 39//Michelle.xls"
    assert extractable(cited) and not extractable(f"{enron}//{FOLDER} › Personal › 39")
    copy = extract_part(cited, tmp_path / "out")
    assert copy is not None and copy.name == "Michelle.xls"
    assert copy.read_bytes().startswith(bytes.fromhex("d0cf11e0a1b11ae1"))
    assert extract_part(f"{enron}//{FOLDER} › Personal › 39//other.xls", tmp_path) is None


def test_a_long_archive_reports_progress(archive):
    counts = [r for r in REPORTS if r.startswith("message ")]
    assert counts == ["message 20 of 71", "message 40 of 71", "message 60 of 71"]


def test_a_damaged_message_costs_only_itself(enron, tmp_path):
    damaged = bytearray(enron.read_bytes())
    damaged[975_617:977_665] = b"\xbf" * 2048  # inside one message's blocks
    path = tmp_path / "damaged.pst"
    path.write_bytes(bytes(damaged))
    doc = load(path, options=NO_OCR)
    assert len(doc.parts) == 70 and doc.metadata["messages_skipped"] == "1"
    (unread,) = doc.unread
    assert unread.key == f"{FOLDER} › TW-Commercial Group › 10"
    assert unread.reason == "message not read: damaged item (unsupported index node type: 0xbf)"
    with pytest.raises(LoadError, match=r"^damaged Outlook item"):
        pst_message(path, unread.key, NO_OCR)


def test_damaged_and_mislabelled_files_fail_in_one_line(enron, tmp_path):
    cut = tmp_path / "cut.pst"
    cut.write_bytes(enron.read_bytes()[:300_000])
    with pytest.raises(LoadError) as err:
        load(cut, options=NO_OCR)
    assert str(err.value).startswith("corrupt or truncated Outlook data file (unable to read ")
    assert "\n" not in str(err.value)
    text = tmp_path / "notes.pst"
    text.write_text("Pasted notes, not an Outlook file.\n")
    assert skip_reason(text) == "not an Outlook data file (no !BDN header; mislabelled?)"
    book = tmp_path / "contacts.pst"  # an Outlook 97 personal address book renamed
    book.write_bytes(b"!BDN" + b"\x00" * 4 + b"AB" + b"\x00" * 502)
    assert "address book" in skip_reason(book) and detect_format(book) is None
