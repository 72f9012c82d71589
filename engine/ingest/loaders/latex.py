"""LaTeX papers, theses and letters (.tex) read as the prose they typeset to.

Why: read as source code, a paper reaches the answering model full of markup (``\\textbf{..}``,
``\\cite{..}``, ``\\begin{itemize}``) and is chunked like a program. Academics keep their
papers as .tex, so they are read as documents: the body only (the preamble is packages and
macros; a chapter that is ``\\input`` elsewhere has no ``\\begin{document}`` and is read whole),
sectioning commands as headings (``\\chapter`` level 1 when the document has chapters, else
``\\section``), the abstract under an "Abstract" heading, lists, tables (first row as header),
code listings kept verbatim, captions as paragraphs numbered as LaTeX numbers them ("Table 2:
..."), figures by their captions alone. Inline markup: :mod:`engine.ingest.loaders.latex_inline`.

Display maths (``\\[..\\]``, ``equation``, ``align``) becomes a paragraph of its own, written
``$$ ... $$`` with its TeX as written: it is part of the argument, so it stays a prose block the
chunker keeps with its neighbours, and ``$$`` tells the model it is a formula. In a list item it
stays in the item. Simple macros defined in the file (``\\newcommand{\\tool}{Satchel}``) are
expanded, since papers name their system, or their dataset, that way.

Real files are half-finished: an unbalanced brace or a missing ``\\end`` must not lose the rest.
Arguments never run past a blank line, an environment whose ``\\end`` is missing is read as
text, a heading closes the lists left open, and anything not recognised keeps its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from engine.ingest.document import Block, Document, NothingToRead, Page
from engine.ingest.loaders.common import (
    MAX_BLOCK_CHARS,
    clean_inline,
    first_heading,
    library_errors,
    list_block,
    raw_lines,
    read_bytes,
    split_long,
    table_blocks,
)
from engine.ingest.loaders.encoding import decode_text
from engine.ingest.loaders.latex_inline import argument, optional, render

#: Verbatim environments (kept as code), inline verbatim, URLs (their ``%`` is no comment),
#: and comments: found in one pass, so a ``%`` inside ``\\verb|..|`` is text and a commented-out
#: ``\\begin{verbatim}`` is not code.
_PROTECT = re.compile(
    r"\\begin\{(?P<env>verbatim\*?|Verbatim\*?|BVerbatim|lstlisting|minted|comment)\}"
    r"(?:\[[^\]\n]*\])?(?:\{[^{}\n]*\})?(?P<code>.*?)(?:\\end\{(?P=env)\}|\Z)"
    r"|\\(?:verb|lstinline)\*?(?P<delim>[^\sA-Za-z*{\[])(?P<verb>[^\n]*?)(?P=delim)"
    r"|\\url\s*\{(?P<url>[^{}\n]*)\}|\\href\s*\{(?P<href>[^{}\n]*)\}"
    r"|(?<!\\)(?P<keep>(?:\\\\)*)%[^\n]*(?:\n[ \t]*)?", re.DOTALL)
_DEFINITION = re.compile(r"\\(?:(?:re|provide)?newcommand\*?\s*\{?\s*\\(?P<name>[A-Za-z@]+)\s*\}?"
                         r"|[egx]?def\s*\\(?P<dname>[A-Za-z@]+)(?P<params>[^{\\]*))")
_INLINE_HOLD = re.compile("\x00(\\d+)\x00")
#: What the body walk stops at; the last three alternatives only step over maths and escaped
#: characters, so that nothing inside them is taken for structure.
_STRUCT = re.compile(
    r"\\begin\s*\{(?P<begin>[^{}\n]*)\}|\\end\s*\{(?P<end>[^{}\n]*)\}"
    r"|\\(?P<sec>part|chapter|section|subsection|subsubsection|paragraph|subparagraph)"
    r"(?![A-Za-z@])(?P<star>\*?)"
    r"|\\(?P<item>item|bibitem)(?![A-Za-z@])"
    r"|\\(?P<cap>caption|captionof|subcaption)(?![A-Za-z@])(?P<capstar>\*?)"
    r"|(?P<display>\\\[|\$\$)|\x02(?P<code>\d+)\x02|(?P<par>\n[ \t]*\n\s*|\\par(?![A-Za-z@]))"
    r"|\$(?:[^$\\\n]|\\.|\n(?![ \t]*\n))+\$|\\\((?:(?!\n[ \t]*\n|\\\)).)*\\\)"
    r"|\\(?:[A-Za-z@]+\*?|.)", re.DOTALL)
_CAPTION = re.compile(r"\\(caption|captionof|subcaption)(?![A-Za-z@])(\*?)")
_MATH_NOISE = re.compile(r"\\label\s*\{[^{}]*\}|\\(?:nonumber|notag)(?![A-Za-z@])")
_RULES = re.compile(r"\\(?:hline|toprule|midrule|bottomrule|addlinespace|endhead|endfirsthead"
                    r"|endfoot|endlastfoot|hdashline)(?![A-Za-z@])(?:\[[^\]\n]*\])?"
                    r"|\\(?:cline|cmidrule|hhline)(?:\s*\([^()]*\))?\s*\{[^{}]*\}"
                    r"|\\specialrule(?:\s*\{[^{}]*\}){3}")
_MULTICOLUMN = re.compile(r"\s*\\multicolumn\s*\{\s*(\d+)\s*\}")

_LEVELS = {"part": 1, "chapter": 1, "section": 2, "subsection": 3, "subsubsection": 4,
           "paragraph": 5, "subparagraph": 6}
_LISTS = frozenset({"itemize", "enumerate", "description", "compactitem", "compactenum",
                    "compactdesc", "asparaitem", "asparaenum", "inparaenum", "list",
                    "thebibliography"})
_FIGURES = frozenset({"figure", "wrapfigure", "SCfigure", "sidewaysfigure", "marginfigure"})
_FLOATS = {"figure": "figure", "table": "table", "wraptable": "table", "sidewaystable": "table"}
#: Table environments and how many mandatory arguments come before their rows.
_TABULARS = {"tabular": 1, "tabular*": 2, "tabularx": 2, "tabulary": 2, "xltabular": 2,
             "longtable": 1, "supertabular": 1, "tabu": 1, "tblr": 1, "longtblr": 1}
_MATH = frozenset({"equation", "align", "gather", "multline", "eqnarray", "flalign", "alignat",
                   "displaymath", "dmath", "math"})
_SKIPPED = frozenset({"tikzpicture", "pgfpicture", "picture", "filecontents", "axis"})
#: Environments whose own arguments (a width, a column count) are no text.
_ENV_ARGS = {"minipage": 1, "multicols": 1, "subfigure": 1, "subtable": 1, "wraptable": 2,
             "thebibliography": 1, "list": 2, "otherlanguage": 1, "adjustbox": 1}
_THEOREMS = {"theorem": "Theorem", "lemma": "Lemma", "proposition": "Proposition",
             "corollary": "Corollary", "definition": "Definition", "remark": "Remark",
             "example": "Example", "proof": "Proof"}
_SUBFLOATS = re.compile(r"\\(begin|end)\s*\{sub(?:figure|table)\}")


def load_latex(path: Path) -> Document:
    """A .tex file -> one page of heading, paragraph, list, table and code blocks."""
    text, encoding = decode_text(read_bytes(path))
    with library_errors("LaTeX"):  # only a file nested too deeply for Python lands here
        blocks, title, author = parse_latex(text)
    if not blocks and text.strip():
        raise NothingToRead(_why_no_text(text))
    metadata = {"encoding": encoding, **({"author": author} if author else {})}
    return Document(path=str(path), format="latex", pages=[Page(number=1, blocks=blocks)],
                    title=title or first_heading(blocks), metadata=metadata)


#: Commands that pull another file's text in: a file made only of them has no text of its own.
_INCLUDES = re.compile(r"\\(?:input|include|subfile|DocInput|import)\s*\{([^{}]+)\}")


def _why_no_text(text: str) -> str:
    """Why a LaTeX file with content gave no prose (said as skipped, not failed: a driver file
    that inputs a .dtx, or a test file whose document is empty, is fine, it just says nothing).
    """
    names = [n.strip() for line in raw_lines(text) if not line.lstrip().startswith("%")
             for n in _INCLUDES.findall(line)]
    if names:
        more = f" and {len(names) - 1} more" if len(names) > 1 else ""
        return f"no text of its own: a LaTeX file that includes {names[0]}{more}"
    return "no text of its own: a LaTeX file without prose in its body"


def parse_latex(text: str) -> tuple[list[Block], str | None, str | None]:
    """``(blocks, title, author)`` of a LaTeX source."""
    code: list[str] = []
    held: list[str] = []

    def protect(m: re.Match[str]) -> str:
        if m["env"]:
            if m["env"] == "comment":
                return ""
            code.append("\n".join(raw_lines(m["code"])).strip("\n"))
            return f"\x02{len(code) - 1}\x02"
        if m["keep"] is not None:
            return m["keep"]
        held.append(next(g for g in (m["verb"], m["url"], m["href"]) if g is not None))
        hold = f"\x00{len(held) - 1}\x00"
        return "\\href{" + hold + "}" if m["href"] is not None else hold

    text = _expand_macros(_PROTECT.sub(protect, "\n".join(raw_lines(text))))
    title, author = (_first_argument(text, name) for name in ("title", "author"))
    if (begin := re.search(r"\\begin\s*\{document\}", text)) is not None:
        text = text[begin.end():]
    if (end := re.search(r"\\end\s*\{document\}", text)) is not None:
        text = text[:end.start()]

    def restore(rendered: str) -> str:
        return clean_inline(_INLINE_HOLD.sub(lambda m: held[int(m[1])], rendered))

    blocks = _Reader(text, code, restore).read()
    if author:
        author = restore(render(author.replace("\\\\", ", "))).replace(" ,", ",")
        author = re.sub(r",(?:\s*,)+", ",", author).strip(" ,")
    return blocks, (restore(render(title)) if title else None) or None, author or None


def _first_argument(text: str, name: str) -> str | None:
    if (m := re.search(rf"\\{name}(?![A-Za-z@])", text)) is not None:
        return argument(text, m.end(), single=False)[0]
    return None


def _expand_macros(text: str) -> str:
    """Drop the file's macro definitions; expand those without parameters where they are used,
    and drop the uses of those that typeset nothing (a draft's ``\\todo`` hidden by
    ``\\newcommand{\\todo}[1]{}``) with their arguments.

    Two rounds, so a macro built of another one reads out too and a recursive one ends."""
    macros: dict[str, str] = {}
    hidden: dict[str, int] = {}  # macro -> parameters, for those whose body is empty
    kept: list[str] = []
    pos = 0
    for m in _DEFINITION.finditer(text):
        if m.start() < pos:
            continue
        arity, after = optional(text, m.end()) if m["name"] else (None, m.end())
        body, end = argument(text, after, single=False)
        if body is None:
            continue
        name = m["name"] or m["dname"]
        params = (min(int(arity), 9) if arity and arity.strip().isdigit()
                  else (m["params"] or "").count("#"))
        if not body.strip():
            hidden[name] = params
        elif not params and "#" not in body and len(body) <= 500:
            macros[name] = body
        kept.append(text[pos:m.start()])
        pos = end
    text = "".join(kept) + text[pos:]
    for _ in range(2 if macros or hidden else 0):
        text = _replace_macros(text, macros, hidden)
    return text


def _replace_macros(text: str, macros: dict[str, str], hidden: dict[str, int]) -> str:
    names = sorted({*macros, *hidden}, key=len, reverse=True)
    out, pos = [], 0
    for m in re.finditer(r"\\(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z@])", text):
        if m.start() < pos:
            continue
        out.append(text[pos:m.start()])
        pos = m.end()
        if m[1] in macros:
            out.append(macros[m[1]])
            continue
        for _ in range(hidden[m[1]]):
            pos = argument(text, pos, single=False)[1]
    return "".join(out) + text[pos:]


def _matching_end(text: str, start: int, name: str) -> tuple[int, int] | None:
    """(start, end) of the ``\\end{name}`` closing the environment opened before ``start``."""
    depth = 1
    for m in re.compile(rf"\\(begin|end)\s*\{{{re.escape(name)}\}}").finditer(text, start):
        depth += 1 if m[1] == "begin" else -1
        if not depth:
            return m.start(), m.end()
    return None


def _split_top(tex: str, sep: str) -> list[str]:
    """``tex`` split on ``sep`` outside braces and escapes (table rows on ``\\\\``, cells on
    ``&``; ``\\&`` is a character)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if not depth and tex.startswith(sep, i):
            parts.append(tex[start:i])
            i = start = i + len(sep)
        elif tex[i] == "\\":
            i += 2
        else:
            depth = max(0, depth + (tex[i] == "{") - (tex[i] == "}"))
            i += 1
    return [*parts, tex[start:]]


