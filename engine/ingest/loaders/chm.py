"""Compiled HTML Help (.chm): one Page per topic, in the order of the help file's contents.

Windows programs shipped their manuals as CHM files, and technical books were sold as them; a
CHM is a compressed archive (LZX) of HTML topics with a contents file (.hhc, a "sitemap" of
named links) and a #SYSTEM record holding its title. chmlib (Debian's libchm1, the library
behind every Linux CHM viewer) opens it through ctypes, without extracting anything to disk.
Topics are read in the contents' order, each a page labelled with its contents name; pages no
contents entry links (left out of the tree, or a CHM without contents) follow in the archive's
order, labelled by their own title. Each topic's HTML is read by the HTML reader (Lazarus' 16 MB
LCL reference: its first 5,000 of 20,049 topics in 48 s, reported as it goes so the indexer
knows the parser lives).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re
import struct
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from engine.ingest import progress
from engine.ingest.document import Document, LoadError, Page
from engine.ingest.loaders.common import clean_inline
from engine.ingest.loaders.html import parse_html

#: What to install when chmlib is missing.
INSTALL_HINT = "reading .chm needs chmlib: sudo apt install libchm1"
_MAX_PATH = 512
_ENUMERATE_NORMAL, _ENUMERATE_FILES = 1, 8
_HTML = (".htm", ".html", ".xhtml")
#: A contents entry: the <param> tags of one sitemap <OBJECT>, in any order.
_OBJECT = re.compile(r"<object\b[^>]*>(.*?)</object>", re.IGNORECASE | re.DOTALL)
_PARAM = re.compile(r"<param\s+name\s*=\s*\"?(\w+)\"?\s+value\s*=\s*\"([^\"]*)\"", re.IGNORECASE)
#: At most this many topics are read from one help file (a reference of tens of thousands of
#: generated pages is data, not a manual).
MAX_TOPICS = 5000


class _UnitInfo(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("length", ctypes.c_uint64),
                ("space", ctypes.c_int), ("flags", ctypes.c_int),
                ("path", ctypes.c_char * (_MAX_PATH + 1))]


_ENUMERATOR = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_UnitInfo),
                               ctypes.c_void_p)


def chmlib_path() -> str | None:
    """Where chmlib is, or None when it is not installed (for ``satchel doctor``)."""
    lib = _library()
    return getattr(lib, "_name", None) if lib is not None else None


@functools.cache
def _library() -> Any:
    """chmlib, or None when it is not installed."""
    name = ctypes.util.find_library("chm") or "libchm.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.chm_open.restype = ctypes.c_void_p
    lib.chm_open.argtypes = [ctypes.c_char_p]
    lib.chm_close.argtypes = [ctypes.c_void_p]
    lib.chm_resolve_object.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                       ctypes.POINTER(_UnitInfo)]
    lib.chm_retrieve_object.restype = ctypes.c_int64
    lib.chm_retrieve_object.argtypes = [ctypes.c_void_p, ctypes.POINTER(_UnitInfo),
                                        ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64]
    lib.chm_enumerate.argtypes = [ctypes.c_void_p, ctypes.c_int, _ENUMERATOR, ctypes.c_void_p]
    return lib


class _Help:
    """An open help file: its object paths, and each object's bytes."""

    def __init__(self, lib: Any, path: Path) -> None:
        self.lib = lib
        self.handle = lib.chm_open(str(path).encode())
        if not self.handle:
            raise LoadError("corrupt CHM help file (chmlib cannot open it)")

    def paths(self) -> list[str]:
        found: list[str] = []

        def visit(_h: Any, info: Any, _context: Any) -> int:
            found.append(info.contents.path.decode("utf-8", "replace"))
            return 1  # continue

        self.lib.chm_enumerate(self.handle, _ENUMERATE_NORMAL | _ENUMERATE_FILES,
                               _ENUMERATOR(visit), None)
        return found

    def read(self, name: str) -> bytes | None:
        info = _UnitInfo()
        if self.lib.chm_resolve_object(self.handle, name.encode(), ctypes.byref(info)) != 0:
            return None
        buffer = ctypes.create_string_buffer(int(info.length))
        got = self.lib.chm_retrieve_object(self.handle, ctypes.byref(info), buffer, 0,
                                           int(info.length))
        return buffer.raw[:got] if got > 0 else b""

    def close(self) -> None:
        self.lib.chm_close(self.handle)


def _system(data: bytes | None) -> dict[int, bytes]:
    """The #SYSTEM records (code -> value): 0 the contents file, 2 the default topic, 3 the
    title."""
    out: dict[int, bytes] = {}
    pos = 4  # a version number first
    while data and pos + 4 <= len(data):
        code, size = struct.unpack("<HH", data[pos:pos + 4])
        out.setdefault(code, data[pos + 4:pos + 4 + size].split(b"\0", 1)[0])
        pos += 4 + size
    return out


def _contents(markup: bytes) -> list[tuple[str, str]]:
    """(name, topic path) of each contents entry, in order."""
    text = markup.decode("utf-8", "replace") if markup.startswith(b"\xef\xbb\xbf") or \
        b"charset=utf-8" in markup[:2048].lower() else markup.decode("cp1252", "replace")
    entries = []
    for obj in _OBJECT.finditer(text):
        params = {k.lower(): v for k, v in _PARAM.findall(obj.group(1))}
        local = params.get("local", "").split("#", 1)[0]
        if local and "://" not in local:
            entries.append((clean_inline(params.get("name", "")), local))
    return entries


def _object_path(local: str) -> str:
    return "/" + unquote(local).replace("\\", "/").lstrip("/")


def load_chm(path: Path) -> Document:
    """CHM -> one Page per topic (label = its contents name, else its title)."""
    lib = _library()
    if lib is None:
        raise LoadError(INSTALL_HINT)
    help_file = _Help(lib, path)
    try:
        names = help_file.paths()
        system = _system(help_file.read("/#SYSTEM"))
        contents_file = system.get(0, b"").decode("cp1252", "replace")
        hhc = (_object_path(contents_file) if contents_file else
               next((n for n in names if n.lower().endswith(".hhc")), ""))
        entries = _contents(help_file.read(hhc) or b"") if hhc else []
        known = {n.lower(): n for n in names}
        order: list[tuple[str | None, str]] = []
        seen: set[str] = set()
        for label, local in entries:
            name = known.get(_object_path(local).lower())
            if name and name.lower() not in seen:
                seen.add(name.lower())
                order.append((label or None, name))
        order += [(None, n) for n in names
                  if n.lower().endswith(_HTML) and n.lower() not in seen]
        pages: list[Page] = []
        total = min(len(order), MAX_TOPICS)
        for number, (label, name) in enumerate(order[:MAX_TOPICS], 1):
            if number % 50 == 0:  # a reference of thousands of topics takes a minute
                progress.report(f"topic {number} of {total}")
            html_title, blocks = parse_html(help_file.read(name) or b"")
            if any(b.text.strip() for b in blocks):
                pages.append(Page(number=len(pages) + 1, blocks=blocks,
                                  label=label or html_title or None))
    finally:
        help_file.close()
    title = clean_inline(system.get(3, b"").decode("cp1252", "replace")).strip('"')
    metadata = {"topics": str(len(pages))}
    if len(order) > MAX_TOPICS:
        metadata["topics_not_indexed"] = str(len(order) - MAX_TOPICS)
    return Document(path=str(path), format="chm", pages=pages, title=title or None,
                    metadata=metadata)
