"""E-mail: .eml (stdlib ``email``), .mbox (stdlib ``mailbox``, read-only), .msg (extract-msg).

A message becomes one Document with one page whose first block is the heading
"Subject — Sender, Date": the chunker carries headings into every chunk, so each citation says
which mail (and of when) a passage came from. Then one paragraph with From/To/Cc/Date, then the
body (plain text preferred, else the HTML body through the HTML loader, else the RTF body).

Attachments become ``parts``, indexed and cited on their own with their own page numbers: each is
written to a temporary file and read by the ordinary loaders. One bad or unsupported attachment
never fails its message; it is listed in ``metadata["attachments_skipped"]``. Attached messages
(message/rfc822, .eml/.msg files, Outlook embedded items) are built here, in-process, so that the
nesting limit holds. An mbox is a container whose parts are its messages, numbered from 1 in file
order (a message that cannot be read keeps its number, so citations stay stable).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import mailbox
import mimetypes
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from engine.ingest import loaders
from engine.ingest.document import (
    PART_SEPARATOR,
    Block,
    Document,
    LoadError,
    LoadOptions,
    NothingToRead,
    Page,
    Unread,
    part_path,
)
from engine.ingest.loaders.armor import unarmor
from engine.ingest.loaders.common import (
    clean_inline,
    library_errors,
    one_line,
    paragraph_blocks,
    read_bytes,
)
from engine.ingest.loaders.embedded import load_embedded, unique_key
from engine.ingest.loaders.formats import OLE_MAGIC, starts_with_headers
from engine.ingest.loaders.mail_body import body_blocks, html_body_blocks, pasted_picture
from engine.ingest.loaders.mime_text import part_text, rebound, superset_words
from engine.ingest.loaders.tnef import is_tnef
from engine.ingest.loaders.tnef import unpack as unpack_tnef

#: Messages inside messages deeper than this are listed as skipped, not loaded.
MAX_DEPTH = 5
EML_LOADER = "e-mail (Python email)"
MSG_LOADER = "Outlook message (extract-msg)"
MBOX_LOADER = "mailbox (Python mailbox)"
#: The chunker keeps this many characters of a heading: subject is shortened so the date fits.
_HEADING_CHARS = 100
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class _Mail:
    """What a message says about itself, whichever file format it came from."""

    subject: str = ""
    sender: str = ""
    to: str = ""
    cc: str = ""
    date: dt.datetime | None = None
    message_id: str = ""
    body: list[Block] = field(default_factory=list)


def dated_heading(title: str, suffix: str) -> str:
    """"Title — suffix" (sender and date, a note's date) within the heading characters the
    chunker keeps: the title is shortened so the suffix survives."""
    heading = f"{title} — {suffix}" if suffix else title
    if len(heading) > _HEADING_CHARS and suffix:
        room = max(10, _HEADING_CHARS - len(suffix) - 4)
        heading = f"{title[:room].rstrip()}… — {suffix}"
    return heading


def _message_document(path: str, fmt: str, loader: str, mail: _Mail) -> Document:
    """The Document of one message: heading, header paragraph, body (attachments added later)."""
    title = clean_inline(mail.subject) or "(no subject)"
    when = mail.date.strftime("%Y-%m-%d %H:%M") if mail.date else ""
    name, address = email.utils.parseaddr(mail.sender)
    who = clean_inline(name or address or mail.sender)[:40]
    heading = dated_heading(title, ", ".join(x for x in (who, when) if x))
    lines = [f"{label}: {clean_inline(value)}" for label, value in (
        ("From", mail.sender), ("To", mail.to), ("Cc", mail.cc),
        ("Date", mail.date.strftime("%Y-%m-%d %H:%M %z").strip() if mail.date else "")) if value]
    blocks = [Block(heading, "heading", 1), *([Block("\n".join(lines))] if lines else []),
              *mail.body]
    meta = {"subject": mail.subject, "from": mail.sender, "to": mail.to, "cc": mail.cc,
            "date": mail.date.isoformat() if mail.date else "", "message_id": mail.message_id}
    return Document(path=path, format=fmt, pages=[Page(1, blocks)], title=title,
                    metadata={k: clean_inline(v) for k, v in meta.items() if v}, loader=loader)


@dataclass
class Capture:
    """The attachment whose bytes are wanted (its part path), and its bytes once met."""

    wanted: str
    data: bytes | None = None


#: Set while one attachment is copied out of its message (a citation of it is opened, see
#: :mod:`engine.ingest.loaders.parts`): the message is walked as for reading, so every
#: attachment gets the very key it was indexed under, but no attachment is read, and only the
#: messages on the way to the wanted one are opened.
CAPTURE: ContextVar[Capture | None] = ContextVar("satchel_mail_capture", default=None)


class _Parts:
    """Adds a message's attachments to its Document as parts and records those it cannot read."""

    def __init__(self, doc: Document, options: LoadOptions, depth: int,
                 has_body: bool = True) -> None:
        self.doc, self.options, self.depth = doc, options, depth
        self.has_body = has_body  # False: a winmail.dat's body may stand in for the message's
        self.skipped: list[str] = []
        self._used: set[str] = set()

    def key(self, name: str) -> str:
        """A file-system-safe name, unique within the message (it ends the part's path)."""
        return unique_key(os.path.basename(name.replace("\\", "/")) or "attachment", self._used)

    def skip(self, name: str, reason: str, skipped: bool = False) -> None:
        """Record why an attachment is not indexed ("; " separates entries in the metadata);
        ``skipped``: it holds no document (see :class:`Unread`), rather than failed."""
        self.skipped.append(f"{name}: {one_line(reason).replace(';', ',')}")
        self.doc.unread.append(Unread(name, one_line(reason), skipped))

    def message(self, name: str, build: Callable[[str, int], Document]) -> None:
        """An attached message, built by ``build(path, depth)``."""
        key = self.key(name)
        capture = CAPTURE.get()
        if capture is not None and not capture.wanted.startswith(
                part_path(self.doc.path, key) + PART_SEPARATOR):
            return  # copying an attachment out: not the message that holds it
        if self.depth >= MAX_DEPTH:
            self.skip(key, f"messages nested more than {MAX_DEPTH} deep")
            return
        try:
            self.doc.parts.append(build(part_path(self.doc.path, key), self.depth + 1))
        except LoadError as exc:
            self.skip(key, str(exc), isinstance(exc, NothingToRead))

    def file(self, name: str, data: bytes, tnef_depth: int = 0) -> None:
        """An attached file: messages are built here, other supported files by their loader."""
        if is_tnef(data):
            self.tnef(name, data, tnef_depth)
            return
        lower = name.lower()
        if lower.endswith(".p7s"):
            return  # an S/MIME signature (SIGNATURE_TYPES) that came with its file name only
        if lower.endswith((".eml", ".msg")):
            # by content: a message saved as text under .msg (libmime-explode's multi-igor.msg
            # attaches one, and failed as "corrupt Outlook message"), an Outlook one as .eml
            if data.startswith(OLE_MAGIC):
                from engine.ingest.loaders.outlook_msg import msg_document

                self.message(name, lambda p, d: msg_document(data, p, self.options, d))
                return
            if lower.endswith(".eml") or starts_with_headers(data[:8192]):
                self.message(name, lambda p, d: _eml_document(_parse_eml(data), p, self.options,
                                                              d))
                return
        key = self.key(name)
        capture = CAPTURE.get()
        if capture is not None:
            if part_path(self.doc.path, key) == capture.wanted:
                capture.data = data
            return
        if not loaders.is_supported_name(key):
            self.skip(key, loaders.UNSUPPORTED, skipped=True)
            return
        try:
            self.doc.parts.append(load_embedded(self.doc.path, key, lambda f: f.write_bytes(data),
                                                self.options))
        except LoadError as exc:
            self.skip(key, str(exc), isinstance(exc, NothingToRead))

    def tnef(self, name: str, data: bytes, depth: int) -> None:
        """Outlook's winmail.dat (:mod:`engine.ingest.loaders.tnef`): its files join the
        message's attachments, its body fills a message without one."""
        if depth >= MAX_DEPTH:
            self.skip(self.key(name), f"Outlook items nested more than {MAX_DEPTH} deep")
            return
        try:
            packed = unpack_tnef(data)
            body = [] if self.has_body else body_blocks(lambda: packed.plain,
                                                        lambda: packed.html, lambda: packed.rtf)
        except LoadError as exc:
            self.skip(self.key(name), str(exc))
            return
        if body:
            self.doc.pages[0].blocks.extend(body)
            self.has_body = True
        for inner, inner_data in packed.attachments:
            self.file(inner, inner_data, depth + 1)

    def finish(self) -> None:
        if self.skipped:
            self.doc.metadata["attachments_skipped"] = "; ".join(self.skipped)


# ------------------------------------------------------------------------------------ .eml


def load_eml(path: Path, options: LoadOptions) -> Document:
    """An .eml file -> one message Document, its attachments as parts."""
    return message_document(read_bytes(path), path, options)


def message_document(data: bytes, path: Path, options: LoadOptions) -> Document:
    """The message in ``data`` (RFC 5322 bytes) as the Document of the file at ``path``."""
    return _eml_document(_parse_eml(data), str(path), options, 0)


def _parse_eml(data: bytes) -> EmailMessage:
    """Parse leniently (the email package records defects instead of raising); a text without
    a single header line is not a message."""
    with library_errors("e-mail"):
        msg = email.message_from_bytes(data.lstrip(b"\r\n"), policy=email.policy.default)
    if not msg.keys():
        raise LoadError("not an e-mail message (no headers)")
    return msg  # type: ignore[return-value]


def _header(msg: EmailMessage, name: str) -> str:
    raw = next((v for k, v in msg.raw_items() if k.lower() == name), None)
    if raw is not None and (words := superset_words(raw)) is not None:
        return clean_inline(words)
    try:
        value = msg.get(name)
    except Exception:  # the structured-header parser rejects some malformed values: use raw text
        value = raw
    return clean_inline(str(value)) if value is not None else ""


def _eml_date(msg: EmailMessage) -> dt.datetime | None:
    try:
        return getattr(msg.get("date"), "datetime", None)  # None when unparseable
    except Exception:  # some malformed dates raise instead: still just no date
        return None


def _leaves(part: EmailMessage, level: int = 0) -> Iterator[EmailMessage]:
    """Non-multipart parts in order, not descending into attached messages. A multipart whose
    declared boundary is not in its body is split at the boundary it does use
    (:func:`engine.ingest.loaders.mime_text.rebound`), else kept whole as a leaf of text."""
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, str) and level < 50:
        fixed = rebound(part, payload)
        part, payload = (fixed, fixed.get_payload()) if fixed is not None else (part, payload)
    if part.get_content_maintype() == "multipart" and isinstance(payload, list) and level < 50:
        for sub in payload:
            yield from _leaves(sub, level + 1)
    else:
        yield part


