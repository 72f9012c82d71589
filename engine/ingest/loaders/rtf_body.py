"""The text of an RTF message body (Outlook stores some messages only as compressed RTF).

Nothing else reads native RTF without LibreOffice, and a message body needs no layout: control
words are dropped, paragraphs and line breaks kept, \\'xx and \\uN characters decoded.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    rb"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|[\r\n]+|([^\\{}\r\n]+)")
#: RTF groups that hold no body text (fonts, colours, styles, document info, pictures...).
_SKIP = frozenset({b"fonttbl", b"colortbl", b"stylesheet", b"info", b"pict", b"object",
                       b"header", b"footer", b"listtable", b"listoverridetable", b"themedata",
                       b"datastore", b"latentstyles", b"rsidtbl", b"generator", b"xmlnstbl"})


def rtf_text(rtf: bytes) -> str:
    """Text of an RTF body stored without a plain or HTML version (nothing else reads native RTF
    without LibreOffice): control words dropped, paragraphs and line breaks kept."""
    out: list[str] = []
    stack: list[bool] = []  # "skipping" state of each enclosing group
    skip, drop_next = False, False  # drop_next: the fallback character after \uN
    for word, arg, hexa, symbol, brace, text in _TOKEN.findall(rtf):
        if brace:
            skip = stack.pop() if brace == b"}" and stack else skip
            if brace == b"{":
                stack.append(skip)
        elif word:
            skip = skip or word in _SKIP
            if not skip and word in (b"par", b"line", b"row", b"sect", b"page"):
                out.append("\n")
            elif not skip and word in (b"tab", b"cell"):
                out.append("\t")
            elif not skip and word == b"u" and arg:
                out.append(chr(int(arg) % 65536))
                drop_next = True
        elif symbol:
            skip = skip or symbol == b"*"
            if not skip and symbol in (b"\\", b"{", b"}", b"~"):
                out.append(" " if symbol == b"~" else symbol.decode())
        elif (hexa or text) and not skip:
            chunk = bytes([int(hexa, 16)]) if hexa else text
            decoded = chunk.decode("cp1252", "replace")
            out.append(decoded[1:] if drop_next else decoded)
            drop_next = False
    return "".join(out)
