"""A message part's text as a mail program shows it, from what mailers really send.

Why apart from :mod:`engine.ingest.loaders.email`: each function repairs one way real mail
departs from the standards, found on real corpora (Python's and mail-parser's test mail):
charsets labelled as a subset of what was written (:func:`superset_words`, :func:`part_text`),
a multipart whose body uses another boundary than it declares (:func:`rebound`), a base64
body that runs on past its end (:func:`_base64_lines`), text parts without a usable charset.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.header
import email.policy
import re
from email.message import EmailMessage

from engine.ingest.document import LoadError
from engine.ingest.loaders.encoding import declared_codec, decode_text


def superset_words(raw: str) -> str | None:
    """A header whose encoded words ("=?gb2312?B?...?=") declare a charset read as its
    superset (:func:`declared_codec`), decoded so; None for every other header, which the
    email package decodes (its own decoder would turn GBK characters into "\ufffd")."""
    if "=?" not in raw:
        return None
    try:
        chunks = email.header.decode_header(raw)
        labels = {c.lower() for _, c in chunks if c}
        if not any(declared_codec(c) not in (None, codecs.lookup(c).name) for c in labels):
            return None
        # decoded here: email.header.make_header maps "cp949" back to EUC-KR. Text between
        # encoded words comes back as decode_header encoded it (raw-unicode-escape).
        return "".join(v if isinstance(v, str) else
                       v.decode(declared_codec(c) or "ascii", "replace") if c else
                       v.decode("raw-unicode-escape") for v, c in chunks)
    except Exception:  # a malformed encoded word or charset: the email package's reading
        return None


#: A boundary line ("--" and the boundary) directly followed by a part's header field.
_BOUNDARY_LINE = re.compile(r"^--([ -~]{1,70}?)[ \t]*\r?\n(?=[A-Za-z-]+:)", re.MULTILINE)


def rebound(part: EmailMessage, payload: str) -> EmailMessage | None:
    """The multipart ``part`` parsed with the boundary its body uses, when the one its header
    declares is not there (bulk mailers get this wrong: the body's parts then read as raw MIME,
    base64 and all); None when no boundary line is found."""
    found = _BOUNDARY_LINE.search(payload)
    if found is None:
        return None
    head = f'Content-Type: {part.get_content_type()}; boundary="{found.group(1)}"\n\n'
    rebound = email.message_from_string(head + payload, policy=email.policy.default)
    return rebound if isinstance(rebound.get_payload(), list) else None  # type: ignore[return-value]


_BASE64_LINE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _base64_lines(payload: object) -> bytes:
    """A base64 body decoded from its base64 lines alone: a part that runs on past its end
    (a closing boundary that does not match, mail_malformed_3) fails to decode as a whole, and
    the email package then hands back the base64 text itself."""
    if not isinstance(payload, str):
        return b""
    lines = [line.strip() for line in payload.splitlines()]
    text = "".join(line for line in lines if _BASE64_LINE.fullmatch(line))
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return b""


def part_text(part: EmailMessage) -> str:
    """A text part decoded: transfer encoding undone, declared charset, else UTF-8, else
    the encoding its bytes suggest (:func:`decode_text`: cp1252 before other guesses)."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    if any(isinstance(d, email.errors.InvalidBase64LengthDefect) for d in part.defects):
        data = _base64_lines(part.get_payload()) or data
    charset = declared_codec(part.get_content_charset())
    for encoding in (charset, "utf-8"):
        try:
            return data.decode(encoding) if encoding else data.decode("utf-8")
        except (LookupError, UnicodeDecodeError):
            continue
    try:  # no charset, or a wrong one: as a text file of unknown encoding is read
        return decode_text(data)[0]
    except LoadError:
        return data.decode("utf-8", "replace")
