"""Tables in a PDF's text layer, read as rows that name their columns.

PDFium gives a table as one line per row with the cells run together ("2025-03-09 Rent transfer
to K. Olsen -1,100.00 2,951.00"), and rows sit one leading apart like a paragraph's lines, so a
bank statement, an invoice or a price list read as one paragraph of numbers: which number was
the amount and which the balance was lost, and a small model answered from the wrong column.
Here such rows become what every other reader makes of a table
(:func:`engine.ingest.loaders.common.table_blocks`): "Date: 2025-03-09; Description: Rent
transfer to K. Olsen; Amount: -1,100.00; Balance: 2,951.00".

How a table is told from text: PDFium groups a line's characters into rectangles, one per run
of text the PDF drew in one piece; a table's cells are separate pieces with a gap between them
(:data:`COLUMN_GAP_EM`; a list item's bullet is not a cell). Prose can be drawn in pieces too (a
bold word, an OCR layer that places every word), so a table must also have columns: over at
least :data:`MIN_ROWS` rows, the pieces' horizontal extents fall into at least
:data:`MIN_COLUMNS` bands with empty space between them in every row, each band's pieces line
up (flush left, flush right or centred), and the pieces are short; contents and index pages,
which line up too, are left to the paragraph reader. A line whose pieces all fall in one column
is part of a cell that wrapped (or a list inside a cell): it joins the row above or, when the
cell is set centred in its row, the row below.

Measured on 447 real PDFs on this machine (the test files of pypdf, pikepdf, ocrmypdf and
pdfminer, LibreOffice's, R's and Debian's manuals): tables found in 27 more files (18 different
documents: a MAPI reference's 132, a German book's package tables, a chemotherapy schedule, a
Chinese inventory list), no file with less text than before and none newly failed; the form of
tables shows in noise too (diagrams' text boxes, code laid out in columns, footnote numbers),
read no worse than before.
"""

from __future__ import annotations

import ctypes
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.ingest.loaders.common import clean_inline, looks_like_header

#: Two pieces of a line further apart than this share of the font size are separate cells; a
#: word space is about 0.25 em, and a run of text in another style starts right after one.
COLUMN_GAP_EM = 0.4
#: A table has at least this many rows of several cells, and this many columns.
MIN_ROWS = 3
MIN_COLUMNS = 3
#: In each column, this share of its cells start, end or are centred at one place (within
#: :data:`ALIGN_EM`): a column is set flush left, flush right (numbers) or centred, where the
#: pieces of prose drawn word by word (an OCR layer) start anywhere.
ALIGNED_SHARE = 0.8
ALIGN_EM = 0.3
#: The cells' median length is at most this: a table's cells are short, prose's pieces long.
MAX_MEDIAN_CELL_CHARS = 30
#: One-piece lines (wrapped cells) allowed between two rows.
MAX_WRAPPED_LINES = 8
#: Bullets and dashes that start list items (Word's Symbol-font bullets as PDFium gives them
#: too): set apart from the item's text, they are not a column.
BULLETS = frozenset("\u2022\u25aa\u25cf\u25a0\u25a1\u25e6\u27a2\u2756\u2713\u2751\u2013\u2014"
                    "\u00b7*-\uf0b7\uf06c\uf0a7\uf06e\uf0a8\uf06f\uf071\uf076")
#: A leader: the dots between a contents or index entry and its page number. R's manuals have
#: a fifth of their chunks in contents and index pages, some nothing but dots: each run becomes
#: one ellipsis ("1.1 Legalese … 1"), so their words, not dots, fill the chunk and its vector.
#: Contents and index pages line up like tables, and are not read as ones.
LEADER = re.compile(r"(?:\s*\.){5,}\s*")


@dataclass(frozen=True)
class Cell:
    """A piece of a line: its horizontal extent (PDF units) and its text."""

    left: float
    right: float
    text: str


class TableLine(Protocol):
    """What the finder needs of a line: its text, font size, baseline, boldness and pieces
    (one piece, or none when not measured)."""

    text: str
    size: float
    y: float
    bold: bool
    cells: tuple[Cell, ...]


