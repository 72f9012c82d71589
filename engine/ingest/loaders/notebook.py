"""Jupyter notebooks (.ipynb): the prose, the code and what the code printed.

A notebook is JSON, but read as JSON its text would come out as ``cells.3.source.0: ...`` lines
with every output image's base64 in between. Read as a notebook: a Markdown cell is Markdown
(its headings are headings, so citations name the section), a code cell is a code block (fenced
with the notebook's language), and a code cell's text output follows it ("Output: ...", cut at
:data:`MAX_OUTPUT_CHARS`: a printed table or a traceback is worth finding, a 10,000-line log is
not). Images, HTML and widget outputs are left out. Both the current format (nbformat 4) and the
older one (nbformat 3, cells in worksheets, heading cells) are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.ingest.document import Block, Document, LoadError, NothingToRead, Page
from engine.ingest.loaders.common import first_heading, library_errors
from engine.ingest.loaders.text import parse_markdown, read_text

#: Longest text output kept after a code cell.
MAX_OUTPUT_CHARS = 1500


def _text(value: Any) -> str:
    """A notebook string: a string, or a list of lines (nbformat stores both)."""
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _output_text(output: Any) -> str:
    if not isinstance(output, dict):
        return ""
    kind = output.get("output_type")
    if kind == "stream":
        return _text(output.get("text"))
    if kind == "error" or kind == "pyerr":
        return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    data = output.get("data") if isinstance(output.get("data"), dict) else output
    if any(isinstance(k, str) and k.startswith("image/") for k in data):
        return ""  # a plot: its text/plain is only a placeholder ("<Figure size 640x480>")
    return _text(data.get("text/plain") if "text/plain" in data else data.get("text"))


def _cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(notebook.get("cells"), list):
        return [c for c in notebook["cells"] if isinstance(c, dict)]
    return [c for sheet in notebook.get("worksheets") or [] if isinstance(sheet, dict)
            for c in sheet.get("cells") or [] if isinstance(c, dict)]  # nbformat 3


def _language(notebook: dict[str, Any]) -> str:
    meta = notebook.get("metadata") if isinstance(notebook.get("metadata"), dict) else {}
    for section, key in (("language_info", "name"), ("kernelspec", "language")):
        info = meta.get(section)
        if isinstance(info, dict) and isinstance(info.get(key), str):
            return info[key]
    return ""


def notebook_blocks(notebook: dict[str, Any]) -> list[Block]:
    """The blocks of a parsed notebook, cell by cell."""
    language = _language(notebook)
    blocks: list[Block] = []
    for cell in _cells(notebook):
        kind = cell.get("cell_type")
        source = _text(cell.get("source", cell.get("input"))).strip()
        if kind == "markdown" and source:
            blocks += parse_markdown(source)
        elif kind == "heading" and source:  # nbformat 3
            level = cell.get("level") if isinstance(cell.get("level"), int) else 1
            blocks.append(Block(source, kind="heading", level=max(1, min(6, level))))
        elif kind == "code":
            if source:
                blocks.append(Block(f"```{language}\n{source}\n```", kind="code"))
            printed = "\n".join(t.strip("\n") for t in map(_output_text, cell.get("outputs")
                                                           or []) if t.strip())
            if printed:
                cut = printed[:MAX_OUTPUT_CHARS] + (" …" if len(printed) > MAX_OUTPUT_CHARS
                                                    else "")
                blocks.append(Block(f"Output: {cut}"))
        elif kind == "raw" and source:
            blocks.append(Block(source))
    return blocks


def load_notebook(path: Path) -> Document:
    """An .ipynb file -> one page of Markdown, code and output blocks, in cell order."""
    text, encoding = read_text(path)
    with library_errors("notebook"):
        try:
            notebook = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadError(f"corrupt notebook (not JSON: {exc.msg} at line {exc.lineno})") from exc
    if not isinstance(notebook, dict) or not ("cells" in notebook or "worksheets" in notebook):
        raise LoadError("not a Jupyter notebook (no cells; mislabelled?)")
    blocks = notebook_blocks(notebook)
    if not blocks:
        raise NothingToRead("an empty notebook (no text or code in its cells)")
    meta = {"encoding": encoding, "cells": str(len(_cells(notebook)))}
    if language := _language(notebook):
        meta["language"] = language
    return Document(path=str(path), format="notebook", pages=[Page(1, blocks)],
                    title=first_heading(blocks), metadata=meta)
