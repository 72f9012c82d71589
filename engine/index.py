"""The LanceDB store: named collections, each a documents table and a chunks table.

Why this shape:
- A collection records the embedder that filled it (name, folder, dimension) and the files and
  folders it was built from (its *sources*). Queries use that embedder, whatever the settings say
  now. Indexing with another embedder or chunk size starts a *pending generation* of tables and
  re-embeds every source into it while the current generation keeps answering searches; when the
  rebuild is complete one atomic metadata write makes it current. A cancelled or killed rebuild
  stays pending and the next index run resumes it (the incremental diff skips what it committed),
  so a settings change never empties a collection.
- A batch of files is committed with one ``merge_insert`` on ``chunk_id`` that also deletes the
  batch's stale rows (``when_not_matched_by_source_delete``): one LanceDB commit, so a file's chunks
  appear all at once or not at all. Chunk ids are deterministic (path, ordinal, content hash), so a
  run repeated after a crash rewrites identical rows instead of adding duplicates.
- Chunks are committed before their documents rows. After a kill -9 between the two, the document
  still looks changed (or new) and the next run redoes it; chunks of a path with no document row
  that is also gone from disk are orphans and are removed by :meth:`Collection.remove_paths`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from engine import storage, storage_meta
from engine.cjk_terms import PIECES_SQL_PATTERN, PIECES_VERSION, searchable
from engine.errors import SatchelError
from engine.index_health import CollectionDamaged, reading, reads_collection
from engine.ingest.scan import is_under

if TYPE_CHECKING:
    import pyarrow as pa

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Rows above which an approximate vector index pays for itself (flat search is exact below).
VECTOR_INDEX_MIN_ROWS = 20_000
#: The vector index is IVF_FLAT: k-means partitions holding the full vectors, so a search is exact
#: within the partitions it probes. Measured at 100k chunks on 2 loaded cores: built in ~9 s,
#: searched in ~8 ms with recall@5 0.99 against an exact search, where IVF_PQ (48 sub-vectors) took
#: 150 s to build and reached recall@5 0.79-0.86 at the same latency even with refine_factor 4-10
#: (PQ codes cannot rank near-duplicate chunks). The price is disk: the index holds a second copy
#: of the vectors (~150 MB per 100k 384-d chunks). Its name records the partition count, which the
#: search needs to probe a fixed share of the partitions.
VECTOR_INDEX_PREFIX = "vector_ivf_flat_p"
#: Share of the partitions a query probes (recall@5 0.95 at 10%, 0.99 at 20%, measured at 100k).
NPROBE_FRACTION = 0.2
#: Re-train the partitions when the table has grown this many times past the rows they were built
#: for (new rows join existing partitions, which grow, and so does the cost of probing them).
VECTOR_INDEX_REBUILD_GROWTH = 4


class IndexError_(SatchelError):
    """A collection that does not exist, a bad name, or a collection busy in another process."""


@dataclass
class CollectionMeta:
    """What ``collections.json`` (or the object store's metadata row) records for one
    collection."""

    name: str
    embedder: str
    embedder_path: str
    dim: int
    generation: int = 1
    created: str = ""
    chunk_tokens: int = 0
    chunk_overlap: int = 0
    #: absolute files and folders added to the collection (a rebuild re-embeds all of them)
    sources: list[str] = field(default_factory=list)
    #: the generation being rebuilt for new settings (a CollectionMeta as a dict), if any
    rebuild: dict[str, Any] | None = None

    @property
    def layout(self) -> tuple[str, int, int, int]:
        """What the chunks were made with: a different layout needs a new generation."""
        return (self.embedder_path, self.dim, self.chunk_tokens, self.chunk_overlap)

    def pending(self) -> CollectionMeta | None:
        """The generation a rebuild is filling, or None."""
        if not self.rebuild:
            return None
        return CollectionMeta(**{**self.rebuild, "name": self.name, "sources": self.sources,
                                 "rebuild": None})

    def generation_fields(self) -> dict[str, Any]:
        """This generation's own fields (for recording it as another meta's ``rebuild``)."""
        return {k: v for k, v in asdict(self).items() if k not in ("sources", "rebuild")}

    def owns_table(self, table: str) -> bool:
        """True for any generation's table of this collection (not of ``<name>__x``)."""
        return re.fullmatch(rf"{re.escape(self.name)}__(docs|chunks)__g\d+", table) is not None

    @property
    def docs_table(self) -> str:
        return f"{self.name}__docs__g{self.generation}"

    @property
    def chunks_table(self) -> str:
        return f"{self.name}__chunks__g{self.generation}"


