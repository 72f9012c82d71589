"""Apple iWork documents (Pages, Numbers, Keynote): how they are told, and why some are not read.

A Pages, Numbers or Keynote file is a zip package; LibreOffice's import (libetonyek, iWork '05
to today) reads it and Satchel reads the conversion (:mod:`engine.ingest.loaders.legacy`):
Pages as DOCX, Numbers as XLSX, Keynote as PPTX, so a deck is cited by slide and a workbook by
sheet. The package is recognised here by the parts libetonyek reads, before LibreOffice starts:

- iWork '13 and later keep the document's objects in ``Index/Document.iwa`` (a package folder
  in ``Index.zip``); iWork '09 in ``index.xml`` (Pages, Numbers) or ``index.apxl`` (Keynote),
  either possibly gzipped; Keynote 1-2 in ``presentation.apxl``;
- a package folder zipped whole (how macOS "Compress" and Mail send one) has those parts under
  one top folder (libetonyek's test ``pages5-extra-dir.pages``); LibreOffice reads it too;
- a password-protected document holds ``.iwpv2`` (the password verifier) or ``.iwph`` (its
  hint) and ciphertext parts; LibreOffice cannot read it, so it is refused in one line.

``.key`` is also the name of private keys (PEM, PuTTY): a ``.key`` that is not a zip package
with Keynote's parts is skipped as not a document, never read.

A package *folder* (how Pages 5.0-5.2 saved by default, and "Save as package" before) is a
directory: Satchel indexes files, so :func:`package_folder` lets the folder walk report it as
one skipped item with what to do, instead of walking into it and reading its thumbnails and
property lists as documents.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable

#: The three iWork formats, by the names :mod:`engine.ingest.loaders.formats` gives them.
IWORK_FORMATS = frozenset({"pages", "numbers", "keynote"})
#: The application each format is made with, for messages.
APPLICATIONS = {"pages": "Pages", "numbers": "Numbers", "keynote": "Keynote"}
#: The parts that hold an iWork document (libetonyek's detection).
DOCUMENT_PARTS = frozenset({"Index/Document.iwa", "Index.zip", "index.xml", "index.xml.gz",
                            "index.apxl", "index.apxl.gz", "presentation.apxl",
                            "presentation.apxl.gz"})
#: Parts only a password-protected document has (the password verifier and its hint).
PASSWORD_PARTS = frozenset({".iwpv2", ".iwph"})
#: Folder name endings of iWork package folders.
_PACKAGE_SUFFIXES = {".pages": "pages", ".numbers": "numbers", ".key": "keynote"}


def _in_top_folder(names: list[str]) -> list[str] | None:
    """The names relative to the one folder all of them are in ("Report.pages/Index.zip" ->
    "Index.zip": a package zipped whole), or None when they are not all in one folder."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1 or not all("/" in n for n in names):
        return None
    return [n.split("/", 1)[1] for n in names]


def package_state(names: Iterable[str]) -> str | None:
    """ "document" or "encrypted" for the member names of an iWork package, None when they
    are not one (any other zip). As libetonyek does, the names are tried as they are, then
    under their one top folder (a single-file package's names may all be in "Index/")."""
    listed = [n for n in names if n and not n.startswith("__MACOSX/")]
    for inner in (listed, _in_top_folder(listed)):
        if inner is None:
            continue
        if any(n.rsplit("/", 1)[-1] in PASSWORD_PARTS for n in inner):
            return "encrypted"
        if DOCUMENT_PARTS.intersection(inner):
            return "document"
    return None


def zip_state(path: str | os.PathLike[str]) -> str | None:
    """:func:`package_state` of a zip file; raises zipfile.BadZipFile (and OSError) for a
    damaged or unreadable one."""
    with zipfile.ZipFile(path) as zf:
        return package_state(zf.namelist())


def package_folder(path: str) -> str | None:
    """The iWork format of a package folder ("pages" for "Report.pages/" holding its parts),
    None for any other folder (a folder that happens to be named "notes.key")."""
    fmt = _PACKAGE_SUFFIXES.get(os.path.splitext(path.rstrip(os.sep))[1].lower())
    if fmt is None:
        return None
    try:
        names = os.listdir(path)
    except OSError:
        return None
    parts = set(names) | ({"Index/Document.iwa"} if "Index" in names else set())
    return fmt if DOCUMENT_PARTS.intersection(parts) or PASSWORD_PARTS.intersection(parts) \
        else None


def folder_reason(fmt: str) -> str:
    """Why a package folder is skipped, and what makes it readable."""
    app = APPLICATIONS[fmt]
    return (f"{app} document saved as a package folder: not read; save it as a single file "
            f"in {app} (File > Advanced > Change File Type) to index it")
