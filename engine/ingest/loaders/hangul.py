"""Hangul Word Processor documents (.hwp): what Korea's government, schools and companies write.

Hancom's word processor is to Korea what Word is elsewhere: ministries, courts, universities
and most companies publish and exchange .hwp files, so a Korean user's folder of documents is
largely .hwp. LibreOffice reads only the old HWP 3 format (Hangul 97), so HWP 5 files (Hangul
2002 and every version since) were unreadable. This reader follows Hancom's published
specification ("HWP 5.0 document file format", revision 1.3):

* an HWP 5 file is an OLE container: ``FileHeader`` (signature, version, flags: compressed,
  password, distribution document), ``DocInfo`` (styles, paragraph shapes, pictures),
  ``BodyText/Section0..N`` (the text, raw-deflate compressed when the file is) and
  ``\\x05HwpSummaryInformation`` (title, author);
* a section is a flat list of records (tag, level, payload) whose levels make a tree: a
  paragraph's text, line segments and controls (tables, drawing objects with text boxes,
  footnotes, headers and footers) are its children, and a table cell's paragraphs follow the
  cell's list header;
* a paragraph's text is UTF-16 with control characters in it: a character control is one
  code unit (line break, non-breaking space), an inline or extended control eight (a tab, a
  field, the anchor of a table); extended controls are matched, in order, by the paragraph's
  control records.

What the user gets is what :mod:`engine.ingest.loaders.word` makes of a DOCX, with pages: the
file keeps the layout Hangul computed when it saved (each line's vertical position on its
page), so the page a paragraph is printed on is known and cited ("page 3"), where a Word file
is one page (:mod:`engine.ingest.loaders.hangul_pages`, shared with the XML format, .hwpx).
Headings are paragraphs in Hangul's outline styles ("개요 1", "Outline 1"), lists its
bulleted and numbered paragraphs, tables keep their rows and cells, text boxes are read after
the paragraph they are anchored in, footnotes and endnotes after the page that refers to them,
hidden comments after the body; headers, footers and page numbers, printed on every page, are
not read. A document of pictures only (a scan pasted into Hangul) is read by OCR, as such a
Word file is. Password-protected files and distribution documents (read-only copies Hancom
encrypts against copying) fail in one line; an HWP 3 file goes to LibreOffice.
"""

from __future__ import annotations

import re
import struct
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError, LoadOptions
from engine.ingest.loaders.common import clean_inline, first_heading, library_errors, one_line
from engine.ingest.loaders.formats import HWP3_MAGIC, LOADER_NAMES
from engine.ingest.loaders.hangul_pages import Pages, outline_level
from engine.ingest.loaders.word import scanned_pages

_HWP5_SIGNATURE = b"HWP Document File"

# FileHeader flags.
_COMPRESSED, _PASSWORD, _DISTRIBUTION = 0x1, 0x2, 0x4

# Record tags (HWPTAG_BEGIN = 0x10).
_BIN_DATA, _PARA_SHAPE, _STYLE = 0x12, 0x19, 0x1A
_PARA_HEADER, _PARA_TEXT, _LINE_SEG, _CTRL_HEADER, _LIST_HEADER, _TABLE = (
    0x42, 0x43, 0x45, 0x47, 0x48, 0x4D)

#: Control characters one code unit long; the others (inline and extended) take eight.
_CHAR_CONTROLS = frozenset({0, 10, 13, *range(24, 32)})
_TAB = 9
#: What the character controls stand for in the text (the rest stand for nothing).
_CHAR_TEXT = {10: "\n", 24: "-", 30: " ", 31: " "}

#: Controls whose text is not part of the document as read: running headers and footers,
#: printed on every page, page numbers and the like.
_FURNITURE = frozenset({"head", "foot"})
_NOTES = frozenset({"fn  ", "en  "})
_COMMENT = "tcmt"

@dataclass
class Node:
    """A record of a section and the records below it (by level)."""

    tag: int
    payload: bytes
    children: list[Node] = field(default_factory=list)

    def ctrl_id(self) -> str:
        """A control header's four-letter id ("tbl ", "gso ", "fn  "), stored reversed."""
        return self.payload[:4][::-1].decode("latin-1")


