"""OneNote sections (.one): each page of the section a page, cited by its title.

OneNote keeps a notebook as a folder of section files (.one) beside a table of contents
(.onetoc2); OneNote 2010 and later (and OneNote for Windows 10 when a section is exported) write
them in the revision store format of [MS-ONESTORE], read by :mod:`engine.ingest.loaders.
onenote_store`. What the objects mean is [MS-ONE]'s: the section's root object lists its page
series, each naming the object spaces of its pages in order; a page holds a title and outlines
(the boxes of text on the page), whose outline elements hold rich text, tables or pictures and,
indented under them, more outline elements.

Each page becomes a Page labelled with its title: the title as a heading, the date it was last
changed, then its outlines in order (an indented element as a list item under its parent,
tables as tables). Text is read from rich text (Unicode or the single-byte form OneNote uses for
plain ASCII); hyperlinks keep their text. Pictures, ink and attached files are not read.
Password-protected sections, the table of contents file, OneNote 2007 sections and the online
format (as a notebook synchronised from OneDrive keeps it) fail in one line.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from engine.ingest.document import Block, Document, LoadError, Page, Unread
from engine.ingest.loaders.common import clean_inline, clean_text, read_bytes, table_blocks
from engine.ingest.loaders.onenote_store import (
    Encrypted,
    ExtendedGUID,
    ObjectSpace,
    Reader,
    StoreError,
    StoreObject,
    guid_at,
)

#: guidFileType of a section (.one) and of a table of contents (.onetoc2); guidFileFormat of the
#: revision store and of the online (FSSHTTP) format.
_SECTION = "7b5c52e4-d88c-4da7-aeb1-5378d02996d3"
_CONTENTS = "43ff2fa1-efd9-4c76-9ee2-10ea5722765f"
_REVISION_STORE = "109add3f-911b-49f5-a5d0-1791edc8aed8"
_ONLINE = "638de92f-a6d4-4bc1-9a36-b3fc2511a5b7"

# Object kinds (jcid) and properties ([MS-ONE] 2.1.13, 2.1.12)
_SECTION_NODE, _PAGE_SERIES, _PAGE_MANIFEST, _PAGE = 0x60007, 0x60008, 0x60037, 0x6000B
_OUTLINE, _ELEMENT, _RICH_TEXT, _TITLE = 0x6000C, 0x6000D, 0x6000E, 0x6002C
_TABLE, _ROW, _CELL, _PAGE_METADATA = 0x60022, 0x60023, 0x60024, 0x20030
_ELEMENT_CHILDREN, _CONTENT_CHILDREN, _STRUCTURE_CHILDREN = 0x24001C20, 0x24001C1F, 0x24001D5F
_CHILD_SPACES = 0x2C001D63
_UNICODE_TEXT, _ASCII_TEXT, _CACHED_TITLE = 0x1C001C22, 0x1C003498, 0x1C001CF3
_LAST_MODIFIED = 0x14001D7A  # Time32: seconds since 1980-01-01
_DEFAULT_ROLE, _METADATA_ROLE = 1, 2

#: A hyperlink's field code before its text ("\ufddfHYPERLINK "https://..."" then the text).
_HYPERLINK = re.compile('\ufddfHYPERLINK "[^"]*"')
MAX_DEPTH = 64


def load_one(path: Path) -> Document:
    """A OneNote section file -> Document: a page per OneNote page, labelled with its title."""
    data = read_bytes(path)
    if len(data) < 1024:
        raise LoadError("not a OneNote section (too short; mislabelled?)")
    kind, file_format = guid_at(data, 0), guid_at(data, 48)
    if kind == _CONTENTS:
        raise LoadError("a OneNote table of contents (.onetoc2) holds no notes: its sections "
                        "(.one) are read")
    if file_format == _ONLINE:
        raise LoadError("a OneNote section in the online format (as OneDrive keeps it): export "
                        "it from OneNote as a section (.one) to read it")
    if kind != _SECTION or file_format != _REVISION_STORE:
        raise LoadError("not a OneNote section (unknown file type; mislabelled?)")
    try:
        reader = Reader(data)
        root, spaces = reader.object_spaces()
    except Encrypted as exc:
        raise LoadError("encrypted OneNote section (password protected)") from exc
    except StoreError as exc:
        raise LoadError(f"corrupt OneNote section ({exc})") from exc
    pages: list[Page] = []
    unread: list[Unread] = []
    for n, gosid in enumerate(_page_order(root, spaces, reader.damaged), start=1):
        if gosid in reader.damaged:
            unread.append(Unread(f"page {n}", f"not read: damaged ({reader.damaged[gosid]})"))
        elif (page := _page(spaces[gosid], len(pages) + 1)) is not None:
            pages.append(page)
    if not pages and reader.damaged:
        raise LoadError(f"corrupt OneNote section ({next(iter(reader.damaged.values()))})")
    return Document(path=str(path), format="onenote", pages=pages, unread=unread,
                    title=pages[0].label if len(pages) == 1 else None)


def _page_order(root: ExtendedGUID | None, spaces: dict[ExtendedGUID, ObjectSpace],
                damaged: dict[ExtendedGUID, str]) -> list[ExtendedGUID]:
    """The section's pages in order: the object spaces its page series name (read or
    damaged). A section without a readable root keeps its pages in file order."""
    section = spaces.get(root) if root else None
    node = _object(section, section.roots.get(_DEFAULT_ROLE)) if section else None
    if node is None or section is None:
        return [g for g in [*spaces, *damaged] if g != root]
    order: list[ExtendedGUID] = []
    for series in _children(section, node, (_ELEMENT_CHILDREN, _CONTENT_CHILDREN)):
        if series.jcid == _PAGE_SERIES:
            order += [g for g in series.props.values.get(_CHILD_SPACES, []) or [] if g]
    return [g for g in order if g in spaces or g in damaged]


def _object(space: ObjectSpace | None, oid: ExtendedGUID | None) -> StoreObject | None:
    return space.objects.get(oid) if space is not None and oid is not None else None


def _children(space: ObjectSpace, node: StoreObject, keys: tuple[int, ...]) -> list[StoreObject]:
    out = []
    for key in keys:
        for oid in node.props.values.get(key, []) or []:
            child = space.objects.get(oid) if oid else None
            if child is not None:
                out.append(child)
    return out


def _text(node: StoreObject) -> str:
    """A rich text object's text: Unicode, else the single-byte form, hyperlinks as their
    text, OneNote's paragraph marks as line breaks."""
    values = node.props.values
    raw = values.get(_UNICODE_TEXT)
    if isinstance(raw, bytes):
        text = raw.decode("utf-16-le", "replace")
    elif isinstance(raw := values.get(_ASCII_TEXT), bytes):
        text = raw.decode("cp1252", "replace")
    else:
        return ""
    return _HYPERLINK.sub("", text).replace("\r", "\n").replace("\x0b", "\n").rstrip("\0")


