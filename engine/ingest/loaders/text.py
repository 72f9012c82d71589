"""Plain-text formats: Markdown, reStructuredText, TXT, source code, JSON / JSON Lines.

None of these has pages, so each becomes a single page 1. What matters is structure: headings
start sections the chunker can name in citations, and code must stay whole with its indentation.
The parsers are small line-based ones rather than full Markdown/RST libraries because all we need
is block boundaries, and they must never fail on odd input: whatever they do not recognise stays
a paragraph, so no text is ever dropped (Markdown/RST markup characters aside).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from engine.ingest.document import Block, Document, LoadError, NothingToRead, Page
from engine.ingest.loaders.common import (
    clean_inline,
    first_heading,
    library_errors,
    paragraph_blocks,
    raw_lines,
    read_bytes,
    split_long,
    table_blocks,
)
from engine.ingest.loaders.encoding import decode_text
from engine.ingest.loaders.formats import format_for_name
from engine.ingest.loaders.inline_markup import (
    FOOTNOTE_DEFINITION,
    LINK_DEFINITION,
    drop_comment,
    render_markdown_inline,
    render_rst_inline,
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_MD_ITEM = re.compile(r"^\s{0,12}(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
#: The delimiter row under a pipe table's header ("|------|:---:|"); the header has "|" too.
_TABLE_RULE = re.compile(r"^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
#: A blockquote's markers ("> ", "> > ") and an Obsidian / GitHub callout's type ("[!note]").
_QUOTE = re.compile(r"^(?:>[ \t]?)+")
_CALLOUT = re.compile(r"^\[!(\w+)\][-+]?[ \t]*")
_RST_ADORN = re.compile(r"^([=\-`:'\"~^_*+#.<>])\1+$")
_RST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)]|#\.)\s+")
_RST_CODE_DIRECTIVE = re.compile(r"^\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)")


def read_text(path: Path) -> tuple[str, str]:
    """Read and decode a text file: ``(text, encoding)``."""
    return decode_text(read_bytes(path))


def _document(path: Path, fmt: str, blocks: list[Block], encoding: str, **meta: str) -> Document:
    return Document(
        path=str(path),
        format=fmt,
        pages=[Page(number=1, blocks=blocks)],
        title=first_heading(blocks),
        metadata={"encoding": encoding, **meta},
    )


# --------------------------------------------------------------------------------------- TXT


#: A plain-text heading's underline (or overline): one punctuation character, three or more.
_UNDERLINE = re.compile(r"^([=\-~^*#+_])\1{2,}$")


def underlines(title: str, line: str, style: re.Pattern[str] = _UNDERLINE) -> bool:
    """``line`` underlines ``title``: a run of one ``style`` character about as long (typed to
    match it, give or take). Info manuals pass makeinfo's characters."""
    return (bool(style.match(line)) and not style.match(title) and len(title) <= 100
            and any(c.isalnum() for c in title)
            and 0.6 * len(title) <= len(line) <= 1.5 * len(title) + 3)


def plain_blocks(text: str) -> list[Block]:
    """Blocks of a plain-text file: paragraphs, and underlined headings.

    Release notes, FAQs and specs written as plain text mark their sections the way Markdown
    and RST took over: a title on its own over a line of "=" or "-" (or between two such lines).
    As headings they name the section in citations ("triggers.txt > Concepts") and start a new
    chunk. Levels follow RST's rule: the first underline style seen is level 1, the next new one
    level 2. Only a title that opens its paragraph counts, so a rule under a paragraph's last
    line or a table's header ("Name  Value" / "----  -----") stays text.
    """
    blocks: list[Block] = []
    styles: list[tuple[str, bool]] = []
    for block in paragraph_blocks(text):
        lines = block.text.split("\n")
        heading, rest = None, lines
        if (len(lines) >= 3 and lines[0] == lines[2] and underlines(lines[1].strip(), lines[0])):
            heading, rest = (lines[1].strip(), lines[0][0], True), lines[3:]
        elif len(lines) >= 2 and underlines(lines[0], lines[1]):
            heading, rest = (lines[0], lines[1][0], False), lines[2:]
        if heading is None:
            blocks.append(block)
            continue
        title, char, overlined = heading
        if (char, overlined) not in styles:
            styles.append((char, overlined))
        blocks.append(Block(clean_inline(title), "heading",
                            min(styles.index((char, overlined)) + 1, 6)))
        if rest:
            blocks.append(Block("\n".join(rest), block.kind))
    return blocks


