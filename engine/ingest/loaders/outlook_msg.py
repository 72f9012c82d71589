"""Outlook messages (.msg): an OLE file of MAPI properties, read with extract-msg into the same
message Document an .eml becomes (:mod:`engine.ingest.loaders.email`): subject, people, date,
body, and attachments as parts.

Non-Unicode messages store their text in a code page that a property names; Outlook 2003 and
2007 and PST exports often leave it out, and extract-msg then decodes with ISO-8859-15, which
has control characters where Windows code pages have letters and punctuation: "an email…
Email-ception" (msgconvert's charset.msg) read as "an email\x85 Email-ception", the ellipsis
a line break. Such a message's body decides the code page, as a text file's bytes do
(:func:`engine.ingest.loaders.encoding.decode_text`: Windows-1252, 1251, ...).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError, LoadOptions
from engine.ingest.loaders.common import clean_inline, one_line, short_message
from engine.ingest.loaders.email import (
    _IMAGE_EXTENSIONS,
    MSG_LOADER,
    _Mail,
    _message_document,
    _Parts,
)
from engine.ingest.loaders.mail_body import body_blocks, pasted_picture, shown_in_body

#: DER of the PKCS#7 enveloped-data OID (1.2.840.113549.1.7.3): an encrypted S/MIME payload.
_ENVELOPED_OID = bytes.fromhex("06092a864886f70d010703")
#: The property naming a non-Unicode message's code page (PR_MESSAGE_CODEPAGE), and the streams
#: of its plain body and subject in 8-bit strings.
_CODEPAGE = "3FFD0003"
_TEXT_STREAMS = ("__substg1.0_1000001E", "__substg1.0_0037001E")


def load_msg(path: Path, options: LoadOptions) -> Document:
    """An Outlook .msg file -> one message Document, its attachments as parts."""
    return msg_document(str(path), str(path), options, 0)


def _reason(exc: BaseException) -> str:
    return one_line(short_message(exc))


def _open_msg(source: str | bytes) -> Any:
    import extract_msg
    from extract_msg.enums import ErrorBehavior
    from extract_msg.exceptions import (
        InvalidFileFormatError,
        UnrecognizedMSGTypeError,
        UnsupportedMSGTypeError,
    )

    for name in ("extract_msg", "RTFDE"):  # they log every oddity of a file at WARNING or above
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # Bad attachments and RTF become per-part problems instead of failing the whole message.
    tolerate = (ErrorBehavior.ATTACH_SUPPRESS_ALL | ErrorBehavior.RTFDE |
                ErrorBehavior.STANDARDS_VIOLATION | ErrorBehavior.NAMED_NAME_STREAM)
    try:
        msg = extract_msg.openMsg(source, delayAttachments=True, errorBehavior=tolerate)
        encoding = _unnamed_code_page(msg)
        if encoding is None:
            return msg
        msg.close()
        return extract_msg.openMsg(source, delayAttachments=True, errorBehavior=tolerate,
                                   overrideEncoding=encoding)
    except (UnrecognizedMSGTypeError, UnsupportedMSGTypeError) as exc:
        raise LoadError(f"unsupported Outlook item ({_reason(exc)})") from exc
    except InvalidFileFormatError as exc:
        if "not an MSG file" in str(exc):
            raise LoadError("not an Outlook message (another kind of OLE file)") from exc
        raise LoadError(f"corrupt Outlook message ({_reason(exc)})") from exc
    except MemoryError:
        raise
    except Exception as exc:  # olefile/extract-msg raise anything on damaged files
        raise LoadError(f"corrupt Outlook message ({_reason(exc)})") from exc


def _unnamed_code_page(msg: Any) -> str | None:
    """The code page of a non-Unicode message that does not name its own, told from its body's
    (or subject's) bytes; None for a Unicode message or one that names it."""
    from engine.ingest.loaders.encoding import decode_text

    if _get(msg, "areStringsUnicode") is not False or _CODEPAGE in msg.props:
        return None
    for stream in _TEXT_STREAMS:
        try:
            raw = (msg.getStream(stream) or b"").rstrip(b"\x00")
            if raw:
                return decode_text(raw)[1]
        except Exception:  # a damaged stream, or bytes no encoding fits: try the next
            continue
    return None


def _get(obj: Any, attr: str) -> Any:
    """A property of an extract-msg object; None when reading it fails (one damaged property
    must not cost the rest of the message)."""
    try:
        return getattr(obj, attr, None)
    except Exception:
        return None


def msg_document(source: str | bytes, path: str, options: LoadOptions, depth: int) -> Document:
    msg = _open_msg(source)
    try:
        kind = str(_get(msg, "classType") or "").lower()
        if ".rpmsg" in kind:
            raise LoadError("encrypted Outlook message (rights-protected)")
        if kind.startswith("ipm.note.smime") and "multipartsigned" not in kind:
            try:  # the PKCS#7 payload is the one attachment; enveloped-data means encrypted
                payload = msg.getStream("__attach_version1.0_#00000000/__substg1.0_37010102")
            except Exception:
                payload = None
            if not payload or _ENVELOPED_OID in payload[:64]:
                raise LoadError("encrypted Outlook message (S/MIME)")
        return _msg_build(msg, path, options, depth)
    finally:
        msg.close()


def _msg_build(msg: Any, path: str, options: LoadOptions, depth: int) -> Document:
    """Document of an open extract-msg message (a file's, or one embedded in another)."""
    from extract_msg.enums import AttachmentType

    date = _get(msg, "date")
    if not isinstance(date, dt.datetime) or date.year >= 4500:  # 4500-08-31: MAPI's "no date"
        date = None
    mail = _Mail(*(str(_get(msg, a) or "") for a in ("subject", "sender", "to", "cc")),
                 date=date, message_id=str(_get(msg, "messageId") or ""))
    # plain first: extract-msg falls back to the text encapsulated in the RTF
    mail.body = body_blocks(lambda: _get(msg, "body"), lambda: _get(msg, "htmlBody"),
                            lambda: _get(msg, "rtfBody"))
    doc = _message_document(path, "msg", MSG_LOADER, mail)
    parts = _Parts(doc, options, depth)
    try:
        attachments = list(msg.attachments)
    except Exception as exc:  # a signed message whose payload cannot be unwrapped, say
        attachments = []
        parts.skip("attachments", f"unreadable ({_reason(exc)})")
    for i, att in enumerate(attachments, 1):
        kind = _get(att, "type")
        name = clean_inline(str(_get(att, "longFilename") or _get(att, "shortFilename") or
                                _get(att, "name") or ""))
        if kind is AttachmentType.MSG and (inner := _get(att, "data")) is not None:
            name = name or f"{_get(inner, 'subject') or 'message'}.msg"
            parts.message(name, lambda p, d, inner=inner: _msg_build(inner, p, options, d))
        elif kind in (AttachmentType.DATA, AttachmentType.SIGNED):
            name = name or f"attachment-{i}.bin"
            data = _get(att, "data")
            data = data if isinstance(data, bytes) else b""
            if name.lower().endswith(_IMAGE_EXTENSIONS) and shown_in_body(
                    str(_get(att, "cid") or ""), _get(msg, "htmlBody"),
                    hidden=bool(_get(att, "hidden"))) and not pasted_picture(data):
                continue  # an image the HTML body shows inline (logos, signatures)
            parts.file(name, data)
        elif kind is AttachmentType.WEB:
            parts.skip(name or f"attachment-{i}", "linked file (not stored in the message)",
                       skipped=True)
        else:
            parts.skip(name or f"attachment-{i}", "unreadable or unsupported Outlook attachment")
    parts.finish()
    return doc