def _page(space: ObjectSpace, number: int) -> Page | None:
    """One page: its title, when it was last changed, its outlines. A page whose structure is
    damaged (its manifest, page or outline objects lost) keeps its texts, in the order the file
    declares them; a page with no text at all is left out."""
    manifest = _object(space, space.roots.get(_DEFAULT_ROLE))
    page = manifest if manifest is not None and manifest.jcid == _PAGE else next(
        (c for c in _children(space, manifest, (_CONTENT_CHILDREN, _ELEMENT_CHILDREN))
         if c.jcid == _PAGE), None) if manifest is not None else None
    metadata = _object(space, space.roots.get(_METADATA_ROLE))
    title = ""
    if metadata is not None and isinstance(cached := metadata.props.values.get(_CACHED_TITLE),
                                           bytes):
        title = clean_inline(cached.decode("utf-16-le", "replace").rstrip("\0"))
    walker = _Walker(space)
    head: list[Block] = []
    body: list[Block] = []
    if page is not None:
        for node in _children(space, page, (_STRUCTURE_CHILDREN,)):
            if node.jcid == _TITLE:
                title = title or " ".join(walker.texts(node))
                break
        modified = page.props.values.get(_LAST_MODIFIED)
        if isinstance(modified, int) and modified:
            when = dt.datetime(1980, 1, 1) + dt.timedelta(seconds=modified)
            head.append(Block(f"Modified: {when:%Y-%m-%d}"))
        for outline in _children(space, page, (_ELEMENT_CHILDREN, _CONTENT_CHILDREN)):
            if outline.jcid == _OUTLINE:
                body += walker.outline(outline)
    if not body:
        titles = set(walker.title_texts())
        body = [Block(text) for node in space.objects.values() if node.jcid == _RICH_TEXT
                if (text := clean_text(_text(node))) and text not in titles]
    if not body and not title:
        return None
    return Page(number=number, blocks=[*([Block(title, "heading", 1)] if title else []), *head,
                                       *body], label=title or None)


