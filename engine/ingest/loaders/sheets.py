"""Spreadsheets: XLSX via openpyxl (one Page per sheet), CSV/TSV via the csv module (one page).

A retrieved chunk of a spreadsheet is useless if it is a run of bare values ("Ada | 3 | B-12"),
so every row is rendered with its column headers: ``"Name: Ada; Shift: 3; Room: B-12"``. Rows are
grouped into table blocks of a few dozen, each of which stands alone. Very large sheets are capped
(the count of rows left out goes into metadata) because a 200,000-row export would swamp the index
with near-identical chunks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, LoadError, Page
from engine.ingest.loaders.common import (
    clean_inline,
    format_value,
    library_errors,
    read_bytes,
    titled_table,
)
from engine.ingest.loaders.encoding import decode_text, without_nuls
from engine.ingest.loaders.xlsx_comments import sheet_comments

#: Rows kept per sheet / per CSV, and over all sheets of a workbook.
MAX_ROWS_PER_SHEET = 5000
MAX_ROWS_TOTAL = 20000


def take_rows(rows: Iterable[list[str]], limit: int) -> tuple[list[list[str]], int]:
    """Up to ``limit`` non-empty rows (trailing empty cells trimmed) and the count left out."""
    kept: list[list[str]] = []
    skipped = 0
    for row in rows:
        while row and not row[-1]:
            row.pop()
        if not row:
            continue
        if len(kept) < limit:
            kept.append(row)
        else:
            skipped += 1
    return kept, skipped


def comment_blocks(comments: list[tuple[str, str]]) -> list[Block]:
    """A sheet's cell comments after its cells, under "Comments" ("B12: Estimate, not the
    audited figure")."""
    if not comments:
        return []
    return [Block("Comments", "heading", 2)] + [Block(f"{cell}: {' '.join(text.split())}")
                                                for cell, text in comments]


def sheet_blocks(name: str | None, rows: list[list[str]]) -> list[Block]:
    if not rows:
        return []
    heading = [Block(name, "heading", 1)] if name else []
    return heading + titled_table(rows)


def workbook_pages(sheets: Iterable[tuple[str, Iterable[list[str]], list[tuple[str, str]], int]],
                   ) -> tuple[list[Page], dict[str, int]]:
    """Pages of a workbook's sheets, each given as (name, rows, cell comments, rows already
    left out): one page per sheet labelled with its name, its rows with their headers, then
    its comments; at most :data:`MAX_ROWS_PER_SHEET` rows a sheet and :data:`MAX_ROWS_TOTAL`
    in all. Also returns the count of rows left out, by sheet."""
    pages: list[Page] = []
    skipped: dict[str, int] = {}
    budget = MAX_ROWS_TOTAL
    for number, (name, values, comments, dropped) in enumerate(sheets, start=1):
        rows, left_out = take_rows(values, min(MAX_ROWS_PER_SHEET, budget))
        budget -= len(rows)
        if left_out + dropped:
            skipped[name] = left_out + dropped
        pages.append(Page(number, sheet_blocks(name, rows) + comment_blocks(comments),
                          label=name))
    return pages, skipped


def workbook_metadata(pages: list[Page], author: str, skipped: dict[str, int]) -> dict[str, str]:
    """A workbook's metadata: its sheets' names, its author, the rows not indexed."""
    metadata = {"sheets": ", ".join(p.label or "" for p in pages)}
    if author:
        metadata["author"] = author
    if skipped:
        metadata["rows_not_indexed"] = ", ".join(f"{k}: {v}" for k, v in skipped.items())
    return metadata


# ------------------------------------------------------------------------------------ XLSX


def _read_rows_only() -> None:
    """Have openpyxl's read-only sheets read their rows and stop at the end of the sheet data.

    Its parser goes on to parse what follows the cells (conditional formats, data validations,
    headers and footers) by the schema, and one value outside it fails the whole workbook:
    LibreOffice wrote ``operator="expression"`` on conditional formats, which Excel ignores
    (LibreOffice's formats.xlsx: "corrupt XLSX: Value must be one of ..."). The cells are all
    this loader reads (comments come from their own part), and stopping there also skips
    parsing what it would throw away. Satchel opens workbooks read-only only to read them."""
    from openpyxl.worksheet import _read_only
    from openpyxl.worksheet._reader import DATA_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    if getattr(_read_only.WorkSheetParser, "rows_only", False):
        return

    class RowsOnly(WorkSheetParser):  # type: ignore[misc]
        rows_only = True

        def parse(self) -> Any:
            for _, element in iterparse(self.source):
                if element.tag == ROW_TAG:
                    row = self.parse_row(element)
                    element.clear()
                    yield row
                elif element.tag == DATA_TAG:
                    return

    _read_only.WorkSheetParser = RowsOnly


