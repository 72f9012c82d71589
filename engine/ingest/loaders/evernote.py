"""Evernote exports (.enex): every note, with its attachments, read as a document of its own.

An .enex file is what Evernote writes when a user exports notes or a whole notebook (File >
Export, the only way to take one's notes out of it, and the format other note apps import): an
``<en-export>`` of ``<note>`` elements, each with a title, dates, tags, the note's text as ENML
(XHTML with Evernote's own elements, in a CDATA section) and its attachments as base64
``<resource>`` elements (photos of receipts, scanned letters, PDFs).

Like an mbox, the file is a container whose parts are its notes, keyed by title ("My
Notes.enex › Shopping list", a repeated title numbered "Shopping list (2)"), so a citation names
the note. A note's heading is its title and creation date; a line gives its tags, author and
source; its text is read by the HTML reader. Check boxes (``<en-todo>``) read as ☐ and ☑, so a
to-do list keeps what was done. Attachments become the note's parts, read by their own
readers (photos by OCR), as a mail's attachments are; images smaller than an icon (tracking
pixels in clipped web pages) are left out. Encrypted text (``<en-crypt>``, a passphrase the
user set in Evernote) cannot be read and is counted in the note's metadata.

Exports run to gigabytes with their attachments, so the file is parsed incrementally and each
note released once read, with progress every few notes (the parse time limit counts from the
last). A file cut short (a failed copy) keeps the notes before the cut, listing the rest as
not read.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest import progress
from engine.ingest.document import (
    Block,
    Document,
    LoadError,
    LoadOptions,
    Page,
    Unread,
    part_path,
)
from engine.ingest.loaders.common import clean_inline, one_line
from engine.ingest.loaders.email import _Parts, dated_heading
from engine.ingest.loaders.embedded import unique_key
from engine.ingest.loaders.formats import format_for_name
from engine.ingest.loaders.mail_body import html_body_blocks

ENEX_LOADER = "Evernote export (lxml)"
#: A progress report every this many notes: each is a sign of life to the parse time limit.
_REPORT_EVERY = 20
#: Pictures whose sides are both below this many pixels are icons or tracking pixels.
_ICON_PIXELS = 48
#: Evernote's check boxes (``<en-todo>``), ticked and not.
_CHECKED_BOX = re.compile(
    r"<en-todo\b[^>]*\bchecked\s*=\s*[\"']true[\"'][^>]*?(?:/>|>\s*</en-todo>)", re.IGNORECASE)
_BOX = re.compile(r"<en-todo\b[^>]*?(?:/>|>\s*</en-todo>)", re.IGNORECASE)
_CRYPT = re.compile(r"<en-crypt\b.*?</en-crypt>", re.IGNORECASE | re.DOTALL)
_MEDIA = re.compile(r"<en-media\b[^>]*?(?:/>|>.*?</en-media>)", re.IGNORECASE | re.DOTALL)
_NOTE_ROOT = re.compile(r"<(/?)en-note\b", re.IGNORECASE)


def load_enex(path: Path, options: LoadOptions) -> Document:
    """An .enex file -> a container Document (no pages) whose parts are its notes."""
    doc = Document(path=str(path), format="enex", loader=ENEX_LOADER)
    count = 0
    try:
        for count, (key, note) in enumerate(_notes(path), 1):
            if count % _REPORT_EVERY == 0:
                progress.report(f"note {count}")
            doc.parts.append(_note_document(note, part_path(str(path), key), options))
    except _CutShort as exc:
        if not doc.parts:
            raise LoadError(f"corrupt Evernote export ({exc})") from exc
        doc.unread.append(Unread(f"notes after {count}", f"not read: {exc}"))
    if not doc.parts:
        raise LoadError("empty Evernote export (no notes)")
    doc.title = f"{path.name}: {count} note{'s' if count != 1 else ''}"
    doc.metadata["notes"] = str(count)
    return doc


def enex_note(path: Path, key: str, options: LoadOptions) -> Document:
    """The note whose part key is ``key``, alone: copying one attachment out of an export does
    not read every note's attachments."""
    try:
        for note_key, note in _notes(path):
            if note_key == key:
                return _note_document(note, part_path(str(path), key), options)
    except _CutShort as exc:
        raise LoadError(f"corrupt Evernote export ({exc})") from exc
    raise LoadError(f"the Evernote export has no note {key}")


class _CutShort(Exception):
    """The XML stops being well-formed; ``str()`` says where."""


