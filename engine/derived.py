"""What a collection leaves outside its index, and forgetting it when the collection is removed.

Satchel keeps files derived from a collection's text beside its tables: drafted training
questions with their answering sentences, the journal of a stopped evaluation and the checkpoint
of a stopped training (in :func:`engine.paths.collection_cache`), and the copies of attachments
and archived documents opened from a citation (:func:`opened_copy_dir`). They quote (or, a
checkpoint's weights, learned) the user's documents, so a removed collection takes them along
(the privacy promise: nothing of its text is left behind).

Why content matching for older files: Satchels before drafted questions moved into the
collection's cache kept them, and stopped evaluations' journals, under hashed names in
``cache/drafted`` and ``cache/eval-journals``, which do not say whose they are. They are
recognised by what they quote: a reader draft by its chunk ids, a knowledge draft by its
sentences, a journal by the files its answers cite.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: How many of an older knowledge draft's sentences are looked up in the collection's text: a
#: draft is one collection's, so a few found sentences say whose it is.
SENTENCES_CHECKED = 20


def opened_copy_dir(path: str) -> Path:
    """The folder a part of a file (an attachment, a document in an archive) is copied out to
    when a citation opens it, keyed by the part's path."""
    from engine import paths

    return paths.cache_dir() / "opened" / hashlib.sha256(path.encode()).hexdigest()[:16]


def derived_files(name: str, coll: Any | None) -> list[Path]:
    """Every file and folder derived from collection ``name`` outside its tables (read only:
    the caller deletes them with :func:`delete` once the tables are gone). ``coll``, the open
    collection, finds the opened copies of its documents and older Satchels' files; None (its
    tables unreadable) gives its own cache folder only."""
    from engine import paths

    found = [paths.collection_cache(name)]
    if coll is None:
        return found
    documents = set(coll.documents())
    found += [folder for folder in map(opened_copy_dir, documents) if folder.is_dir()]
    older = older_files()
    if older:
        found += older_files_of(older, name, CollectionText(coll), documents)
    return found


def delete(found: Iterable[Path]) -> None:
    """Delete files and folders (gone already is fine)."""
    for path in found:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def older_files() -> list[Path]:
    """Drafts and evaluation journals kept under hashed names by older Satchels."""
    from engine import paths

    found: list[Path] = []
    for sub, patterns in (("drafted", ("*.jsonl", "*.json")), ("eval-journals", ("*.jsonl",))):
        folder = paths.cache_dir() / sub
        if folder.is_dir():
            found += [p for pattern in patterns for p in sorted(folder.glob(pattern))]
    return found


class CollectionText:
    """A collection's chunk ids and texts, read once and only when a file needs them."""

    def __init__(self, coll: Any) -> None:
        self.coll = coll
        self._ids: set[str] | None = None
        self._texts: Any = None

    def _column(self, name: str) -> Any:
        chunks = self.coll.chunks
        if not chunks.count_rows():
            return None
        return chunks.search().select([name]).limit(None).to_arrow()[name]

    def ids(self) -> set[str]:
        if self._ids is None:
            column = self._column("chunk_id")
            self._ids = set(column.to_pylist()) if column is not None else set()
        return self._ids

    def holds(self, sentence: str) -> bool:
        """Whether a chunk's text contains ``sentence`` (as drafting saw it)."""
        import pyarrow.compute as pc

        if self._texts is None:
            self._texts = self._column("text")
        if self._texts is None or not sentence:
            return False
        return bool(pc.any(pc.match_substring(self._texts, sentence)).as_py())


def older_files_of(files: Iterable[Path], name: str, text: CollectionText,
                   documents: set[str]) -> list[Path]:
    """Those of ``files`` (:func:`older_files`) that quote this collection."""
    mine: list[Path] = []
    for path in files:
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if path.parent.name == "eval-journals":
            quotes = _journal_cites(raw, name, documents)
        elif path.suffix == ".json":
            quotes = _knowledge_quotes(raw, text.holds)
        else:
            quotes = bool(_chunk_ids(raw) & text.ids())
        if quotes:
            mine.append(path)
    return mine


def _rows(raw: str) -> Iterable[dict[str, Any]]:
    for line in raw.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if isinstance(row, dict):
            yield row


def _chunk_ids(raw: str) -> set[str]:
    """A reader draft's (or drafting journal's) chunk ids, wherever a row keeps them."""
    ids: set[str] = set()
    for row in _rows(raw):
        ids.add(str(row.get("chunk_id", "")))
        for item in row.get("items") or []:
            if isinstance(item, dict):
                extra = item.get("extra") or {}
                ids.add(str(item.get("chunk_id") or extra.get("chunk_id") or ""))
    ids.discard("")
    return ids


def _knowledge_quotes(raw: str, holds: Callable[[str], bool]) -> bool:
    """A knowledge draft maps "fact<US>sentence" to questions: is a sentence from here?"""
    try:
        drafts = json.loads(raw)
    except json.JSONDecodeError:
        return False
    if not isinstance(drafts, dict):
        return False
    sentences = [key.split("\x1f", 1)[1] for key in drafts if "\x1f" in key]
    return any(holds(s) for s in sentences[:SENTENCES_CHECKED])


def _journal_cites(raw: str, name: str, documents: set[str]) -> bool:
    """An evaluation journal's rows name the collection answered from and the files retrieved
    and cited: is it this collection's?"""
    for row in _rows(raw):
        answer = row.get("answer") or {}
        retrieval = row.get("retrieval") or {}
        if answer.get("collection") == name:
            return True
        shown = [*(answer.get("sources") or []), *(retrieval.get("ranked") or [])]
        if any(isinstance(s, dict) and s.get("path") in documents for s in shown):
            return True
    return False