def load_plain(path: Path) -> Document:
    """TXT/LOG: paragraphs split on blank lines (long runs split at line boundaries), and
    underlined headings (:func:`plain_blocks`)."""
    text, encoding = read_text(path)
    if "-----BEGIN PGP " in text:  # a clear-signed text is read, a signature or a key is not
        from engine.ingest.loaders.armor import ENCRYPTED, nothing_but_armor, unarmor

        text, armor = unarmor(text)
        if armor and not text.strip():
            reason = nothing_but_armor(armor)
            raise LoadError(reason) if ENCRYPTED in armor else NothingToRead(reason)
    return _document(path, "text", plain_blocks(text), encoding)


# ---------------------------------------------------------------------------------- Markdown


def parse_markdown(text: str) -> list[Block]:
    """Blocks from Markdown: ATX/setext headings, fenced and indented code, lists, pipe tables
    (as table blocks: "Item: Dredging; Cost: 42,000", like every other format's tables), block
    quotes (their words, without the "> " markers; a callout's "[!note]" as "Note:").

    Fenced code keeps its fences (and so its language tag) so the model sees it as code. Outside
    code, what a rendered page hides goes (:mod:`engine.ingest.loaders.inline_markup`): link
    syntax (links read as their text), HTML comments and tags, link definitions. Emphasis and
    backticks stay as written: they are readable, and rewriting them could lose text.
    """
    lines = raw_lines(text)
    blocks: list[Block] = []
    para: list[str] = []
    listing: list[str] = []

    def flush() -> None:
        flush_lines(blocks, para, listing)

    i = _skip_front_matter(lines, blocks)
    while i < len(lines):
        line = lines[i]
        code_start = _FENCE.match(line) or (not para and not listing
                                             and line.startswith(("    ", "\t")))
        if "<!--" in line and not code_start:
            line, i = drop_comment(lines, i)
            if not line.strip():  # a comment on its own lines ends a paragraph, as a blank does
                flush()
                i += 1
                continue
        stripped = line.strip()
        if fence := _FENCE.match(line):
            flush()
            marker = fence.group(1)
            close = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
            end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), len(lines))
            code = "\n".join(lines[i : end + 1]).strip("\n")
            blocks.extend(Block(p, "code") for p in split_long(code))
            i = end + 1
            continue
        if not stripped:
            flush()
        elif atx := _ATX.match(line):
            flush()
            title = clean_inline(render_markdown_inline(atx.group(2) or ""))
            if title:
                blocks.append(Block(title, "heading", len(atx.group(1))))
        elif not listing and (note := FOOTNOTE_DEFINITION.match(line)):
            flush()  # a footnote, where GitHub and Obsidian show it: "Note 1: ..."
            para.append(f"Note {note[1]}: {render_markdown_inline(note[2])}".strip())
        elif not para and not listing and LINK_DEFINITION.match(line):
            pass  # "[label]: url" is never shown; the links that use it read as their text
        elif para and not listing and _SETEXT.match(line):
            title = clean_inline(" ".join(para))
            para.clear()
            blocks.append(Block(title, "heading", 1 if stripped[0] == "=" else 2))
        elif _THEMATIC.match(line):
            flush()
        elif ("|" in line and not listing and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1])
              and len(_pipe_cells(line)) == len(_pipe_cells(lines[i + 1]))):
            flush()
            end = i + 2
            while end < len(lines) and lines[end].strip() and "|" in lines[end]:
                end += 1
            rows = [_pipe_cells(row) for row in [lines[i], *lines[i + 2:end]]]
            blocks.extend(table_blocks(rows, labelled=False, header=True))
            i = end
            continue
        elif _MD_ITEM.match(line) or (listing and line[:1] in (" ", "\t")):
            if para:
                flush()
            listing.append(render_markdown_inline(line.rstrip()))
        elif not para and not listing and line.startswith(("    ", "\t")):
            end = i
            while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
                end += 1
            code = "\n".join(lines[i:end]).strip("\n")
            blocks.extend(Block(p, "code") for p in split_long(code))
            i = end
            continue
        else:
            if listing:
                flush()
            if quoted := _QUOTE.match(stripped):  # a quote reads as its words
                stripped = _CALLOUT.sub(lambda m: f"{m.group(1).capitalize()}: ",
                                        stripped[quoted.end():])
                if not stripped.strip():  # ">" alone: a blank line inside the quote
                    flush()
                    i += 1
                    continue
            if shown := render_markdown_inline(stripped).strip():  # not a picture alone
                para.append(shown)
        i += 1
    flush()
    return blocks


