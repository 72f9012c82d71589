"""A message's body as blocks, in whichever form the message carries it: plain, HTML or RTF.

One definition for every mail format that has a choice (Outlook .msg, a winmail.dat inside an
.eml): plain text first, then HTML, then RTF, Outlook's own order of preference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.ingest.document import Block
from engine.ingest.loaders.common import library_errors, paragraph_blocks
from engine.ingest.loaders.html import parse_html
from engine.ingest.loaders.rtf_body import rtf_text


def body_blocks(plain: Callable[[], Any], html: Callable[[], Any],
                rtf: Callable[[], Any]) -> list[Block]:
    """The first of the three bodies that has text. Each is fetched only when the ones before
    it are empty: extract-msg builds an HTML body from the RTF on demand, slowly."""
    text = plain()
    if isinstance(text, str) and text.strip():
        return paragraph_blocks(text)
    if markup := html():
        return html_body_blocks(markup)
    if rich := rtf():
        return paragraph_blocks(rtf_text(rich))
    return []


#: An inline picture at least this wide and tall (pixels) is a screenshot or a photo pasted
#: into the message's text, read like an attached picture (by OCR); smaller ones are logos,
#: signature banners and icons, left out. Outlook's signature logos and social icons measured
#: 16-300 pixels wide and 16-120 tall; a screenshot of an error dialog or a receipt is larger.
PASTED_MIN_WIDTH = 400
PASTED_MIN_HEIGHT = 200


def pasted_picture(data: bytes) -> bool:
    """Whether an inline picture is large enough to be something pasted into the text (a
    screenshot, a photo of a receipt) rather than a logo (:data:`PASTED_MIN_WIDTH`). Only the
    image's header is read; what is not a picture Pillow knows is not one."""
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return False
    return width >= PASTED_MIN_WIDTH and height >= PASTED_MIN_HEIGHT


def shown_in_body(cid: str, html: bytes | str | None, *, hidden: bool = False) -> bool:
    """Whether an attached picture is one the message's HTML body shows in its text (a logo, a
    signature, a pasted picture), so not read as an attachment unless it is a pasted one
    (:func:`pasted_picture`): Outlook marks it hidden,
    or the body refers to its content ID as "cid:ID". A content ID alone does not make a picture
    inline: Outlook.com and new Outlook give every attachment one, photos attached as files
    included."""
    if hidden:
        return True
    if not cid or not html:
        return False
    needle = f"cid:{cid.strip('<>')}"
    return (needle.encode() in html) if isinstance(html, bytes) else (needle in html)


def html_body_blocks(markup: bytes | str) -> list[Block]:
    """Blocks of an HTML body, its headings one level down so the message heading stays on top
    of every chunk's heading path."""
    with library_errors("HTML body"):
        _title, blocks = parse_html(markup)
    return [Block(b.text, "heading", min(b.level + 1, 6)) if b.kind == "heading" else b
            for b in blocks]
