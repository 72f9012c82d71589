"""GNU Info manuals (.info, split .info-1 ..., usually gzipped): one page per node.

The GNU manuals a Linux machine keeps in /usr/share/info (grep, find, coreutils, gzip...) are
Info files: nodes separated by a ``\\x1f`` line, each with a header line ("File: grep.info,
Node: Usage, Next: ..., Up: Top"), a title underlined by makeinfo, its text, and a menu of the
nodes below it. Read as plain text, a 290 KB manual was one page with the tag table, menus and
"*Note Usage::" markup in its chunks. Here each node is a page labelled by its node name, the
title a heading (``*`` chapter, ``=`` section, ``-`` subsection, ``.`` below), so an answer is
cited by the section it came from; menus (navigation), the tag table and the preamble (the
copyright the Top node repeats) go; cross-references read as "see Usage".

A split manual's main file holds only the table of its parts ("Indirect:"): skipped, as its
text is read from the parts. A ``.info`` file that has no nodes (other programs use the
extension too) is read as plain text.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.ingest.document import Block, Document, NothingToRead, Page
from engine.ingest.loaders.common import clean_inline, paragraph_blocks, read_bytes
from engine.ingest.loaders.encoding import decode_text
from engine.ingest.loaders.text import plain_blocks, underlines

#: The line that separates nodes (and the tag table, the indirect table, local variables).
#: (Read as a tab: see :func:`without_markers`; only a tab line before a section's first line
#: counts, so a blank line of a tab in a node's text stays text.)
_SEPARATOR = re.compile(r"^\t\f?[ \t]*\n(?=File:|Tag Table:|End Tag Table|Indirect:|Local "
                        r"Variables:)", re.MULTILINE)
_NODE = re.compile(r"^File:[^\n]*?Node:[ \t]*([^,\t\n]+)")
#: makeinfo's underline characters, by heading level (@chapter, @section, @subsection, below).
_LEVELS = {"*": 1, "=": 2, "-": 3, ".": 4}
_UNDERLINE = re.compile(r"^([*=.\-])\1{2,}$")
#: "*Note Usage::" / "(*note Other Options::)" / "*note Title: Node." -> "see Usage".
_NOTE_SHORT = re.compile(r"\*([Nn])ote\s+([^:*]+?)::")
_NOTE_LONG = re.compile(r"\*([Nn])ote\s+([^:*]+?):\s+(?:\([^)]*\))?[^.,:*]+")
_MENU = re.compile(r"^\* Menu:", re.MULTILINE)
#: makeinfo's marker before an index's menu.
_INDEX_MARK = re.compile(r"^[ \t]*\[index ?\][ \t]*\n?", re.MULTILINE)


def without_markers(data: bytes) -> bytes:
    """The bytes of an Info file that are not text, made text: the NUL-backspace pairs makeinfo
    puts around "[index]" (dropped), the DEL that ends each tag table entry's node name ("Node:
    Top\\x7f773") and the ``\\x1f`` that separates nodes (a tab: :data:`_SEPARATOR`). Left in,
    they make a short manual look binary. (Info files are in ASCII-compatible encodings.)"""
    return data.replace(b"\x00\x08", b"").replace(b"\x7f", b" ").replace(b"\x1f", b"\t")


def see(text: str) -> str:
    """Info cross-references as they read in print: "*Note Usage::" -> "See Usage"."""
    def repl(m: re.Match[str]) -> str:
        return ("See " if m.group(1) == "N" else "see ") + " ".join(m.group(2).split())

    return _NOTE_LONG.sub(repl, _NOTE_SHORT.sub(repl, text))


def node_blocks(body: str) -> list[Block]:
    """A node's text as blocks: underlined titles as headings, the menu dropped."""
    menu = _MENU.search(body)
    if menu:
        body = body[:menu.start()]
    blocks: list[Block] = []
    for block in paragraph_blocks(see(_INDEX_MARK.sub("", body))):
        lines = block.text.split("\n")
        if len(lines) >= 2 and underlines(lines[0].strip(), lines[1].strip(), _UNDERLINE):
            blocks.append(Block(clean_inline(lines[0]), "heading", _LEVELS[lines[1].strip()[0]]))
            lines = lines[2:]
            if not any(line.strip() for line in lines):
                continue
            block = Block("\n".join(lines), block.kind)
        blocks.append(block)
    return blocks


def load_info(path: Path) -> Document:
    """An Info file -> one Page per node that has text (label = node name)."""
    text, encoding = decode_text(without_markers(read_bytes(path)))
    sections = _SEPARATOR.split(text)
    pages: list[Page] = []
    parts_listed = False
    for section in sections[1:]:
        section = section.lstrip("\n")
        match = _NODE.match(section)
        if match is None:
            parts_listed = parts_listed or section.startswith("Indirect:")
            continue  # the tag table, local variables
        header_rest = section[match.end():]
        blocks = node_blocks(header_rest.split("\n", 1)[1] if "\n" in header_rest else "")
        if any(b.kind != "heading" for b in blocks):  # an index node is all menu: nothing
            pages.append(Page(number=len(pages) + 1, blocks=blocks, label=match.group(1).strip()))
    meta = {"encoding": encoding}
    if not pages:
        if parts_listed:
            raise NothingToRead("the table of contents of a split Info manual (its text is read "
                                "from its parts, name.info-1, -2...)")
        return Document(path=str(path), format="info", pages=[Page(1, plain_blocks(text))],
                        title=None, metadata=meta)
    title = next((b.text for b in pages[0].blocks if b.kind == "heading"), None)
    meta["nodes"] = str(len(pages))
    return Document(path=str(path), format="info", pages=pages, title=title, metadata=meta)
