"""Copying one cited part out of the file that holds it, to open it on its own.

A passage from a document inside an archive or attached to an e-mail is cited by its part path
("backup.zip//reports › q1.pdf", "inbox.mbox//3//invoice.pdf",
"archive.pst//Inbox › 3//invoice.pdf"). Opening the holder (the zip,
the whole mailbox) leaves the user to find the document; the desktop app copies the document
out instead and opens the copy, a PDF at the cited page. Only a document itself is copied: a
member of an archive (not one nested in another archive), a file attached to a message (also to
a message attached to a message); a message's own text opens its holder.
"""

from __future__ import annotations

from pathlib import Path

from engine.ingest.document import PART_SEPARATOR, LoadError, LoadOptions, container_of
from engine.ingest.loaders.formats import ARCHIVE_FORMATS, format_for_name

#: Files that hold messages (or notes) whose attachments are parts.
MAIL_FORMATS = ("eml", "emlx", "mbox", "msg", "pst", "enex")
_MESSAGE_SUFFIXES = (".eml", ".msg")


def _split(path: str) -> tuple[str, str | None, list[str]]:
    holder = container_of(path)
    keys = path[len(holder) + len(PART_SEPARATOR):].split(PART_SEPARATOR) if holder != path \
        else []
    return holder, format_for_name(Path(holder))[0], keys


def extractable(path: str) -> bool:
    """Whether :func:`extract_part` can copy ``path`` out of its holder (by its name alone)."""
    _holder, fmt, keys = _split(path)
    if not keys:
        return False
    if fmt in ARCHIVE_FORMATS:
        return len(keys) == 1
    if fmt not in MAIL_FORMATS:
        return False
    if fmt in ("mbox", "pst", "enex"):  # a message or note first: "3", "Inbox › 3", a title
        if fmt != "enex" and not keys[0].rpartition(" › ")[2].isdigit():
            return False
        keys = keys[1:]
    return bool(keys) and not keys[-1].lower().endswith(_MESSAGE_SUFFIXES) and all(
        k.lower().endswith(_MESSAGE_SUFFIXES) for k in keys[:-1])


def extract_part(path: str, folder: Path) -> Path | None:
    """A copy of the part ``path`` in ``folder``, or None when it cannot be copied out (not
    :func:`extractable`, its holder gone or changed): the caller then opens the holder."""
    if not extractable(path):
        return None
    holder, fmt, keys = _split(path)
    if fmt in ARCHIVE_FORMATS:
        from engine.ingest.loaders.archive import extract_part as from_archive

        return from_archive(path, folder)
    from engine.ingest.loaders import email
    from engine.ingest.loaders.embedded import safe_name

    if not Path(holder).is_file():
        return None
    capture = email.Capture(path)
    token = email.CAPTURE.set(capture)
    options = LoadOptions(ocr=False)
    try:
        if fmt == "mbox":
            email.mbox_message(Path(holder), int(keys[0]), options)
        elif fmt == "pst":
            from engine.ingest.loaders.outlook_pst import pst_message

            pst_message(Path(holder), keys[0], options)
        elif fmt == "enex":
            from engine.ingest.loaders.evernote import enex_note

            enex_note(Path(holder), keys[0], options)
        elif fmt == "emlx":
            from engine.ingest.loaders.emlx import load_emlx

            load_emlx(Path(holder), options)
        elif fmt == "eml":
            email.load_eml(Path(holder), options)
        else:
            from engine.ingest.loaders.outlook_msg import load_msg

            load_msg(Path(holder), options)
    except LoadError:
        return None
    finally:
        email.CAPTURE.reset(token)
    if capture.data is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / safe_name(keys[-1])
    dest.write_bytes(capture.data)
    return dest
