"""Files embedded in Word documents and PowerPoint decks (Insert > Object): read as parts.

Why: a report often carries its figures as an embedded Excel sheet, or a file dropped into the
page (a PDF, a text file); Word shows a picture of it, and the words are only in the embedded
file. Read as the document's parts, they are searched and cited on their own ("report.docx ›
budget.xlsx"), like a message's attachments.

What is read: objects the document's body or a slide links to (the ``oleObject`` and
``package`` relationships of that part), not the workbooks behind charts (the chart's own XML
holds its values). An OLE object is unwrapped to the file it holds: a dropped-in file
("\\x01Ole10Native", with its own name), an Office Open XML file ("Package"), a PDF
(Acrobat's "CONTENTS"), or the object itself when it is a Word, Excel or PowerPoint 97-2003
document. Equations, drawings and other objects hold no file and are left out.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import Any

from engine.ingest.document import Document, LoadError, NothingToRead, Unread
from engine.ingest.loaders.content_format import ole_format_of, zip_package_format
from engine.ingest.loaders.formats import PDF_MAGIC, ZIP_MAGIC
from engine.ingest.loaders.ooxml import OLE_OBJECT, PACKAGE


def embedded_files(parts: Iterable[Any]) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the files embedded in these python-docx / python-pptx parts (a
    document's body part, a deck's slides), in their order, each once."""
    seen: set[str] = set()
    out: list[tuple[str, bytes]] = []
    for part in parts:
        for rel in part.rels.values():
            if rel.is_external or rel.reltype not in (OLE_OBJECT, PACKAGE):
                continue
            target = rel.target_part
            partname = str(target.partname)
            if partname in seen:
                continue
            seen.add(partname)
            name = os.path.basename(partname)
            found = (ole_object_file(name, target.blob) if rel.reltype == OLE_OBJECT
                     else (name, target.blob))
            if found is not None:
                out.append(found)
    return out


def ole_object_file(name: str, data: bytes) -> tuple[str, bytes] | None:
    """The file an OLE object (``name``: "oleObject1.bin") holds, or None (see module doc)."""
    import olefile

    stem = os.path.splitext(name)[0]
    try:
        with olefile.OleFileIO(data) as ole:
            streams = {"/".join(entry).lower(): entry for entry in ole.listdir()}
            if "\x01ole10native" in streams:
                return _native(ole.openstream(streams["\x01ole10native"]).read())
            if "package" in streams:
                package = ole.openstream(streams["package"]).read()
                return stem + _zip_kind(package), package
            if "contents" in streams:
                contents = ole.openstream(streams["contents"]).read()
                return (stem + ".pdf", contents) if PDF_MAGIC in contents[:1024] else None
            fmt = ole_format_of(set(streams))
            if fmt in ("doc", "xls", "ppt"):
                return f"{stem}.{fmt}", data
    except Exception:  # olefile raises OSError, OleFileError, struct.error... on junk
        return None
    return None


def _native(raw: bytes) -> tuple[str, bytes] | None:
    """A dropped-in file: total size, flags, its name, its source path, 4 bytes, the length
    and text of a temporary path, then the size and bytes of the file."""
    try:
        name_end = raw.index(b"\0", 6)
        name = raw[6:name_end].decode("cp1252", "replace")
        source_end = raw.index(b"\0", name_end + 1)
        source = raw[name_end + 1:source_end].decode("cp1252", "replace")
        at = source_end + 1 + 4
        temp_length = int.from_bytes(raw[at:at + 4], "little")
        at += 4 + temp_length
        size = int.from_bytes(raw[at:at + 4], "little")
        body = raw[at + 4:at + 4 + size]
    except ValueError:
        return None
    if len(body) != size or not size:
        return None
    return (name or source.replace("\\", "/").rsplit("/", 1)[-1] or "embedded file"), body


def _zip_kind(data: bytes) -> str:
    """The extension an embedded package is read under: its format's, else .zip or .bin."""
    fmt = zip_package_format(io.BytesIO(data))
    if fmt in ("docx", "xlsx", "pptx"):
        return f".{fmt}"
    return ".zip" if data.startswith(ZIP_MAGIC) else ".bin"


def add_embedded(doc: Document, files: list[tuple[str, bytes]], options: Any) -> None:
    """Read each embedded file as a part of ``doc``; one that cannot be read is listed in
    ``doc.unread`` (as an attachment is), and never fails the document."""
    from engine.ingest import loaders
    from engine.ingest.loaders.embedded import load_embedded, unique_key

    used: set[str] = set()
    for name, data in files:
        key = unique_key(name, used)
        if not loaders.is_supported_name(key):
            doc.unread.append(Unread(key, loaders.UNSUPPORTED, True))
            continue
        try:
            doc.parts.append(load_embedded(doc.path, key, lambda f, d=data: f.write_bytes(d),
                                           options))
        except LoadError as exc:
            doc.unread.append(Unread(key, str(exc), isinstance(exc, NothingToRead)))
