"""PowerPoint decks via python-pptx: one Page per slide, numbered as the deck numbers them.

A slide's title becomes a level-1 heading and the page label, so a citation reads "slide 4:
Quiet hours". Shapes are read top-to-bottom, left-to-right (the order a person reads), groups are
opened, bullet placeholders become list blocks with their indent levels, tables become table
blocks. Speaker notes often hold the actual explanation, so they are kept under a "Speaker notes"
heading on the same page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, Page
from engine.ingest.loaders.common import (
    clean_inline,
    clean_text,
    library_errors,
    list_block,
    paragraph_blocks,
    table_blocks,
)
from engine.ingest.loaders.ooxml import open_presentation


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
        return table_blocks(rows)
    if getattr(shape, "has_chart", False) and shape.has_chart:
        chart = shape.chart
        if chart.has_title and chart.chart_title.has_text_frame:
            title = clean_inline(chart.chart_title.text_frame.text)
            return [Block(f"Chart: {title}")] if title else []
    return []


def _slide_page(number: int, slide: Any) -> Page:
    blocks: list[Block] = []
    title_shape = slide.shapes.title
    title = clean_inline(title_shape.text_frame.text) if title_shape is not None else ""
    if title:
        blocks.append(Block(title, "heading", 1))
    for shape in _flatten(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        blocks.extend(_shape_blocks(shape))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = paragraph_blocks(frame.text) if frame is not None else []
        if notes:
            blocks.append(Block("Speaker notes", "heading", 2))
            blocks.extend(notes)
    return Page(number=number, blocks=blocks, label=title or None)


def load_pptx(path: Path) -> Document:
    """PPTX -> one Page per slide (hidden slides included: they keep the deck's numbering)."""
    with library_errors("PPTX"):
        deck = open_presentation(path)
        pages = [_slide_page(n, slide) for n, slide in enumerate(deck.slides, start=1)]
        props = deck.core_properties
        title, author = clean_inline(props.title or ""), clean_inline(props.author or "")
    metadata = {"slides": str(len(pages))}
    if author:
        metadata["author"] = author
    first_title = next((p.label for p in pages if p.label), None)
    return Document(
        path=str(path), format="pptx", pages=pages, title=title or first_title, metadata=metadata
    )