def line_cells(textpage: Any, start: int, count: int, size: float) -> tuple[Cell, ...]:
    """The pieces of the line of ``count`` characters at ``start``, left to right, pieces closer
    than :data:`COLUMN_GAP_EM` merged; a line drawn in one piece gives one cell without its text
    (the caller has it), and an unmeasurable line none."""
    import pypdfium2.raw as pdfium_c

    rects = []
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    for i in range(pdfium_c.FPDFText_CountRects(textpage.raw, start, count)):
        if pdfium_c.FPDFText_GetRect(textpage.raw, i, left, top, right, bottom):
            rects.append([left.value, top.value, right.value, bottom.value])
    if not rects:
        return ()
    rects.sort(key=lambda r: r[0])
    gap = COLUMN_GAP_EM * (size if size > 0 else max(r[1] - r[3] for r in rects))
    pieces = [rects[0]]
    for rect in rects[1:]:
        last = pieces[-1]
        if rect[0] - last[2] < gap:
            last[1], last[2], last[3] = max(last[1], rect[1]), max(last[2], rect[2]), \
                min(last[3], rect[3])
        else:
            pieces.append(rect)
    if len(pieces) == 1:
        return (Cell(pieces[0][0], pieces[0][2], ""),)
    cells: list[Cell] = []
    for x0, y1, x1, y0 in pieces:
        text = clean_inline(textpage.get_text_bounded(x0, y0, x1, y1))
        if cells and cells[-1].text in BULLETS:  # a list item's bullet is not a cell
            cells[-1] = Cell(cells[-1].left, x1, f"{cells[-1].text} {text}".strip())
        elif text:
            cells.append(Cell(x0, x1, text))
    if len(cells) < 2:  # a bulleted line: one piece after all
        return (Cell(pieces[0][0], max(p[2] for p in pieces), ""),)
    return tuple(cells)


@dataclass(frozen=True)
class Table:
    """Lines ``start`` to ``end`` (exclusive) of a page are this grid's rows; ``header``: its
    first row names the columns."""

    start: int
    end: int
    rows: list[list[str]]
    header: bool


#: A run of several-piece lines that is no table is tried again without its first lines (a
#: sentence with a word in bold just above a table), this many times.
MAX_LEAD_LINES = 3


def find_tables(lines: Sequence[TableLine]) -> list[Table]:
    """The tables among a page's lines, in order (see the module docstring)."""
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        if len(lines[i].cells) < 2:
            i += 1
            continue
        end = _run_end(lines, i)
        table = None
        for first in range(i, min(i + MAX_LEAD_LINES + 1, end)):
            if len(lines[first].cells) >= 2 and (table := _table(lines, first, end)):
                break
        if table is None:
            i = end
        else:
            tables.append(table)
            i = table.end
    return tables


def _run_end(lines: Sequence[TableLine], start: int) -> int:
    """End of the run of several-piece lines from ``start``, with up to
    :data:`MAX_WRAPPED_LINES` one-piece lines between two of them."""
    end = k = start + 1
    while k < len(lines):
        if len(lines[k].cells) >= 2:
            end = k = k + 1
        elif len(lines[k].cells) == 1 and k - end < MAX_WRAPPED_LINES:
            k += 1
        else:
            break
    return end


def _columns(rows: Sequence[TableLine]) -> list[tuple[float, float]]:
    """The bands the rows' cells fall into: their extents merged where they overlap."""
    bands: list[list[float]] = []
    for cell in sorted((c for line in rows for c in line.cells), key=lambda c: c.left):
        if bands and cell.left <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], cell.right)
        else:
            bands.append([cell.left, cell.right])
    return [(a, b) for a, b in bands]


def _has_header(rows: Sequence[TableLine], grid: list[list[str]]) -> bool:
    """Whether the first row names the columns: set in bold over rows that are not, or column
    names (:func:`.common.looks_like_header`) over rows that are not all such names. A table of
    names only (a list of keyboard shortcuts) has no header: its first row labelled all the
    others ("File.NewProject: File.OpenProject")."""
    if rows[0].bold and not any(line.bold for line in rows[1:]):
        return True
    return looks_like_header(grid[0]) and not all(looks_like_header(r) for r in grid[1:])