def records(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(tag, level, payload) of each record; a size of 0xFFF means a 32-bit size follows. A
    record cut short by the end of the stream ends the list (a truncated file keeps what was
    before the cut)."""
    pos, end = 0, len(data)
    while pos + 4 <= end:
        (header,) = struct.unpack_from("<I", data, pos)
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > end:
                return
            (size,) = struct.unpack_from("<I", data, pos)
            pos += 4
        yield tag, level, data[pos:pos + size]
        pos += size


def tree(data: bytes) -> list[Node]:
    """The records of ``data`` as a forest: each record is a child of the last one above it
    in level."""
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    for tag, level, payload in records(data):
        node = Node(tag, payload)
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((level, node))
    return roots


@dataclass
class Styles:
    """What DocInfo says about paragraphs: heading level per style id, and list or outline
    level per paragraph shape id."""

    style_heading: dict[int, int] = field(default_factory=dict)
    #: paragraph shape id -> ("outline" | "list", level 1..7)
    shape_head: dict[int, tuple[str, int]] = field(default_factory=dict)
    #: picture stream names ("BIN0001.jpg") in DocInfo order
    pictures: list[str] = field(default_factory=list)


def _wide(payload: bytes, pos: int) -> tuple[str, int]:
    """A length-prefixed UTF-16 string at ``pos`` and the position after it."""
    (n,) = struct.unpack_from("<H", payload, pos)
    pos += 2
    return payload[pos:pos + 2 * n].decode("utf-16-le", "replace"), pos + 2 * n


def read_styles(data: bytes) -> Styles:
    """The styles, paragraph shapes and embedded pictures of a DocInfo stream."""
    styles = Styles()
    style_id = shape_id = 0
    for tag, _level, payload in records(data):
        try:
            if tag == _STYLE:
                local, pos = _wide(payload, 0)
                english, _ = _wide(payload, pos)
                level = outline_level(english, local)
                if level is not None:
                    styles.style_heading[style_id] = level
                style_id += 1
            elif tag == _PARA_SHAPE:
                (attr,) = struct.unpack_from("<I", payload, 0)
                kind, level = (attr >> 23) & 0x3, ((attr >> 25) & 0x7) + 1
                if kind:
                    styles.shape_head[shape_id] = ("outline" if kind == 1 else "list", level)
                shape_id += 1
            elif tag == _BIN_DATA:
                (attr,) = struct.unpack_from("<H", payload, 0)
                if attr & 0xF == 1:  # embedded in the file (not linked, not an OLE storage)
                    (number,) = struct.unpack_from("<H", payload, 2)
                    ext, _ = _wide(payload, 4)
                    styles.pictures.append(f"BIN{number:04X}.{ext.lower()}")
        except (struct.error, UnicodeDecodeError):
            continue  # one damaged record costs only itself
    return styles


def paragraph_text(payload: bytes) -> list[tuple[int, str]]:
    """The text of a PARA_TEXT record as (position, piece) pairs, the position counted in
    code units as the line segments count it (so a paragraph can be cut where a page
    starts). Character controls become what they stand for, a tab a tab, other controls
    nothing."""
    units = array("H")
    units.frombytes(payload[:len(payload) & ~1])
    pieces: list[tuple[int, str]] = []
    start = i = 0
    n = len(units)
    while i < n:
        code = units[i]
        if code >= 32:
            i += 1
            continue
        if i > start:
            pieces.append((start, units[start:i].tobytes().decode("utf-16-le", "replace")))
        if code in _CHAR_CONTROLS:
            if code in _CHAR_TEXT:
                pieces.append((i, _CHAR_TEXT[code]))
            i += 1
        else:
            if code == _TAB:
                pieces.append((i, "\t"))
            i += 8
        start = i
    if start < n:
        pieces.append((start, units[start:n].tobytes().decode("utf-16-le", "replace")))
    return pieces


def _line_starts(payload: bytes) -> list[tuple[int, int, int]]:
    """(text position, vertical position, horizontal position) of each line of a paragraph."""
    out = []
    for pos in range(0, len(payload) - 35, 36):
        text_pos, vert = struct.unpack_from("<Ii", payload, pos)
        (horz,) = struct.unpack_from("<i", payload, pos + 24)
        out.append((text_pos, vert, horz))
    return out


class Reader:
    """Walks the paragraphs of a document's sections into pages of blocks."""

    def __init__(self, styles: Styles) -> None:
        self.styles = styles
        self.pages = Pages()

    def body(self, nodes: list[Node]) -> None:
        """The top-level paragraphs of one section."""
        for node in nodes:
            if node.tag != _PARA_HEADER:
                continue
            seg = next((c for c in node.children if c.tag == _LINE_SEG), None)
            cuts = self.pages.cuts(_line_starts(seg.payload)) if seg is not None else []
            header = node.payload
            shape = struct.unpack_from("<H", header, 8)[0] if len(header) >= 10 else -1
            level = self.styles.style_heading.get(header[10] if len(header) >= 11 else -1)
            head = self.styles.shape_head.get(shape)
            if level is None and head and head[0] == "outline":
                level = head[1]
            item = head[1] - 1 if head and head[0] == "list" else None
            self.pages.paragraph(self._text(node), cuts, heading=level, item=item)
            self._controls(node)

    # -- what paragraphs hold: tables, text boxes, notes -----------------------------------------

    def _controls(self, node: Node) -> None:
        builder, notes = self.pages.builder, self.pages.notes[-1]
        for ctrl in node.children:
            if ctrl.tag != _CTRL_HEADER:
                continue
            kind = ctrl.ctrl_id()
            if kind in _FURNITURE:
                continue
            if kind == "tbl ":
                builder.table(self._table(ctrl))
            elif kind in _NOTES:
                notes.append(" ".join(self._flat(ctrl.children)))
            elif kind == _COMMENT:
                self.pages.comments.append(" ".join(self._flat(ctrl.children)))
            else:  # drawing objects ("gso ": text boxes, shapes with text), and any other
                for text in self._flat(ctrl.children):
                    builder.paragraph(text)

    def _text(self, node: Node) -> list[tuple[int, str]]:
        para = next((c for c in node.children if c.tag == _PARA_TEXT), None)
        return paragraph_text(para.payload) if para is not None else []

    def _flat(self, nodes: list[Node]) -> list[str]:
        """The text of every paragraph in ``nodes`` and below, a string per paragraph (tables
        in them row by row): a text box's, a note's, a table cell's."""
        out: list[str] = []
        for node in nodes:
            if node.tag == _PARA_HEADER:
                text = clean_inline("".join(t for _, t in self._text(node)))
                if text:
                    out.append(text)
                for ctrl in node.children:
                    if ctrl.tag == _CTRL_HEADER and ctrl.ctrl_id() not in _FURNITURE:
                        if ctrl.ctrl_id() == "tbl ":
                            out += [" ".join(c for c in row if c) for row in self._table(ctrl)]
                        else:
                            out += self._flat(ctrl.children)
            elif node.children:
                out += self._flat(node.children)
        return [t for t in out if t]

    def _table(self, ctrl: Node) -> list[list[str]]:
        """A table's rows of cell texts: each cell's list header gives its row and column,
        its paragraphs follow it; a merged cell's text is kept once, in its first place."""
        cells: list[tuple[int, int, list[Node]]] = []
        for child in ctrl.children:
            if child.tag == _LIST_HEADER and len(child.payload) >= 12:
                col, row = struct.unpack_from("<HH", child.payload, 8)
                cells.append((row, col, []))
            elif child.tag == _PARA_HEADER and cells:
                cells[-1][2].append(child)
        if not cells:
            return []
        rows = max(r for r, _, _ in cells) + 1
        cols = max(c for _, c, _ in cells) + 1
        if rows * cols > 1_000_000:  # damaged addresses: keep the cells in file order
            return [[" ".join(self._flat(paras))] for _, _, paras in cells]
        grid = [[""] * cols for _ in range(rows)]
        for row, col, paras in cells:
            grid[row][col] = " ".join(self._flat(paras))
        return grid


def _streams(ole: Any, folder: str) -> list[str]:
    """``folder``'s streams in section order ("BodyText/Section0", "BodyText/Section1"...)."""
    names = ["/".join(e) for e in ole.listdir() if len(e) == 2 and e[0] == folder]

    def number(name: str) -> int:
        digits = re.sub(r"\D", "", name.rsplit("/", 1)[1])
        return int(digits) if digits else 0

    return sorted(names, key=number)


#: Compressed bytes fed to the inflater at a time: where a stream is damaged, what came before
#: the damage is kept to this precision.
_INFLATE_STEP = 1024


def inflate_stream(data: bytes, compressed: bool) -> bytes:
    """A stream's records: raw deflate when the file is compressed. A damaged or cut stream
    keeps what decompresses before the damage (its records up to there are read); one that
    gives nothing at all fails the file."""
    if not compressed:
        return data
    inflater = zlib.decompressobj(-15)
    out: list[bytes] = []
    for pos in range(0, len(data), _INFLATE_STEP):
        try:
            out.append(inflater.decompress(data[pos:pos + _INFLATE_STEP]))
        except zlib.error as exc:
            if not any(out):
                raise LoadError("corrupt Hangul document (a stream does not decompress: "
                                f"{one_line(str(exc))})") from exc
            break
        if inflater.eof:
            break
    return b"".join(out)


#: Summary information property ids (MS-OLEPS) and the string types Hangul writes.
_TITLE, _AUTHOR = 2, 4
_VT_LPSTR, _VT_LPWSTR = 0x1E, 0x1F


def _summary(ole: Any) -> tuple[str, str]:
    """(title, author) from the summary information, "" where missing or damaged. Parsed
    here: olefile's property reader reads a Unicode string's length from the wrong place
    (Hangul's titles came out with the next properties attached) and loops for minutes over
    a damaged stream."""
    name = "\x05HwpSummaryInformation"
    try:
        data = ole.openstream(name).read(1 << 16) if ole.exists(name) else b""
        (section,) = struct.unpack_from("<I", data, 44)  # the first property set's offset
        (count,) = struct.unpack_from("<I", data, section + 4)
        found: dict[int, str] = {}
        for i in range(min(count, 256)):
            pid, offset = struct.unpack_from("<II", data, section + 8 + 8 * i)
            if pid in (_TITLE, _AUTHOR):
                found[pid] = _property_text(data, section + offset)
    except (OSError, struct.error):
        return "", ""
    return found.get(_TITLE, ""), found.get(_AUTHOR, "")


def _property_text(data: bytes, pos: int) -> str:
    """A string property's text at ``pos`` (its type, then its length and characters)."""
    kind, length = struct.unpack_from("<II", data, pos)
    kind &= 0xFFFF
    if kind == _VT_LPWSTR:
        raw = data[pos + 8:pos + 8 + 2 * min(length, 4096)].decode("utf-16-le", "replace")
    elif kind == _VT_LPSTR:
        raw = data[pos + 8:pos + 8 + min(length, 8192)].decode("cp949", "replace")
    else:
        return ""
    return clean_inline(raw.split("\0", 1)[0])


def load_hwp(path: Path, options: LoadOptions | None = None) -> Document:
    """An .hwp file -> Document: HWP 5 read here, a page per page Hangul laid out (see the
    module docstring); HWP 3 converted by LibreOffice."""
    options = options or LoadOptions()
    with path.open("rb") as fh:
        head = fh.read(len(HWP3_MAGIC))
    if head.startswith(HWP3_MAGIC):
        from engine.ingest.loaders.legacy import load_legacy

        return load_legacy(path, options, fmt="hwp")
    import olefile

    with library_errors("Hangul document"), olefile.OleFileIO(str(path)) as ole:
        return _read(path, ole, options)


def _read(path: Path, ole: Any, options: LoadOptions) -> Document:
    try:
        header = ole.openstream("FileHeader").read(256)
    except OSError as exc:
        raise LoadError("not a Hangul document (an OLE file without its FileHeader)") from exc
    if not header.startswith(_HWP5_SIGNATURE) or len(header) < 40:
        raise LoadError("not a Hangul document (its FileHeader has no HWP signature)")
    (flags,) = struct.unpack_from("<I", header, 36)
    if flags & _PASSWORD:
        raise LoadError("encrypted Hangul document (password protected)")
    if flags & _DISTRIBUTION:
        raise LoadError("a Hangul distribution document (encrypted by Hancom against copying: "
                        "save it as an ordinary document in Hangul to read it)")
    compressed = bool(flags & _COMPRESSED)
    try:
        styles = _doc_info(ole, compressed)
        sections = _streams(ole, "BodyText")
        if not sections:
            raise LoadError("corrupt Hangul document (no BodyText section)")
        reader = Reader(styles)
        damaged: list[LoadError] = []
        for name in sections:
            try:
                reader.body(tree(inflate_stream(ole.openstream(name).read(), compressed)))
            except LoadError as exc:  # one damaged section costs only itself
                damaged.append(exc)
        if len(damaged) == len(sections):
            raise damaged[0]
    except OSError as exc:  # olefile: a stream's sectors run past the end of the file
        raise LoadError(f"corrupt or truncated Hangul document ({one_line(str(exc))})") from exc
    title, author = _summary(ole)
    pages = reader.pages.finish()
    doc = Document(path=str(path), format="hwp", pages=pages,
                   title=title or first_heading(b for p in pages for b in p.blocks),
                   metadata={"author": author} if author else {})
    if not pages and styles.pictures:
        pictures = [(name, _picture(ole, name, compressed)) for name in styles.pictures]
        scanned_pages(doc, [(n, b) for n, b in pictures if b], options,
                      reader=LOADER_NAMES["hwp"])
    return doc


def _doc_info(ole: Any, compressed: bool) -> Styles:
    """The styles and pictures DocInfo lists; none when it is missing or damaged (the text is
    read all the same, without headings)."""
    if not ole.exists("DocInfo"):
        return Styles()
    try:
        return read_styles(inflate_stream(ole.openstream("DocInfo").read(), compressed))
    except LoadError:
        return Styles()


def _picture(ole: Any, name: str, compressed: bool) -> bytes:
    """An embedded picture's bytes (deflated when the file is compressed and the picture was
    not already compressed), b"" when it cannot be read."""
    stream = f"BinData/{name}"
    if not ole.exists(stream):
        return b""
    try:
        data = ole.openstream(stream).read()
    except OSError:
        return b""
    if compressed:
        try:
            return zlib.decompressobj(-15).decompress(data)
        except zlib.error:
            return data  # stored uncompressed (a JPEG gains nothing from deflate)
    return data