def _filename(part: EmailMessage) -> str:
    try:
        return clean_inline(part.get_filename() or "")
    except Exception:  # a malformed RFC 2231 parameter: the part has no usable name
        return ""


#: The signature of a signed message (PGP/MIME, S/MIME): a mail program shows it as a badge,
#: not as an attached file, and it holds no words.
SIGNATURE_TYPES = frozenset({"application/pgp-signature", "application/pkcs7-signature",
                             "application/x-pkcs7-signature"})


def _is_attachment(part: EmailMessage) -> bool:
    """Attached files and messages; images an HTML body shows inline (by Content-ID) are not,
    unless pasted into the text (:func:`.mail_body.pasted_picture`: a screenshot)."""
    disposition = part.get_content_disposition()
    if part.get_content_type() == "message/rfc822" or disposition == "attachment":
        return True
    if part.get_content_maintype() == "image" and part["content-id"] is not None:
        data = part.get_payload(decode=True)
        return isinstance(data, bytes) and pasted_picture(data)
    return bool(_filename(part))


def _eml_document(msg: EmailMessage, path: str, options: LoadOptions, depth: int) -> Document:
    """One parsed message (top level, in an mbox, or attached) -> Document with parts."""
    with library_errors("e-mail"):
        leaves = list(_leaves(msg))
        leaves = [p for p in leaves if p.get_content_type() not in SIGNATURE_TYPES]
        attachments = [p for p in leaves if _is_attachment(p)]
        texts = [p for p in leaves if p not in attachments and (
            p.get_content_type() in ("text/plain", "text/html") or
            p.get_content_maintype() == "multipart")]
        plain = "\n\n".join(part_text(p) for p in texts if p.get_content_type() != "text/html")
        html = [part_text(p) for p in texts if p.get_content_type() == "text/html"]
        mail = _Mail(_header(msg, "subject"), _header(msg, "from"), _header(msg, "to"),
                     _header(msg, "cc"), _eml_date(msg), _header(msg, "message-id"))
    plain, _armor = unarmor(plain)  # an inline-signed body: its text, not its signature
    if plain.strip():
        mail.body = paragraph_blocks(plain)
    else:
        mail.body = [b for markup in html if markup.strip() for b in html_body_blocks(markup)]
    doc = _message_document(path, "eml", EML_LOADER, mail)
    parts = _Parts(doc, options, depth, has_body=bool(mail.body))
    for i, part in enumerate(attachments, 1):
        name = _filename(part)
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if not isinstance(inner, EmailMessage):
                parts.skip(name or f"message-{i}.eml", "empty attached message")
                continue
            name = name or f"{_header(inner, 'subject') or 'message'}.eml"
            parts.message(name, lambda p, d, inner=inner: _eml_document(inner, p, options, d))
            continue
        with library_errors("e-mail attachment"):
            data = part.get_payload(decode=True)
        ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
        parts.file(name or f"attachment-{i}{ext}", data if isinstance(data, bytes) else b"")
    parts.finish()
    return doc


