"""Imported content of a Word document (``w:altChunk``): documents merged into another.

Programs that assemble Word files (mail merges, report generators, the Open XML SDK's
"merge documents" recipe, HTML-to-Word exporters) often do not copy the content in: they put
the whole other document into the package as an "alternative format chunk" (a .docx, an HTML
or MHT page, RTF or plain text) and a ``w:altChunk`` mark where it belongs. Word imports it when
it opens the file. python-docx neither reads such a chunk nor, when it is a .docx typed as a
Word main part (as the SDK's recipe types it), opens the file at all: LibreOffice's
alt-chunk.docx failed as "corrupt DOCX: Start tag expected". So the chunk part is kept as
bytes when the package is opened (:func:`install_chunk_parts`) and read, at its mark, by
Satchel's own reader of its format (:func:`chunk_blocks`).
"""

from __future__ import annotations

import tempfile
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, LoadError, LoadOptions

#: The file name suffix a chunk is read as, by its content type; a chunk of another type is
#: read by its part name's own suffix (an XHTML chunk may be named .xml, which alone would
#: read it as XML source).
_SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".xhtml",
    "message/rfc822": ".mht",
    "multipart/related": ".mht",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": ".docx",
    "application/vnd.ms-word.document.macroEnabled.main+xml": ".docm",
}
#: Chunks inside chunks are read to this depth (each is a whole document; a package cannot
#: hold itself, but a generator could nest without end).
MAX_DEPTH = 4
_DEPTH: ContextVar[int] = ContextVar("chunk_depth", default=0)


def install_chunk_parts() -> None:
    """Have python-docx keep chunk parts as bytes, whatever their content type says (once)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.part import Part, PartFactory

    selector = PartFactory.part_class_selector
    if getattr(selector, "keeps_chunks", False):
        return

    def keep_chunks(content_type: str, reltype: str) -> type[Part] | None:
        if reltype == RT.A_F_CHUNK:
            return Part
        return selector(content_type, reltype) if selector is not None else None

    keep_chunks.keeps_chunks = True  # type: ignore[attr-defined]
    PartFactory.part_class_selector = keep_chunks


def chunk_blocks(part: Any, options: LoadOptions | None = None) -> list[Block]:
    """The blocks of a chunk part, read as the file it is; none when it cannot be read (an
    unreadable chunk is one missing passage, not a failed document)."""
    from engine.ingest.loaders import SUPPORTED_EXTENSIONS, load

    own = Path(str(part.partname)).suffix.lower()
    suffix = _SUFFIXES.get(part.content_type) or (own if own in SUPPORTED_EXTENSIONS else "")
    depth = _DEPTH.get()
    if not suffix or depth >= MAX_DEPTH:
        return []
    with tempfile.TemporaryDirectory(prefix="satchel-chunk-") as tmp:
        path = Path(tmp) / f"chunk{suffix}"
        path.write_bytes(part.blob)
        token = _DEPTH.set(depth + 1)
        try:
            doc = load(path, options=options)
        except LoadError:
            return []
        finally:
            _DEPTH.reset(token)
    return [block for page in doc.pages for block in page.blocks]
