"""AsciiDoc (.adoc, .asciidoc) and Org (.org): the plain-text markups of project docs and notes.

Read like Markdown and reStructuredText: headings become headings (so citations name the
section), listing and source blocks become code blocks, list items a list, and the markup a
rendered page hides goes: AsciiDoc attribute entries (``:toc:``), comments (``//`` lines and
``////`` blocks), block titles and attribute lines (``[source,java]``), ``link:url[text]`` read
as its text; Org's ``#+TITLE:``-style keywords (the title kept as the title), property drawers,
``[[link][text]]`` read as its text, and the TODO keywords and tags of a heading.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.ingest.document import Block, Document, Page
from engine.ingest.loaders.common import first_heading, table_blocks
from engine.ingest.loaders.text import flush_lines, read_text

_ADOC_HEADING = re.compile(r"^(={1,6}|#{1,6})\s+(\S.*?)\s*$")
_ADOC_ITEM = re.compile(r"^\s*(?:[*\-]+|\.+|\d+\.)\s+\S")
_ADOC_ATTRIBUTE = re.compile(r"^:!?[\w-]+!?:(?:\s.*)?$")
_ADOC_BLOCK_LINE = re.compile(r"^\[\[?[^\]]*\]\]?$")  # [source,java], [NOTE], [[anchor]]
_ADOC_DELIMITERS = {"----": "code", "....": "code", "```": "code", "____": "quote",
                    "====": "example", "****": "sidebar", "--": "open", "|===": "table"}
_ADOC_LINK = re.compile(r"\b(?:link:|(?=https?://))(\S+?)\[([^\]]*)\]")
_ADOC_SOURCE = re.compile(r"^\[source(?:,\s*([\w+#.-]+))?")

_ORG_HEADING = re.compile(r"^(\*{1,6})\s+(?:(?:TODO|DONE|NEXT|WAITING|CANCELLED)\s+)?"
                          r"(?:\[#[A-C]\]\s+)?(.*?)(?:\s+:[\w@:]+:)?\s*$")
_ORG_KEYWORD = re.compile(r"^\s*#\+(\w+):\s*(.*)$")
_ORG_BLOCK = re.compile(r"^\s*#\+begin_(\w+)(?:\s+(\S+))?", re.IGNORECASE)
_ORG_ITEM = re.compile(r"^\s*(?:[-+]|\d+[.)])\s+\S")
_ORG_LINK = re.compile(r"\[\[([^\]]+)\](?:\[([^\]]+)\])?\]")


def _adoc_inline(line: str) -> str:
    return _ADOC_LINK.sub(lambda m: m[2] or m[1], line)


_ADOC_COLS = re.compile(r'cols\s*=\s*"?([^"\]]*)"?')


def _column_count(spec: str) -> int:
    """Columns of a ``cols`` attribute: "1,2,1" and "3*" are three, "2*,1a" is three too."""
    count = 0
    for part in re.split(r"[,;]", spec):
        if part.strip():
            repeat = re.match(r"\s*(\d+)\*", part)
            count += int(repeat[1]) if repeat else 1
    return count


def _adoc_table(body: list[str], attributes: str) -> list[Block]:
    """A ``|===`` table as table blocks. Cells start at "|" and may sit one per line, so rows
    are cut by the column count: the ``cols`` attribute's, else the first line's cells. The
    first row is the header when the attributes say so or, as AsciiDoc has it, when the first
    line holds the cells of a whole row and a blank line follows it."""
    lines = list(body)
    cells: list[str] = []
    for line in lines:
        if "|" in line:
            parts = line.split("|")
            if cells and parts[0].strip():  # a cell's text continued on this line
                cells[-1] += " " + parts[0].strip()
            cells += [_adoc_inline(c.strip()) for c in parts[1:]]
        elif line.strip() and cells:
            cells[-1] += " " + _adoc_inline(line.strip())
    if not cells:
        return []
    first = next((line for line in lines if line.strip()), "")
    spec = _ADOC_COLS.search(attributes)
    count = _column_count(spec[1]) if spec else 0
    count = count or max(1, first.count("|"))
    rows = [cells[i:i + count] for i in range(0, len(cells), count)]
    at = lines.index(first) if first else 0
    implicit = first.count("|") == count and at + 1 < len(lines) and not lines[at + 1].strip()
    header = "header" in attributes or (implicit and "noheader" not in attributes)
    return table_blocks(rows, labelled=False, header=header and len(rows) > 1)


def parse_asciidoc(text: str) -> tuple[list[Block], str]:
    """(blocks, document title) of AsciiDoc source."""
    blocks: list[Block] = []
    para: list[str] = []
    listing: list[str] = []
    title = ""
    language = attributes = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        if stripped == "////":  # a comment block
            i += 1
            while i < len(lines) and lines[i].strip() != "////":
                i += 1
            i += 1
            continue
        if stripped in _ADOC_DELIMITERS:
            flush_lines(blocks, para, listing)
            kind = _ADOC_DELIMITERS[stripped]
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != stripped:
                body.append(lines[i].rstrip())
                i += 1
            i += 1
            if kind == "code":
                content = "\n".join(body).strip("\n")
                if content:
                    blocks.append(Block(f"```{language}\n{content}\n```", kind="code"))
            elif kind == "table":
                blocks += _adoc_table(body, attributes)
            else:  # a quote, an example, a sidebar: its text is prose
                sub, _ = parse_asciidoc("\n".join(body))
                blocks += sub
            language = attributes = ""
            continue
        i += 1
        if not stripped:
            flush_lines(blocks, para, listing)
            attributes = ""  # a block's attribute lines sit right above it
            continue
        if stripped.startswith("//") or _ADOC_ATTRIBUTE.match(stripped):
            continue
        if _ADOC_BLOCK_LINE.match(stripped):
            source = _ADOC_SOURCE.match(stripped)
            language = (source[1] or "") if source else language
            attributes = stripped  # [cols="1,2",options="header"] for the table that follows
            continue
        if stripped.startswith(".") and not stripped.startswith("..") and len(stripped) > 1 \
                and not stripped[1].isspace():
            continue  # a block title (".Example config")
        attributes = ""  # text: the attribute lines above were its own
        if heading := _ADOC_HEADING.match(stripped):
            flush_lines(blocks, para, listing)
            level = len(heading[1])
            text_ = _adoc_inline(heading[2])
            if level == 1 and not title:
                title = text_
            blocks.append(Block(text_, kind="heading", level=level))
            continue
        if _ADOC_ITEM.match(line):
            if para:
                flush_lines(blocks, para, [])
            listing.append(_adoc_inline(stripped))
            continue
        if listing and not para:
            listing[-1] += " " + _adoc_inline(stripped)  # an item's continued line
            continue
        para.append(_adoc_inline(stripped))
    flush_lines(blocks, para, listing)
    return blocks, title


def _org_inline(line: str) -> str:
    return _ORG_LINK.sub(lambda m: m[2] or m[1], line)


_ORG_RULE = re.compile(r"\|[-+|]*\|?")


def _org_table(lines: list[str]) -> list[Block]:
    """An Org table as table blocks; the rows above its first rule ("|---+---|") are its
    header, as Org exports it."""
    rows: list[list[str]] = []
    header = False
    for line in lines:
        if _ORG_RULE.fullmatch(line):
            header = header or len(rows) == 1
            continue
        rows.append([_org_inline(c.strip()) for c in line.strip("|").split("|")])
    return table_blocks(rows, labelled=False, header=header and len(rows) > 1)


def parse_org(text: str) -> tuple[list[Block], str]:
    """(blocks, document title) of Org source."""
    blocks: list[Block] = []
    para: list[str] = []
    listing: list[str] = []
    title = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        i += 1
        if block := _ORG_BLOCK.match(stripped):
            flush_lines(blocks, para, listing)
            name = block[1].lower()
            body: list[str] = []
            while i < len(lines) and not re.match(rf"^\s*#\+end_{name}\b", lines[i],
                                                    re.IGNORECASE):
                body.append(lines[i].rstrip())
                i += 1
            i += 1
            content = "\n".join(body).strip("\n")
            if not content or name == "comment":
                continue
            if name in ("src", "example"):
                language = (block[2] or "") if name == "src" else ""
                blocks.append(Block(f"```{language}\n{content}\n```", kind="code"))
            else:
                sub, _ = parse_org(content)
                blocks += sub
            continue
        if keyword := _ORG_KEYWORD.match(stripped):
            if keyword[1].lower() == "title" and not title:
                title = keyword[2].strip()
            continue
        if stripped.upper() in (":PROPERTIES:", ":LOGBOOK:"):
            while i < len(lines) and lines[i].strip().upper() != ":END:":
                i += 1
            i += 1
            continue
        if not stripped:
            flush_lines(blocks, para, listing)
            continue
        if stripped.startswith("# ") or stripped == "#":
            continue  # a comment line
        if heading := _ORG_HEADING.match(line):
            flush_lines(blocks, para, listing)
            if heading[2]:
                blocks.append(Block(_org_inline(heading[2]), kind="heading",
                                    level=len(heading[1])))
            continue
        if stripped.startswith("|"):
            flush_lines(blocks, para, listing)
            end = i
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            blocks += _org_table([line.strip() for line in lines[i - 1:end]])
            i = end
            continue
        if _ORG_ITEM.match(line):
            if para:
                flush_lines(blocks, para, [])
            listing.append(_org_inline(stripped))
            continue
        if listing and not para:
            listing[-1] += " " + _org_inline(stripped)
            continue
        para.append(_org_inline(stripped))
    flush_lines(blocks, para, listing)
    return blocks, title


def load_asciidoc(path: Path) -> Document:
    text, encoding = read_text(path)
    blocks, title = parse_asciidoc(text)
    return Document(path=str(path), format="asciidoc", pages=[Page(1, blocks)],
                    title=title or first_heading(blocks), metadata={"encoding": encoding})


def load_org(path: Path) -> Document:
    text, encoding = read_text(path)
    blocks, title = parse_org(text)
    return Document(path=str(path), format="org", pages=[Page(1, blocks)],
                    title=title or first_heading(blocks), metadata={"encoding": encoding})
