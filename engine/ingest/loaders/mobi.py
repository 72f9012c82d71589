"""Mobipocket / Kindle e-books (.mobi, .azw, .prc): one Page per chapter, like EPUB.

A MOBI file is a Palm database: record 0 holds the PalmDOC and MOBI headers (compression,
text length, encoding, the book's full name, EXTH metadata such as the author), the next
records hold the book's HTML, each compressed on its own (PalmDOC's LZ77 variant, or none),
with trailing bytes the headers describe (:func:`_strip_trailing`). The text is joined,
decoded (UTF-8 or cp1252) and read by the HTML reader; Mobipocket marks page breaks between
chapters with ``<mbp:pagebreak/>``, which become the pages, labelled with their first heading
and cited "chapter N". Books with DRM (bought from a store) cannot be read and say so in one
line; so do books in Huffman (HUFF/CDIC) compression, which Satchel does not decode.
Calibre and KindleGen write a KF8 (.azw3) part after the old one in the same file; the old
part has the whole text and is what is read. Pictures are not read.
"""

from __future__ import annotations

import itertools
import re
import struct
from pathlib import Path

from engine.ingest.document import Document, LoadError, Page
from engine.ingest.loaders.common import clean_inline, read_bytes
from engine.ingest.loaders.html import parse_html

#: The Palm database types of Mobipocket books (and old PalmDOC texts, read the same way).
BOOK_TYPES = (b"BOOKMOBI", b"TEXtREAd")
_PAGE_BREAK = re.compile(rb"<mbp:pagebreak\s*/?>", re.IGNORECASE)
#: A paragraph that is all large type: how Mobipocket books mark headings (KindleGen and
#: calibre turn <h1>..<h4> into <font size="7">..<font size="4">, often in bold).
_FONT_HEADING = re.compile(
    r"<p\b[^>]*>\s*(?:<b>\s*)?<font\s+size=\"?\+?([4-7])\"?\s*>((?:(?!</?p\b).){1,300}?)"
    r"</font>\s*(?:</b>\s*)?</p>", re.IGNORECASE | re.DOTALL)
_HEADING_LEVEL = {"7": 1, "6": 2, "5": 3, "4": 4}
#: EXTH record types read as metadata.
_EXTH_AUTHOR, _EXTH_TITLE = 100, 503
_NO_COMPRESSION, _PALMDOC, _HUFF_CDIC = 1, 2, 17480


def palmdoc_decompress(data: bytes) -> bytes:
    """PalmDOC's LZ77 variant: literals, runs of literals, back references, and a space
    folded into the next character."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        c = data[i]
        i += 1
        if 1 <= c <= 8:  # the next c bytes as they are
            out += data[i:i + c]
            i += c
        elif c < 0x80:  # a literal (0 and 0x09-0x7f)
            out.append(c)
        elif c >= 0xC0:  # a space and the character c ^ 0x80
            out += b" "
            out.append(c ^ 0x80)
        else:  # 0x80-0xbf: a distance and length of 3 to 10 bytes, in two bytes
            if i >= n:
                break
            pair = (c << 8) | data[i]
            i += 1
            distance, length = (pair >> 3) & 0x07FF, (pair & 0x7) + 3
            if distance == 0 or distance > len(out):
                raise LoadError("corrupt MOBI e-book (a back reference before the text)")
            if distance >= length:
                start = len(out) - distance
                out += out[start:start + length]
            else:
                for _ in range(length):  # overlaps what it writes: a repeated run
                    out.append(out[-distance])
    return bytes(out)


def _strip_trailing(record: bytes, flags: int) -> bytes:
    """A text record without the trailing entries its header's extra-data flags announce:
    each flag above bit 0 is an entry whose size ends the record (a backward variable-width
    integer); bit 0, the bytes of a multibyte character cut by the record's end."""
    end = len(record)
    for bit in range(15, 0, -1):
        if flags & (1 << bit) and end > 0:
            size, shift, pos = 0, 0, end
            while pos > 0 and shift < 28:  # bytes from the end, 7 bits each, first has 0x80
                pos -= 1
                byte = record[pos]
                size |= (byte & 0x7F) << shift
                shift += 7
                if byte & 0x80:
                    break
            end = max(0, end - size)
    if flags & 1 and end > 0:
        end = max(0, end - ((record[end - 1] & 0x3) + 1))
    return record[:end]


