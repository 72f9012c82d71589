"""Packages read from a repaired copy in memory, when the library reading them refuses the file.

Zip-based formats list their own parts (an EPUB's manifest, an OpenDocument file's
``META-INF/manifest.xml``), and real files list parts they do not hold: Debian's debmake-doc
EPUBs a logo, live-manual's ODT files their thumbnail. ebooklib and odfpy then refuse the whole
document ("There is no item named ... in the archive") though the text is all there. A Strict
Open XML package needs its names rewritten (:mod:`engine.ingest.loaders.ooxml_strict`). The
loaders try the file as it is first and come here only on that failure, so ordinary files pay
nothing; nothing is written to disk.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

T = TypeVar("T")

#: The message ebooklib's and odfpy's zipfile gives for a listed part the archive lacks.
MISSING_PART = "There is no item named"


def copy_zip(package: zipfile.ZipFile, *, edit: Callable[[str, bytes], bytes] | None = None,
             add: Iterable[str] = ()) -> io.BytesIO:
    """A copy of ``package`` in memory, each member passed through ``edit(name, data)``, with
    an empty member for each name in ``add``. Members are stored, not compressed: the copy is
    read once."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as copy:
        for info in package.infolist():
            data = package.read(info)
            if edit is not None:
                data = edit(info.filename, data)
            info.compress_type = zipfile.ZIP_STORED
            copy.writestr(info, data)
        for name in add:
            copy.writestr(name, b"")
    out.seek(0)
    return out


def _xml(package: zipfile.ZipFile, name: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(package.read(name), parser)


def _local(element: Any) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _listed(package: zipfile.ZipFile, kind: str) -> set[str]:
    """The part names the package's own list names: an EPUB's manifest items (relative to its
    package document), an OpenDocument manifest's file entries."""
    if kind == "epub":
        container = _xml(package, "META-INF/container.xml")
        opf = next((r.get("full-path") for r in container.iter() if _local(r) == "rootfile"), "")
        folder = posixpath.dirname(opf)
        return {posixpath.normpath(posixpath.join(folder, unquote(item.get("href", ""))))
                for item in _xml(package, opf).iter() if _local(item) == "item"
                and item.get("href") and "://" not in item.get("href", "")}
    full_path = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}full-path"
    return {entry.get(full_path, "") for entry in _xml(package, "META-INF/manifest.xml").iter()
            if _local(entry) == "file-entry" and not entry.get(full_path, "/").endswith("/")}


def read_lacking_parts(path: Path, kind: str, read: Callable[[Any], T]) -> T:
    """``read(str(path))``; when it fails for a part the package's list names and its
    archive lacks, ``read`` of a copy with those parts empty (:func:`with_listed_parts`)."""
    try:
        return read(str(path))
    except KeyError as exc:  # zipfile: "There is no item named ... in the archive"
        repaired = with_listed_parts(path, kind) if MISSING_PART in str(exc) else None
        if repaired is None:
            raise
        return read(repaired)


def with_listed_parts(path: Path, kind: str) -> io.BytesIO | None:
    """The package at ``path`` (``kind`` "epub" or "odf") with an empty part for each part its
    list names and its archive lacks; None when none is missing or the list cannot be read (the
    reader's own error then stands). A missing picture, font or thumbnail holds no text, a
    missing chapter is read as the empty chapter it is."""
    from lxml import etree

    try:
        with zipfile.ZipFile(path) as package:
            missing = sorted(_listed(package, kind) - set(package.namelist()))
            return copy_zip(package, add=missing) if missing else None
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, etree.XMLSyntaxError):
        return None