def chunk_id(path: str, ordinal: int, content_hash: str) -> str:
    """Deterministic id: the same file content always yields the same ids (idempotent re-runs)."""
    return hashlib.sha1(f"{path}\x00{ordinal}\x00{content_hash}".encode()).hexdigest()[:20]


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def sql_str(value: str) -> str:
    """A SQL string literal for LanceDB filters (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def search_text(heading: str, text: str) -> str:
    """What the full-text (BM25) index reads of a chunk: its heading path, then its text.

    Why: a question often names the section rather than words of the passage ("Which
    configuration variable ...", "which option of git commit ..."), and the section's heading
    says it once for all its chunks. On the three development sets of benchmarks/realdocs (170
    questions, each set's own pages), the chunk that holds the answer came first for 143
    questions with headings in the BM25 text against 139 without (4 better, none worse); the
    document title in front of the path measured the same. The heading is not embedded: in
    the vectors it churned (as many questions worse as better, issue 16's study).

    Chinese, Japanese and Korean are written as two-character pieces, Thai, Lao, Khmer and
    Burmese as pieces of two letter clusters (:func:`engine.cjk_terms.searchable`), so their
    words can be found at all; any other text is kept as it is.
    """
    return searchable(f"{heading}\n{text}" if heading else text)


#: :func:`search_text` as a LanceDB SQL expression over a chunks row, for rows without letters
#: written as pieces: it fills the column in a chunks table from an older Satchel, without
#: reading or embedding anything again (:meth:`Collection.finalize` writes the others' pieces).
SEARCH_TEXT_SQL = "concat_ws('\n', nullif(heading, ''), text)"
#: The column the full-text index is built on, and the one older Satchels built it on.
TEXT_INDEX_COLUMN = "search_text"
OLD_TEXT_INDEX_COLUMN = "text"
#: The names of full-text indexes built on pieces, by :data:`engine.cjk_terms.PIECES_VERSION`:
#: an index on ``search_text`` under another name is an older Satchel's, whose rows hold whole
#: runs (searched with the question as typed, or as that version's pieces, until the next index
#: run rewrites those rows and builds the current one).
TEXT_INDEX_NAMES = {"search_text_cjk_pieces": 1, "search_text_pieces_v2": 2}
TEXT_INDEX_NAME = next(n for n, v in TEXT_INDEX_NAMES.items() if v == PIECES_VERSION)


def chunks_schema(dim: int) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field("chunk_id", pa.string()), pa.field("path", pa.string()),
        pa.field("page", pa.int32()), pa.field("start", pa.int32()), pa.field("end", pa.int32()),
        pa.field("ordinal", pa.int32()), pa.field("heading", pa.string()),
        pa.field("text", pa.string()), pa.field("content_hash", pa.string()),
        pa.field("doc_hash", pa.string()), pa.field("tokens", pa.int32()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field(TEXT_INDEX_COLUMN, pa.string()),
    ])


def docs_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field("path", pa.string()), pa.field("content_hash", pa.string()),
        pa.field("size", pa.int64()), pa.field("mtime_ns", pa.int64()),
        pa.field("format", pa.string()), pa.field("title", pa.string()),
        pa.field("pages", pa.int32()), pa.field("chunks", pa.int32()),
        pa.field("status", pa.string()), pa.field("error", pa.string()),
        pa.field("indexed_at", pa.string()), pa.field("loader", pa.string()),
        pa.field("reader", pa.string()),
    ])


@dataclass(frozen=True)
class DocRecord:
    """One row of the documents table (status "ok", "failed" or "empty": a file without
    words, a photo, reported as skipped)."""

    path: str
    content_hash: str
    size: int
    mtime_ns: int
    format: str = ""
    title: str = ""
    pages: int = 0
    chunks: int = 0
    status: str = "ok"
    error: str = ""
    indexed_at: str = ""
    #: what read the file ("python-docx", "... + OCR on 2 of 5 pages"); "" in older indexes
    loader: str = ""
    #: the revisions of the readers that read it (:mod:`engine.ingest.revisions`); a file whose
    #: tag is not today's is read again; "" in older indexes
    reader: str = ""


def outdated(docs: dict[str, DocRecord], *, ocr: bool = False) -> list[str]:
    """Of these documents rows, the files the next index run reads again
    (:mod:`engine.ingest.revisions`): read by an earlier revision of their readers, or by a
    reader that no longer reads their name (or the name of one of their parts: a .tex in a
    zip), or, with ``ocr`` on, with scanned pages left unread while OCR was off. A file's own
    row decides: its tag names what read it and its parts."""
    from engine.ingest.document import container_of
    from engine.ingest.revisions import is_current

    stale = set()
    for path, doc in docs.items():
        holder = docs.get(container_of(path))
        if doc.status == "ok" and holder and not is_current(holder.reader, ocr=ocr, path=path):
            stale.add(holder.path)
    return sorted(stale)


def connect() -> Any:
    """The LanceDB connection for the current data dir's index (cached per location; the data
    dir's folder, or an object store: :mod:`engine.storage`)."""
    return storage.connect()


def _read_meta() -> dict[str, CollectionMeta]:
    return {name: CollectionMeta(**value) for name, value in storage_meta.read_meta().items()}


def _put_meta(meta: CollectionMeta) -> None:
    """Record one collection's metadata; the others are re-read and kept (another process may
    have changed them: :func:`engine.storage_meta.update_meta` is atomic)."""
    storage_meta.update_meta(lambda raw: raw.__setitem__(meta.name, asdict(meta)))


def _table_names(db: Any) -> set[str]:
    result = db.list_tables()
    names = getattr(result, "tables", result)
    return set(names)


def validate_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise IndexError_(f"invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' "
                          "or '.', starting with a letter or digit")
    return name


def list_collections() -> list[CollectionMeta]:
    """All collections, by name."""
    return [m for _, m in sorted(_read_meta().items())]


def get_meta(name: str) -> CollectionMeta:
    metas = _read_meta()
    if name not in metas:
        known = ", ".join(sorted(metas)) or "none yet"
        raise IndexError_(f"no collection named {name!r} (collections: {known})")
    return metas[name]


def remove_collection(name: str) -> None:
    """Drop a collection's tables and forget it (metadata first, so a crash leaves no half),
    and delete what was derived from its text (:mod:`engine.derived`: drafted questions, a
    stopped evaluation's answers, opened copies of its attachments; a removed collection leaves
    none of its text behind).

    Holds the writer lock: removing a collection another process is indexing fails fast.
    """
    from engine import derived

    meta = get_meta(name)
    with writer_lock(name):
        try:  # read while its tables exist
            files = derived.derived_files(name, Collection.open(name))
        except Exception:  # an unreadable collection is still removed
            files = derived.derived_files(name, None)
        storage_meta.update_meta(lambda raw: raw.pop(name, None))
        _drop_generations(meta, keep=[])
        derived.delete(files)


@contextmanager
def writer_lock(name: str, job: Any = None) -> Iterator[None]:
    """One writer per collection across processes.

    On a local disk a second `satchel index` fails fast (an ``fcntl`` lock). On object storage
    writers on several machines take turns under a lease and a second one waits, reporting whom
    it waits for through ``job`` (:mod:`engine.storage_lease`).
    """
    location = storage.location()
    if location.remote:
        from engine import storage_lease

        with storage_lease.writer_lease(location, name, job):
            yield
        return
    lock_path = storage.local_folder(location) / f".{name}.lock"
    fh = open(lock_path, "w")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexError_(f"collection {name!r} is being indexed by another Satchel process"
                              ) from None
        yield
    finally:
        fh.close()


def add_sources(name: str, roots: Iterable[str]) -> list[str]:
    """Record files and folders as sources of ``name`` (caller holds the writer lock).

    A root already inside a recorded folder adds nothing; a folder replaces the recorded files
    and folders inside it. Returns the sources now recorded.
    """
    metas = _read_meta()
    meta = metas[name]
    sources = list(meta.sources)
    for root in roots:
        if is_under(root, sources):
            continue
        sources = [s for s in sources if not is_under(s, [root])] + [root]
    if sources != meta.sources:
        meta.sources = sorted(sources)
        _put_meta(meta)
    return meta.sources


def _drop_generations(meta: CollectionMeta, keep: list[CollectionMeta]) -> None:
    """Drop the tables of ``meta``'s collection that belong to none of the ``keep`` generations
    (an old generation after a rebuild, an abandoned rebuild, leftovers of a crash)."""
    location = storage.location()
    kept = {t for m in keep for t in (m.docs_table, m.chunks_table)}
    for table in _table_names(storage.connect(location)):
        if meta.owns_table(table) and table not in kept:
            storage.drop_table(location, table)


class Collection:
    """Open tables of one collection generation; cheap to construct, never writes.

    Reading a collection (search, listing) must not change it: tables are created only by
    :meth:`open_for_writing`, under the writer lock.
    """

    def __init__(self, meta: CollectionMeta) -> None:
        self.meta = meta
        self.location = storage.location()
        # On object storage every open is a request: a search, which needs only the chunks,
        # opens the documents table when it is first used.
        self._docs = None if self.location.remote else self._open(meta.docs_table)
        self.chunks = self._open(meta.chunks_table)

    def _open(self, table: str) -> Any:
        try:
            with reading(self.meta.name):  # a truncated manifest: CollectionDamaged
                return storage.open_table(self.location, table)
        except (FileNotFoundError, ValueError) as exc:
            raise CollectionDamaged(self.meta.name, f"its table {table} is missing") from exc
        except OSError as exc:  # an object store that stopped answering
            raise IndexError_(storage.explain(exc, self.location)) from None

    @property
    def docs(self) -> Any:
        """The documents table."""
        if self._docs is None:
            self._docs = self._open(self.meta.docs_table)
        return self._docs

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, name: str) -> Collection:
        """An existing collection; IndexError_ with the known names when it does not exist.

        On object storage what this process read a moment ago may be outdated (a collection
        just made or rebuilt on another machine): it is read again before giving up.
        """
        try:
            return cls(get_meta(name))
        except IndexError_:
            if not storage.refresh():
                raise
        return cls(get_meta(name))

    @classmethod
    def _create(cls, meta: CollectionMeta) -> Collection:
        db = connect()
        names = _table_names(db)
        if meta.docs_table not in names:
            db.create_table(meta.docs_table, schema=docs_schema(), exist_ok=True)
        if meta.chunks_table not in names:
            db.create_table(meta.chunks_table, schema=chunks_schema(meta.dim), exist_ok=True)
        collection = cls(meta)
        missing = [f for f in docs_schema() if f.name not in collection.docs.schema.names]
        if missing:  # a documents table from an older Satchel: add the new columns, empty
            collection.docs.add_columns({f.name: "CAST('' AS STRING)" for f in missing})
        if TEXT_INDEX_COLUMN not in collection.chunks.schema.names:
            # a chunks table from an older Satchel: the column is computed from its rows; the
            # full-text index moves to it at the end of this run (:meth:`finalize`)
            collection.chunks.add_columns({TEXT_INDEX_COLUMN: SEARCH_TEXT_SQL})
        return collection

    @classmethod
    def open_for_writing(cls, name: str, embedder: str, embedder_path: str, dim: int,
                         chunk_tokens: int, chunk_overlap: int, *, fresh: bool = False,
                         ) -> tuple[Collection, bool]:
        """The generation to index into with these settings: (collection, rebuilding).

        The caller holds :func:`writer_lock`. Same layout as the current generation: that one.
        Another layout: the pending generation, started (tables first, then the metadata that
        points at them) or resumed when a rebuild for the same layout was cancelled or killed;
        the current generation is untouched until :meth:`complete_rebuild`. ``fresh``: a new
        generation whatever the layout, none of the existing tables opened (they are damaged:
        :mod:`engine.index_health`).
        """
        validate_name(name)
        metas = _read_meta()
        old = metas.get(name)
        wanted = CollectionMeta(name, embedder, embedder_path, dim, 1,
                                time.strftime("%Y-%m-%dT%H:%M:%S"), chunk_tokens, chunk_overlap)
        if old is None:
            collection = cls._create(wanted)
            _put_meta(wanted)
            return collection, False
        pending = old.pending()
        if old.layout == wanted.layout and not fresh:
            if pending is not None:  # settings went back: the rebuild is no longer wanted
                old.rebuild = None
                _put_meta(old)
            collection = cls._create(old)
            _drop_generations(old, keep=[old])
            return collection, False
        if pending is not None and pending.layout == wanted.layout and not fresh:
            collection = cls._create(pending)
        else:
            generation = max(old.generation, pending.generation if pending else 0) + 1
            target = CollectionMeta(name, embedder, embedder_path, dim, generation,
                                    old.created, chunk_tokens, chunk_overlap, old.sources)
            collection = cls._create(target)
            old.rebuild = target.generation_fields()
            _put_meta(old)
        _drop_generations(old, keep=[old, collection.meta])
        return collection, True

    def complete_rebuild(self) -> None:
        """Make this (pending, fully indexed) generation current in one metadata write, then
        drop the old one. Sources that no longer exist are forgotten: the new generation has no
        documents from them."""
        metas = _read_meta()
        old = metas[self.meta.name]
        pending = old.pending()
        if pending is None or pending.generation != self.meta.generation:
            raise IndexError_(f"collection {self.meta.name!r} has no rebuild in progress for "
                              f"generation {self.meta.generation}")
        sources = [s for s in old.sources if os.path.lexists(s)]
        self.meta = CollectionMeta(**{**self.meta.generation_fields(), "sources": sources})
        _put_meta(self.meta)
        _drop_generations(self.meta, keep=[self.meta])

    # -- reading ----------------------------------------------------------------------------------
    @reads_collection
    def documents(self) -> dict[str, DocRecord]:
        """Every documents row by path (one Arrow scan; cheap even for thousands of files).

        Parts of a file (the messages of a mailbox, attachments) have rows of their own, under
        :func:`engine.ingest.document.part_path` paths.
        """
        table = self.docs.to_arrow()
        return {row["path"]: DocRecord(**row) for row in table.to_pylist()}

    @reads_collection
    def chunk_paths(self) -> set[str]:
        """Distinct paths that have chunks (to find orphans after a crash)."""
        table = self.chunks.search().select(["path"]).limit(None).to_arrow() \
            if self.chunks.count_rows() else None
        if table is None:
            return set()
        import pyarrow.compute as pc

        return set(pc.unique(table["path"]).to_pylist())

    @reads_collection
    def outdated_files(self, *, ocr: bool = False) -> list[str]:
        """Files the next index run reads again: see :func:`outdated`."""
        return outdated(self.documents(), ocr=ocr)

    @reads_collection
    def vectors_by_hash(self, paths: Iterable[str] = (), *,
                        hashes: Iterable[str] = ()) -> dict[str, Any]:
        """content hash -> vector (a numpy array) of the chunks of ``paths``, and of any chunk
        whose content hash is in ``hashes`` (200 per query): what the indexer reuses instead of
        embedding a text again (a file read again, a copy of a file)."""
        import numpy as np

        out: dict[str, Any] = {}
        queries = [f"path IN ({', '.join(sql_str(p) for p in part)})"
                   for part in _batches(sorted(set(paths)), 200)]
        queries += [f"content_hash IN ({', '.join(sql_str(h) for h in part)})"
                    for part in _batches(sorted(set(hashes)), 200)]
        for where in queries:
            table = (self.chunks.search().where(where).select(["content_hash", "vector"])
                     .limit(None).to_arrow())
            if not table.num_rows:
                continue
            vectors = table["vector"].combine_chunks()
            matrix = np.asarray(vectors.flatten(), np.float32).reshape(len(vectors), -1)
            out.update(zip(table["content_hash"].to_pylist(), matrix, strict=True))
        return out

    @reads_collection
    def count_chunks(self) -> int:
        return self.chunks.count_rows()

    @reads_collection
    def count_documents(self, status: str | None = "ok") -> int:
        if status is None:
            return self.docs.count_rows()
        return self.docs.count_rows(f"status = {sql_str(status)}")

    # -- writing ----------------------------------------------------------------------------------
    def commit_files(self, paths_in_batch: Iterable[str], chunk_rows: pa.Table | None,
                     docs: list[DocRecord]) -> None:
        """Make a batch of files current: their chunks in one commit, then their document rows.

        ``paths_in_batch`` are every document whose chunks this batch replaces (including files
        that now failed and so have no chunks any more, and parts a file no longer has); rows of
        those that ``docs`` does not list again are deleted.
        """
        if self.location.remote:  # never write beside a writer that took our lease over
            from engine import storage_lease

            storage_lease.check(self.location, self.meta.name)
        batch_paths = sorted(set(paths_in_batch))
        if batch_paths:
            where = f"path IN ({', '.join(sql_str(p) for p in batch_paths)})"
            if chunk_rows is not None and chunk_rows.num_rows:
                (self.chunks.merge_insert("chunk_id").when_matched_update_all()
                 .when_not_matched_insert_all().when_not_matched_by_source_delete(where)
                 .execute(chunk_rows))
            else:
                self.chunks.delete(where)
        if docs:
            self._upsert_docs(docs)
        vanished = sorted(set(batch_paths) - {d.path for d in docs})
        for start in range(0, len(vanished), 200):
            part = vanished[start:start + 200]
            self.docs.delete(f"path IN ({', '.join(sql_str(p) for p in part)})")

    def _upsert_docs(self, docs: list[DocRecord]) -> None:
        import pyarrow as pa

        rows = pa.Table.from_pylist([asdict(d) for d in docs], schema=docs_schema())
        (self.docs.merge_insert("path").when_matched_update_all().when_not_matched_insert_all()
         .execute(rows))

    def touch_documents(self, docs: list[DocRecord]) -> None:
        """Record a new mtime for files whose content hash did not change (no chunk writes)."""
        if docs:
            self._upsert_docs(docs)

    def remove_paths(self, removed: Iterable[str]) -> int:
        """Forget files that are gone: chunks first, then document rows; returns how many."""
        removed = sorted(set(removed))
        for start in range(0, len(removed), 200):
            part = removed[start:start + 200]
            where = f"path IN ({', '.join(sql_str(p) for p in part)})"
            self.chunks.delete(where)
            self.docs.delete(where)
        return len(removed)

    def needs_finalize(self) -> bool:
        """True when chunks exist but the full-text index does not (a run died before it), or
        is an older Satchel's (:data:`TEXT_INDEX_NAME`)."""
        if not self.chunks.count_rows():
            return False
        return not any(i.name == TEXT_INDEX_NAME for i in self.chunks.list_indices())

    def finalize(self) -> None:
        """Keep search fast after a run: files compacted, new rows merged into the indexes, the
        full-text index present, and a vector index (IVF_FLAT) once the table is large."""
        from lancedb.index import FTS

        # Compact first, then build missing indexes: an index built before a compaction is
        # remapped by it, and a remapped IVF index searched ~1.6x slower at 100k rows (measured).
        self.chunks.optimize()
        listed = self.chunks.list_indices()
        indices = {tuple(i.columns): i for i in listed}
        rows = self.chunks.count_rows()
        text_indices = [i.name for i in listed if tuple(i.columns) == (TEXT_INDEX_COLUMN,)]
        if rows and TEXT_INDEX_NAME not in text_indices:
            self._write_pieces()
            self.chunks.create_index(TEXT_INDEX_COLUMN, config=FTS(with_position=False),
                                     name=TEXT_INDEX_NAME, replace=True)
        for name in text_indices:  # an older Satchel's, on whole runs
            if name != TEXT_INDEX_NAME:
                self.chunks.drop_index(name)
        if (OLD_TEXT_INDEX_COLUMN,) in indices:  # on the text without headings
            self.chunks.drop_index(indices[(OLD_TEXT_INDEX_COLUMN,)].name)
        if rows >= VECTOR_INDEX_MIN_ROWS:
            self._ensure_vector_index(rows)
        self.docs.optimize()
        _search_plans.pop(self.chunks_key, None)

    def _write_pieces(self) -> None:
        """Give the rows with letters written as pieces the search text of :func:`search_text`
        where theirs is an older Satchel's (whole runs, or a run that died before the index):
        only those rows are read and written, nothing is embedded again."""
        import pyarrow as pa

        where = f"regexp_like({TEXT_INDEX_COLUMN}, '{PIECES_SQL_PATTERN}')"
        rows = (self.chunks.search().where(where)
                .select(["chunk_id", "heading", "text", TEXT_INDEX_COLUMN]).limit(None)
                .to_arrow().to_pylist())
        ids, texts = [], []
        for row in rows:
            text = search_text(row["heading"] or "", row["text"])
            if text != row[TEXT_INDEX_COLUMN]:
                ids.append(row["chunk_id"])
                texts.append(text)
        if ids:
            (self.chunks.merge_insert("chunk_id").when_matched_update_all()
             .execute(pa.table({"chunk_id": ids, TEXT_INDEX_COLUMN: texts})))

    def _ensure_vector_index(self, rows: int) -> None:
        """IVF_FLAT with sqrt(rows) partitions; rebuilt when the table outgrew it (or is old)."""
        from lancedb.index import IvfFlat

        vector = [i for i in self.chunks.list_indices() if tuple(i.columns) == ("vector",)]
        current = [i for i in vector if partitions_of(i.name)]
        if current and rows <= VECTOR_INDEX_REBUILD_GROWTH * partitions_of(current[0].name) ** 2:
            stale = [i for i in vector if i is not current[0]]
        else:
            partitions = max(16, int(rows ** 0.5))
            self.chunks.create_index("vector", config=IvfFlat(distance_type="cosine",
                                                              num_partitions=partitions),
                                     name=f"{VECTOR_INDEX_PREFIX}{partitions}", replace=True)
            stale = [i for i in vector if i.name != f"{VECTOR_INDEX_PREFIX}{partitions}"]
        for index in stale:  # an outgrown index, or an IVF_PQ one from an older Satchel
            self.chunks.drop_index(index.name)

    @property
    def chunks_key(self) -> str:
        return f"{self.location.uri}/{self.meta.chunks_table}"

    def search_plan(self) -> SearchPlan:
        """How to query the chunks table now (which indexes exist), cached between queries.

        Listing indexes costs a manifest read per query; the plan changes only when
        :meth:`finalize` runs, which drops the cached plan (another process finalizing is noticed
        within :data:`PLAN_TTL_S`).
        """
        now = time.monotonic()
        plan = _search_plans.get(self.chunks_key)
        if plan is None or now - plan.created > PLAN_TTL_S:
            nprobes, indexed, names = 0, set(), set()
            for index in self.chunks.list_indices():
                if tuple(index.columns) == ("vector",):
                    parts = partitions_of(index.name) or 256
                    nprobes = max(nprobes, 8, round(parts * NPROBE_FRACTION))
                indexed.add(tuple(index.columns))
                names.add(index.name)
            text_index = next((c for c in (TEXT_INDEX_COLUMN, OLD_TEXT_INDEX_COLUMN)
                               if (c,) in indexed), "")
            plan = SearchPlan(nprobes=nprobes, text_index=text_index, created=now,
                              pieces=max((TEXT_INDEX_NAMES.get(n, 0) for n in names), default=0))
            _search_plans[self.chunks_key] = plan
        return plan


#: Seconds a cached :class:`SearchPlan` is trusted.
PLAN_TTL_S = 5.0


@dataclass(frozen=True)
class SearchPlan:
    """How to search a chunks table: nprobes 0 means no vector index (an exact, flat search);
    ``text_index`` is the column of the full-text index ("text" in a collection no index run
    has touched since an older Satchel; "" without one: a run killed before building it, and
    word search finds nothing until the next index run builds it: searches never write);
    ``pieces`` is the version of pieces the index holds (0: none), so the question is searched
    as the same pieces (:func:`engine.cjk_terms.searchable`)."""

    nprobes: int
    text_index: str
    created: float
    pieces: int = 0


_search_plans: dict[str, SearchPlan] = {}


def partitions_of(index_name: str) -> int:
    """Partition count recorded in a vector index name made by :meth:`Collection.finalize`."""
    if index_name.startswith(VECTOR_INDEX_PREFIX):
        tail = index_name[len(VECTOR_INDEX_PREFIX):]
        if tail.isdigit():
            return int(tail)
    return 0
