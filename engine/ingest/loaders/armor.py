"""OpenPGP ASCII armor in text: a signature or a key is not words to search, a signed text is.

Why: mailing-list archives and Debian's files are full of clear-signed text ("-----BEGIN PGP
SIGNED MESSAGE-----", a "Hash:" line, the text with its lines starting "-" escaped as "- -",
then a signature block), and mail carries signatures and keys as ``.asc`` files. Read as plain
text, each signature became a chunk of base64 that matched nothing and crowded out real hits,
and a key file was "indexed" as a wall of letters. Here the signed text is kept (escapes undone)
and the armored blocks are dropped; a file that is nothing but armor holds no document.
"""

from __future__ import annotations

import re

#: An armored block whose content is binary (base64): the header line to the matching footer.
_BLOCK = re.compile(r"^-----BEGIN PGP (SIGNATURE|PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|MESSAGE)"
                    r"-----[ \t]*\r?\n.*?^-----END PGP \1-----[ \t]*(?:\r?\n|\Z)",
                    re.MULTILINE | re.DOTALL)
#: The start of a clear-signed text: the header line, its armor headers ("Hash: SHA256"), and
#: the blank line after them.
_SIGNED = re.compile(r"^-----BEGIN PGP SIGNED MESSAGE-----[ \t]*\r?\n"
                     r"(?:[A-Za-z][A-Za-z-]*:[^\n]*\r?\n)*[ \t]*\r?\n", re.MULTILINE)
#: A line of signed text that starts with "-" is sent as "- " and that line (RFC 4880 7.1).
_DASH_ESCAPE = re.compile(r"^- ", re.MULTILINE)
#: An encrypted message: its text cannot be read without the key.
ENCRYPTED = "MESSAGE"


def has_armor(text: str) -> bool:
    """Cheap test before the regular expressions: no "-----BEGIN PGP", nothing to do."""
    return "-----BEGIN PGP " in text


def unarmor(text: str) -> tuple[str, set[str]]:
    """``text`` with clear-signed parts unwrapped and armored blocks removed, and the kinds of
    block removed ("SIGNATURE", "PUBLIC KEY BLOCK", :data:`ENCRYPTED`...)."""
    if not has_armor(text):
        return text, set()
    out: list[str] = []
    at = 0
    for signed in _SIGNED.finditer(text):
        out.append(text[at:signed.start()])
        end = text.find("-----BEGIN PGP SIGNATURE-----", signed.end())
        end = len(text) if end < 0 else end
        out.append(_DASH_ESCAPE.sub("", text[signed.end():end]))
        at = end
    out.append(text[at:])
    kinds: set[str] = set()

    def drop(match: re.Match[str]) -> str:
        kinds.add(match.group(1))
        return ""

    return _BLOCK.sub(drop, "".join(out)), kinds


def nothing_but_armor(kinds: set[str]) -> str:
    """Why a text that was only armor (``kinds`` removed, nothing left) is no document."""
    if ENCRYPTED in kinds:
        return "encrypted (an OpenPGP message: its text needs the key)"
    if kinds & {"PUBLIC KEY BLOCK", "PRIVATE KEY BLOCK"}:
        return "an OpenPGP key (no document)"
    return "an OpenPGP signature (no document)"
