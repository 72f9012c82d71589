"""Helpers shared by the format loaders: error wrapping, text cleaning, block building.

Loaders call third-party parsers on files nobody vetted. A malformed file makes those parsers raise
whatever they like (``KeyError`` from a zip, ``AttributeError`` from a half-built object tree), and
the indexer must show the user one readable line, not a traceback. :func:`library_errors` turns
exceptions raised *inside a library* into :class:`LoadError` while letting exceptions raised in our
own code through, so programming bugs stay visible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, LoadError

_OUR_DIR = str(Path(__file__).resolve().parent)

#: Control characters that carry no text (PDF soft-hyphen markers, stray NULs, form feeds...),
#: and U+FFFC, the placeholder of an embedded object (LibreOffice leaves it where an RTF or
#: Word file had a picture: "FileManager.tiff \ufffc").
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffc\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")

#: A block longer than this is split at line boundaries so one runaway paragraph (a log file,
#: a PDF page without blank lines) does not become a single unsplittable block.
MAX_BLOCK_CHARS = 2000


def short_message(exc: BaseException, limit: int = 120) -> str:
    """First line of ``str(exc)`` (or the class name), trimmed: reasons are shown on one line."""
    text = str(exc).strip().splitlines()[0].strip() if str(exc).strip() else ""
    if not text or text in ("None", "''"):
        text = type(exc).__name__
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def one_line(text: str) -> str:
    """Collapse any whitespace (including newlines) to single spaces."""
    return " ".join(text.split())


def _raised_in_our_code(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    return last.tb_frame.f_code.co_filename.startswith(_OUR_DIR)


@contextmanager
def library_errors(what: str) -> Iterator[None]:
    """Turn a library's exception on a bad file into ``LoadError("corrupt <what>: ...")``.

    ``LoadError`` passes through untouched; exceptions whose innermost frame is in this package are
    our bugs and are re-raised as they are. ``MemoryError`` is never hidden.
    """
    try:
        yield
    except LoadError:
        raise
    except MemoryError:
        raise
    except RecursionError as exc:
        raise LoadError(f"corrupt {what}: structure nested too deeply") from exc
    except OSError as exc:
        if _raised_in_our_code(exc):
            raise
        reason = exc.strerror or short_message(exc)
        raise LoadError(f"cannot read {what}: {one_line(reason)}") from exc
    except Exception as exc:
        if _raised_in_our_code(exc):
            raise
        raise LoadError(f"corrupt {what}: {one_line(short_message(exc))}") from exc


def clean_text(text: str) -> str:
    """Normalise newlines, drop control characters and trailing spaces; keep line structure."""
    return "\n".join(_SPACES.sub(" ", line).strip() for line in raw_lines(text)).strip()


def raw_lines(text: str) -> list[str]:
    """Lines with normalised newlines, control characters removed, trailing spaces stripped,
    leading indentation kept (code and Markdown need it)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for sep in ("\u2028", "\u2029", "\x85", "\x0b", "\x0c"):
        text = text.replace(sep, "\n")
    return [line.rstrip() for line in _CONTROL.sub("", text).split("\n")]


#: A line that is a heading by its form alone: a section number ("2", "2.1", "A.3"), then a
#: short title with no full stop ("2.1 What is R?"). PDFs ask for it in bold at body size; OCR,
#: which sees no bold, on a line of its own that starts with a capital.
NUMBERED_HEADING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,4}|[A-Z](?:\.\d{1,2}){1,4})\.?\s+"
                              r"[^\W\d_](?:.{0,72}[^.:;,])?$")


def clean_inline(text: str) -> str:
    """Clean text and collapse it to one line (table cells, titles, list items)."""
    return one_line(_CONTROL.sub("", text))


