"""MOBI (Kindle) e-books: chapters at Mobipocket's page breaks, headings from large type.

No free tool here writes MOBI, so the books are written by :func:`write_mobi` the way KindleGen
and calibre lay them out (the MobileRead wiki's description of the format): a Palm database
whose record 0 holds the PalmDOC and MOBI headers (extra-data flags, full name, EXTH author),
then text records of at most 4096 bytes, each compressed with PalmDOC's LZ77 on its own and
followed by a trailing entry. The reader was also checked on a real book, Debian's
debian-paketmanagement-buch (KindleGen, PalmDOC, 689 text records): 335 chapters, 2.6 s, the
same time as its EPUB twin.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.ingest.document import LoadError
from engine.ingest.loaders import detect_format, load, skip_reason
from engine.ingest.loaders.mobi import palmdoc_decompress
from engine.places import place


def palmdoc_compress(data: bytes, window: int = 256) -> bytes:
    """PalmDOC compression: back references of 3-10 bytes within ``window``, a space folded
    into the next character, runs of 1-8 bytes that cannot stand as literals."""
    out, i = bytearray(), 0
    while i < len(data):
        best_distance, best_length = 0, 0
        for distance in range(1, min(i, window) + 1):
            length = 0
            while (length < 10 and i + length < len(data)
                   and data[i + length - distance] == data[i + length]):
                length += 1
            if length > best_length:
                best_distance, best_length = distance, length
        if best_length >= 3:
            out += (0x8000 | best_distance << 3 | (best_length - 3)).to_bytes(2, "big")
            i += best_length
        elif data[i] == 0x20 and i + 1 < len(data) and 0x40 <= data[i + 1] <= 0x7F:
            out.append(data[i + 1] ^ 0x80)
            i += 2
        elif data[i] == 0 or 0x09 <= data[i] <= 0x7F:
            out.append(data[i])
            i += 1
        else:
            run = bytearray()
            while (i < len(data) and len(run) < 8
                   and not (data[i] == 0 or 0x09 <= data[i] <= 0x7F)):
                run.append(data[i])
                i += 1
            out.append(len(run))
            out += run
    return bytes(out)


def write_mobi(path: Path, html: str, *, title: str = "Harbour Book",
               author: str | None = "Mara Quist", encryption: int = 0,
               compression: int = 2) -> Path:
    """A Mobipocket book holding ``html`` (UTF-8), as KindleGen lays one out."""
    text = html.encode("utf-8")
    chunks = [text[i:i + 4096] for i in range(0, len(text), 4096)]
    records = []
    for chunk in chunks:
        body = palmdoc_compress(chunk) if compression == 2 else chunk
        # extra-data flag bit 1: one trailing entry (here 3 bytes), its size last, backwards
        records.append(body + b"\x00\x00" + bytes([0x80 | 3]))
    exth = b""
    if author:
        value = author.encode()
        entry = struct.pack(">II", 100, 8 + len(value)) + value
        exth = b"EXTH" + struct.pack(">II", 12 + len(entry), 1) + entry
    name = title.encode()
    mobi_length = 0xE8
    full_name_offset = 16 + mobi_length + len(exth)
    mobi = bytearray(mobi_length)
    mobi[0:4] = b"MOBI"
    struct.pack_into(">III", mobi, 4, mobi_length, 2, 65001)
    struct.pack_into(">II", mobi, 0x54 - 16, full_name_offset, len(name))
    struct.pack_into(">I", mobi, 0x80 - 16, 0x40 if author else 0)
    struct.pack_into(">H", mobi, 0xF2 - 16, 0b10)
    palmdoc = struct.pack(">HHIHHHH", compression, 0, len(text), len(records), 4096,
                          encryption, 0)
    record0 = palmdoc + bytes(mobi) + exth + name + b"\0\0"
    all_records = [record0, *records]
    start = 78 + 8 * len(all_records) + 2
    offsets, position = [], start
    for record in all_records:
        offsets.append(position)
        position += len(record)
    header = bytearray(78)
    header[:len(name[:31])] = name[:31]
    header[60:68] = b"BOOKMOBI"
    struct.pack_into(">H", header, 76, len(all_records))
    table = b"".join(struct.pack(">II", offset, 2 * n) for n, offset in enumerate(offsets))
    path.write_bytes(bytes(header) + table + b"\0\0" + b"".join(all_records))
    return path


CHAPTER = ("<p height='1em'>{text}</p>" * 30)
BOOK = (
    '<html><head><guide></guide></head><body>'
    '<p><font size="7"><b>Harbour Book</b></font></p><p>For the keepers of Cape Vale.</p>'
    '<mbp:pagebreak/>'
    '<p height="0pt"><font size="7"><b><font color="#527bbd">1. The lamp</font></b></font></p>'
    + CHAPTER.format(text="The lamp is lit at dusk and trimmed at two; the keeper logs "
                          "the wind and the sea state in the log book.")
    + '<p><font size="6"><b>1.1 Oil</b></font></p><p>Forty litres of oil come each month.</p>'
    '<mbp:pagebreak/>'
    '<h2>2. Supply boats</h2>'
    + CHAPTER.format(text="The supply boat Tern calls on Thursdays — weather allowing — "
                          "with oil, mail and fresh water for the café.")
    + '</body></html>')


def test_a_book_reads_a_page_per_chapter_with_its_headings(tmp_path):
    path = write_mobi(tmp_path / "harbour.mobi", BOOK)
    assert len(BOOK.encode()) > 4096  # more than one text record
    assert detect_format(path) == "mobi" and skip_reason(path) is None
    doc = load(path)
    assert doc.format == "mobi" and doc.loader == "MOBI reader"
    assert doc.title == "Harbour Book" and doc.metadata["author"] == "Mara Quist"
    assert [p.label for p in doc.pages] == ["Harbour Book", "1. The lamp", "2. Supply boats"]
    lamp = [(b.kind, b.level) for b in doc.pages[1].blocks if b.kind == "heading"]
    assert lamp == [("heading", 1), ("heading", 2)]
    assert [b.text for b in doc.pages[1].blocks if b.kind == "heading"] == ["1. The lamp",
                                                                             "1.1 Oil"]
    assert "Forty litres of oil come each month." in doc.pages[1].text
    assert "with oil, mail and fresh water for the café." in doc.pages[2].text
    assert doc.pages[2].text.count("The supply boat Tern calls on Thursdays") == 30
    assert place(doc.path, 2) == "chapter 2"


def test_an_uncompressed_book_and_a_kindle_name_read_alike(tmp_path):
    path = write_mobi(tmp_path / "harbour.azw3", BOOK, compression=1)
    assert [p.label for p in load(path).pages] == ["Harbour Book", "1. The lamp",
                                                   "2. Supply boats"]


def test_books_that_cannot_be_read_say_why_in_one_line(tmp_path):
    with pytest.raises(LoadError, match=r"^encrypted e-book \(DRM\)"):
        load(write_mobi(tmp_path / "bought.azw", BOOK, encryption=2))
    with pytest.raises(LoadError, match=r"Huffman compression"):
        load(write_mobi(tmp_path / "huff.mobi", BOOK, compression=17480))
    (tmp_path / "notes.mobi").write_text("Not a book at all, just notes. " * 10)
    assert skip_reason(tmp_path / "notes.mobi") == (
        "not a MOBI e-book (no BOOKMOBI database header; mislabelled?)")
    cut = tmp_path / "cut.mobi"
    cut.write_bytes(write_mobi(tmp_path / "whole.mobi", BOOK).read_bytes()[:120])
    with pytest.raises(LoadError, match=r"^corrupt MOBI e-book"):
        load(cut)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=400).map(str.encode))
def test_palmdoc_round_trip(data):
    """Whatever the bytes, PalmDOC-compressed they decompress to themselves."""
    assert palmdoc_decompress(palmdoc_compress(data)) == data
