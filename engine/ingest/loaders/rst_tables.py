"""reStructuredText's tables (grid, simple and ``list-table``) as rows of cells.

Why: Sphinx documentation (Python's, most Python projects') keeps its option and parameter
references in tables; read as paragraphs they were rows of "+------+" and "=====" rules with
the cells of a row scattered over several lines. As rows they become table blocks like every
other format's ("Option: --depth; Meaning: ..."), one row still saying what each value is.

Each reader takes the document's lines and the index where a table may start, and returns
``(rows, has_header, next index)``, or None when no such table starts there.
"""

from __future__ import annotations

import itertools
import re

Table = tuple[list[list[str]], bool, int]

_GRID_BORDER = re.compile(r"^\+(?:[-=]+\+)+$")
_SIMPLE_BORDER = re.compile(r"^=+(?: +=+)+$")
_LIST_ROW = re.compile(r"^\*\s+-\s?(.*)$")
_LIST_CELL = re.compile(r"^-\s?(.*)$")


def grid_table(lines: list[str], start: int) -> Table | None:
    """A grid table: "+---+---+" borders (a "+===+" one under the header), "|" between cells;
    a cell's lines are joined. Columns are where the first border has its "+"."""
    first = lines[start].strip()
    if not _GRID_BORDER.match(first):
        return None
    indent = len(lines[start]) - len(lines[start].lstrip())
    stops = [m.start() for m in re.finditer(r"\+", first)]
    rows: list[list[str]] = []
    pending: list[list[str]] = [[] for _ in stops[:-1]]
    header = False
    end = start + 1
    while end < len(lines) and lines[end].strip()[:1] in ("+", "|"):
        line = lines[end][indent:].rstrip()
        if _GRID_BORDER.match(line.strip()):
            if any(pending):
                rows.append([" ".join(part) for part in pending])
            pending = [[] for _ in stops[:-1]]
            header = header or ("=" in line and len(rows) == 1)
        else:
            for column, (left, right) in enumerate(itertools.pairwise(stops)):
                text = line[left + 1:right].strip(" |")
                if text:
                    pending[column].append(text)
        end += 1
    return (rows, header, end) if rows else None


def simple_table(lines: list[str], start: int) -> Table | None:
    """A simple table: "=====  =====" rules (a second one under the header, a last one to
    close), columns where the first rule's runs of "=" are; a line whose first column is
    blank continues the row above."""
    raw = lines[start].rstrip()
    indent = len(raw) - len(raw.lstrip())
    first = raw[indent:]
    if not _SIMPLE_BORDER.match(first):
        return None
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", first)]
    borders: list[int] = []
    rows: list[list[str]] = []
    end = start + 1
    while end < len(lines):
        line = lines[end].rstrip()[indent:]
        if _SIMPLE_BORDER.match(line):
            borders.append(len(rows))
            end += 1
            if end >= len(lines) or not lines[end].strip():
                break  # a rule with a blank line after it closes the table
            continue
        if not line.strip():
            end += 1
            continue
        cells = [line[left:spans[n + 1][0] if n + 1 < len(spans) else len(line)].strip()
                 for n, (left, _) in enumerate(spans)]
        if rows and not cells[0]:  # the first column blank: the row above goes on
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
        end += 1
    if not borders:
        return None
    return rows, len(borders) >= 2 and borders[0] == 1, end


def list_table(lines: list[str], start: int, header_rows: int) -> Table | None:
    """The body of a ``list-table`` directive (from ``start``): "* - cell" starts a row,
    "  - cell" the next cell, deeper lines go on with the cell above."""
    rows: list[list[str]] = []
    end = start
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
        text = lines[end].strip()
        end += 1
        if not text:
            continue
        if row := _LIST_ROW.match(text):
            rows.append([row[1]])
        elif (cell := _LIST_CELL.match(text)) and rows:
            rows[-1].append(cell[1])
        elif rows:
            rows[-1][-1] = f"{rows[-1][-1]} {text}".strip()
    return (rows, header_rows >= 1, end) if rows else None