def _pipe_cells(line: str) -> list[str]:
    """The cells of a pipe-table row: split at "|" not escaped nor in a code span."""
    cells, cell, code = [], "", False
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    at = 0
    while at < len(text):
        char = text[at]
        if char == "\\" and text[at + 1:at + 2] == "|":
            cell += "|"
            at += 2
            continue
        if char == "`":
            code = not code
        if char == "|" and not code:
            cells.append(cell)
            cell = ""
        else:
            cell += char
        at += 1
    cells.append(cell)
    return [render_markdown_inline(c.strip()) for c in cells]


def _skip_front_matter(lines: list[str], blocks: list[Block]) -> int:
    """A leading YAML front-matter block becomes one code block; returns the next line index."""
    if not lines or lines[0].strip() != "---":
        return 0
    for j in range(1, min(len(lines), 200)):
        if lines[j].strip() in ("---", "..."):
            body = "\n".join(lines[1:j]).strip("\n")
            if body.strip():
                blocks.append(Block(body, "code"))
            return j + 1
    return 0


def load_markdown(path: Path) -> Document:
    """Markdown file -> one page of heading/paragraph/list/code blocks."""
    text, encoding = read_text(path)
    return _document(path, "markdown", parse_markdown(text), encoding)


# ------------------------------------------------------------------------------------ RST


