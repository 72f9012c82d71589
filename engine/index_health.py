"""A collection whose index files are damaged or missing: one line, out of the others' way, rebuilt.

Why: a disk error, a backup restored half-way or a sync tool that copied a folder while it was
written can leave a collection's LanceDB files truncated or missing. Found by damaging them on
purpose: every command then ended in a traceback from LanceDB's Rust reader ("failed to fill
whole buffer", "Not found: .../data/...lance", "file size is too small"), ``satchel
collections`` failed for *every* collection when one was damaged, and re-indexing failed the
same way, so the only way out was removing the collection and remembering its folders.

* Reads of a damaged collection raise :class:`CollectionDamaged`: one line that says what to
  do (:func:`reading` turns LanceDB's errors into it).
* Listings show the damaged collection as damaged and the others as usual
  (:func:`counts_or_damage`).
* Re-indexing rebuilds it: the run finds the current generation unreadable, starts a new one
  and reads every file and folder the collection was built from into it, exactly as a rebuild
  for new settings does (:mod:`engine.indexer`); the damaged tables go when it completes.

A full disk is not damage (:func:`engine.errors.storage_full` says that one).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

from engine.errors import SatchelError, storage_full

P = ParamSpec("P")
R = TypeVar("R")

#: How LanceDB 0.2x spells a file it cannot read: truncated, missing, or not a Lance file.
_DAMAGE = re.compile(r"lance error: (?:LanceError\((?:IO|Corrupt\w*)\)|Not found:)"
                     r"|failed to fill whole buffer|file size is too small|Corrupt file")


class CollectionDamaged(SatchelError):
    """A collection whose tables cannot be read; ``reason`` says what was found."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"collection {name!r} is damaged ({reason}): re-index it to rebuild "
                         f"it from its files (satchel index --collection {name}, or Re-index "
                         "in the Library)")


def damage_reason(exc: BaseException) -> str | None:
    """What is wrong, when ``exc`` says a collection's files are damaged or missing; None for
    anything else (a full disk included)."""
    if isinstance(exc, CollectionDamaged):
        return exc.reason
    if not isinstance(exc, RuntimeError | OSError | ValueError) or storage_full(exc, "."):
        return None
    text = str(exc)
    if not _DAMAGE.search(text):
        return None
    if "Not found" in text:
        return "an index file is missing"
    return "an index file is damaged"


@contextlib.contextmanager
def reading(name: str) -> Iterator[None]:
    """Reads of collection ``name`` inside raise :class:`CollectionDamaged` for damage."""
    try:
        yield
    except CollectionDamaged:
        raise
    except (RuntimeError, OSError, ValueError) as exc:
        reason = damage_reason(exc)
        if reason is None:
            raise
        raise CollectionDamaged(name, reason) from exc


def reads_collection(method: Callable[Concatenate[Any, P], R]) -> Callable[Concatenate[Any, P], R]:
    """Decorate a :class:`engine.index.Collection` method that reads its tables: damage
    raises :class:`CollectionDamaged` for every caller (search, listing, drafting, training)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: P.args, **kwargs: P.kwargs) -> R:
        with reading(self.meta.name):
            return method(self, *args, **kwargs)

    return wrapper


def counts_or_damage(meta: Any) -> tuple[int, int, str]:
    """(documents, chunks, "") of a collection, or (0, 0, reason) when it is damaged: one
    damaged collection does not hide the others from a listing."""
    from engine.index import Collection

    try:
        with reading(meta.name):
            collection = Collection(meta)
            return collection.count_documents(), collection.count_chunks(), ""
    except CollectionDamaged as exc:
        return 0, 0, exc.reason
