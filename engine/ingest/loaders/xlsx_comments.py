"""Comments on an Excel workbook's cells, by sheet: what the numbers mean, and who doubts them.

Why here and not through openpyxl: the workbook is opened read-only (a large sheet streams in
constant memory), and openpyxl's read-only mode has no comments. They are small parts of the
package, read directly: Excel's notes ("legacy" comments, ``xl/commentsN.xml``) and Excel 365's
threaded comments with their replies (``xl/threadedComments/``), which stand in for the note
Excel writes beside each thread for older versions ("[Threaded comment] Your version of Excel
allows you to read this threaded comment...").
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import IO, Any

from engine.ingest.loaders.common import clean_text

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_THREADED = "{http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments}"
_PKG_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
#: At most this many comments are read from one sheet (a review of thousands of cells is data).
MAX_PER_SHEET = 2000


def sheet_comments(path: Path | IO[bytes]) -> dict[str, list[tuple[str, str]]]:
    """Sheet name -> (cell, comment text) in the sheet's order of comments; empty when the
    workbook has none (or its parts cannot be read: the cells are read all the same).
    ``path`` may be the workbook in memory (a Strict one rewritten, see ooxml_strict)."""
    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            if not any("comment" in name.lower() for name in names):
                return {}
            return _by_sheet(package, names)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return {}


def _xml(package: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.fromstring(package.read(name), parser)


def _targets(package: zipfile.ZipFile, names: set[str], part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part name) of ``part``'s relationships."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in names:
        return {}
    out = {}
    for rel in _xml(package, rels).iter(f"{_PKG_RELS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        name = (target.lstrip("/") if target.startswith("/") else
                posixpath.normpath(posixpath.join(folder, target)))
        out[rel.get("Id", "")] = (rel.get("Type", ""), name)
    return out


def _by_sheet(package: zipfile.ZipFile, names: set[str]) -> dict[str, list[tuple[str, str]]]:
    from lxml import etree

    workbook = _targets(package, names, "xl/workbook.xml")
    out: dict[str, list[tuple[str, str]]] = {}
    for sheet in _xml(package, "xl/workbook.xml").iter(f"{_MAIN}sheet"):
        kind_part = workbook.get(sheet.get(_REL_ID, ""))
        if kind_part is None or kind_part[1] not in names:
            continue
        threaded: dict[str, list[str]] = {}
        notes: list[tuple[str, str]] = []
        for kind, part in _targets(package, names, kind_part[1]).values():
            if part not in names:
                continue
            try:
                root = _xml(package, part)
            except etree.XMLSyntaxError:
                continue
            if kind.endswith("/threadedComment"):
                for comment in root.iter(f"{_THREADED}threadedComment"):
                    text = clean_text(comment.findtext(f"{_THREADED}text") or "")
                    if text:
                        threaded.setdefault(comment.get("ref", ""), []).append(text)
            elif kind.endswith("/comments"):
                for comment in root.iter(f"{_MAIN}comment"):
                    text = clean_text("".join(t.text or "" for t in comment.iter(f"{_MAIN}t")))
                    if text:
                        notes.append((comment.get("ref", ""), text))
        found = [(ref, text) for ref, text in notes if ref not in threaded]
        found += [(ref, text) for ref, texts in threaded.items() for text in texts]
        if found:
            out[sheet.get("name", "")] = sorted(found, key=lambda c: _cell_order(c[0]))[
                :MAX_PER_SHEET]
    return out


def _cell_order(ref: str) -> tuple[int, int]:
    """Row, then column, of "B12": comments read in the order of the sheet."""
    letters = "".join(c for c in ref if c.isalpha()).upper()
    digits = "".join(c for c in ref if c.isdigit())
    column = 0
    for c in letters:
        column = column * 26 + ord(c) - 64
    return int(digits or 0), column
