"""PowerPoint decks via python-pptx: one Page per slide, numbered as the deck numbers them.

A slide's title becomes a level-1 heading and the page label, so a citation reads "slide 4:
Quiet hours". Shapes are read top-to-bottom, left-to-right (the order a person reads), groups are
opened, bullet placeholders become list blocks with their indent levels, tables become table
blocks. Speaker notes often hold the actual explanation, so they are kept under a "Speaker notes"
heading on the same page.

A slide whose body is a picture and no text (a deck exported from a PDF or from Keynote as
images, screenshots pasted in, a scanned handout) has its large pictures read by OCR. Before,
such a deck was "no extractable text". Pictures beside text (photos, charts, logos) are left
alone, as in Word documents: seconds each to read, for little.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest import progress
from engine.ingest.document import Block, Document, LoadError, LoadOptions, Page
from engine.ingest.loaders.common import (
    clean_inline,
    clean_text,
    library_errors,
    list_block,
    paragraph_blocks,
    titled_table,
)
from engine.ingest.loaders.ooxml import has_embedded, open_presentation


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda s: ((s.top or 0), (s.left or 0)))


def _flatten(shapes: Any) -> Iterator[Any]:
    """Shapes in reading order, with group shapes opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in _reading_order(shapes):
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _flatten(shape.shapes)
        else:
            yield shape


def _is_bullet_body(shape: Any) -> bool:
    from pptx.enum.shapes import PP_PLACEHOLDER

    if not shape.is_placeholder:
        return False
    kind = shape.placeholder_format.type
    return kind in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)


def _shape_blocks(shape: Any) -> list[Block]:
    if shape.has_text_frame:
        paragraphs = [(p.level, clean_inline(p.text)) for p in shape.text_frame.paragraphs]
        paragraphs = [(level, text) for level, text in paragraphs if text]
        if not paragraphs:
            return []
        if _is_bullet_body(shape) and len(paragraphs) > 1:
            block = list_block(paragraphs)
            return [block] if block else []
        return [Block(clean_text("\n".join(text for _, text in paragraphs)))]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        return titled_table(rows)
    if getattr(shape, "has_chart", False) and shape.has_chart:
        from engine.ingest.loaders.ooxml_charts import chart_blocks  # charts are rare

        return chart_blocks(shape.chart_part.blob)  # its title and the data it plots
    return []


#: A picture read by OCR on a slide without text covers at least this share of the slide: a
#: page, a screenshot or a handout, not a logo or an icon.
MIN_PICTURE_SHARE = 0.2


def _pictures(shapes: list[Any], slide_area: int) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the slide's pictures large enough to hold a page of text."""
    out = []
    for shape in shapes:
        area = (shape.width or 0) * (shape.height or 0)
        if not hasattr(shape, "image") or area < MIN_PICTURE_SHARE * slide_area:
            continue
        try:
            image = shape.image
            out.append((image.filename or f"image.{image.ext}", image.blob))
        except (AttributeError, KeyError, ValueError):  # a linked picture: no bytes in the deck
            continue
    return out


class _SlideOcr:
    """Reads the pictures of text-free slides; one picture shown on many slides is read once."""

    def __init__(self, path: Path, options: LoadOptions) -> None:
        self.path, self.options = path, options
        self.read: dict[bytes, list[Block]] = {}
        self.slides = self.waiting = 0  # slides read by OCR; pictures left for OCR to be on
        self.loader = ""

    def blocks(self, number: int, pictures: list[tuple[str, bytes]]) -> list[Block]:
        from engine.ingest.loaders.embedded import load_embedded, safe_name

        if not self.options.ocr:
            self.waiting += len(pictures)
            return []
        out: list[Block] = []
        for index, (name, blob) in enumerate(pictures, start=1):
            if blob not in self.read:
                progress.report(f"OCR picture {index} of slide {number}")
                try:
                    image = load_embedded(str(self.path), safe_name(f"slide{number}-{name}"),
                                          lambda f, blob=blob: f.write_bytes(blob), self.options)
                    self.loader = self.loader or image.loader
                    self.read[blob] = [b for page in image.pages for b in page.blocks]
                except LoadError:  # no words in it, or a format Pillow cannot open (WMF)
                    self.read[blob] = []
            out += self.read[blob]
        self.slides += bool(out)
        return out


def _slide_page(number: int, slide: Any, ocr: _SlideOcr, slide_area: int) -> Page:
    blocks: list[Block] = []
    title_shape = slide.shapes.title
    if title_shape is not None and not title_shape.has_text_frame:
        title_shape = None  # a picture put in the title's placeholder is read as a picture
    title = clean_inline(title_shape.text_frame.text) if title_shape is not None else ""
    if title:
        blocks.append(Block(title, "heading", 1))
    body = [shape for shape in _flatten(slide.shapes)
            if title_shape is None or shape.shape_id != title_shape.shape_id]
    for shape in body:
        blocks.extend(_shape_blocks(shape))
    if len(blocks) == bool(title) and (pictures := _pictures(body, slide_area)):
        blocks.extend(ocr.blocks(number, pictures))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = paragraph_blocks(frame.text) if frame is not None else []
        if notes:
            blocks.append(Block("Speaker notes", "heading", 2))
            blocks.extend(notes)
    return Page(number=number, blocks=blocks, label=title or None)


def load_pptx(path: Path, options: LoadOptions | None = None) -> Document:
    """PPTX -> one Page per slide (hidden slides included: they keep the deck's numbering);
    the pictures of slides without text read by OCR when ``options`` have it on."""
    from engine.ingest.revisions import OCR_OFF_KEY  # revisions imports the loaders package

    ocr = _SlideOcr(path, options or LoadOptions())
    with library_errors("PPTX"):
        deck = open_presentation(path)
        area = (deck.slide_width or 0) * (deck.slide_height or 0)
        pages = [_slide_page(n, slide, ocr, area) for n, slide in enumerate(deck.slides, 1)]
        props = deck.core_properties
        title, author = clean_inline(props.title or ""), clean_inline(props.author or "")
        slide_parts = [slide.part for slide in deck.slides]
        files: list[tuple[str, bytes]] = []
        if has_embedded(slide_parts):  # files dropped onto slides
            from engine.ingest.loaders.ooxml_embedded import add_embedded, embedded_files

            files = embedded_files(slide_parts)
    metadata = {"slides": str(len(pages))}
    if author:
        metadata["author"] = author
    if ocr.waiting:  # read again once OCR is on
        metadata[OCR_OFF_KEY] = str(ocr.waiting)
    first_title = next((p.label for p in pages if p.label), None)
    loader = (f"python-pptx; pictures of {ocr.slides} slide{'s' if ocr.slides != 1 else ''} "
              f"read by {ocr.loader}") if ocr.slides else ""
    doc = Document(path=str(path), format="pptx", pages=pages, title=title or first_title,
                   metadata=metadata, loader=loader)
    if files:
        add_embedded(doc, files, ocr.options)  # as parts
    return doc