def split_long(text: str, limit: int = MAX_BLOCK_CHARS) -> list[str]:
    """Split text longer than ``limit`` at line boundaries (never inside a line)."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        if current and size + len(line) + 1 > limit:
            parts.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


def paragraph_blocks(text: str, kind: str = "paragraph") -> list[Block]:
    """Blocks from plain text: one per run of non-blank lines, long runs split at lines."""
    blocks: list[Block] = []
    for para in re.split(r"\n\s*\n", clean_text(text)):
        if para.strip():
            blocks.extend(Block(part, kind) for part in split_long(para))  # type: ignore[arg-type]
    return blocks


def format_value(value: object) -> str:
    """Render a cell value the way a person would read it (dates as ISO, 12.0 as 12)."""
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return clean_inline(str(value))


def looks_like_header(row: Sequence[str]) -> bool:
    """True when a first row reads like column names: text, mostly filled, no duplicates, no
    numbers. A data-only sheet then gets column letters instead of turning its first record into
    labels for all the others."""
    filled = [c for c in row if c]
    if len(filled) < max(1, (len(row) + 1) // 2) or len(set(filled)) != len(filled):
        return False
    return all(not re.fullmatch(r"[-+]?[\d.,%$€£ ]+", c) and len(c) <= 80 for c in filled)


def column_name(index: int) -> str:
    """Spreadsheet-style column name for a 0-based index: 0 -> A, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def render_rows(rows: Iterable[Sequence[str]], *, header: Sequence[str] | None) -> list[str]:
    """Render table rows, each line self-explaining.

    With a header, a row becomes ``"Name: Ada; Role: Engineer"`` so that a chunk holding only
    that row still says what each value means. Without one, cells are joined with `` | ``.
    Empty cells are left out; fully empty rows are dropped.
    """
    lines: list[str] = []
    labels = [_label(h) for h in header or ()]
    for row in rows:
        cells = [clean_inline(c) for c in row]
        if not any(cells):
            continue
        if header:
            names = [labels[i] if i < len(labels) and labels[i] else column_name(i)
                     for i in range(len(cells))]
            lines.append("; ".join(f"{n}: {c}" for n, c in zip(names, cells, strict=True) if c))
        else:
            lines.append(" | ".join(cells))
    return lines


def _label(cell: str) -> str:
    """A header or row label as a name: "Default:" -> "Default" (the colon is added back)."""
    return clean_inline(cell).rstrip(":").strip()


def labelled_rows(rows: Sequence[Sequence[str]]) -> bool:
    """True when every row with a value is a label and its value ("Default:" | "Timeout 60"),
    as forms, spec sheets and reference pages lay out a two-column table.

    Read as a grid, the first such row became the header of all the others: Apache's directive
    tables read "Description:: Default:; Amount of time the server will wait...: Timeout 60",
    the fact a user asks for lost between two labels and the description repeated in every row.
    """
    valued = [r for r in rows if sum(1 for c in r if c) >= 2]
    return len(valued) >= 2 and all(
        1 < len(r[0]) <= 60 and r[0].endswith(":") for r in valued)


def render_labelled(rows: Iterable[Sequence[str]]) -> list[str]:
    """Rows of a labelled table as ``"Default: Timeout 60"`` (more values joined by `` | ``)."""
    lines: list[str] = []
    for row in rows:
        cells = [clean_inline(c) for c in row]
        values = [c for c in cells[1:] if c]
        if cells and cells[0] and values:
            lines.append(f"{_label(cells[0]) or cells[0]}: {' | '.join(values)}")
        elif any(cells):
            lines.append(" | ".join(c for c in cells if c))
    return lines


