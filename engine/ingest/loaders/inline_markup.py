"""What a reader of a rendered page sees of inline markup: link text, not link syntax.

Why: Markdown notes and READMEs, and whole documentation sets (Node.js's API docs, for one),
are full of markup a rendered page hides: reference links ``[text][ref]`` with their
``[ref]: url`` definitions gathered at the end, inline links and images, badges, HTML comments
(Node.js keeps each API's version history as YAML inside one), anchors (``<a id="x"></a>``),
Obsidian-style ``[[wiki links]]``. reStructuredText (Sphinx sources, Python READMEs) has its
own: ```RFC 7519 <https://...>`_``, ``:func:`~pkg.mod.load```. Left as written they cost prompt
tokens, the small model copies them into answers ("… any of the [supported package
managers][], and …"), and a numbered reference (``[the manual][2]``) reads exactly like a
citation of passage 2.

So links and images become their text, wiki links their title, roles their text, HTML comments,
known inline tags and link definitions go. Code spans and literals are kept exactly as written
(a ``<T>`` or ``a[i](x)`` in code is code), and so are emphasis and backticks: they read fine
and carry meaning.
"""

from __future__ import annotations

import re

#: A code span: a run of backticks, anything, the same run (CommonMark's rule, on one line).
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_WIKI_LINK = re.compile(r"\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
#: Obsidian's embed of a note or a file ("![[harbour-map.png]]"): a picture shows no words,
#: a note embedded reads as its title, as its link would.
_WIKI_EMBED = re.compile(r"!\[\[([^\[\]\n]+)\]\]")
_PICTURE = re.compile(r"^[^|#\]]+\.(?:png|jpe?g|gif|webp|svg|bmp|tiff?|heic|avif)\b",
                      re.IGNORECASE)
#: A footnote reference ("...in March.[^1]"): its note is read where it is defined, as
#: "Note 1: ..." (:data:`FOOTNOTE_DEFINITION`).
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\](?!:)")
FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:[ \t]*(.*)$")
#: Obsidian's block anchor at a line's end ("... details. ^block-id"), never shown.
_BLOCK_ID = re.compile(r"[ \t]+\^(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9-]{2,}$")
_TARGET = r"(?:<[^<>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)"
_TITLE = r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?"
_IMAGE = re.compile(rf"!\[([^\[\]\n]*)\](?:\(\s*{_TARGET}{_TITLE}\s*\)|\[[^\[\]\n]*\])")
_INLINE_LINK = re.compile(rf"\[([^\[\]\n]+)\]\(\s*{_TARGET}{_TITLE}\s*\)")
_REFERENCE_LINK = re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)>")
#: Inline HTML a Markdown page renders as nothing but its content (a line break as a space).
_HTML_TAG = re.compile(r"</?(?:a|abbr|b|br|cite|code|del|div|em|i|img|ins|kbd|mark|p|s|samp|"
                       r"small|span|strong|sub|sup|u|var)(?:\s[^<>\n]*)?/?>", re.IGNORECASE)
#: A link reference definition, which a rendered page never shows: ``[label]: url "title"``.
LINK_DEFINITION = re.compile(rf"^ {{0,3}}\[[^\[\]\n]+\]:\s*{_TARGET}{_TITLE}\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def render_markdown_inline(line: str) -> str:
    """A Markdown ``line`` as its rendered text reads: links and images as their text, no
    inline tags."""
    if not any(c in line for c in "[<^"):
        return line
    text, spans = _protect(_CODE_SPAN, line)
    text = _BLOCK_ID.sub("", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _WIKI_EMBED.sub(lambda m: "" if _PICTURE.search(m.group(1)) else f"[[{m.group(1)}]]",
                           text)
    text = _WIKI_LINK.sub(lambda m: (m.group(2) or m.group(1).split("#")[0] or m.group(1))
                          .strip(), text)
    text = _IMAGE.sub(r"\1", text)
    text = _INLINE_LINK.sub(r"\1", text)
    text = _REFERENCE_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(lambda m: " " if m.group(0)[1:3].lower() == "br" else "", text)
    return _restore(text, spans)


def _protect(code: re.Pattern[str], line: str) -> tuple[str, list[str]]:
    """``line`` with its code spans swapped for placeholders (no markup rule may touch code),
    and the spans, for :func:`_restore`. Control characters never reach here (the loaders
    strip them), so a NUL-delimited placeholder cannot clash with text."""
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    return code.sub(keep, line), spans


def _restore(text: str, spans: list[str]) -> str:
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)


#: ``literal`` (kept as written), a role with its text, a hyperlink reference with or without
#: its target (named ``_`` or anonymous ``__``).
_RST_LITERAL = re.compile(r"``.+?``")
_RST_ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)*:`([^`]+)`")
_RST_LINK = re.compile(r"`([^`<]*?)\s*(?:<[^<>`]*>)?`__?(?![\w])")
_RST_TARGET = re.compile(r"^(.*?)\s*<[^<>]*>$")


def _role_text(text: str) -> str:
    """What Sphinx shows for a role: its title, or the last part of a "~" target."""
    if match := _RST_TARGET.match(text):
        return match.group(1) or text
    return text[1:].rsplit(".", 1)[-1] if text.startswith("~") else text


def render_rst_inline(line: str) -> str:
    """A reStructuredText ``line`` as its rendered text reads: hyperlinks as their text
    (```RFC 7519 <https://...>`_`` -> "RFC 7519"), roles as their title."""
    if "`" not in line:
        return line
    text, spans = _protect(_RST_LITERAL, line)
    text = _RST_ROLE.sub(lambda m: _role_text(m.group(1)), text)
    text = _RST_LINK.sub(lambda m: m.group(1) or m.group(0), text)
    return _restore(text, spans)


def drop_comment(lines: list[str], i: int) -> tuple[str, int]:
    """Line ``i`` without its HTML comments; a comment left open runs on over the next lines.

    Returns what is left of the text and the index of the last line the comment used. An
    unclosed comment hides the rest of the file on a rendered page, but here it keeps its text:
    a stray ``<!--`` must not lose a document.
    """
    text = lines[i]
    end = i
    while True:
        text = _COMMENT.sub("", text)
        start = text.find("<!--")
        if start < 0:
            return text, end
        close = next((j for j in range(end + 1, len(lines)) if "-->" in lines[j]), None)
        if close is None:
            return text, end
        text = text[:start] + "<!--" + " ".join(lines[end + 1:close + 1])
        end = close