def _aligned(rows: Sequence[TableLine], bands: list[tuple[float, float]]) -> bool:
    """Whether every column's cells line up (:data:`ALIGNED_SHARE`, :data:`ALIGN_EM`)."""
    tolerance = max(1.0, ALIGN_EM * statistics.median(line.size for line in rows))
    for index in range(len(bands)):
        cells = [c for line in rows for c in line.cells if _band(c, bands) == index]
        if len(cells) < 2:
            continue
        edges = ([c.left for c in cells], [c.right for c in cells],
                 [(c.left + c.right) / 2 for c in cells])
        if not any(_share_near(values, tolerance) >= ALIGNED_SHARE for values in edges):
            return False
    return True


def _share_near(values: list[float], tolerance: float) -> float:
    """The largest share of ``values`` within ``tolerance`` of one of them."""
    return max(sum(1 for v in values if abs(v - w) <= tolerance) for w in values) / len(values)


def _band(cell: Cell, bands: list[tuple[float, float]]) -> int | None:
    """The one band ``cell`` reaches into (a point of slack for rounding), if only one: a
    wrapped line of the last column may run further right than any row's cell did."""
    hits = [i for i, (left, right) in enumerate(bands)
            if cell.left < right + 1 and cell.right > left - 1]
    return hits[0] if len(hits) == 1 else None


def _table(lines: Sequence[TableLine], start: int, end: int) -> Table | None:
    """The table on lines ``start``..``end`` (trimmed where a line leaves the columns), or None
    when they have no columns."""
    while True:
        bands = _columns([line for line in lines[start:end] if len(line.cells) >= 2])
        placed = [[_band(c, bands) for c in line.cells] for line in lines[start:end]]
        stray = next((start + i for i, where in enumerate(placed)
                      if not where or None in where), None)
        if stray is not None:
            end = stray  # the table ends before a line outside its columns
            continue
        rows = [line for line, where in zip(lines[start:end], placed, strict=True)
                if len(set(where)) >= 2]
        if len(rows) < MIN_ROWS or len(bands) < MIN_COLUMNS:
            return None
        lengths = sorted(len(c.text) for line in rows for c in line.cells)
        if (lengths[len(lengths) // 2] > MAX_MEDIAN_CELL_CHARS
                or sum(1 for line in rows if LEADER.search(line.text)) * 2 >= len(rows)
                or not _aligned(rows, bands)):
            return None
        grid = _grid(list(zip(lines[start:end], placed, strict=True)), len(bands))
        return Table(start, end, grid, _has_header(rows, grid))


def _grid(lines: list[tuple[TableLine, list[int | None]]], width: int) -> list[list[str]]:
    """The rows of a table's lines (each with the column of each of its pieces).

    A row is a line with pieces in two or more columns, joined by the pieces of other lines on
    its baseline (PDFium starts a new line when a wrapped cell moves down, so the cells right
    of it come as a line of their own). A line in one column is part of a cell that wrapped:
    of the row above or below it, whichever has that cell empty on its own line (a cell set
    centred in its row starts above it), else the row above.
    """
    tolerance = 0.3 * statistics.median(line.size for line, _ in lines)
    by_baseline: list[tuple[float, dict[int, list[tuple[float, str]]]]] = []
    singles: list[tuple[float, int, str]] = []
    for line, where in lines:
        texts = ([line.text] if len(line.cells) == 1
                 else [c.text for c in line.cells])
        if len(set(where)) == 1:
            singles.append((line.y, where[0], " ".join(texts)))  # type: ignore[arg-type]
            continue
        row = next((r for y, r in by_baseline if abs(y - line.y) <= tolerance), None)
        if row is None:
            row = {}
            by_baseline.append((line.y, row))
        for band, text in zip(where, texts, strict=True):
            row.setdefault(band, []).append((line.y, text))  # type: ignore[arg-type]
    anchors = sorted(by_baseline, key=lambda r: -r[0])  # top to bottom
    for y, band, text in singles:
        level = [r for r in anchors if abs(r[0] - y) <= tolerance]
        above = [r for r in anchors if r[0] - y > tolerance]
        below = [r for r in anchors if y - r[0] > tolerance]
        if level:  # its row's cell, on the row's own baseline
            home = level[0]
        else:
            home = above[-1] if above else below[0]
            if band in home[1] and below and band not in below[0][1]:
                home = below[0]
        home[1].setdefault(band, []).append((y, text))
    return [[" ".join(t for _, t in sorted(row.get(band, []), key=lambda p: -p[0]))
             for band in range(width)] for _, row in anchors]