def table_blocks(rows: Sequence[Sequence[str]], *, rows_per_block: int = 25,
                 labelled: bool | None = None, header: bool | None = None) -> list[Block]:
    """Table blocks from a grid whose first row may be a header (``header``; ``None``: guessed
    by :func:`looks_like_header`) or whose rows are each a label and its value (``labelled``;
    ``None``: guessed by :func:`labelled_rows`, for formats that do not mark header cells).

    Big tables are cut into blocks of ``rows_per_block`` rows; since every row carries its
    header, each block stands on its own.
    """
    rows = [[clean_inline(c) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    if labelled is None:
        labelled = labelled_rows(rows)
    if labelled:
        lines = render_labelled(rows)
    else:
        names: list[str] | None = None
        body = rows
        if len(rows) > 1 and (looks_like_header(rows[0]) if header is None else header):
            names, body = rows[0], rows[1:]
        lines = render_rows(body, header=names)
    return [
        Block("\n".join(lines[i : i + rows_per_block]), "table")
        for i in range(0, len(lines), rows_per_block)
    ]


#: At most this many rows above a table are read as its title or notes (:func:`titled_table`).
MAX_PREAMBLE_ROWS = 5


def titled_table(rows: Sequence[Sequence[str]]) -> list[Block]:
    """Blocks of a sheet or a document's table whose first rows may be a title, not a header.

    People put a title ("Harbour berths, first quarter"), a date or a note in the first rows
    of a sheet, or a merged title row at the top of a Word table, and the column names below
    it. Taken as the header, the title labelled every row and the columns were called B, C,
    D ("Harbour berths, first quarter: A1; B: Kittiwake; C: 120"). Rows above the table that
    fill at most half as many cells as its rows usually do (blank rows included) are read as
    paragraphs, and the table starts at the first row that fills more.
    """
    rows = [[clean_inline(c) for c in r] for r in rows]
    filled = [sum(1 for c in r if c) for r in rows]
    counts = sorted(n for n in filled if n)
    if len(counts) < 3:
        return table_blocks(rows)
    usual = counts[len(counts) // 2]
    start = next((i for i, n in enumerate(filled[:MAX_PREAMBLE_ROWS + 1]) if 2 * n > usual), 0)
    if sum(1 for n in filled[start:] if n) < 2:
        start = 0
    lines = [" ".join(c for c in row if c) for row in rows[:start]]
    return [Block(line) for line in lines if line] + table_blocks(rows[start:])


def list_block(items: Iterable[tuple[int, str]]) -> Block | None:
    """One list block from ``(depth, text)`` items, rendered ``"- item"`` with two-space nesting."""
    lines = [f"{'  ' * depth}- {clean_inline(text)}" for depth, text in items if text.strip()]
    return Block("\n".join(lines), "list") if lines else None


def local_name(element: Any) -> str:
    """An XML element's tag without its namespace ("p" for ``{http://...}p``); "" for a
    comment or processing instruction, whose tag is not a string."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def first_heading(blocks: Iterable[Block]) -> str | None:
    """Text of the first heading block, a fallback title when the file carries no metadata."""
    for block in blocks:
        if block.kind == "heading":
            return block.text
    return None


def parse_xml(path: Path, *, recover: bool = False) -> Any:
    """The root element of the XML file ``path``, parsed as an untrusted file is: no entities
    resolved, no DTD loaded, nothing fetched; huge text nodes allowed (a book's chapter). Call
    it inside :func:`library_errors`, which turns a syntax error into a one-line LoadError."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=True, recover=recover)
    return etree.fromstring(read_bytes(path), parser)


def read_bytes(path: Path) -> bytes:
    """Read a whole file, turning I/O failures into LoadError (permission, vanished, I/O error)."""
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise LoadError("permission denied") from exc
    except FileNotFoundError as exc:
        raise LoadError("file not found") from exc
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or type(exc).__name__}") from exc


#: How often a loader waiting on a converter tells the indexer it is alive.
PROGRESS_EVERY_S = 2.0


def wait_reporting(proc: Any, doing: str, started: float, limit: float) -> int | None:
    """Exit code of the converter ``proc``, or None while it still runs ``limit`` seconds after
    ``started`` (monotonic). Reports ``doing`` ("converting a.doc with LibreOffice") every
    :data:`PROGRESS_EVERY_S`, so the indexer does not stop a long conversion as a silent hang.
    """
    import subprocess
    import time

    from engine.ingest import progress

    progress.report(doing)
    while True:
        remaining = limit - (time.monotonic() - started)
        if remaining <= 0:
            return None
        try:
            return proc.wait(timeout=min(PROGRESS_EVERY_S, remaining))
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed < limit:
                progress.report(f"{doing} ({elapsed:.0f} s)")