# ------------------------------------------------------------------------------------ .mbox


class _ReadOnlyMbox(mailbox.mbox):
    """``mailbox.mbox`` opened read-only. The stdlib opens the file "rb+" so it can write changes
    back; closing such a handle is a write event to file watchers (Satchel's re-indexes on it)
    and needs write permission. Only the file opening differs; no locks are taken."""

    def __init__(self, path: Path) -> None:
        mailbox.Mailbox.__init__(self, str(path), None, False)
        # The state _singlefileMailbox.__init__ sets up, with a read-only file.
        vars(self).update(_file=open(path, "rb"), _message_factory=mailbox.mboxMessage,  # noqa: SIM115
                          _toc=None, _next_key=0, _pending=False, _pending_sync=False,
                          _locked=False, _file_length=None)


def load_mbox(path: Path, options: LoadOptions) -> Document:
    """An mbox file -> a container Document (no pages) whose parts are its messages."""
    try:
        box = _ReadOnlyMbox(path)
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or type(exc).__name__}") from exc
    doc = Document(path=str(path), format="mbox", loader=MBOX_LOADER)
    total = skipped = 0
    try:
        with library_errors("mailbox"):
            keys = list(box.iterkeys())
        for total, key in enumerate(keys, 1):
            try:
                with library_errors("mailbox"):
                    data = box.get_bytes(key)
                message = _eml_document(_parse_eml(data), part_path(str(path), str(total)),
                                        options, 0)
            except LoadError as exc:
                skipped += 1
                doc.unread.append(Unread(str(total), f"message not read: {one_line(str(exc))}"))
                continue
            doc.parts.append(message)
    finally:
        box.close()
    if total == 0:
        raise LoadError("empty mailbox (no messages)")
    if not doc.parts:
        raise LoadError(f"no readable messages in the mailbox ({skipped} could not be parsed)")
    doc.title = f"{path.name}: {total} message{'s' if total != 1 else ''}"
    doc.metadata["messages"] = str(total)
    if skipped:
        doc.metadata["messages_skipped"] = str(skipped)
    return doc


def mbox_message(path: Path, number: int, options: LoadOptions) -> Document:
    """Message ``number`` (1-based, as its part path counts) of an mbox, alone: a citation of
    one attachment does not parse the whole mailbox."""
    try:
        box = _ReadOnlyMbox(path)
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or type(exc).__name__}") from exc
    try:
        with library_errors("mailbox"):
            keys = list(box.iterkeys())
            if not 1 <= number <= len(keys):
                raise LoadError(f"the mailbox has no message {number}")
            data = box.get_bytes(keys[number - 1])
    finally:
        box.close()
    return _eml_document(_parse_eml(data), part_path(str(path), str(number)), options, 0)
