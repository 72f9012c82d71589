"""HTML (and EPUB chapters) via BeautifulSoup + lxml: the page's own content, without chrome.

A saved web page is mostly navigation, cookie banners, scripts and footers; indexing those makes
every page of a site match every query about its menu. So boilerplate elements are removed first,
and when the page marks its content with ``<main>`` or ``<article>`` only that is kept. The rest
is walked in document order: h1-h6 become heading blocks, p/div text paragraphs, ul/ol list
blocks (with nesting), pre code blocks, tables table blocks whose rows carry their headers.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, Page
from engine.ingest.loaders.common import (
    clean_inline,
    clean_text,
    library_errors,
    list_block,
    read_bytes,
    split_long,
    table_blocks,
)

#: Elements that never hold the page's content.
_DROP = (
    "script", "style", "nav", "aside", "noscript", "form", "template", "iframe", "svg",
    "canvas", "button", "select", "input", "textarea", "object", "embed", "head",
)  # fmt: skip
#: Landmark roles of site chrome.
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu"}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
#: What a heading's permalink shows (nothing: an icon).
_PERMALINK_MARKS = {"", "¶", "#", "§", "🔗", "\u2693"}
#: Elements that break the inline flow (text before and after becomes separate paragraphs).
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "body", "html", "blockquote", "figure",
    "figcaption", "address", "details", "summary", "header", "footer", "center", "fieldset",
    "hr", "li", "dd", "dt", "caption", "legend",
}  # fmt: skip
_BR = "\x00BR\x00"


def _remove_chrome(soup: Any) -> None:
    from bs4 import Comment, Declaration, Doctype, ProcessingInstruction

    for node in soup.find_all(string=True):
        if isinstance(node, Comment | Doctype | Declaration | ProcessingInstruction):
            node.extract()
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all("a"):
        # A heading's permalink (Sphinx's and MkDocs' "headerlink", "¶"; "#", "§" elsewhere)
        # would end every heading and citation path with the symbol.
        classes = tag.get("class") or []
        if "headerlink" in classes or (tag.find_parent(list(_HEADINGS)) is not None
                                       and tag.get_text(strip=True) in _PERMALINK_MARKS):
            tag.decompose()
    for tag in soup.find_all(["header", "footer"]):
        if not tag.decomposed and tag.find_parent("article") is None:
            tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed or tag.attrs is None:
            continue
        role = str(tag.get("role") or "").lower()
        hidden = tag.has_attr("hidden") or str(tag.get("aria-hidden") or "").lower() == "true"
        if role in _DROP_ROLES or hidden or _HIDDEN_STYLE.search(str(tag.get("style") or "")):
            tag.decompose()


def _inline_text(tag: Any, skip: tuple[str, ...] = ()) -> str:
    """Text of an element with whitespace collapsed, ``<br>`` kept as a newline; subtrees named
    in ``skip`` (nested lists) are left out."""
    from bs4 import NavigableString

    parts: list[str] = []

    def visit(node: Any) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                parts.append(str(child))
            elif child.name == "br":
                parts.append(_BR)
            elif child.name not in skip:
                visit(child)
                if child.name in _BLOCK_TAGS or child.name in _HEADINGS:
                    parts.append(" ")

    visit(tag)
    return "\n".join(clean_inline(line) for line in "".join(parts).split(_BR)).strip()


class _Walker:
    """Walks the content tree, buffering inline text until a block element ends a paragraph."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._inline: list[str] = []

    def flush(self) -> None:
        text = "\n".join(clean_inline(s) for s in "".join(self._inline).split(_BR))
        self._inline = []
        text = clean_text(text)
        if text:
            self.blocks.extend(Block(p) for p in split_long(text))

    def walk(self, node: Any) -> None:
        from bs4 import NavigableString

        for child in node.children:
            if isinstance(child, NavigableString):
                self._inline.append(str(child))
                continue
            name = child.name
            if name == "br":
                self._inline.append(_BR)
            elif name in _HEADINGS:
                self.flush()
                text = _inline_text(child)
                if text:
                    self.blocks.append(Block(clean_inline(text), "heading", _HEADINGS[name]))
            elif name == "pre":
                self.flush()
                code = child.get_text().strip("\n")
                if code.strip():
                    self.blocks.extend(Block(p, "code") for p in split_long(code.rstrip()))
            elif name in ("ul", "ol"):
                self.flush()
                items: list[tuple[int, str]] = []
                _list_items(child, 0, items)
                block = list_block(items)
                if block:
                    self.blocks.extend(Block(p, "list") for p in split_long(block.text))
            elif name == "dl":
                self.flush()
                self._definition_list(child)
            elif name == "table":
                self.flush()
                rows, labelled = _table_rows(child)
                self.blocks.extend(table_blocks(rows, labelled=labelled or None))
            elif name in _BLOCK_TAGS:
                self.flush()
                self.walk(child)
                self.flush()
            elif name == "img":
                continue
            else:
                self.walk(child)

    def _definition_list(self, tag: Any) -> None:
        items: list[tuple[int, str]] = []
        term = ""
        for child in tag.find_all(["dt", "dd"]):
            if child.name == "dt":
                term = _inline_text(child)
            else:
                text = _inline_text(child)
                items.append((0, f"{term}: {text}" if term else text))
        block = list_block(items)
        if block:
            self.blocks.append(block)


def _list_items(list_tag: Any, depth: int, out: list[tuple[int, str]]) -> None:
    for li in list_tag.find_all("li", recursive=False):
        out.append((depth, _inline_text(li, skip=("ul", "ol"))))
        for nested in li.find_all(["ul", "ol"]):
            if nested.find_parent(["ul", "ol"]) is list_tag:
                _list_items(nested, depth + 1, out)


def _table_rows(table: Any) -> tuple[list[list[str]], bool]:
    """The table's cells by row, and whether each row is labelled by a header cell: every row
    of several cells starts with a ``<th>`` and holds a ``<td>`` ("Default:" | "Timeout 60",
    an infobox), with no row of column headers (all ``<th>``) above them."""
    rows: list[list[str]] = []
    labelled = True
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = tr.find_all(["th", "td"], recursive=False)
        rows.append([_inline_text(c) for c in cells])
        if len(cells) > 1 and not (cells[0].name == "th"
                                   and any(c.name == "td" for c in cells[1:])):
            labelled = False
    return rows, labelled and any(len(r) > 1 for r in rows)


def parse_html(markup: bytes | str) -> tuple[str | None, list[Block]]:
    """``(title, blocks)`` of an HTML/XHTML document; also used for EPUB chapters."""
    import bs4
    from bs4 import BeautifulSoup

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bs4.XMLParsedAsHTMLWarning)
        warnings.simplefilter("ignore", bs4.MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(markup, "lxml")
    title = clean_inline(soup.title.get_text()) if soup.title else ""
    _remove_chrome(soup)
    roots = soup.find_all("main") or soup.find_all("article")
    roots = [r for r in roots if r.find_parent(["main", "article"]) is None]
    walker = _Walker()
    for root in roots or [soup.body or soup]:
        walker.walk(root)
        walker.flush()
    blocks = walker.blocks
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading"), "")
    return title or None, blocks


def load_html(path: Path) -> Document:
    """HTML file -> one page of content blocks (encoding from BOM/meta/sniffing)."""
    data = read_bytes(path)
    with library_errors("HTML"):
        title, blocks = parse_html(data)
    return Document(path=str(path), format="html", pages=[Page(1, blocks)], title=title)
