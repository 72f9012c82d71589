"""The resume journal of an evaluation: finished rows, appended and fsynced one by one.

Why a journal and not a checkpoint of the whole run: a row is the unit of work (one answer, a
few seconds), so appending it costs a millisecond and a crash, Ctrl-C or ``kill -9`` loses at most
the answer being generated. The file lives in the cache under a hash of everything that decides
an answer (model file, adapter file, collection version, settings, seed): running the same
command again finds it and continues; changing any of those starts afresh instead of mixing
answers from two set-ups. Rows are keyed by the question's content, not its line, so reordering
the question file keeps them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

JOURNAL_VERSION = 1


class Journal:
    """Finished rows as JSON Lines, fsynced per row; a torn last line (a kill) is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[tuple[str, str], dict[str, Any]]:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        if not self.path.is_file():
            return rows
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    rows[(row["key"], row["mode"])] = row
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return rows

    def append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def journal_path(fingerprint: dict[str, Any], collection: str | None = None) -> Path:
    """The journal for a run set-up: ``eval-journals/<hash of fingerprint>.jsonl`` in the cache,
    in the collection's own cache when the run reads one (its answers quote the documents, and
    go when the collection is removed: :func:`engine.paths.collection_cache`)."""
    from engine.paths import cache_dir, collection_cache

    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:20]
    folder = collection_cache(collection) if collection else cache_dir()
    return folder / "eval-journals" / f"{digest}.jsonl"


def file_id(path: str | os.PathLike[str]) -> list[Any]:
    """Path, size and mtime: changes when the file is replaced, cheap unlike a hash."""
    st = os.stat(path)
    return [str(path), st.st_size, st.st_mtime_ns]
