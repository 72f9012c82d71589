"""Outlook data files (.pst, .ost): every folder's mail, with attachments, read with libpff.

Outlook keeps a user's mail in one data file: a .pst ("Outlook Data File", what File > Export
and AutoArchive write, and what people carry from one computer to the next) or an .ost (the
offline copy of an Exchange or Outlook.com mailbox). Each item becomes one message Document, as
an .eml or .msg does (:mod:`engine.ingest.loaders.email`): heading "Subject — Sender, Date",
the people, the body (plain text, else HTML, else RTF), attachments as parts. The file is a
container like an mbox: its parts are its items, keyed by their folder path and their number
in that folder ("archive.pst › Inbox › 3", "archive.pst › Inbox › 3 › invoice.pdf"), so a
citation says where the mail is, and keys stay stable while other folders change.

Only the user's folders are read: the tree under the store's IPM subtree ("Top of Personal
Folders", an OST's "Root - Mailbox › IPM_SUBTREE"), not search folders, views, reminders or
the public folders' root. Calendar items carry their start and end; meeting requests and
posts read as mail. An item that cannot be read keeps its number and is listed as unread;
the rest of the file is read. A large archive reports its progress item by item, so the parse
time limit counts from the last item, not from the file's start.

libpff (pypff) reads the ANSI (Outlook 97-2002) and Unicode (2003 and later) formats, the
OST 2013 format, and both of Outlook's "encryption" encodings, which are obfuscation without
a key; a PST "password" is a checksum Outlook asks for and libpff ignores, so such files read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest import progress
from engine.ingest.document import (
    Document,
    LoadError,
    LoadOptions,
    Unread,
    part_path,
)
from engine.ingest.loaders.common import clean_inline, one_line, paragraph_blocks
from engine.ingest.loaders.email import _IMAGE_EXTENSIONS, _Mail, _message_document, _Parts
from engine.ingest.loaders.embedded import unique_key
from engine.ingest.loaders.mail_body import body_blocks, pasted_picture, shown_in_body

PST_LOADER = "Outlook data file (libpff)"
#: Joins the folders and the item number of an item's part key ("Inbox › Projects › 12").
KEY_SEPARATOR = " › "
#: A progress report every this many items: each is a sign of life to the parse time limit.
_REPORT_EVERY = 20

# MAPI property tags (MS-OXPROPS) the reader uses.
_MESSAGE_CLASS = 0x001A
_SUBJECT = 0x0037
_SUBMIT_TIME = 0x0039
_START = 0x0060
_END = 0x0061
_SENDER_NAME = 0x0C1A
_SENDER_ADDRESS = 0x0C1F
_SENDER_ADDRESS_TYPE = 0x0C1E
_SENDER_SMTP = 0x5D01
_DISPLAY_CC = 0x0E03
_DISPLAY_TO = 0x0E04
_DELIVERY_TIME = 0x0E06
_BODY = 0x1000
_MESSAGE_ID = 0x1035
_CREATION_TIME = 0x3007
_DISPLAY_NAME = 0x3001
_EMAIL_ADDRESS = 0x3003
_ADDRESS_TYPE = 0x3002
_SMTP_ADDRESS = 0x39FE
_RECIPIENT_TYPE = 0x0C15
_IPM_SUBTREE = 0x35E0
_ATTACH_METHOD = 0x3705
_ATTACH_LONG_NAME = 0x3707
_ATTACH_NAME = 0x3704
_ATTACH_CONTENT_ID = 0x3712
_ATTACH_FLAGS = 0x3714
_ATTACH_HIDDEN = 0x7FFE
# PR_ATTACH_METHOD values: the attachment's bytes are in the file (1), a link to a file
# elsewhere (2-4), a message inside the message (5), an OLE object (6).
_BY_VALUE, _EMBEDDED_MESSAGE, _OLE = 1, 5, 6
#: The contact fields worth a line of their own (display name is the heading already).
_CONTACT_FIELDS = ((0x3A16, "Company"), (0x3A17, "Job title"), (0x3A18, "Department"),
                   (0x3A08, "Business phone"), (0x3A09, "Home phone"), (0x3A1C, "Mobile"),
                   (0x3A29, "Address"), (0x3A27, "City"), (0x3A26, "Country"))


def load_pst(path: Path, options: LoadOptions) -> Document:
    """A .pst or .ost file -> a container Document (no pages) whose parts are its items."""
    pst = _open(path)
    doc = Document(path=str(path), format="pst", loader=PST_LOADER)
    try:
        folders = list(_folders(pst))
        total = sum(_count(folder) for _trail, folder in folders)
        done = 0
        for trail, folder in folders:
            for number in range(1, _count(folder) + 1):
                key = KEY_SEPARATOR.join((*trail, str(number)))
                done += 1
                if done % _REPORT_EVERY == 0:
                    progress.report(f"message {done} of {total}")
                try:
                    item = folder.get_sub_message(number - 1)
                    doc.parts.append(_item_document(item, part_path(str(path), key), options, 0))
                except LoadError as exc:
                    doc.unread.append(Unread(key, f"message not read: {one_line(str(exc))}"))
                except OSError as exc:  # libpff meets a damaged item's blocks
                    doc.unread.append(Unread(key, f"message not read: damaged item "
                                                  f"({_last_reason(str(exc))})"))
    finally:
        pst.close()
    if total == 0:
        raise LoadError("empty Outlook data file (no messages in its folders)")
    if not doc.parts:
        raise LoadError(f"no readable messages in the Outlook data file ({total} could not be "
                        "read)")
    doc.title = f"{path.name}: {total} message{'s' if total != 1 else ''}"
    doc.metadata["messages"] = str(total)
    doc.metadata["folders"] = str(sum(1 for trail, _folder in folders if trail))
    if doc.unread:
        doc.metadata["messages_skipped"] = str(len(doc.unread))
    return doc


def pst_message(path: Path, key: str, options: LoadOptions) -> Document:
    """The item whose part key is ``key`` ("Inbox › 3"), alone: copying one attachment out of
    an archive does not read the whole archive."""
    trail, _sep, number = key.rpartition(KEY_SEPARATOR)
    pst = _open(path)
    try:
        for folder_trail, folder in _folders(pst):
            if KEY_SEPARATOR.join(folder_trail) == trail and number.isdigit() and \
                    1 <= int(number) <= _count(folder):
                try:
                    item = folder.get_sub_message(int(number) - 1)
                    return _item_document(item, part_path(str(path), key), options, 0)
                except OSError as exc:
                    raise LoadError(f"damaged Outlook item ({_last_reason(str(exc))})") from exc
    finally:
        pst.close()
    raise LoadError(f"the Outlook data file has no message {key}")


def _open(path: Path) -> Any:
    import pypff

    pst = pypff.file()
    try:
        pst.open(str(path))
    except OSError as exc:
        detail = str(exc)
        if "permission" in detail.lower():
            raise LoadError("permission denied") from exc
        # libpff's error chain names the structure it could not read, last one first
        raise LoadError(f"corrupt or truncated Outlook data file ({_last_reason(detail)})") \
            from exc
    return pst


def _last_reason(detail: str) -> str:
    """What was actually wrong, from libpff's chain of "function: reason." sentences: the
    binding's own comes first ("unable to open file"), then the innermost cause, then the
    callers' ("pypff_file_open: unable to open file. libpff_table_read: data block: 0 too
    small to be a table. libpff_item_values_read: ...")."""
    sentences = [s for s in detail.split(". ") if s.strip()]
    cause = sentences[1] if len(sentences) > 1 else sentences[0] if sentences else ""
    return one_line(cause.split(": ", 1)[-1].rstrip("."))[:120] or "unreadable"