def parse_rst(text: str) -> list[Block]:
    """Blocks from reStructuredText: underlined (and overlined) headings, literal blocks after
    ``::`` and ``code-block`` directives, bullet lists, tables (grid, simple and ``list-table``:
    :mod:`engine.ingest.loaders.rst_tables`), paragraphs.

    Heading levels follow RST's rule: the first adornment style seen is level 1, the next new one
    level 2, and so on. Comments and link targets (``.. _x:``) are dropped.
    """
    lines = raw_lines(text)
    blocks: list[Block] = []
    styles: list[tuple[str, bool]] = []
    para: list[str] = []
    listing: list[str] = []

    def flush() -> None:
        flush_lines(blocks, para, listing)

    def level(char: str, overline: bool) -> int:
        if (char, overline) not in styles:
            styles.append((char, overline))
        return min(styles.index((char, overline)) + 1, 6)

    def indented_block(start: int) -> tuple[str, int]:
        j = start
        while j < len(lines) and not lines[j].strip():
            j += 1
        end = j
        while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
            end += 1
        body = [ln for ln in lines[j:end]]
        indent = min((len(ln) - len(ln.lstrip()) for ln in body if ln.strip()), default=0)
        return "\n".join(ln[indent:] for ln in body).strip("\n"), end

    def table(found: tuple[list[list[str]], bool, int]) -> int:
        rows, header, end = found
        rows = [[render_rst_inline(cell) for cell in row] for row in rows]
        blocks.extend(table_blocks(rows, labelled=False, header=header and len(rows) > 1))
        return end

    i = 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        after = lines[i + 2].strip() if i + 2 < len(lines) else ""
        if not para and (stripped.startswith(("+-", "+=")) or (  # a grid or simple table's rule
                stripped[:1] == "=" and " =" in stripped)) and (found := _rst_table(lines, i)):
            flush()
            i = table(found)
            continue
        if stripped.startswith(".. list-table::"):
            flush()
            if caption := stripped.split("::", 1)[1].strip():
                blocks.append(Block(render_rst_inline(caption)))
            j = i + 1
            header_rows = 0
            while j < len(lines) and lines[j].strip().startswith(":"):
                option = re.match(r":header-rows:\s*(\d+)", lines[j].strip())
                header_rows = int(option[1]) if option else header_rows
                j += 1  # the directive's options
            from engine.ingest.loaders.rst_tables import list_table

            if found := list_table(lines, j, header_rows):
                i = table(found)
                continue
        if _RST_ADORN.match(stripped) and nxt and _RST_ADORN.match(after) and not para:
            # Overlined title: adornment, title, adornment.
            flush()
            blocks.append(Block(clean_inline(render_rst_inline(nxt)), "heading",
                                level(stripped[0], True)))
            i += 3
            continue
        if (
            stripped
            and not para
            and not line[:1].isspace()
            and _RST_ADORN.match(nxt)
            and len(nxt) >= len(stripped)
            and not _RST_ADORN.match(stripped)
        ):
            flush()
            blocks.append(Block(clean_inline(render_rst_inline(stripped)), "heading",
                                level(nxt[0], False)))
            i += 2
            continue
        if _RST_CODE_DIRECTIVE.match(stripped):
            flush()
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith(":"):
                j += 1  # directive options such as :linenos:
            body, i = indented_block(j)
            if body:
                blocks.extend(Block(p, "code") for p in split_long(body))
            continue
        if stripped.startswith("..") and (stripped == ".." or stripped[2:3] == " "):
            flush()
            if "::" in stripped and not stripped.startswith(".. _"):
                # Other directives (note, warning...): keep their argument and content as text.
                argument = stripped.split("::", 1)[1].strip()
                if argument:
                    para.append(argument)
                i += 1
                continue
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i][:1] in " \t"):
                i += 1  # comment or link target with its indented continuation
            continue
        if not stripped:
            literal = bool(para) and para[-1].endswith("::")
            if literal:
                para[-1] = para[-1][:-1].rstrip() if para[-1] != "::" else ""
                if not para[-1]:
                    para.pop()
            flush()
            if literal:
                body, i = indented_block(i)
                if body:
                    blocks.extend(Block(p, "code") for p in split_long(body))
                continue
        elif _RST_ITEM.match(line) or (listing and line[:1] in (" ", "\t")):
            if para:
                flush()
            listing.append(render_rst_inline(line))
        elif _RST_ADORN.match(stripped) and len(stripped) >= 4 and not para:
            flush()  # transition line
        else:
            if listing:
                flush()
            para.append(render_rst_inline(stripped))
        i += 1
    flush()
    return blocks


def _rst_table(lines: list[str], start: int) -> tuple[list[list[str]], bool, int] | None:
    """A grid or simple table starting at line ``start`` (imported here: most RST has none)."""
    from engine.ingest.loaders.rst_tables import grid_table, simple_table

    return grid_table(lines, start) or simple_table(lines, start)


def load_rst(path: Path) -> Document:
    """reStructuredText file -> one page of heading/paragraph/list/code blocks."""
    text, encoding = read_text(path)
    return _document(path, "rst", parse_rst(text), encoding)


# ----------------------------------------------------------------------------------- code

_CONTINUATION = ("}", ")", "]", "end", "else", "elif", "except", "finally", "catch", "fi", "done")


