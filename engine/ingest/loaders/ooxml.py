"""Open every kind of Word and PowerPoint package, not only the plain .docx and .pptx.

Why: people keep macro-enabled files (.docm, .pptm), templates (.dotx, .potx) and slide shows
(.ppsx) as often as plain documents; they are the same Office Open XML packages with a different
content type on the main part. python-docx refuses anything but a plain document ("is not a Word
file, content type is ...macroEnabled...") and python-pptx anything but a presentation, so
Satchel opens the package itself and maps the variants to the same part classes. Excel's
variants (.xlsm, .xltx, .xltm) need nothing: openpyxl reads them as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ingest.document import LoadError

#: Main-part content types of Word packages: document, template, and their macro-enabled kinds.
WORD_MAIN_TYPES = (
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
)
#: Main-part content types of PowerPoint packages: presentation, slide show, template, and
#: their macro-enabled kinds.
PRESENTATION_MAIN_TYPES = (
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
)


def _open_package(package_type: Any, path: Path) -> Any:
    """The package at ``path``; one whose relationships dangle without them
    (:func:`engine.ingest.loaders.zip_copy.without_dangling_parts`, tried only when opening it
    fails); a Strict Open XML one through its Transitional rewrite
    (:mod:`engine.ingest.loaders.ooxml_strict`), which it is only found out to be when the
    usual main-part relationship is missing."""
    try:
        package = package_type.open(str(path))
    except KeyError:  # "There is no item named ...", "no content type for partname ..."
        from engine.ingest.loaders.zip_copy import without_dangling_parts

        repaired = without_dangling_parts(path)
        if repaired is None:
            raise
        package = package_type.open(repaired)
    try:
        _ = package.main_document_part
    except KeyError:
        from engine.ingest.loaders.ooxml_strict import transitional

        rewritten = transitional(path)
        if rewritten is None:
            raise
        package = package_type.open(rewritten)
    return package


def _main_part(package: Any, types: tuple[str, ...], what: str) -> Any:
    part = package.main_document_part
    if part.content_type not in types:
        raise LoadError(f"not a {what} file (its main part is {part.content_type})")
    return part


def open_word(path: Path) -> Any:
    """The python-docx ``Document`` of any Word package (.docx, .docm, .dotx, .dotm)."""
    from docx.opc.part import PartFactory
    from docx.package import Package
    from docx.parts.document import DocumentPart

    from engine.ingest.loaders.word_chunks import install_chunk_parts

    install_chunk_parts()
    for content_type in WORD_MAIN_TYPES:
        PartFactory.part_type_for.setdefault(content_type, DocumentPart)
    return _main_part(_open_package(Package, path), WORD_MAIN_TYPES, "Word").document


def open_presentation(path: Path) -> Any:
    """The python-pptx ``Presentation`` of any PowerPoint package (.pptx, .pptm, .ppsx, .ppsm,
    .potx, .potm)."""
    from pptx.opc.package import PartFactory
    from pptx.package import Package
    from pptx.parts.presentation import PresentationPart

    for content_type in PRESENTATION_MAIN_TYPES:
        PartFactory.part_type_for.setdefault(content_type, PresentationPart)
    return _main_part(_open_package(Package, path), PRESENTATION_MAIN_TYPES,
                      "PowerPoint").presentation


_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
#: The relationships by which a body part or a slide links an embedded file.
OLE_OBJECT, PACKAGE = _RELATIONSHIPS + "oleObject", _RELATIONSHIPS + "package"


def has_embedded(parts: list[Any]) -> bool:
    """Whether any of these parts links an embedded file: the reader of embedded files
    (:mod:`engine.ingest.loaders.ooxml_embedded`) is then loaded, and only then."""
    return any(not rel.is_external and rel.reltype in (OLE_OBJECT, PACKAGE)
               for part in parts for rel in part.rels.values())