class _Reader:
    """Walks a LaTeX body from one structural command to the next, collecting the text in
    between for the paragraph (or list item) it belongs to."""

    def __init__(self, body: str, code: list[str], restore: Callable[[str], str]) -> None:
        self.body, self.code, self.restore = body, code, restore
        self.blocks: list[Block] = []
        self.inline: list[str] = []  # raw LaTeX of the paragraph or item being read
        self.items: list[tuple[int, str]] = []  # the list being read: (depth, text)
        self.stack: list[str] = []  # open environments
        self.label: str | None = None  # the current \item's [label]
        self.chapters = re.search(r"\\chapter(?![A-Za-z@])", body) is not None
        self.chapter = 0
        self.counts = {"table": 0, "figure": 0}

    def read(self) -> list[Block]:
        pos = 0
        while (m := _STRUCT.search(self.body, pos)) is not None:
            self.inline.append(self.body[pos:m.start()])
            pos = self._step(m)
        self.inline.append(self.body[pos:])
        self._flush()
        self._flush_list()
        return self.blocks

    def _step(self, m: re.Match[str]) -> int:
        """Handle one match of :data:`_STRUCT`; returns where reading goes on."""
        body = self.body
        if m["begin"] is not None:
            return self._begin(m["begin"].strip(), m.end())
        if m["end"] is not None:
            name = m["end"].strip()
            if name in self.stack:
                self._flush()
                while self.stack.pop() != name:
                    pass
                if self._depth() < 0:
                    self._flush_list()
            return m.end()
        if m["sec"]:
            title, end = argument(body, m.end(), single=False)
            if title is None:
                return m.end()
            self._flush()
            self._flush_list()
            self.stack.clear()  # an environment never spans a heading: one left open ends
            if m["sec"] == "chapter" and not m["star"]:
                self.chapter += 1
                self.counts = dict.fromkeys(self.counts, 0)
            if text := self.restore(render(title)):
                level = _LEVELS[m["sec"]] - (m["sec"] != "part" and not self.chapters)
                self.blocks.append(Block(text, "heading", level))
            return end
        if m["item"]:
            self._flush()
            self.label, end = optional(body, m.end())
            return argument(body, end, single=False)[1] if m["item"] == "bibitem" else end
        if m["cap"]:
            return self._caption(m)
        if m["display"]:
            close = body.find("\\]" if m["display"] == "\\[" else "$$", m.end())
            if close < 0:
                return m.end()
            self._display(body[m.end():close])
            return close + 2
        if m["code"] is not None:
            self._flush()
            self._flush_list()
            source = self.code[int(m["code"])]
            self.blocks.extend(Block(part, "code") for part in split_long(source)
                               if part.strip())
            return m.end()
        if m["par"]:
            self._flush()
            return m.end()
        self.inline.append(m.group(0))  # maths or an escaped character, read later as text
        return m.end()

    def _begin(self, name: str, pos: int) -> int:
        base = name.rstrip("*")
        if name in _TABULARS or base in _TABULARS:
            _, pos = optional(self.body, pos)
            for _ in range(_TABULARS.get(name, _TABULARS.get(base, 1))):
                _, pos = argument(self.body, pos)
        elif base == "alignat":
            _, pos = argument(self.body, pos)
        if name in _TABULARS or base in _TABULARS or base in _MATH | _SKIPPED | _FIGURES:
            span = _matching_end(self.body, pos, name)
            if span is not None:  # else (no \end) its content is read as text
                content = self.body[pos:span[0]]
                if base in _MATH:
                    self._display(content)
                elif base in _FIGURES:
                    self._figure(content)
                elif base not in _SKIPPED:
                    self._flush()
                    self._flush_list()
                    self.blocks.extend(table_blocks(self._rows(content)))
                return span[1]
            return pos
        self._flush()
        if base in ("abstract", "thebibliography"):
            self._flush_list()
            self.blocks.append(Block("Abstract" if base == "abstract" else "References",
                                     "heading", 1))
        self.stack.append(name)
        if base not in _THEOREMS:
            _, pos = optional(self.body, pos, spaced=base in _LISTS)  # [h], [label=(\alph*)]
        for _ in range(_ENV_ARGS.get(base, 0)):
            _, pos = argument(self.body, pos)
        if base in _THEOREMS:
            note, pos = optional(self.body, pos)
            self.inline.append(f"{_THEOREMS[base]} ({note}). " if note else
                               f"{_THEOREMS[base]}. ")
        return pos

    def _depth(self) -> int:
        """Nesting depth of the list being read (0 the outermost), -1 outside lists."""
        return sum(name.rstrip("*") in _LISTS for name in self.stack) - 1

    def _flush(self) -> None:
        """The text read so far becomes a paragraph, or an entry of the list being read."""
        text = self.restore(render("".join(self.inline)))
        self.inline.clear()
        if self.label is not None:
            label = self.restore(render(self.label))
            self.label = None
            lists = [n for n in self.stack if n.rstrip("*") in _LISTS]
            joint = ": " if lists and lists[-1] in ("description", "compactdesc") else " "
            text = f"{label}{joint}{text}".strip(" :") if label else text
        if not text:
            return
        if self._depth() >= 0:
            self.items.append((self._depth(), text))
            return
        self._flush_list()
        if len(text) <= MAX_BLOCK_CHARS:
            self.blocks.append(Block(text))
            return
        sentences = re.sub(r"(?<=[.!?]) +", "\n", text)  # a runaway paragraph: split at sentences
        self.blocks.extend(Block(part.replace("\n", " ")) for part in split_long(sentences))

    def _flush_list(self) -> None:
        if (block := list_block(self.items)) is not None:
            self.blocks.extend(Block(part, "list") for part in split_long(block.text))
        self.items = []

    def _display(self, tex: str) -> None:
        lines = [line.strip() for line in _MATH_NOISE.sub("", tex).strip().split("\n")]
        math = "\n".join(line for line in lines if line)
        if not math:
            return
        if self._depth() >= 0:  # in a list item, the formula stays in the item
            self.inline.append(f" $$ {math} $$ ")
            return
        self._flush()
        self.blocks.append(Block(f"$$ {math} $$"))

    def _caption(self, m: re.Match[str]) -> int:
        kind, pos = None, m.end()
        if m["cap"] == "captionof":
            kind, pos = argument(self.body, pos)
            kind = kind.strip() if kind else None
        else:
            floats = [_FLOATS[n.rstrip("*")] for n in self.stack if n.rstrip("*") in _FLOATS]
            kind = floats[-1] if floats else None
        text, end = argument(self.body, pos, single=False)
        if text is None:
            return m.end()
        self._flush()
        self._flush_list()
        sub = m["cap"] == "subcaption" or any(n.startswith("sub") for n in self.stack)
        self._add_caption(kind, text, numbered=not (m["capstar"] or sub))
        return end

    def _add_caption(self, kind: str | None, tex: str, *, numbered: bool) -> None:
        text = self.restore(render(tex))
        if text and numbered and kind in self.counts:
            self.counts[kind] += 1
            number = (f"{self.chapter}.{self.counts[kind]}" if self.chapters and self.chapter
                      else str(self.counts[kind]))
            text = f"{kind.title()} {number}: {text}"
        if text:
            self.blocks.append(Block(text))

    def _figure(self, content: str) -> None:
        """A figure is read by its captions alone (its body is pictures and layout)."""
        self._flush()
        self._flush_list()
        for m in _CAPTION.finditer(content):
            pos = m.end()
            if m[1] == "captionof":
                _, pos = argument(content, pos)
            text, _ = argument(content, pos, single=False)
            depth = sum(1 if s[1] == "begin" else -1
                        for s in _SUBFLOATS.finditer(content, 0, m.start()))
            if text is not None:
                self._add_caption("figure", text, numbered=not (m[2] or depth or
                                                                m[1] == "subcaption"))

    def _rows(self, content: str) -> list[list[str]]:
        """Table rows from a tabular's body: rows on ``\\\\``, cells on ``&``, rules dropped, a
        ``\\multicolumn`` cell padded so the cells after it stay under their header."""
        rows = []
        content = _RULES.sub(" ", content.replace("\\tabularnewline", "\\\\"))
        for raw in _split_top(content, "\\\\"):
            raw = re.sub(r"^\*?\[[^\]\n]*\]", "", raw)  # the spacing of \\[2pt]
            cells: list[str] = []
            for cell in _split_top(raw, "&"):
                cells.append(self.restore(render(cell)))
                if span := _MULTICOLUMN.match(cell):
                    cells += [""] * min(int(span[1]) - 1, 50)
            rows.append(cells)
        return rows

