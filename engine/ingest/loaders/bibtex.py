"""BibTeX bibliographies (.bib): a researcher's reading list, one reference per paragraph.

Read as text, a .bib file is field syntax (``author = {G{\\"o}del, Kurt}``) around the words a
question would match. Each entry becomes one readable paragraph, titles and abstracts with their
LaTeX rendered (:func:`engine.ingest.loaders.latex_inline.render`: accents, ``\\emph``, dashes):

    On Formally Undecidable Propositions. Kurt Gödel (1931). Monatshefte für Mathematik und
    Physik 38, 173–198. Key: godel1931. Abstract: ...

``@string`` abbreviations are expanded, ``#`` concatenations joined, ``@comment`` and
``@preamble`` skipped; an entry with unbalanced braces ends at the next line that starts an
entry, so one broken entry loses only itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from engine.ingest.document import Block, Document, LoadError, NothingToRead, Page
from engine.ingest.loaders.latex_inline import render
from engine.ingest.loaders.text import read_text

_ENTRY = re.compile(r"^[ \t]*@\s*(\w+)\s*[{(]", re.MULTILINE)
_FIELD = re.compile(r"\s*([\w:.+-]+)\s*=\s*")
_MONTHS = {m[:3]: m for m in ("January", "February", "March", "April", "May", "June", "July",
                              "August", "September", "October", "November", "December")}
#: Fields shown in the paragraph, in this order (the rest are bookkeeping: file, owner...).
_VENUE = ("journal", "booktitle", "publisher", "school", "institution", "organization",
          "howpublished", "series")


def _value(text: str, i: int, strings: dict[str, str]) -> tuple[str, int]:
    """A field value starting at ``i`` ({...}, "...", a number or a macro, joined by #)."""
    parts: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth, j = 0, i
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            parts.append(text[i + 1:j])
            i = j + 1
        elif ch == '"':
            j, depth = i + 1, 0
            while j < len(text) and not (text[j] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            parts.append(text[i + 1:j])
            i = j + 1
        else:
            m = re.match(r"[\w:.+-]+", text[i:])
            if not m:
                break
            word = m.group()
            parts.append(strings.get(word.lower(), _MONTHS.get(word.lower(), word)))
            i += len(word)
        while i < len(text) and text[i].isspace():
            i += 1
        if i < len(text) and text[i] == "#":
            i += 1
            while i < len(text) and text[i].isspace():
                i += 1
            continue
        break
    return "".join(parts), i


def parse_entries(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """(entry type, citation key, fields) of every reference, in file order."""
    starts = [(m.start(), m.end(), m[1].lower()) for m in _ENTRY.finditer(text)]
    strings: dict[str, str] = {}
    entries: list[tuple[str, str, dict[str, str]]] = []
    for n, (_, body_start, kind) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(text)
        body = text[body_start:end]
        if kind in ("comment", "preamble"):
            continue
        i, key, fields = 0, "", {}
        if kind != "string":
            m = re.match(r"\s*([^,\s{}()]*)\s*,", body)
            if m:
                key, i = m[1], m.end()
        while i < len(body):
            m = _FIELD.match(body, i)
            if not m:
                break
            value, i = _value(body, m.end(), strings)
            fields[m[1].lower()] = " ".join(value.split())
            while i < len(body) and body[i] in " \t\r\n,":
                i += 1
        if kind == "string":
            strings.update(fields)
        elif fields:
            entries.append((kind, key, fields))
    return entries


def _names(value: str) -> str:
    """"Gödel, Kurt and Church, Alonzo" -> "Kurt Gödel, Alonzo Church"."""
    people = []
    for person in re.split(r"\s+and\s+", value):
        last, sep, first = person.partition(",")
        people.append(f"{first.strip()} {last.strip()}".strip() if sep else person.strip())
    return ", ".join(p for p in people if p)


def entry_paragraph(kind: str, key: str, fields: dict[str, str]) -> str:
    """One reference as a readable paragraph."""
    f = {k: render(v).strip() for k, v in fields.items()}
    head = f.get("title") or f"({kind} without a title)"
    parts = [head.rstrip(".") + "."]
    who = _names(f.get("author") or f.get("editor", ""))
    year = f.get("year") or f.get("date", "")[:4]
    if who or year:
        parts.append(f"{who}{f' ({year})' if year else ''}.".strip())
    venue = next((f[k] for k in _VENUE if f.get(k)), "")
    detail = ", ".join(x for x in (
        f"{f['volume']}" + (f"({f['number']})" if f.get("number") else "") if f.get("volume")
        else "", f.get("pages", "")) if x)
    if venue or detail:
        parts.append(" ".join(x for x in (venue, detail) if x) + ".")
    for label, name in (("DOI", "doi"), ("URL", "url"), ("Keywords", "keywords")):
        if f.get(name):
            parts.append(f"{label}: {f[name]}.")
    if key:
        parts.append(f"Key: {key}.")
    for name in ("abstract", "note", "annote"):
        if f.get(name):
            parts.append(f"{name.capitalize()}: {f[name]}")
    return " ".join(parts)


def load_bibtex(path: Path) -> Document:
    """A .bib file -> one page, a paragraph per reference."""
    text, encoding = read_text(path)
    if not _ENTRY.search(text):
        raise LoadError("not a BibTeX file (no @entry; mislabelled?)")
    entries = parse_entries(text)
    if not entries:
        raise NothingToRead("no references in this bibliography")
    blocks = [Block(entry_paragraph(*e)) for e in entries]
    return Document(path=str(path), format="bibtex", pages=[Page(1, blocks)],
                    metadata={"encoding": encoding, "references": str(len(blocks))})
