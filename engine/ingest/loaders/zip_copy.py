"""Packages read from a repaired copy in memory, when the library reading them refuses the file.

Zip-based formats list their own parts (an EPUB's manifest, an OpenDocument file's
``META-INF/manifest.xml``), and real files list parts they do not hold: Debian's debmake-doc
EPUBs a logo, live-manual's ODT files their thumbnail. ebooklib and odfpy then refuse the whole
document ("There is no item named ... in the archive") though the text is all there. Office
Open XML packages link their parts by relationships, and real ones link parts they lack, or
parts [Content_Types].xml has no type for (LibreOffice's test documents from bug reports:
a picture, a footer, numbering.xml, a font table, a thumbnail); python-docx and python-pptx
refuse those too, where Word opens them (:func:`without_dangling_parts`). OpenOffice.org's
parts declare a DTD file, which odfpy's XML parser refuses (:func:`repaired_copy`). A Strict
Open XML package needs its names rewritten (:mod:`engine.ingest.loaders.ooxml_strict`). The
loaders try the file as it is first and come here only on that failure, so ordinary files pay
nothing; nothing is written to disk.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from engine.ingest.loaders.common import local_name

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


def _listed(package: zipfile.ZipFile, kind: str) -> set[str]:
    """The part names the package's own list names: an EPUB's manifest items (relative to its
    package document), an OpenDocument manifest's file entries."""
    if kind == "epub":
        container = _xml(package, "META-INF/container.xml")
        opf = next((r.get("full-path") for r in container.iter()
                    if local_name(r) == "rootfile"), "")
        folder = posixpath.dirname(opf)
        return {posixpath.normpath(posixpath.join(folder, unquote(item.get("href", ""))))
                for item in _xml(package, opf).iter() if local_name(item) == "item"
                and item.get("href") and "://" not in item.get("href", "")}
    full_path = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}full-path"
    return {entry.get(full_path, "") for entry in _xml(package, "META-INF/manifest.xml").iter()
            if local_name(entry) == "file-entry" and not entry.get(full_path, "/").endswith("/")}


def read_repaired(path: Path, kind: str, read: Callable[[Any], T]) -> T:
    """``read(str(path))``; when it fails for a part the package's list names and its archive
    lacks, or for a part declaring an external DTD, ``read`` of a repaired copy
    (:func:`repaired_copy`)."""
    try:
        return read(str(path))
    except (KeyError, ValueError) as exc:  # zipfile's missing member; defusedxml's DTD refusal
        repaired = repaired_copy(path, kind) if _repairable(exc) else None
        if repaired is None:
            raise
    return read(repaired)


def _repairable(exc: Exception) -> bool:
    return (isinstance(exc, KeyError) and MISSING_PART in str(exc)) or \
        type(exc).__name__ == "ExternalReferenceForbidden"


#: A document type declaration naming a DTD file, without an internal subset. OpenOffice.org
#: wrote one into its manifests ("Manifest.dtd") and its formula objects ("math.dtd"); odfpy
#: parses with defusedxml, which refuses any external reference, so such a file failed whole
#: (LibreOffice's ooo56974-1.odp, tdf130680.odt). The DTDs declare no entities: without the
#: declaration the parts read the same.
_EXTERNAL_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*>")


def repaired_copy(path: Path, kind: str) -> io.BytesIO | None:
    """The package at ``path`` (``kind`` "epub" or "odf") with an empty part for each part its
    list names and its archive lacks, and its XML parts without their external DTD
    declarations; None when it needs neither or cannot be read (the reader's own error then
    stands). A missing picture, font or thumbnail holds no text, a missing chapter is read as
    the empty chapter it is."""
    from lxml import etree

    try:
        with zipfile.ZipFile(path) as package:
            missing = sorted(_listed(package, kind) - set(package.namelist()))
            declared = [n for n in package.namelist() if n.endswith((".xml", ".rdf"))
                        and _EXTERNAL_DOCTYPE.search(package.read(n)[:4096])]
            if not missing and not declared:
                return None
            return copy_zip(package, add=missing, edit=lambda name, data: (
                _EXTERNAL_DOCTYPE.sub(b"", data[:4096], count=1) + data[4096:]
                if name in declared else data))
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, etree.XMLSyntaxError):
        return None


_CONTENT_TYPES = "[Content_Types].xml"
_OPC_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _content_types(package: zipfile.ZipFile) -> tuple[set[str], dict[str, str]]:
    """The part names with an Override (lower case, with their leading /) and the Default
    content types by extension (lower case) of an Office Open XML package."""
    overrides: set[str] = set()
    defaults: dict[str, str] = {}
    for entry in _xml(package, _CONTENT_TYPES).iter():
        if local_name(entry) == "Override" and entry.get("PartName"):
            overrides.add(entry.get("PartName", "").lower())
        elif local_name(entry) == "Default" and entry.get("Extension"):
            defaults[entry.get("Extension", "").lower()] = entry.get("ContentType", "")
    return overrides, defaults


def without_dangling_parts(path: Path) -> io.BytesIO | None:
    """The Office Open XML package at ``path`` without its internal relationships to parts
    the archive lacks or that have no content type and are XML (a footer, numbering), and with
    a Default content type for each other part's extension that has none (a picture: typed by
    its extension). None when no relationship dangles or the package cannot be read (the
    reader's own error then stands). Left out, a part reads as absent: Word does the same."""
    import mimetypes

    from lxml import etree

    try:
        with zipfile.ZipFile(path) as package:
            names = set(package.namelist())
            overrides, defaults = _content_types(package)
            added: dict[str, str] = {}
            edited: dict[str, bytes] = {}
            for rels in sorted(n for n in names if n.endswith(".rels")
                               and posixpath.basename(posixpath.dirname(n)) == "_rels"):
                base = "/" + posixpath.dirname(posixpath.dirname(rels))
                root = _xml(package, rels)
                dropped = False
                for rel in list(root.iter(_OPC_RELS)):
                    if rel.get("TargetMode") == "External":
                        continue
                    target = posixpath.normpath(posixpath.join(base, rel.get("Target", "")))
                    ext = posixpath.splitext(target)[1].lstrip(".").lower()
                    typed = target.lower() in overrides or ext in defaults or ext in added
                    if target.lstrip("/") in names and (typed or ext not in ("", "xml", "rels")):
                        if not typed:
                            added[ext] = (mimetypes.guess_type(target)[0]
                                          or "application/octet-stream")
                        continue
                    root.remove(rel)
                    dropped = True
                if dropped:
                    edited[rels] = etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                                  standalone=True)
            if added:
                types = _xml(package, _CONTENT_TYPES)
                for ext, content_type in sorted(added.items()):
                    etree.SubElement(types, types.tag.replace("Types", "Default"),
                                     Extension=ext, ContentType=content_type)
                edited[_CONTENT_TYPES] = etree.tostring(types, xml_declaration=True,
                                                        encoding="UTF-8", standalone=True)
            if not edited:
                return None
            return copy_zip(package, edit=lambda name, data: edited.get(name, data))
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, etree.XMLSyntaxError):
        return None