class _Walker:
    """Outlines into blocks: an element's text a paragraph, its indented elements list items
    under it, tables as tables."""

    def __init__(self, space: ObjectSpace) -> None:
        self.space = space

    def texts(self, node: StoreObject, depth: int = 0,
              seen: set[int] | None = None) -> list[str]:
        """Every text below ``node``, in order (each object once: a damaged file may make the
        graph loop)."""
        seen = set() if seen is None else seen
        if depth > MAX_DEPTH or id(node) in seen:
            return []
        seen.add(id(node))
        if node.jcid == _RICH_TEXT:
            text = clean_inline(_text(node))
            return [text] if text else []
        out: list[str] = []
        for child in _children(self.space, node, (_CONTENT_CHILDREN, _ELEMENT_CHILDREN)):
            out += self.texts(child, depth + 1, seen)
        return out

    def title_texts(self) -> list[str]:
        """The texts of the page's title objects (its title, date and time)."""
        return [t for node in self.space.objects.values() if node.jcid == _TITLE
                for t in self.texts(node)]

    def outline(self, outline: StoreObject) -> list[Block]:
        self._seen: set[int] = set()
        blocks: list[Block] = []
        items: list[str] = []
        for element in _children(self.space, outline, (_ELEMENT_CHILDREN, _CONTENT_CHILDREN)):
            self._element(element, 0, blocks, items)
        if items:
            blocks.append(Block("\n".join(items), "list"))
        return blocks

    def _element(self, element: StoreObject, depth: int, blocks: list[Block],
                 items: list[str]) -> None:
        if depth > MAX_DEPTH or id(element) in self._seen:
            return
        self._seen.add(id(element))
        for content in _children(self.space, element, (_CONTENT_CHILDREN,)):
            if content.jcid == _TABLE:
                if items:
                    blocks.append(Block("\n".join(items), "list"))
                    items.clear()
                blocks += table_blocks(self._rows(content))
            elif content.jcid == _RICH_TEXT and (text := clean_text(_text(content))):
                if depth == 0:
                    if items:
                        blocks.append(Block("\n".join(items), "list"))
                        items.clear()
                    blocks.append(Block(text))
                else:
                    items.append(f"{'  ' * (depth - 1)}- {clean_inline(text)}")
        for child in _children(self.space, element, (_ELEMENT_CHILDREN,)):
            if child.jcid == _ELEMENT:
                self._element(child, depth + 1, blocks, items)

    def _rows(self, table: StoreObject) -> list[list[str]]:
        rows = []
        for row in _children(self.space, table, (_ELEMENT_CHILDREN, _CONTENT_CHILDREN)):
            if row.jcid == _ROW:
                rows.append([" ".join(self.texts(cell)) for cell in
                             _children(self.space, row, (_ELEMENT_CHILDREN, _CONTENT_CHILDREN))
                             if cell.jcid == _CELL])
        return rows
