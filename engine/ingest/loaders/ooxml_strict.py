"""Strict Office Open XML read as the Transitional packages the readers know.

Why: Word, Excel and PowerPoint save "Strict Open XML" documents (ISO/IEC 29500 Strict, chosen
by some administrations for archiving) under the same .docx/.xlsx/.pptx names. They differ from
the usual (Transitional) files mainly in their namespaces and relationship types
(``http://purl.oclc.org/ooxml/wordprocessingml/main`` for
``http://schemas.openxmlformats.org/wordprocessingml/2006/main``). python-docx and python-pptx
find no main part in them ("no relationship of type officeDocument": mammoth's
strict-format.docx failed as a corrupt DOCX), and openpyxl reads a Strict workbook as one
without sheets. Such a package is rewritten in memory with the Transitional names and read as
usual; nothing is written to disk, and ordinary files never come here (the readers call
:func:`transitional` only when a package looked empty or headless to them).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

#: A Strict namespace or relationship type: (family, name after it).
_STRICT_NAME = re.compile(
    rb"http://purl\.oclc\.org/ooxml/(officeDocument/relationships|officeDocument|drawingml|"
    rb"wordprocessingml|spreadsheetml|presentationml|schemaLibrary)(/[A-Za-z]+)?")
#: Names that are spelled differently in the two conformance classes (the rest are equal).
_RENAMED = {b"/extendedProperties": b"/extended-properties",
            b"/customProperties": b"/custom-properties"}
#: The package relationship that marks a Strict package: its main part.
_STRICT_MAIN = b"http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument"


def _transitional_name(match: re.Match[bytes]) -> bytes:
    family, name = match.group(1), match.group(2) or b""
    name = _RENAMED.get(name, name)
    if family == b"officeDocument/relationships":
        return b"http://schemas.openxmlformats.org/officeDocument/2006/relationships" + name
    return b"http://schemas.openxmlformats.org/" + family + b"/2006" + name


def is_strict(package: zipfile.ZipFile) -> bool:
    """Whether the package's main part is linked by the Strict relationship type."""
    try:
        return _STRICT_MAIN in package.read("_rels/.rels")
    except KeyError:
        return False


def transitional(path: Path) -> io.BytesIO | None:
    """The package at ``path`` with Strict names made Transitional, in memory; None when it is
    not a Strict package (or not a readable zip: the reader's own error then stands)."""
    from engine.ingest.loaders.zip_copy import copy_zip

    def rewrite(name: str, data: bytes) -> bytes:
        if name.lower().endswith((".xml", ".rels", ".vml")):
            return _STRICT_NAME.sub(_transitional_name, data)
        return data

    try:
        with zipfile.ZipFile(path) as package:
            return copy_zip(package, edit=rewrite) if is_strict(package) else None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError):
        return None