def parse_code(text: str) -> list[Block]:
    """One code block per top-level chunk: a blank line followed by an unindented line starts a
    new chunk (outside triple-quoted strings), so a function or class with blank lines inside
    stays whole. Oversized chunks are split at line boundaries."""
    groups: list[list[str]] = []
    current: list[str] = []
    blank = in_string = False
    for line in raw_lines(text):
        if not line.strip():
            blank = bool(current)
            continue
        top_level = not line[:1].isspace() and not line.lstrip().startswith(_CONTINUATION)
        starts_inside = in_string
        # Triple-quoted strings (docstrings, text blocks) may hold blank lines: never split there.
        if (line.count('"""') + line.count("'''")) % 2:
            in_string = not in_string
        if blank and top_level and not starts_inside:
            groups.append(current)
            current = []
        elif blank:
            current.append("")
        current.append(line)
        blank = False
    if current:
        groups.append(current)
    return [Block(part, "code") for g in groups for part in split_long("\n".join(g))]


def load_code(path: Path) -> Document:
    """Source file -> one page of code blocks; the language goes into metadata."""
    text, encoding = read_text(path)
    language = format_for_name(path)[1] or "text"
    doc = _document(path, "code", parse_code(text), encoding, language=language)
    doc.title = None
    return doc


# ----------------------------------------------------------------------------------- JSON

_BLOCK_CHARS = 1500


def _render_scalar(value: object) -> str:
    if isinstance(value, str):
        return clean_inline(value)
    return json.dumps(value, ensure_ascii=False)


def flatten_json(value: object, prefix: str = "") -> Iterator[str]:
    """``"key.path: value"`` lines; short lists of scalars stay on one line."""
    if isinstance(value, dict):
        if not value:
            yield f"{prefix}: {{}}" if prefix else "{}"
        for key, item in value.items():
            yield from flatten_json(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        if not value:
            yield f"{prefix}: []" if prefix else "[]"
        elif all(not isinstance(v, dict | list) for v in value) and len(value) <= 20:
            rendered = ", ".join(_render_scalar(v) for v in value)
            yield f"{prefix}: {rendered}" if prefix else rendered
        else:
            for n, item in enumerate(value):
                yield from flatten_json(item, f"{prefix}[{n}]")
    else:
        yield f"{prefix}: {_render_scalar(value)}" if prefix else _render_scalar(value)


def _pack(groups: Iterator[list[str]]) -> list[Block]:
    """Pack groups of lines into blocks of about ``_BLOCK_CHARS``, never splitting a group unless
    it alone is too big."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for group in groups:
        text = "\n".join(group)
        if current and size + len(text) > _BLOCK_CHARS:
            blocks.append(Block("\n".join(current)))
            current, size = [], 0
        if len(text) > _BLOCK_CHARS:
            blocks.extend(Block(p) for p in split_long(text, _BLOCK_CHARS))
            continue
        current.append(text)
        size += len(text) + 1
    if current:
        blocks.append(Block("\n".join(current)))
    return blocks


def json_blocks(value: object) -> list[Block]:
    """Group flattened lines: one group per top-level key or array element."""
    if isinstance(value, dict) and value:
        groups = (list(flatten_json(v, str(k))) for k, v in value.items())
    elif isinstance(value, list) and value:
        groups = (list(flatten_json(v, f"[{n}]")) for n, v in enumerate(value))
    else:
        groups = iter([list(flatten_json(value))])
    return _pack(groups)


def load_json(path: Path) -> Document:
    """JSON or JSON Lines -> flattened ``key.path: value`` lines packed into blocks."""
    text, encoding = read_text(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records, bad = [], 0
        for line in text.splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    bad += 1
        if bad and not records:
            raise LoadError("corrupt JSON Lines: no line is valid JSON")
        blocks = _pack(list(flatten_json(r)) for r in records)
        return _document(
            path, "json", blocks, encoding, records=str(len(records)), invalid_lines=str(bad)
        )
    with library_errors("JSON"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"corrupt JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            raise LoadError(reason) from exc
    return _document(path, "json", json_blocks(value), encoding)


def flush_lines(blocks: list[Block], para: list[str], listing: list[str]) -> None:
    """Turn pending paragraph and list lines into blocks (shared by Markdown, RST, AsciiDoc
    and Org)."""
    if para:
        blocks.extend(Block(p) for p in split_long("\n".join(para)))
        para.clear()
    if listing:
        blocks.extend(Block(p, "list") for p in split_long("\n".join(listing)))
        listing.clear()