def _count(folder: Any) -> int:
    try:
        return int(folder.number_of_sub_messages)
    except OSError:
        return 0


def _folders(pst: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(folder names from the top of the user's folders, folder), parents before children.

    Names are made unique among siblings ("Inbox (2)"), as attachment names are in a message,
    so every item's key is unique and found again the same way."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), _user_top(pst))]
    while stack:
        trail, folder = stack.pop()
        yield trail, folder
        used: set[str] = set()
        children = [((*trail, unique_key(_name(child) or "folder", used)), child)
                    for child in _sub_folders(folder)]
        stack.extend(reversed(children))


def _name(folder: Any) -> str:
    try:
        return clean_inline(folder.name or "")
    except OSError:
        return ""


def _sub_folders(folder: Any) -> list[Any]:
    """The folder's sub-folders that libpff can open (a damaged one costs only itself)."""
    try:
        count = int(folder.number_of_sub_folders)
    except OSError:
        return []
    children = []
    for i in range(count):
        try:
            children.append(folder.get_sub_folder(i))
        except OSError:
            continue
    return children


def _user_top(pst: Any) -> Any:
    """The top of the user's folders: the folder the message store names as its IPM subtree;
    else (an OST does not name it) the mailbox root's "IPM_SUBTREE"; else the root."""
    root = pst.get_root_folder()
    wanted = None
    try:
        entry_id = _value(pst.get_message_store(), _IPM_SUBTREE)
        if isinstance(entry_id, bytes) and len(entry_id) >= 24:
            wanted = int.from_bytes(entry_id[20:24], "little")  # the entry ID ends with its NID
    except OSError:
        wanted = None
    fallback = None
    for child in _sub_folders(root):
        for folder in (child, *_sub_folders(child)):
            if wanted is not None and folder.identifier == wanted:
                return folder
            if _name(folder) == "IPM_SUBTREE" and (fallback is None or len(
                    _sub_folders(folder)) > len(_sub_folders(fallback))):
                fallback = folder  # "Root - Mailbox"'s, not the empty public folders' root
    return fallback if fallback is not None else root


def _value(item: Any, tag: int) -> Any:
    """A MAPI property of ``item``: str, datetime, int or bytes; None when absent or unreadable
    (one damaged property must not cost the rest of the message)."""
    try:
        if not item.number_of_record_sets:
            return None
        return _entry_value(item.get_record_set(0), tag)
    except OSError:
        return None


def _entry_value(record_set: Any, tag: int) -> Any:
    """Property ``tag`` of one record set (an item's, or a row of its recipient table)."""
    try:
        entry = record_set.get_entry_by_type(tag)
    except OSError:
        return None
    if entry is None:
        return None
    value_type = entry.value_type
    try:
        if value_type in (0x001E, 0x001F):  # 8-bit and Unicode strings
            return entry.data_as_string
        if value_type == 0x0040:  # FILETIME
            return entry.data_as_datetime
        if value_type in (0x0002, 0x0003, 0x0014, 0x000B):  # integers, boolean
            return entry.data_as_integer
        return entry.data
    except (OSError, ValueError, OverflowError):
        return None


def _text(item: Any, tag: int) -> str:
    value = _value(item, tag)
    return value.strip() if isinstance(value, str) else ""


def _date(item: Any, *tags: int) -> dt.datetime | None:
    for tag in tags:
        value = _value(item, tag)
        if isinstance(value, dt.datetime) and 1980 <= value.year < 4500:  # 4500: MAPI's "none"
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
    return None


def _person(name: str, address: str) -> str:
    """"Name <address>" as a From or To header writes it; an Exchange address (an X.500 path,
    "/O=FIRST ORGANIZATION/OU=...") is no address to a reader and is left out, and so is one
    Exchange wrapped for another mail system ("IMCEANOTES-Jim+20Lokay...@ENRON.com", a Lotus
    Notes sender), whose display name already says it; a wrapped Internet address
    ("IMCEASMTP-ann+40example+2Eorg@corp.com") is unwrapped."""
    address = _unwrapped(address)
    if not address or address.startswith("/") or address.lower() == name.lower():
        return name or ("" if address.startswith("/") else address)
    return f"{name} <{address}>" if name else address


_IMCEA_ESCAPE = re.compile(r"\+([0-9A-Fa-f]{2})")


def _unwrapped(address: str) -> str:
    """An address Exchange encapsulated (IMCEA: "+XX" escapes between the type and the last
    "@"): the Internet address inside an SMTP one, nothing for any other mail system's."""
    if not address.upper().startswith("IMCEA"):
        return address
    kind, _dash, rest = address[5:].partition("-")
    inner = rest.rpartition("@")[0]
    if kind.upper() != "SMTP" or not inner:
        return ""
    return _IMCEA_ESCAPE.sub(lambda m: chr(int(m[1], 16)), inner)


def _sender(item: Any) -> str:
    address = _text(item, _SENDER_SMTP) or _text(item, _SENDER_ADDRESS)
    if _text(item, _SENDER_ADDRESS_TYPE).upper() == "EX" and not _text(item, _SENDER_SMTP):
        address = ""
    return _person(_text(item, _SENDER_NAME), address)


def _recipients(item: Any) -> tuple[str, str]:
    """(To, Cc) with addresses from the recipient table; the display lists when it is absent."""
    to: list[str] = []
    cc: list[str] = []
    try:
        table = item.recipients
        sets = list(table.record_sets) if table is not None else []
    except OSError:
        sets = []
    for record in sets:
        def field(tag: int, record: Any = record) -> str:
            value = _entry_value(record, tag)
            return value.strip() if isinstance(value, str) else ""

        kind = _entry_value(record, _RECIPIENT_TYPE)
        kind = kind if isinstance(kind, int) else 1
        address = field(_SMTP_ADDRESS) or (
            field(_EMAIL_ADDRESS) if field(_ADDRESS_TYPE).upper() != "EX" else "")
        person = _person(field(_DISPLAY_NAME), address)
        if person and kind in (1, 2):  # Bcc (3) and resources are not on the message's face
            (to if kind == 1 else cc).append(person)
    if not sets:
        return _text(item, _DISPLAY_TO), _text(item, _DISPLAY_CC)
    return ", ".join(to), ", ".join(cc)


def _item_document(item: Any, path: str, options: LoadOptions, depth: int) -> Document:
    """One item (mail, meeting, appointment, contact, note, task) -> message Document."""
    kind = _text(item, _MESSAGE_CLASS).lower()
    subject = _text(item, _SUBJECT) or (_text(item, _DISPLAY_NAME) if kind.startswith(
        "ipm.contact") else "")
    to, cc = _recipients(item)
    calendar = kind.startswith(("ipm.appointment", "ipm.schedule.meeting"))
    start = _date(item, _START) if calendar else None
    mail = _Mail(subject, _sender(item), to, cc,
                 start or _date(item, _SUBMIT_TIME, _DELIVERY_TIME, _CREATION_TIME),
                 _text(item, _MESSAGE_ID))
    lead: list[str] = []
    if start is not None:
        end = _date(item, _END)
        lead.append("When: " + start.strftime("%Y-%m-%d %H:%M") + (
            " – " + end.strftime("%Y-%m-%d %H:%M") if end and end != start else ""))
    if kind.startswith("ipm.contact"):
        lead += [f"{label}: {value}" for tag, label in _CONTACT_FIELDS
                 if (value := clean_inline(_text(item, tag)))]
    mail.body = [*paragraph_blocks("\n".join(lead)), *body_blocks(
        lambda: _text(item, _BODY), lambda: _body(item, "html_body"),
        lambda: _body(item, "rtf_body"))]
    doc = _message_document(path, "pst", PST_LOADER, mail)
    _attachments(item, doc, options, depth)
    return doc


def _body(item: Any, name: str) -> bytes | None:
    try:
        value = getattr(item, name)
    except OSError:
        return None
    return value if isinstance(value, bytes) and value.strip(b"\x00 \r\n") else None


def _attachments(item: Any, doc: Document, options: LoadOptions, depth: int) -> None:
    parts = _Parts(doc, options, depth)
    html: list[bytes | None] = []  # the HTML body, read from the file once, when first needed
    try:
        count = int(item.number_of_attachments)
    except OSError as exc:
        parts.skip("attachments", f"unreadable ({one_line(str(exc))[:80]})")
        count = 0
    for i in range(count):
        try:
            attachment = item.get_attachment(i)
        except OSError as exc:
            parts.skip(f"attachment-{i + 1}", f"unreadable ({_last_reason(str(exc))})")
            continue
        method = _value(attachment, _ATTACH_METHOD)
        name = clean_inline(_text(attachment, _ATTACH_LONG_NAME) or
                            _text(attachment, _ATTACH_NAME) or _text(attachment, _DISPLAY_NAME))
        if method == _EMBEDDED_MESSAGE:
            inner = _embedded(attachment)
            label = name or f"{_text(inner, _SUBJECT) if inner else ''}" or "message"
            if inner is None:
                parts.skip(f"{label}.msg", "unreadable attached message")
            else:
                parts.message(f"{label}.msg", lambda p, d, inner=inner: _item_document(
                    inner, p, options, d))
        elif method in (_BY_VALUE, _OLE):
            name = name or f"attachment-{i + 1}.bin"
            inline = name.lower().endswith(_IMAGE_EXTENSIONS) and _inline(item, attachment, html)
            try:
                data = attachment.read_buffer(int(attachment.size))
            except OSError as exc:
                if not inline:
                    parts.skip(name, f"unreadable ({_last_reason(str(exc))})")
                continue
            data = data if isinstance(data, bytes) else b""
            if inline and not pasted_picture(data):
                continue  # an image the HTML body shows inline (logos, signatures)
            parts.file(name, data)
        else:
            parts.skip(name or f"attachment-{i + 1}", "linked file (not stored in the message)",
                       skipped=True)
    parts.finish()


def _inline(item: Any, attachment: Any, html: list[bytes | None]) -> bool:
    """Whether the message's HTML body shows the attachment in its text (:func:`shown_in_body`;
    a PST also flags such a picture as referenced by the HTML, ATT_MHTML_REF). ``html`` holds
    the body once read."""
    flags = _value(attachment, _ATTACH_FLAGS)
    cid = _text(attachment, _ATTACH_CONTENT_ID)
    if cid and not html:
        html.append(_body(item, "html_body"))
    return shown_in_body(cid, html[0] if cid else None,
                         hidden=bool(_value(attachment, _ATTACH_HIDDEN)) or (
                             isinstance(flags, int) and bool(flags & 4)))


def _embedded(attachment: Any) -> Any:
    """The message inside an "attached item" attachment, or None."""
    try:
        if attachment.number_of_sub_items:
            inner = attachment.get_sub_item(0)
            return inner if hasattr(inner, "number_of_attachments") else None
    except OSError:
        return None
    return None
