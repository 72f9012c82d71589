"""SVG drawings (.svg, .svgz): diagrams, charts and infographics, read by the text they hold.

An SVG keeps its labels as text (``<text>``, with ``<tspan>`` lines), unlike a PNG of the same
diagram, so nothing needs OCR: the words are read from the XML, in document order, one block per
label. Also read: the drawing's ``<title>`` and ``<desc>``, Inkscape's flowed text
(``<flowRoot>``/``<flowPara>``) and HTML labels in ``<foreignObject>`` (draw.io, diagrams.net).
Styles, scripts, metadata and definitions are not text of the drawing.

A ``<switch>`` shows the first of its children the viewer supports; draw.io puts each label there
twice, as HTML and as a plain ``<text>`` fallback (and a "Text is not SVG" warning behind an
empty group), so only a switch's first child is read, as a viewer that supports it all shows.

Many SVGs hold no text at all (icons, logos, letters turned into outlines) or only an icon's
name: those are skipped ("nothing to read"), not failed. Parsed with lxml without entity
expansion or network access, and a compressed .svgz is unpacked only up to
:data:`MAX_SVG_BYTES`.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, LoadError, NothingToRead, Page
from engine.ingest.loaders.common import clean_inline, local_name, read_bytes

#: Largest SVG read (a .svgz is unpacked up to this): a diagram is kilobytes; a huge SVG is map
#: or plot data whose text, if any, is not worth the memory.
MAX_SVG_BYTES = 64 * 1024 * 1024
#: Fewer words than this is an icon's or a logo's name ("Close", "Search", a brand): a saved web
#: page's folder holds dozens, and each would be a one-word document matching every search for
#: that word.
MIN_WORDS = 4
_SKIP = frozenset({"style", "script", "metadata", "defs", "symbol", "clipPath", "mask",
                   "pattern", "marker", "linearGradient", "radialGradient", "filter"})
#: Elements whose text is one label: everything under them is joined into one block.
_LABELS = frozenset({"text", "flowRoot", "foreignObject", "title", "desc"})
#: Inside a label, these start a new line of it (a multi-line label keeps its lines).
_LINES = frozenset({"flowPara", "p", "div", "br", "li"})


def _label_text(element: Any) -> str:
    """The words of one label: its lines joined by newlines, spaces inside a line collapsed."""
    lines: list[str] = [""]

    def walk(node: Any) -> None:
        name = local_name(node)
        if name in _LINES or (name == "tspan" and (node.get("x") is not None or node.get(
                "dy") not in (None, "0") or node.get(
                "{http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd}role") == "line")):
            lines.append("")
        if node.text and name not in _SKIP:
            lines[-1] += node.text
        for child in node:
            walk(child)
            if child.tail:
                lines[-1] += child.tail

    walk(element)
    return "\n".join(t for t in (clean_inline(line) for line in lines) if t)


def _svg_bytes(path: Path) -> bytes:
    data = read_bytes(path)
    if data[:2] != b"\x1f\x8b":
        if len(data) > MAX_SVG_BYTES:
            raise LoadError(f"SVG too large to read (over {MAX_SVG_BYTES // 2**20} MB)")
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            out = fh.read(MAX_SVG_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError("corrupt compressed SVG (damaged gzip stream)") from exc
    if len(out) > MAX_SVG_BYTES:
        raise LoadError(f"SVG too large to read (over {MAX_SVG_BYTES // 2**20} MB unpacked)")
    return out


def load_svg(path: Path) -> Document:
    """SVG -> one page, a block per label (the title first, as the document's title)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False)
    try:
        root = etree.fromstring(_svg_bytes(path), parser)
    except etree.XMLSyntaxError as exc:
        raise LoadError(f"corrupt SVG (not well-formed XML: {str(exc)[:80]})") from exc
    if root is None or local_name(root) != "svg":
        raise LoadError("not an SVG image (its root element is not <svg>)")
    title = ""
    blocks: list[Block] = []

    def visit(node: Any) -> None:
        name = local_name(node)
        if name in _SKIP or not name:
            return
        if name in _LABELS:
            text = _label_text(node)
            if text:
                nonlocal title
                if name == "title" and node.getparent() is root and not title:
                    title = text
                blocks.append(Block(text, kind="heading", level=1) if name == "title" else
                              Block(text))
            return
        if name == "switch":  # the first child is what a viewer that supports it all shows
            first = next((child for child in node if local_name(child)), None)
            if first is not None:
                visit(first)
            return
        for child in node:
            visit(child)

    visit(root)
    if not blocks:
        raise NothingToRead("no text in this drawing (its letters may be drawn as outlines)")
    if sum(len(b.text.split()) for b in blocks) < MIN_WORDS:
        raise NothingToRead("only a word or two in this drawing (an icon or a logo)")
    return Document(path=str(path), format="svg", pages=[Page(1, blocks)],
                    title=title or None, metadata={"labels": str(len(blocks))})