def _notes(path: Path) -> Iterator[tuple[str, Any]]:
    """(part key, ``<note>`` element) in file order; each element is cleared after use."""
    from lxml import etree

    used: set[str] = set()
    try:
        with path.open("rb") as fh:
            events = etree.iterparse(fh, events=("end",), tag="note", huge_tree=True,
                                     resolve_entities=False, no_network=True, load_dtd=False)
            try:
                for _event, note in events:
                    title = clean_inline(note.findtext("title") or "") or "Untitled note"
                    # a note titled "scan.pdf" is a note, not a PDF, to what reads a part's
                    # kind from its path (citations' page units, reading revisions)
                    named = Path(title)
                    if named.suffix and format_for_name(named)[0]:
                        title += " (note)"
                    yield unique_key(title, used), note
                    note.clear()
                    while note.getprevious() is not None:  # free the notes already read
                        del note.getparent()[0]
            except etree.XMLSyntaxError as exc:
                raise _CutShort(one_line(str(exc))[:150]) from exc
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or type(exc).__name__}") from exc


def _date(value: str | None) -> dt.datetime | None:
    """Evernote's "20160505T080034Z" (UTC)."""
    try:
        return dt.datetime.strptime((value or "").strip(), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=dt.UTC)
    except ValueError:
        return None


def _note_document(note: Any, path: str, options: LoadOptions) -> Document:
    title = clean_inline(note.findtext("title") or "") or "Untitled note"
    created = _date(note.findtext("created"))
    updated = _date(note.findtext("updated"))
    tags = [clean_inline(t.text or "") for t in note.findall("tag") if (t.text or "").strip()]
    attributes = note.find("note-attributes")
    author = clean_inline(attributes.findtext("author") or "") if attributes is not None else ""
    source = clean_inline(attributes.findtext("source-url") or "") \
        if attributes is not None else ""
    heading = dated_heading(title, f"{created:%Y-%m-%d}" if created else "")
    facts = [f"{label}: {value}" for label, value in (
        ("Created", f"{created:%Y-%m-%d %H:%M}" if created else ""),
        ("Updated", f"{updated:%Y-%m-%d %H:%M}" if updated and updated != created else ""),
        ("Tags", ", ".join(tags)), ("Author", author), ("Source", source)) if value]
    markup, encrypted = _html(note.findtext("content") or "")
    blocks = [Block(heading, "heading", 1), *([Block("\n".join(facts))] if facts else []),
              *(html_body_blocks(markup) if markup.strip() else [])]
    meta = {"title": title, "created": created.isoformat() if created else "",
            "tags": ", ".join(tags), "author": author, "source_url": source}
    doc = Document(path=path, format="enex", pages=[Page(1, blocks)], title=title,
                   metadata={k: v for k, v in meta.items() if v}, loader=ENEX_LOADER)
    if encrypted:
        doc.metadata["encrypted_sections"] = str(encrypted)
    _attachments(note, doc, options)
    return doc


def _html(enml: str) -> tuple[str, int]:
    """ENML as the HTML reader takes it, and how many encrypted sections it dropped."""
    encrypted = len(_CRYPT.findall(enml))
    text = _CRYPT.sub("", enml)
    text = _CHECKED_BOX.sub("☑ ", text)
    text = _BOX.sub("☐ ", text)
    text = _MEDIA.sub("", text)  # the attachment it shows is read as a part
    return _NOTE_ROOT.sub(r"<\1div", text), encrypted


def _attachments(note: Any, doc: Document, options: LoadOptions) -> None:
    parts = _Parts(doc, options, 0)
    for i, resource in enumerate(note.findall("resource"), 1):
        mime = (resource.findtext("mime") or "").strip().lower()
        if mime.startswith("image/") and _small(resource):
            continue
        name = clean_inline(resource.findtext("resource-attributes/file-name") or "")
        if not name:
            ext = mimetypes.guess_extension(mime) or ".bin"
            name = f"{doc.title} {i}{'.jpg' if ext == '.jpe' else ext}"
        try:
            data = base64.b64decode(resource.findtext("data") or "", validate=False)
        except (binascii.Error, ValueError):
            parts.skip(name, "attachment data is not valid base64")
            continue
        parts.file(name, data)
    parts.finish()


def _small(resource: Any) -> bool:
    try:
        width = int(resource.findtext("width") or 0)
        height = int(resource.findtext("height") or 0)
    except ValueError:
        return False
    return 0 < width < _ICON_PIXELS and 0 < height < _ICON_PIXELS