def _records(data: bytes) -> list[bytes]:
    if len(data) < 78:
        raise LoadError("not a MOBI e-book (too short for a Palm database)")
    count = struct.unpack(">H", data[76:78])[0]
    table = 78 + 8 * count
    if count < 2 or len(data) < table:
        raise LoadError("corrupt MOBI e-book (no text records)")
    offsets = [struct.unpack(">I", data[78 + 8 * i:82 + 8 * i])[0] for i in range(count)]
    bounds = [*offsets, len(data)]
    if any(b < a for a, b in itertools.pairwise(bounds)) or offsets[0] < table:
        raise LoadError("corrupt MOBI e-book (its record table points outside the file)")
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _exth(header: bytes, length: int) -> dict[int, bytes]:
    """EXTH records (type -> value) after the MOBI header of ``length`` bytes, if flagged."""
    start = 16 + length
    if len(header) < 0x84 or not struct.unpack(">I", header[0x80:0x84])[0] & 0x40 or \
            header[start:start + 4] != b"EXTH":
        return {}
    out: dict[int, bytes] = {}
    count = struct.unpack(">I", header[start + 8:start + 12])[0]
    pos = start + 12
    for _ in range(min(count, 1000)):
        if pos + 8 > len(header):
            break
        kind, size = struct.unpack(">II", header[pos:pos + 8])
        if size < 8:
            break
        out.setdefault(kind, header[pos + 8:pos + size])
        pos += size
    return out


def load_mobi(path: Path) -> Document:
    """MOBI/AZW/PRC -> one Page per chapter (``<mbp:pagebreak/>``), labelled by its heading."""
    data = read_bytes(path)
    if data[60:68] not in BOOK_TYPES:
        raise LoadError("not a MOBI e-book (no BOOKMOBI or TEXtREAd database)")
    records = _records(data)
    header = records[0]
    if len(header) < 16:
        raise LoadError("corrupt MOBI e-book (its header record is cut short)")
    compression, _, text_length, text_records, _, encryption = struct.unpack(">HHIHHH",
                                                                           header[:14])
    if encryption:
        raise LoadError("encrypted e-book (DRM): only its store's reader can open it")
    if compression == _HUFF_CDIC:
        raise LoadError("MOBI e-book in Huffman compression, which Satchel does not read")
    if compression not in (_NO_COMPRESSION, _PALMDOC):
        raise LoadError(f"corrupt MOBI e-book (unknown compression {compression})")
    mobi = header[16:20] == b"MOBI"
    length = struct.unpack(">I", header[20:24])[0] if mobi else 0
    encoding = struct.unpack(">I", header[28:32])[0] if mobi else 1252
    flags = struct.unpack(">H", header[0xF2:0xF4])[0] if mobi and length >= 0xE4 else 0
    text = bytearray()
    for record in records[1:1 + text_records]:
        record = _strip_trailing(record, flags)
        text += palmdoc_decompress(record) if compression == _PALMDOC else record
    markup = bytes(text[:text_length] if text_length else text)
    codec = "utf-8" if encoding == 65001 else "cp1252"
    pages = []
    for part in _PAGE_BREAK.split(markup):
        html = _FONT_HEADING.sub(_as_heading, part.decode(codec, errors="replace"))
        _title, blocks = parse_html(html)
        if any(b.text.strip() for b in blocks):
            heading = next((b.text for b in blocks if b.kind == "heading"), None)
            pages.append(Page(number=len(pages) + 1, blocks=blocks, label=heading))
    exth = _exth(header, length) if mobi else {}
    title = _full_name(header, codec) if mobi else ""
    title = clean_inline(exth.get(_EXTH_TITLE, b"").decode(codec, "replace")) or title or \
        clean_inline(data[:32].split(b"\0", 1)[0].decode("latin-1"))
    author = clean_inline(exth.get(_EXTH_AUTHOR, b"").decode(codec, "replace"))
    metadata = {"chapters": str(len(pages))} | ({"author": author} if author else {})
    return Document(path=str(path), format="mobi", pages=pages, title=title or None,
                    metadata=metadata)


def _as_heading(match: re.Match[str]) -> str:
    level = _HEADING_LEVEL[match.group(1)]
    return f"<h{level}>{match.group(2)}</h{level}>"


def _full_name(header: bytes, codec: str) -> str:
    """The book's full name from the MOBI header (offset and length at 0x54 and 0x58)."""
    if len(header) < 0x5C:
        return ""
    offset, length = struct.unpack(">II", header[0x54:0x5C])
    return clean_inline(header[offset:offset + length].decode(codec, "replace"))

