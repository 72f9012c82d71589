"""Names and text that are not Unicode: file names from older systems, and their repairs.

Linux keeps a file name as bytes. One copied from a FAT drive, a CD, an old tarball or a mail
written by an older program is often in that system's 8-bit encoding (Windows-1252, Latin-1:
``r\\xe9sum\\xe9.txt``), not UTF-8, and Python hands it over with each byte that is not UTF-8 as
a lone surrogate (PEP 383: ``"r\\udce9sum\\udce9.txt"``). The index stores text (Arrow's UTF-8),
and a lone surrogate cannot be stored: one such name ended a whole index run with a traceback.

* A file or folder on disk keeps its name: the index could not store it, and a name changed
  for the index would not open the file again. It is reported, not indexed, with a name the
  user can read (:func:`printable`: ``r\\xe9sum\\xe9.txt``) and what to do about it.
* A member of an archive or an attachment is named by Satchel (its part key), so its name is
  decoded as the older encoding it almost always is (:func:`legacy_text`: ``résumé.txt``).
* Text read from a file that still holds a lone surrogate loses only that character
  (:func:`valid_text`): one bad byte never fails a document.
"""

from __future__ import annotations

import re

#: A UTF-16 surrogate on its own: what Python puts where bytes were not valid UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: The surrogates Python's "surrogateescape" makes of the bytes 0x80-0xFF.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")

#: Why a file is not indexed, and why the files in a folder are not.
NOT_UTF8_FILE = "file name is not UTF-8 (an older system's encoding): rename it to index it"
NOT_UTF8_FOLDER = ("folder name is not UTF-8 (an older system's encoding): rename it to index "
                   "the files in it")


def is_text(text: str) -> bool:
    """True when ``text`` can be stored as UTF-8 (it holds no lone surrogate)."""
    return text.isascii() or _LONE_SURROGATE.search(text) is None


def printable(path: str) -> str:
    """``path`` as text a user reads and the index stores, its bytes that are not UTF-8 shown
    as ``\\xe9``; ``path`` itself when it is text."""
    if is_text(path):
        return path
    return _LONE_SURROGATE.sub(lambda m: (f"\\x{ord(m[0]) - 0xDC00:02x}"
                                          if 0xDC80 <= ord(m[0]) <= 0xDCFF
                                          else f"\\u{ord(m[0]):04x}"), path)


def _cp1252(run: str) -> str:
    out = []
    for byte in run.encode("utf-8", "surrogateescape"):
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:  # the five bytes Windows-1252 leaves out: Latin-1's
            out.append(chr(byte))
    return "".join(out)


def legacy_text(name: str) -> str:
    """``name`` with its bytes that were not UTF-8 read as Windows-1252 (Latin-1 where it has
    no character): "r\\udce9sum\\udce9.txt" -> "résumé.txt"; any other lone surrogate becomes
    U+FFFD."""
    if is_text(name):
        return name
    return valid_text(_ESCAPED_BYTES.sub(lambda m: _cp1252(m[0]), name))


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (the replacement character)."""
    return text if is_text(text) else _LONE_SURROGATE.sub("\ufffd", text)
