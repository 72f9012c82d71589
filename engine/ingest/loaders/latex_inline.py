"""LaTeX inline markup as the typeset page reads: ``\\textbf{x}`` is x, ``\\'e`` is é.

Why by hand: a full TeX engine is out of reach (and out of place: macros run arbitrary code),
and the converters that exist are another dependency that fails on the half-finished files
people keep. What a reader needs is small: the words, the accents, the escaped characters, the
maths as written. So every command whose arguments are text (``\\emph``, ``\\textsc``, a
package's ``\\highlight``...) keeps them, known bookkeeping (``\\label``, ``\\cite``,
``\\vspace``, ``\\includegraphics``) goes with its arguments, and any other command without
arguments (``\\centering``, ``\\small``, ``\\newpage``) goes alone. Unbalanced braces are read
as if absent: a stray ``{`` never swallows what follows.

Decisions: a footnote is read in place as " (note)", so a passage keeps the remark that
qualifies it (a separate paragraph would drift away from the sentence it belongs to); ``\\ref``
and the citation commands are dropped (the numbers they print are not in the source, and a
"?" reads like part of the text); maths keeps its TeX, ``\\(x\\)`` written as ``$x$``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

#: Commands dropped with their mandatory arguments (the count), and optional ``[...]`` ones.
DROP_ARGS: dict[str, int] = {
    **dict.fromkeys(("label", "ref", "eqref", "pageref", "autoref", "cref", "Cref", "vref",
                     "nameref", "index", "glossary", "vspace", "hspace", "includegraphics",
                     "input", "include", "includeonly", "bibliography", "bibliographystyle",
                     "pagestyle", "thispagestyle", "pagenumbering", "usepackage",
                     "RequirePackage", "documentclass", "title", "author", "date", "thanks",
                     "newlength", "color", "hypersetup", "graphicspath", "geometry", "lstset",
                     "captionsetup", "rowcolor", "cellcolor", "linespread", "markright",
                     "phantom", "hphantom", "vphantom", "begin", "end", "bibitem",
                     "arrayrulecolor", "enlargethispage", "addcontentsline"), 1),
    **dict.fromkeys(("setcounter", "addtocounter", "setlength", "addtolength", "newcommand",
                     "renewcommand", "providecommand", "newtheorem", "fontsize", "markboth",
                     "rule", "DeclareMathOperator", "numberwithin"), 2),
    **dict.fromkeys(("newenvironment", "renewenvironment", "definecolor"), 3),
}
#: Commands that keep only their last argument, after skipping this many.
KEEP_LAST: dict[str, int] = {"textcolor": 1, "colorbox": 1, "fcolorbox": 2, "multicolumn": 2,
                             "multirow": 2, "foreignlanguage": 1, "raisebox": 1,
                             "mintinline": 1, "resizebox": 2, "scalebox": 1, "rotatebox": 1,
                             "parbox": 1, "adjustbox": 1}
SYMBOLS: dict[str, str] = {
    "ss": "ß", "SS": "SS", "o": "ø", "O": "Ø", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ",
    "aa": "å", "AA": "Å", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ", "ldots": "…", "dots": "…",
    "textellipsis": "…", "LaTeX": "LaTeX", "TeX": "TeX", "LaTeXe": "LaTeX2e", "BibTeX": "BibTeX",
    "textendash": "–", "textemdash": "—", "textbackslash": "\\", "textasciitilde": "~",
    "textasciicircum": "^", "textbar": "|", "textless": "<", "textgreater": ">",
    "textquoteleft": "‘", "textquoteright": "’", "textquotedblleft": "“",
    "textquotedblright": "”", "S": "§", "P": "¶", "copyright": "©", "textcopyright": "©",
    "textregistered": "®", "texttrademark": "™", "pounds": "£", "euro": "€", "texteuro": "€",
    "textdegree": "°", "textbullet": "•", "dag": "†", "ddag": "‡", "guillemotleft": "«",
    "guillemotright": "»", "quad": " ", "qquad": " ", "and": ", ", "newline": " ",
    "linebreak": " ", "textunderscore": "_", "slash": "/",
    **dict.fromkeys(("newpage", "clearpage", "cleardoublepage", "pagebreak", "bigskip",
                     "medskip", "smallskip", "hfill", "vfill", "enspace", "thinspace"), " "),
}
#: Accent commands -> combining mark: ``\\'e`` é, ``\\"o`` ö, ``\\c{c}`` ç, ``\\v{s}`` š.
ACCENTS: dict[str, str] = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308",
                           "~": "\u0303", "=": "\u0304", ".": "\u0307", "u": "\u0306",
                           "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
                           "r": "\u030a", "d": "\u0323", "b": "\u0331"}

_CONTROL_WORD = re.compile(r"\\([A-Za-z@]+)\*?")
_TEXT = re.compile(r"[^\\${}~]+")
_INLINE_MATH = re.compile(r"\$(?:[^$\\]|\\.)+\$", re.DOTALL)
_BRACKET = re.compile(r"\\.|[{}\]]|\n[ \t]*\n", re.DOTALL)
_OPTIONAL_CHARS = 1000
_NONSPACE = re.compile(r"\S")
_CLOSING = frozenset(".,;:!?)")
_TYPOGRAPHY = (("---", "—"), ("--", "–"), ("``", "“"), ("''", "”"), ("`", "'"))


def render(tex: str) -> str:
    """The text ``tex`` typesets to (whitespace not yet collapsed)."""
    out: list[str] = []
    i = 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            i = _command(tex, i, out)
        elif c == "$":
            i = _math(tex, i, out)
        elif c == "~":
            out.append(" ")
            i += 1
        elif c in "{}":  # grouping only; a stray brace is read as if absent
            if c == "{" and tex[i - 1:i] == "}":
                out.append(" ")  # an environment's {arguments}{read as text}
            i += 1
        else:
            run = _TEXT.match(tex, i)
            assert run is not None
            text = run.group(0)
            for old, new in _TYPOGRAPHY:
                text = text.replace(old, new)
            out.append(text)
            i = run.end()
    return "".join(out)


def closing(tex: str, i: int) -> int | None:
    """Index of the bracket closing the ``{`` or ``[`` at ``i`` (braces nest, escaped ones do
    not count); None when it is missing before the paragraph ends. An optional argument is
    short: it is looked for in the next :data:`_OPTIONAL_CHARS` characters only."""
    if tex[i] == "{":
        return _brace_pairs(tex).get(i)
    depth = 0
    for m in _BRACKET.finditer(tex, i + 1, i + _OPTIONAL_CHARS):
        token = m.group(0)
        if token[0] == "\n" or (token == "}" and not depth):
            return None  # a "]" never closes over an unbalanced "}"
        if token == "]" and not depth:
            return m.start()
        depth += (token == "{") - (token == "}")
    return None


@functools.lru_cache(maxsize=4)
def _brace_pairs(tex: str) -> dict[int, int]:
    """Every ``{`` of ``tex`` that closes -> its ``}``, found in one pass (and kept for the next
    argument read from the same text): a file full of unclosed groups costs no more than one
    that closes them. A blank line closes nothing: what is open there stays unmatched."""
    pairs: dict[int, int] = {}
    open_at: list[int] = []
    for m in _BRACKET.finditer(tex):
        token = m.group(0)
        if token == "{":
            open_at.append(m.start())
        elif token == "}" and open_at:
            pairs[open_at.pop()] = m.start()
        elif token[0] == "\n":
            open_at.clear()
    return pairs


def skip_space(tex: str, i: int) -> int:
    """Index of the first non-space character at or after ``i`` (``len(tex)`` if none)."""
    found = _NONSPACE.search(tex, i)
    return found.start() if found else len(tex)


def optional(tex: str, i: int, *, spaced: bool = True) -> tuple[str | None, int]:
    """An optional ``[...]`` argument at ``i`` (after spaces when ``spaced``) and the index
    after it; ``(None, i)`` when there is none."""
    j = skip_space(tex, i) if spaced else i
    if j < len(tex) and tex[j] == "[" and (end := closing(tex, j)) is not None:
        return tex[j + 1:end], end + 1
    return None, i


def argument(tex: str, i: int, *, single: bool = True) -> tuple[str | None, int]:
    """The mandatory argument after ``i``, optional ones skipped: a ``{group}``, or (``single``)
    one token as TeX takes it (``\\c c``). ``(None, i)`` when there is none or it never closes."""
    while (skipped := optional(tex, i))[0] is not None:
        i = skipped[1]
    j = skip_space(tex, i)
    if j >= len(tex):
        return None, i
    if tex[j] == "{":
        end = closing(tex, j)
        return (None, i) if end is None else (tex[j + 1:end], end + 1)
    if not single or tex[j] in "}$":
        return None, i
    word = _CONTROL_WORD.match(tex, j)
    end = word.end() if word else j + 2 if tex[j] == "\\" else j + 1
    return tex[j:end], end


def _command(tex: str, i: int, out: list[str]) -> int:
    word = _CONTROL_WORD.match(tex, i)
    if word is None:
        return _control_symbol(tex, i + 1, out)
    name, j = word.group(1), word.end()
    if name in ACCENTS:
        base, j = argument(tex, j)
        out.append(_accent(base, ACCENTS[name]))
    elif name in SYMBOLS:
        out.append(SYMBOLS[name])
    elif name == "href":
        url, j = argument(tex, j)
        text, j = argument(tex, j)
        shown = render(text or "").strip()
        out.append(f"{shown} ({render(url or '')})" if shown else render(url or ""))
    elif name == "footnote":
        note, j = argument(tex, j, single=False)
        out.append(f" ({render(note).strip()})" if note and note.strip() else "")
    elif name in DROP_ARGS or "cite" in name.lower():
        for _ in range(DROP_ARGS.get(name, 1)):
            _, j = argument(tex, j)
        if name in ("hspace", "vspace"):
            out.append(" ")
        if tex[j:j + 1] in _CLOSING:  # "as shown~\cite{x}." reads "as shown."
            while out and not out[-1].strip():
                out.pop()
            if out:
                out[-1] = out[-1].rstrip()
    elif name in KEEP_LAST:
        for _ in range(KEEP_LAST[name]):
            _, j = argument(tex, j)
        kept, j = argument(tex, j, single=False)
        out.append(render(kept or ""))
    else:  # any other command: its braced arguments are text, its options are not
        _, j = optional(tex, j, spaced=False)
        texts = []
        while (start := skip_space(tex, j)) < len(tex) and tex[start] == "{":
            end = closing(tex, start)
            if end is None:
                break
            texts.append(render(tex[start + 1:end]))
            j = end + 1
        out.append(" ".join(texts))
    return j


def _control_symbol(tex: str, k: int, out: list[str]) -> int:
    """``\\%``, ``\\'e``, ``\\\\``, ``\\,``, ``\\(x\\)`` ...; ``k`` is after the backslash."""
    if k >= len(tex):
        return k
    c = tex[k]
    if c in "%&$#_{}":
        out.append(c)
    elif c in ACCENTS:
        base, j = argument(tex, k + 1)
        out.append(_accent(base, ACCENTS[c]))
        return j
    elif c == "\\":  # a line break, maybe \\* or \\[2pt]: a space in running text
        out.append(" ")
        j = k + 2 if tex[k + 1:k + 2] == "*" else k + 1
        return optional(tex, j, spaced=False)[1]
    elif c in ",;: \t\n":
        out.append(" ")
    elif c in "([":
        end = tex.find("\\)" if c == "(" else "\\]", k + 1)
        if end >= 0:
            out.append(f"${tex[k + 1:end]}$" if c == "(" else f" $${tex[k + 1:end]}$$ ")
            return end + 2
    return k + 1


def _math(tex: str, i: int, out: list[str]) -> int:
    """Maths stays as written (a question may quote a formula); a lone ``$`` is a dollar."""
    if tex.startswith("$$", i) and (end := tex.find("$$", i + 2)) >= 0:
        out.append(f" {tex[i:end + 2]} ")
        return end + 2
    if math := _INLINE_MATH.match(tex, i):
        out.append(math.group(0))
        return math.end()
    out.append("$")
    return i + 1


def _accent(base: str | None, mark: str) -> str:
    text = render(base or "").strip()
    if not text:  # \~{} is how a tilde is written in text
        return {"\u0303": "~", "\u0302": "^"}.get(mark, "")
    first = {"ı": "i", "ȷ": "j"}.get(text[0], text[0])
    return unicodedata.normalize("NFC", first + mark) + text[1:]
