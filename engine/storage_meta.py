"""Collection metadata where the index lives: ``collections.json``, or a row in the object store.

Locally, ``collections.json`` in the index folder, replaced atomically; an ``fcntl`` lock now
serialises read-modify-write across processes, so two collections indexed at once both keep their
entry.

On an object store (:mod:`engine.storage`), shared by several machines, a local file and a local
lock will not do: the metadata is one row of a LanceDB table (``_satchel_meta``) next to the
collections' tables: ``collections`` (the same JSON that ``collections.json`` holds), ``leases``
and a revision number. Every change is a compare-and-swap: ``update(... WHERE rev = n)`` that
sets ``rev = n + 1``. Lance commits with conditional puts and re-evaluates the predicate when it
retries a conflicting commit, so of two writers that read ``n`` exactly one updates the row; the
other re-reads and applies its change again (:func:`update_meta`). Writers of two different
collections therefore both succeed, one after a retry. Measured on a local folder, where Lance's
commits are truly atomic: 3 processes x 15 changes at once gave revision 45 with all 45 changes.

The row also holds the writer leases (:mod:`engine.storage_lease`), so taking a lease and
changing metadata are the same kind of atomic step.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from engine import paths
from engine.storage import (
    READ_TTL_S,
    Location,
    StorageError,
    connect,
    explain,
    local_folder,
    location,
)

T = TypeVar("T")

META_TABLE = "_satchel_meta"
META_KEY = "library"
#: Compare-and-swap attempts before a metadata change gives up (each re-reads the row).
META_ATTEMPTS = 60
#: Every change is a Lance version, and finding the latest lists them all: reading the row took
#: 11 ms at a few versions and 200-350 ms at 150 (moto, 2 loaded cores). So every PRUNE_EVERY
#: revisions the writer of that revision deletes versions older than PRUNE_AFTER (a lease's
#: heartbeat alone makes one every ten seconds). Nothing reads an old version of this table.
PRUNE_EVERY = 50
PRUNE_AFTER = timedelta(seconds=30)

_lock = threading.RLock()


def forget(loc: Location | None = None) -> None:
    """Drop the cached metadata reads of ``loc``, or every cached read and table handle."""
    with _lock:
        if loc is None:
            _meta_reads.clear()
            _meta_tables.clear()
        else:
            _meta_reads.pop(loc, None)


def meta_file(loc: Location) -> Path:
    return local_folder(loc) / "collections.json"


def read_meta(loc: Location | None = None) -> dict[str, dict[str, Any]]:
    """Every collection's metadata (name -> fields), from wherever the index lives."""
    loc = loc or location()
    if loc.remote:
        return read_remote(loc, max_age_s=READ_TTL_S)[1]
    return _read_local(meta_file(loc))[0]


