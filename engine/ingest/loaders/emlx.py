"""Apple Mail messages (.emlx, .partial.emlx): one message per file, as Mail stores them.

Mail keeps each message in ``~/Library/Mail/V10/<account>/<mailbox>.mbox/.../Messages/`` as
``<id>.emlx``: a line with the message's length in bytes, the message itself (RFC 5322, read
exactly like an .eml), then a property list of Mail's flags, which is not part of the message.
A ``.partial.emlx`` holds the message without the bodies of its large attachments (Mail keeps
those in separate files); its text is read the same way, and attachments it does not hold are
simply not there.
"""

from __future__ import annotations

from pathlib import Path

from engine.ingest.document import Document, LoadError, LoadOptions
from engine.ingest.loaders.common import read_bytes

LOADER = "Apple Mail message (Python email)"


def message_bytes(data: bytes) -> bytes:
    """The RFC 5322 message inside an .emlx file's bytes (LoadError when it is not one)."""
    first, newline, rest = data.partition(b"\n")
    count = first.strip()
    if not newline or not count.isdigit():
        raise LoadError("not an Apple Mail message (no byte count on its first line)")
    size = int(count)
    if size == 0 or size > len(rest):
        raise LoadError(f"truncated Apple Mail message ({len(rest)} of {size} bytes)")
    return rest[:size]


def load_emlx(path: Path, options: LoadOptions) -> Document:
    """An .emlx file -> one message Document, its attachments as parts."""
    from engine.ingest.loaders.email import message_document

    doc = message_document(message_bytes(read_bytes(path)), path, options)
    doc.format, doc.loader = "emlx", LOADER
    return doc
