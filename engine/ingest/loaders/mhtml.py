"""Saved web pages: .mht / .mhtml ("Save as single file" in Chrome, "Web Archive" in IE and Word).

Such a file is a MIME multipart/related message: the page's HTML (often quoted-printable, in
any charset) plus its images and style sheets. The stdlib ``email`` package unpacks it; the root
HTML part then goes through the HTML loader's :func:`~engine.ingest.loaders.html.parse_html`, so
headings, lists and tables come out exactly as from the same page saved as .html. Images and CSS
carry no text and are passed over; so are the HTML parts of frames (Chrome saves each iframe as
its own part: ads and widgets, seldom the content).

The title is the page's ``<title>``, else the Subject header (Chrome and IE write the page title
there), else the first heading. A part without a charset parameter (Chrome's) is handed over as
bytes, so its ``<meta charset>`` decides, as it does for a .html file.
"""

from __future__ import annotations

import codecs
import email
import email.policy
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import Any

from engine.ingest.document import Document, LoadError, Page
from engine.ingest.loaders.common import (
    clean_inline,
    first_heading,
    library_errors,
    read_bytes,
)
from engine.ingest.loaders.encoding import declared_codec, decode_text
from engine.ingest.loaders.html import parse_html
from engine.ingest.loaders.text import plain_blocks

NOT_MHTML = "not a saved web page (no MIME headers; mislabelled?)"


def _content_id(value: object) -> str:
    return str(value or "").strip().strip("<>").strip()


def root_part(msg: Any) -> Any | None:
    """The part holding the page: the one the ``start`` parameter of multipart/related names
    (by Content-ID), else the first text/html part, else the first text/plain part."""
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    param = msg.get_param("start") if msg.is_multipart() else None
    start = _content_id(collapse_rfc2231_value(param)) if param else ""
    if start:
        named = next((p for p in leaves if _content_id(p["content-id"]) == start), None)
        if named is not None and named.get_content_maintype() == "text":
            return named
    for kind in ("text/html", "text/plain"):
        part = next((p for p in leaves if p.get_content_type() == kind), None)
        if part is not None:
            return part
    return None


def _payload(part: Any) -> tuple[bytes, str | None]:
    """The part's bytes with the transfer encoding undone, and its declared charset."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = str(part.get_payload()).encode("utf-8", "surrogateescape")
    return data, declared_codec(part.get_content_charset())  # "gb2312" read as GB18030


def _decoded(data: bytes, charset: str | None) -> str | None:
    """``data`` in its declared charset; None when there is none or it does not fit."""
    if not charset:
        return None
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return None


def load_mhtml(path: Path) -> Document:
    """A .mht/.mhtml file -> one page of the saved page's content blocks."""
    data = read_bytes(path).removeprefix(codecs.BOM_UTF8).lstrip(b"\r\n")
    with library_errors("saved web page"):
        msg = email.message_from_bytes(data, policy=email.policy.default)
        if msg["content-type"] is None and msg["mime-version"] is None:
            raise LoadError(NOT_MHTML)
        part = root_part(msg)
        if part is None:
            raise LoadError("saved web page without a page (no HTML or text part)")
        payload, charset = _payload(part)
        subject = clean_inline(str(msg["subject"] or ""))
        url = clean_inline(str(msg["snapshot-content-location"] or
                               part["content-location"] or ""))
        saved = clean_inline(str(msg["date"] or ""))
    text = _decoded(payload, charset)
    if part.get_content_type() == "text/html":
        with library_errors("saved web page"):
            title, blocks = parse_html(text if text is not None else payload)
        if subject and (not title or title == first_heading(blocks)):
            # No <title>: parse_html named the page by its first heading. (A <title> that is
            # the heading's text is what browsers wrote as the Subject anyway.)
            title = subject
    else:
        blocks = plain_blocks(text if text is not None else decode_text(payload)[0])
        title = subject or first_heading(blocks)
    meta = {"url": url, "saved": saved}
    return Document(path=str(path), format="mhtml", pages=[Page(1, blocks)], title=title or None,
                    metadata={k: v for k, v in meta.items() if v})