def _read_local(file: Path) -> tuple[dict[str, dict[str, Any]], bool]:
    """The metadata in ``file`` and whether the file itself was read (else its copy was)."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            return raw, True
        reason = "not a JSON object"
    except FileNotFoundError:
        return {}, True
    except (OSError, ValueError) as exc:
        reason = str(exc)
    try:  # damaged (a disk error, a sync tool): its copy, written with it, holds the same
        raw = json.loads(_copy_of(file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = None
    if not isinstance(raw, dict):
        raise StorageError(f"index metadata {file} is unreadable: {reason}")
    return raw, False


def _copy_of(file: Path) -> Path:
    """The copy of ``collections.json`` written after it at each change: one damaged file does
    not make every collection unreadable."""
    return file.with_name(file.name + ".copy")


def update_meta(change: Callable[[dict[str, dict[str, Any]]], T],
                loc: Location | None = None) -> T:
    """Apply ``change`` to the collections' metadata atomically; returns what it returns.

    ``change`` may run more than once (a remote compare-and-swap that lost re-reads and calls
    it again), so it must only edit the dict it is given. Locally an ``fcntl`` lock serialises
    read-modify-write across processes, so two collections indexed at once both keep their
    entry; the file is replaced atomically as before.
    """
    loc = loc or location()
    if loc.remote:
        return update_remote(loc, lambda colls, leases: change(colls))
    file = meta_file(loc)
    with open(local_folder(loc) / ".collections.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        raw, healthy = _read_local(file)
        before = copy.deepcopy(raw)
        result = change(raw)
        if raw != before or not healthy or not _copy_of(file).exists():
            text = json.dumps(dict(sorted(raw.items())), indent=2)
            paths.atomic_write_text(file, text)
            paths.atomic_write_text(_copy_of(file), text)
    return result


_meta_tables: dict[Location, Any] = {}


def _meta_table(loc: Location, create: bool) -> Any | None:
    """The metadata table (cached handle); None when it does not exist and ``create`` is off."""
    import pyarrow as pa

    with _lock:
        table = _meta_tables.get(loc)
    if table is not None:
        return table
    db = connect(loc)
    try:
        table = db.open_table(META_TABLE)
    except (ValueError, FileNotFoundError):
        if not create:
            return None
        row = pa.table({"key": [META_KEY], "rev": pa.array([0], pa.int64()),
                        "collections": ["{}"], "leases": ["{}"]})
        try:
            table = db.create_table(META_TABLE, data=row, mode="create")
        except ValueError:  # another process created it a moment ago
            table = db.open_table(META_TABLE)
    with _lock:
        return _meta_tables.setdefault(loc, table)


_meta_reads: dict[Location, tuple[float, tuple[int, str, str]]] = {}


def read_remote(loc: Location, max_age_s: float = 0.0
                ) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """(revision, collections, leases) as committed last, or as read at most ``max_age_s`` ago;
    (-1, {}, {}) before the first write. Every fresh read replaces the cached one."""
    with _lock:
        cached = _meta_reads.get(loc)
    if cached and time.monotonic() - cached[0] <= max_age_s:
        rev, colls, leases = cached[1]
        return rev, json.loads(colls), json.loads(leases)
    read_at = time.monotonic()
    try:
        table = _meta_table(loc, create=False)
        if table is None:
            return -1, {}, {}
        table.checkout_latest()
        rows = table.to_arrow().to_pylist()
    except StorageError:
        raise
    except Exception as exc:
        raise StorageError(explain(exc, loc)) from None
    rows = [r for r in rows if r["key"] == META_KEY]
    if len(rows) != 1:
        raise StorageError(f"index metadata at {loc.display} is damaged ({len(rows)} rows)")
    row = rows[0]
    _remember_read(loc, read_at, int(row["rev"]), row["collections"], row["leases"])
    return int(row["rev"]), json.loads(row["collections"]), json.loads(row["leases"])


def _remember_read(loc: Location, read_at: float, rev: int, colls: str, leases: str) -> None:
    with _lock:
        cached = _meta_reads.get(loc)
        if cached is None or cached[1][0] <= rev:
            _meta_reads[loc] = (read_at, (rev, colls, leases))


_cas_locks: dict[Location, threading.Lock] = {}


def update_remote(loc: Location, change: Callable[[dict[str, Any], dict[str, Any]], T]) -> T:
    """Compare-and-swap ``change(collections, leases)`` into the metadata row, retrying on a
    lost race (see the module docstring). Nothing is written when nothing changed.

    Threads of one process (a writer and its lease's heartbeat) take turns here: they would
    only cost each other retries, and an object store whose conditional put is not atomic
    (moto's) could let two of them both "win"; processes and machines rely on the CAS.
    """
    with _lock:
        cas_lock = _cas_locks.setdefault(loc, threading.Lock())
    with cas_lock:
        return _update_remote(loc, change)


def _update_remote(loc: Location, change: Callable[[dict[str, Any], dict[str, Any]], T]) -> T:
    import random

    for attempt in range(META_ATTEMPTS):
        rev, colls, leases = read_remote(loc)
        before = (copy.deepcopy(colls), copy.deepcopy(leases))
        result = change(colls, leases)
        if (colls, leases) == before:
            return result
        try:
            table = _meta_table(loc, create=True)
            if rev < 0:  # the row was just created empty: apply the change on top of it
                continue
            written = (json.dumps(dict(sorted(colls.items()))), json.dumps(leases))
            done = table.update(where=f"key = '{META_KEY}' AND rev = {rev}", values={
                "rev": rev + 1, "collections": written[0], "leases": written[1]})
            if done.rows_updated == 1:
                _remember_read(loc, time.monotonic(), rev + 1, *written)
                if (rev + 1) % PRUNE_EVERY == 0:
                    _prune(table)
                return result
        except StorageError:
            raise
        except Exception as exc:
            if "onflict" not in str(exc) and "retry" not in str(exc).lower():
                raise StorageError(explain(exc, loc)) from None
        time.sleep(random.uniform(0.01, 0.05) * min(attempt + 1, 10))  # another writer won
    raise StorageError(f"index metadata at {loc.display}: too many concurrent changes, try again")


def _prune(table: Any) -> None:
    """Delete the metadata table's old versions (best effort: a failure only costs read time)."""
    with contextlib.suppress(Exception):
        table.optimize(cleanup_older_than=PRUNE_AFTER)