def load_xlsx(path: Path) -> Document:
    """XLSX -> one Page per worksheet (label = sheet name), cached values of formulas, then
    the sheet's cell comments (:mod:`engine.ingest.loaders.xlsx_comments`).

    External links are not followed (``keep_links=False``): their cached values are in the
    cells already, and a DDE link (a live feed from a program) has no relationships part, for
    which openpyxl failed the whole workbook."""
    # opened by handle: openpyxl refuses a file by name unless it ends in .xlsx (a workbook
    # named .xls is read by its content, see content_format)
    with library_errors("XLSX"), path.open("rb") as handle:
        from openpyxl import load_workbook

        _read_rows_only()
        source: Any = handle
        workbook = load_workbook(source, read_only=True, data_only=True, keep_links=False)
        if not workbook.worksheets:  # how openpyxl reads a Strict Open XML workbook
            from engine.ingest.loaders.ooxml_strict import transitional

            if (rewritten := transitional(path)) is not None:
                workbook.close()
                source = rewritten
                workbook = load_workbook(source, read_only=True, data_only=True,
                                         keep_links=False)
        comments = sheet_comments(path if source is handle else source)
        try:
            pages, skipped = workbook_pages(_sheets(workbook, comments))
            props = workbook.properties
            title = clean_inline(props.title or "") if props is not None else ""
            author = clean_inline(props.creator or "") if props is not None else ""
        finally:
            workbook.close()
    metadata = workbook_metadata(pages, author, skipped)
    return Document(
        path=str(path), format="xlsx", pages=pages, title=title or None, metadata=metadata
    )


def _sheets(workbook: Any, comments: dict[str, list[tuple[str, str]]],
            ) -> Iterator[tuple[str, Iterator[list[str]], list[tuple[str, str]], int]]:
    for sheet in workbook.worksheets:
        if hasattr(sheet, "reset_dimensions"):  # not a chart sheet
            # read-only mode reads only the range the sheet's <dimension> claims, and
            # writers put "A1" there (readxl's datasets.xlsx: 4 of 5,000 cells read)
            sheet.reset_dimensions()
        values = ([format_value(v) for v in row] for row in sheet.iter_rows(values_only=True))
        yield clean_inline(sheet.title), values, comments.get(sheet.title, []), 0


# ------------------------------------------------------------------------------------- CSV


#: The first line Excel reads (and some exporters write) to name a CSV file's delimiter:
#: "sep=;". Read as data, it became the header of every row ("sep=;: Kittiwake;A1;120").
_SEPARATOR_HINT = re.compile(r"sep=([^\r\n])[ \t]*(?:\r\n|\r|\n)", re.IGNORECASE)


def _hinted(delimiter: str) -> type[csv.Dialect]:
    """The Excel dialect with ``delimiter``."""
    return type("Hinted", (csv.excel,), {"delimiter": delimiter})


def _dialect(sample: str, tsv: bool) -> type[csv.Dialect] | csv.Dialect:
    if tsv:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def load_csv(path: Path) -> Document:
    """CSV/TSV -> one page; delimiter sniffed (``,`` ``;`` tab ``|``), encoding detected."""
    data = read_bytes(path)
    text, encoding = decode_text(without_nuls(data) or data)
    dialect: type[csv.Dialect] | csv.Dialect
    if hint := _SEPARATOR_HINT.match(text):  # Excel's "sep=;" first line
        text = text[hint.end():]
        dialect = _hinted(hint.group(1))
    else:
        dialect = _dialect(text[:65536], path.suffix.lower() == ".tsv")
    try:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        rows, left_out = take_rows(
            ([clean_inline(c) for c in row] for row in reader), MAX_ROWS_PER_SHEET
        )
    except csv.Error as exc:
        raise LoadError(f"corrupt CSV: {clean_inline(str(exc))}") from exc
    metadata = {"encoding": encoding, "delimiter": repr(getattr(dialect, "delimiter", ","))}
    if left_out:
        metadata["rows_not_indexed"] = str(left_out)
    return Document(
        path=str(path),
        format="csv",
        pages=[Page(number=1, blocks=sheet_blocks(None, rows))],
        metadata=metadata,
    )
