"""One indexing run: scan -> diff against the index -> parse (child process) -> embed -> commit.

Three stages overlap so the embedder, the slow part, never waits: a parse thread feeds files
through the isolated parser process (time and memory limits per file), the calling thread embeds
whole files' chunks in large batches, and a writer thread commits each batch to LanceDB in one
transaction. Unchanged files (same size and mtime, or same content hash) cost a stat, or a read and
a hash: no parsing, no embedding. A file read by an older revision of its reader is read again
(:mod:`engine.ingest.revisions`). A file read again, because it changed or its reader did, keeps
the vectors of every chunk whose text is the same: only new text is embedded, so editing a
paragraph of a long document or upgrading a reader costs little more than the parsing.
Cancellation is checked between batches; everything committed before stays, so the next run
resumes with the remaining files only.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.errors import full_disk_is_one_line
from engine.index import Collection, DocRecord, chunk_id, outdated
from engine.index_health import CollectionDamaged, reading
from engine.ingest.document import container_of
from engine.ingest.isolation import (
    NoText,
    ParseCancelled,
    ParseConfig,
    ParsedFile,
    ParseFailed,
    ParseWorker,
)
from engine.ingest.loaders import not_a_document
from engine.ingest.loaders.formats import CONVERTED_TO, format_for_name
from engine.ingest.revisions import (
    failed_under_today,
    failure_tag,
    formats_in,
    is_current,
    reading_tag,
)
from engine.ingest.scan import ScanResult, is_under, scan
from engine.jobs import Cancelled, Job, heavy_job
from engine.settings import Settings

#: Chunks per embed-and-commit batch when the parser is ahead of the embedder (fewer when it is
#: not): large enough that commits stay cheap, small enough that a cancel lands within seconds.
EMBED_BATCH = 256
#: Files committed per transaction at most (many small files are committed together).
COMMIT_FILES = 64
#: Vectors embedded in this run that are kept for copies met before their commit lands (the
#: commit queue holds two batches): 8 batches' worth, about 12 MB.
RECENT_VECTORS = 8 * EMBED_BATCH
#: Formats that may need OCR: a file of these that failed while OCR was off is tried again once
#: OCR is on (:mod:`engine.ingest.revisions`).
OCR_FORMATS = frozenset({"image", "pdf", "docx", "pptx",
                         *(fmt for fmt, to in CONVERTED_TO.items() if to in ("docx", "pptx"))})


@dataclass
class IndexSummary:
    """What ``satchel index --json`` prints (DESIGN.md contract plus a few extras)."""

    collection: str
    files_indexed: int = 0
    files_unchanged: int = 0
    #: files whose content had not changed, read again because their reader is newer
    files_reread: int = 0
    files_removed: int = 0
    files_failed: list[dict[str, str]] = field(default_factory=list)
    #: every file (re)indexed by this run: path, what read it, pages, chunks, parts
    files: list[dict[str, Any]] = field(default_factory=list)
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0
    #: chunks of files read again whose text had not changed: their vectors were kept
    chunks_reused: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    rebuilt: bool = False
    #: a rebuild for new settings was started or resumed and is not finished (cancelled)
    rebuild_pending: bool = False
    #: why the collection was rebuilt from its sources: its index files were damaged
    repaired: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"files_indexed": self.files_indexed, "files_unchanged": self.files_unchanged,
                "files_removed": self.files_removed, "files_failed": self.files_failed,
                "chunks": self.chunks, "seconds": round(self.seconds, 3),
                "files_reread": self.files_reread, "chunks_reused": self.chunks_reused,
                "collection": self.collection, "files_skipped": self.files_skipped,
                "cancelled": self.cancelled, "rebuilt": self.rebuilt,
                "rebuild_pending": self.rebuild_pending, "repaired": self.repaired,
                "files": self.files}


def file_hash(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class _Item:
    """One file's outcome from the parse thread."""

    path: str
    kind: str  # "parsed" | "failed" | "empty" (no words: skipped) | "unchanged"
    stat: os.stat_result | None
    digest: str = ""
    parsed: ParsedFile | None = None
    reason: str = ""
    old: DocRecord | None = None  # the file's row before this run, if it had one
    ocr_off: bool = False  # failed while OCR was off, in a format that may need it

    @property
    def same_content(self) -> bool:
        """The file was indexed before with this very content (read again: its reader changed)."""
        return (self.old is not None and self.old.status == "ok"
                and self.old.content_hash == self.digest)

    @property
    def reread(self) -> bool:
        """Parsed again, with the same content, because its reader changed."""
        return self.kind == "parsed" and self.same_content

    @property
    def keeps_earlier(self) -> bool:
        """Today's reader failed on content an earlier one read: the earlier text stays."""
        return self.kind in ("failed", "empty") and self.same_content


def _prepare_embedder(embedder: Any, job: Job) -> None:
    """Load an embedder whose first use exports it, saying why it takes a while; cancelling the
    job stops the export (raises :class:`Cancelled`)."""
    job.status("Preparing the embedder for this computer (once per model, about 20 s)")
    embedder.load(cancelled=job.cancelled)


def _open_collection(name: str, settings: Settings, job: Job, *,
                     fresh: bool = False) -> tuple[Collection, bool, ParseConfig]:
    """The generation to index into for the configured embedder and chunking, and whether it is
    a rebuild; the embedder is loaded only when its dimension is not known yet. ``fresh``: a
    new generation, the current one being damaged (:mod:`engine.index_health`)."""
    from engine import index
    from engine.embed import get_embedder
    from engine.ingest.tokens import max_content_tokens

    index.validate_name(name)
    embedder = get_embedder(settings.embedder)
    max_tokens = min(settings.chunk_tokens, max_content_tokens(embedder.folder))
    overlap = min(settings.chunk_overlap, max_tokens // 2)
    existing = {m.name: m for m in index.list_collections()}.get(name)
    if existing and existing.embedder_path == str(embedder.folder):
        dim = existing.dim  # no model load for a run that may find nothing to do
    else:
        if not embedder.ready():
            _prepare_embedder(embedder, job)
        dim = embedder.info.dim
    collection, rebuilding = Collection.open_for_writing(name, embedder.name, str(embedder.folder),
                                                         dim, max_tokens, overlap, fresh=fresh)
    config = ParseConfig(tokenizer_dir=str(embedder.folder), max_tokens=max_tokens,
                         overlap_tokens=overlap,
                         max_bytes=int(settings.max_file_mb * 1024 * 1024), ocr=settings.ocr,
                         ocr_languages=settings.ocr_languages)
    return collection, rebuilding, config


@full_disk_is_one_line
def index_paths(inputs: list[str | os.PathLike[str]], collection: str = "default", *,
                job: Job | None = None, settings: Settings | None = None,
                retry_failed: bool = False, pipeline: Callable[..., None] | None = None
                ) -> IndexSummary:
    """Index files and folders into ``collection``; see the module docstring for the stages.

    ``pipeline`` replaces the parse-embed-commit stage (same arguments as ``_run_pipeline``):
    Ray ingestion (:mod:`engine.scale.ray_ingest`) runs that stage on a cluster and keeps the
    rest of the run, so both build the same index.

    Returns the summary; ``summary.cancelled`` is True when ``job.cancel()`` stopped the run
    (committed files stay indexed). Raises SatchelError for bad input (a missing path, a bad
    collection name, a collection busy in another process).
    """
    from engine import index

    started = time.monotonic()
    settings = settings or Settings()
    job = job or Job()
    summary = IndexSummary(collection=collection)
    index.validate_name(collection)
    job.status("Scanning files")
    found = scan(list(inputs))
    summary.files_failed += [{"path": p, "reason": r} for p, r in found.failed]
    summary.files_skipped += [{"path": p, "reason": r} for p, r in found.skipped]
    # the marker tells an answering process (maybe another one) to leave this run a core
    with index.writer_lock(collection, job), heavy_job("indexing", collection):
        try:
            with reading(collection):
                coll, rebuilding, config = _open_collection(collection, settings, job)
                docs, in_chunks = coll.documents(), coll.chunk_paths()
        except Cancelled:  # while the embedder was prepared: nothing was written yet
            summary.cancelled = True
            summary.seconds = time.monotonic() - started
            job.finish()
            return summary
        except CollectionDamaged as damage:  # rebuilt from its sources into a new generation
            summary.repaired = damage.reason
            coll, rebuilding, config = _open_collection(collection, settings, job, fresh=True)
            docs, in_chunks = {}, set()
        # Recorded before the run: a rebuild, or the resume of a killed one, covers them too.
        index.add_sources(collection, found.roots)
        if rebuilding:
            job.status(f"Rebuilding the collection ({summary.repaired})" if summary.repaired
                       else "Rebuilding the collection for the new settings")
            _add_rebuild_inputs(found, collection, summary)
        stale = set(outdated(docs, ocr=config.ocr))  # a part's reader moved counts too
        todo: list[tuple[str, os.stat_result | None]] = []
        for path in found.files:
            try:
                st = os.stat(path)
            except OSError as exc:
                summary.files_failed.append({"path": path, "reason": f"cannot read file: "
                                             f"{exc.strerror or exc}"})
                continue
            doc = docs.get(path)
            if doc and doc.size == st.st_size and doc.mtime_ns == st.st_mtime_ns and \
                    is_current(doc.reader, ocr=config.ocr, path=path) and path not in stale:
                if doc.status == "ok":
                    summary.files_unchanged += 1
                    continue
                if doc.status == "empty":  # read before: no words in it, no need to OCR again
                    summary.files_skipped.append({"path": path, "reason": doc.error})
                    continue
                if not retry_failed and failed_under_today(doc.reader):
                    summary.files_failed.append({"path": path, "reason": doc.error})
                    continue
            todo.append((path, st))
        scanned = set(found.files)
        gone = [p for p in docs if container_of(p) not in scanned
                and is_under(container_of(p), found.roots)]
        orphans = [p for p in in_chunks - set(docs) - scanned]
        if gone or orphans:
            job.status("Removing deleted files")
            coll.remove_paths(gone + orphans)
            summary.files_removed = len({container_of(p) for p in gone})  # files, not parts
        try:
            if todo:
                (pipeline or _run_pipeline)(coll, todo, docs, config, settings, job, summary)
        except Cancelled:
            summary.cancelled = True
        tried = dict(todo)
        changed = summary.files_indexed or summary.files_removed or gone or orphans or any(
            f["path"] in tried for f in summary.files_failed + summary.files_skipped)
        if rebuilding and summary.cancelled:
            summary.rebuild_pending = True  # the current generation still answers; resumed later
        elif changed or rebuilding or coll.needs_finalize():
            job.status("Optimizing the index")
            coll.finalize()
        if rebuilding and not summary.cancelled:
            coll.complete_rebuild()
            summary.rebuilt = True
    summary.seconds = time.monotonic() - started
    job.finish()
    return summary


def reindex_inputs(collection: str, extra: list[str] | None = None) -> list[str]:
    """What indexing ``collection`` again must cover: its recorded sources (plus ``extra``, such
    as folders a window watches) and every indexed file outside them.

    Indexed files that no longer exist outside those roots are removed here (the indexer removes
    the ones inside a root itself). Raises SatchelError when nothing is left on disk.
    """
    from engine import index
    from engine.errors import SatchelError

    meta = index.get_meta(collection)
    wanted = [*meta.sources, *(os.path.abspath(os.path.expanduser(p)) for p in extra or [])]
    roots = list(dict.fromkeys(s for s in wanted if os.path.lexists(s)))
    try:
        with reading(collection):
            docs = Collection(meta).documents()
    except CollectionDamaged:  # the run rebuilds it from the recorded sources
        docs = {}
    missing = [p for p in docs if not os.path.lexists(container_of(p))
               and not is_under(container_of(p), roots)]
    if missing:
        with index.writer_lock(collection):
            Collection.open(collection).remove_paths(missing)
    inputs = roots + _files_outside(docs, roots)
    if not inputs:
        raise SatchelError(f"collection {collection!r} has no files left on disk to index")
    return inputs


def _files_outside(docs: dict[str, DocRecord], roots: list[str]) -> list[str]:
    """Indexed files still on disk that no root covers (a mailbox once, not per message)."""
    files = dict.fromkeys(container_of(p) for p in docs)
    return [p for p in files if os.path.lexists(p) and not is_under(p, roots)]


def _add_rebuild_inputs(found: ScanResult, collection: str, summary: IndexSummary) -> None:
    """Widen a run that rebuilds ``collection`` to everything the collection holds.

    That is every recorded source plus every document of the current generation outside them
    (a collection indexed before sources were recorded, a file indexed on its own). Sources that
    no longer exist are reported as skipped; their documents cannot be rebuilt.
    """
    from engine import index

    meta = index.get_meta(collection)
    inputs = [s for s in meta.sources if not is_under(s, found.roots)]
    missing = [s for s in inputs if not os.path.lexists(s)]
    inputs = [s for s in inputs if s not in missing]
    try:
        with reading(collection):
            inputs += _files_outside(Collection(meta).documents(), found.roots + inputs)
    except CollectionDamaged:  # unreadable: the recorded sources are what can be rebuilt
        pass
    summary.files_skipped += [{"path": s, "reason": "was added to this collection but no longer "
                               "exists"} for s in missing]
    if not inputs:
        return
    more = scan(inputs)
    known = set(found.files)
    found.files += [f for f in more.files if f not in known]
    found.roots += more.roots
    summary.files_failed += [{"path": p, "reason": r} for p, r in more.failed]
    summary.files_skipped += [{"path": p, "reason": r} for p, r in more.skipped]


#: What a file costs besides its bytes (hashing, the parser's round trip, its commit), in bytes
#: of text: the share of small files in a run's time.
FILE_COST_BYTES = 4096
#: gzip keeps the uncompressed size (modulo 4 GiB) in its last 4 bytes.
_GZIP_SIZE = 4


def file_work(path: str, st: os.stat_result | None) -> float:
    """How long a file takes to index, in bytes: what the progress and its ETA count
    (:meth:`engine.jobs.Job.progress`). A compressed log or changelog is counted at its
    unpacked size, which is what is read and embedded (gdb's 2 MB check.log.gz made 26,233
    chunks)."""
    size = st.st_size if st else 0
    if path.lower().endswith(".gz") and size > _GZIP_SIZE:
        try:
            with open(path, "rb") as fh:
                fh.seek(-_GZIP_SIZE, os.SEEK_END)
                size = max(size, int.from_bytes(fh.read(_GZIP_SIZE), "little"))
        except OSError:
            pass  # the parser reports what is wrong with the file
    return float(size + FILE_COST_BYTES)


def _parse_thread(todo: list[tuple[str, os.stat_result | None]], docs: dict[str, DocRecord],
                  config: ParseConfig, timeout_s: float, out: queue.Queue[_Item | None],
                  stop: threading.Event, errors: list[BaseException], job: Job) -> None:
    """Hash and parse files in order; put one _Item per file, then None.

    An error that is no single file's fault (the parser process cannot start) goes to ``errors``
    and ends the run, so it is reported instead of looking like an empty folder.
    """
    worker = ParseWorker(config)
    stale = set(outdated(docs, ocr=config.ocr))
    try:
        for path, st in todo:
            if stop.is_set():
                break
            try:
                if config.max_bytes is not None and st and st.st_size > config.max_bytes:
                    other = not_a_document(path)  # a big program named "x.dat": not a failure
                    if other:
                        out.put(_Item(path, "empty", st, "", reason=other))
                        continue
                    mb = st.st_size / (1 << 20)
                    raise ParseFailed(f"file is {mb:.1f} MB, over the {config.max_bytes >> 20} MB"
                                      " limit (setting max_file_mb)")
                digest = file_hash(path)
            except ParseFailed as exc:
                out.put(_Item(path, "failed", st, "", reason=str(exc)))
                continue
            except OSError as exc:
                reason = "permission denied" if isinstance(exc, PermissionError) else (
                    exc.strerror or str(exc))
                out.put(_Item(path, "failed", st, "", reason=f"cannot read file: {reason}"))
                continue
            old = docs.get(path)
            if old and old.status == "ok" and old.content_hash == digest and \
                    is_current(old.reader, ocr=config.ocr, path=path) and path not in stale:
                out.put(_Item(path, "unchanged", st, digest, old=old))
                continue
            try:
                name = os.path.basename(path)
                parsed = worker.parse(path, timeout_s, lambda message, name=name: job.status(
                    f"Reading {name}: {message}"),  # OCR, page by page
                    cancelled=lambda: job.cancelled() or stop.is_set())
                out.put(_Item(path, "parsed", st, digest, parsed, old=old))
            except ParseCancelled:
                break  # not read and not failed: the next run reads it
            except ParseFailed as exc:
                kind = "empty" if isinstance(exc, NoText) else "failed"
                out.put(_Item(path, kind, st, digest, reason=str(exc), old=old,
                              ocr_off=not config.ocr and format_for_name(Path(path))[0]
                              in OCR_FORMATS))
    except BaseException as exc:  # surfaced in the calling thread
        errors.append(exc)
    finally:
        worker.close()
        out.put(None)


def _run_pipeline(coll: Collection, todo: list[tuple[str, os.stat_result | None]],
                  docs: dict[str, DocRecord], config: ParseConfig, settings: Settings,
                  job: Job, summary: IndexSummary) -> None:
    from engine.embed import get_embedder

    embedder = get_embedder(coll.meta.embedder_path)
    if todo and not embedder.ready():
        _prepare_embedder(embedder, job)
    parts_of: dict[str, list[str]] = {}  # file -> its parts now in the index (to replace them)
    for path in docs:
        if container_of(path) != path:
            parts_of.setdefault(container_of(path), []).append(path)
    parsed_q: queue.Queue[_Item | None] = queue.Queue(maxsize=32)
    commit_q: queue.Queue[tuple[list[str], Any, list[DocRecord]] | None] = queue.Queue(maxsize=2)
    stop = threading.Event()
    writer_error: list[BaseException] = []
    parser_error: list[BaseException] = []

    def writer() -> None:
        while (batch := commit_q.get()) is not None:
            if writer_error:
                continue
            try:
                coll.commit_files(*batch)
            except BaseException as exc:  # surfaced in the calling thread
                writer_error.append(exc)

    parser = threading.Thread(target=_parse_thread, name="satchel-parse", daemon=True,
                              args=(todo, docs, config, settings.parse_timeout_s, parsed_q, stop,
                                    parser_error, job))
    write_thread = threading.Thread(target=writer, name="satchel-write", daemon=True)
    parser.start()
    write_thread.start()
    total = len(todo)
    done = 0
    weights = {path: file_work(path, st) for path, st in todo}
    total_work, work_done = float(sum(weights.values())), 0.0
    pending: list[_Item] = []
    pending_chunks = 0
    # vectors embedded in this run, for copies whose first version is not committed yet
    recent: collections.OrderedDict[str, Any] = collections.OrderedDict()

    def part_progress(start: int, files: int, start_work: float,
                      work: float) -> Callable[[float], None]:
        """Progress while a batch of ``files`` embeds: a fraction of each file, not a jump."""
        return lambda fraction: job.progress(start + files * fraction, total, work=(
            start_work + work * fraction, total_work))

    try:
        while True:
            job.check()
            item = parsed_q.get()
            job.check()  # a cancel during a long parse: nothing more is embedded or committed
            if item is not None:
                pending.append(item)
                if item.parsed:
                    pending_chunks += len(item.parsed.chunks)
                    job.status(f"Embedding {os.path.basename(item.path)}")
            # Embed a full batch, or whatever is parsed when nothing more is ready: the embedder,
            # the slow stage, never idles waiting for a batch to fill (at the start of a run the
            # first file goes straight in while the parser works on the next ones).
            if pending and (item is None or pending_chunks >= EMBED_BATCH
                            or len(pending) >= COMMIT_FILES
                            or (pending_chunks and parsed_q.empty())):
                known = _known_vectors(coll, pending, parts_of)
                known.update({h: recent[h] for h in _chunk_hashes(pending)
                              if h in recent and h not in known})
                batch_work = sum(weights.get(it.path, 0.0) for it in pending)
                batch = _embed_batch(
                    pending, embedder, coll.meta.dim, job, parts_of, known, recent,
                    part_progress(done, len(pending), work_done, batch_work))
                hashes = _chunk_hashes(pending)  # reused: all but the texts embedded now
                summary.chunks_reused += len(hashes) - len(set(hashes) - known.keys())
                if writer_error:
                    raise writer_error[0]
                commit_q.put(batch)
                for it in pending:
                    _account(it, summary)
                    job.partial(it.path)
                done += len(pending)
                work_done += batch_work
                job.progress(done, total, chunks=summary.chunks, work=(work_done, total_work))
                pending, pending_chunks = [], 0
            if item is None:
                break
    finally:
        stop.set()
        while parser.is_alive():  # unblock a parse thread waiting on a full queue
            with contextlib.suppress(queue.Empty):
                parsed_q.get(timeout=0.05)
        parser.join()
        commit_q.put(None)
        write_thread.join()
    for errors in (parser_error, writer_error):
        if errors:
            raise errors[0]


def _chunk_hashes(items: list[_Item]) -> list[str]:
    """The content hash of every chunk of these files and their parts, in commit order."""
    return [ch.content_hash for item in items
            for part in (item.parsed.walk() if item.parsed else []) for ch in part.chunks]


def _known_vectors(coll: Collection, items: list[_Item],
                   parts_of: dict[str, list[str]]) -> dict[str, Any]:
    """content hash -> vector of every chunk of these files (and their parts) whose text the
    index holds already: their own chunks before a file was read again, and the same text in
    any other file (a copy, "report (1).pdf", an attachment also saved on disk, a file both in
    a folder and in its zipped backup). Such a chunk is not embedded again: a vector depends
    on the text alone, and the collection has one embedder."""
    paths = [p for item in items if item.parsed and item.old is not None
             for p in (item.path, *parts_of.get(item.path, []))]
    if not paths and not coll.count_chunks():
        return {}
    return coll.vectors_by_hash(paths, hashes=_chunk_hashes(items))


def _account(item: _Item, summary: IndexSummary) -> None:
    if item.kind == "parsed" and item.parsed:
        summary.files_indexed += 1
        summary.files_reread += item.reread
        docs = item.parsed.walk()
        chunks = sum(len(d.chunks) for d in docs)
        summary.chunks += chunks
        summary.files.append({"path": item.path, "format": item.parsed.format,
                              "loader": item.parsed.loader, "pages": item.parsed.pages,
                              "chunks": chunks,
                              "parts": [{"path": d.path, "format": d.format, "title": d.title,
                                         "loader": d.loader, "chunks": len(d.chunks)}
                                        for d in docs[1:]]})
        for part, reason, skipped in item.parsed.unread:  # reported as such a file on disk is
            (summary.files_skipped if skipped else summary.files_failed).append(
                {"path": part, "reason": reason})
    elif item.kind == "unchanged":
        summary.files_unchanged += 1
    elif item.keeps_earlier:
        summary.files_failed.append({"path": item.path, "reason": f"{item.reason}; the text "
                                     "read by an earlier version is kept"})
    elif item.kind == "empty":
        summary.files_skipped.append({"path": item.path, "reason": item.reason})
    else:
        summary.files_failed.append({"path": item.path, "reason": item.reason})


def _embed_batch(items: list[_Item], embedder: Any, dim: int, job: Job,
                 parts_of: dict[str, list[str]], known: dict[str, Any] | None = None,
                 recent: collections.OrderedDict[str, Any] | None = None,
                 progress: Callable[[float], None] | None = None,
                 ) -> tuple[list[str], Any, list[DocRecord]]:
    """Embed every chunk of these files (and of their parts) and build the commit: (paths,
    chunk rows, doc rows). A file's old parts are replaced with it: ``parts_of`` lists them.
    ``known``: vectors by content hash (:func:`_known_vectors`), used instead of embedding.
    ``recent`` receives the vectors embedded here (the last :data:`RECENT_VECTORS` are kept):
    a copy in the next batches finds them before their commit lands.
    ``progress`` gets the fraction embedded after each part of a large batch: one 10 MB
    changelog is ~40,000 chunks and half an hour of embedding, which a count of whole files
    would show as a bar that stands still with no ETA."""
    import numpy as np
    import pyarrow as pa

    from engine.index import TEXT_INDEX_COLUMN, chunks_schema, search_text

    known = known or {}
    hashes = _chunk_hashes(items)
    texts: dict[str, str] = {}  # each text not in the index yet, once (copies in one batch)
    counts: list[int] = []
    for item in items:
        for part in item.parsed.walk() if item.parsed else []:
            for ch in part.chunks:
                if ch.content_hash not in known and ch.content_hash not in texts:
                    texts[ch.content_hash] = ch.text
                    counts.append(ch.tokens)
    todo = list(texts.values())
    vectors = []
    step = EMBED_BATCH * 4
    if len(todo) > step:
        biggest = max(items, key=lambda it: len(it.parsed.chunks) if it.parsed else 0)
        name = os.path.basename(biggest.path)
    for start in range(0, len(todo), step):
        job.check()
        if len(todo) > step:
            job.status(f"Embedding {name}: {start:,} of {len(todo):,} chunks")
        end = start + step
        vectors.append(embedder.encode(todo[start:end], token_counts=counts[start:end]))
        if progress is not None and len(todo) > step:
            progress(min(end, len(todo)) / len(todo))
    fresh = dict(zip(texts, np.concatenate(vectors) if vectors else [], strict=True))
    if recent is not None:
        recent.update(fresh)
        while len(recent) > RECENT_VECTORS:
            recent.popitem(last=False)
    matrix = (np.stack([known[h] if h in known else fresh[h] for h in hashes]).astype(
        np.float32, copy=False) if hashes else np.zeros((0, dim), np.float32))
    cols: dict[str, list[Any]] = {k: [] for k in ("chunk_id", "path", "page", "start", "end",
                                                  "ordinal", "heading", "text", "content_hash",
                                                  "doc_hash", "tokens", TEXT_INDEX_COLUMN)}
    for item in items:
        for part in item.parsed.walk() if item.parsed else []:
            for ch in part.chunks:
                cols["chunk_id"].append(chunk_id(part.path, ch.ordinal, ch.content_hash))
                cols["path"].append(part.path)
                cols["page"].append(ch.page)
                cols["start"].append(ch.start)
                cols["end"].append(ch.end)
                cols["ordinal"].append(ch.ordinal)
                cols["heading"].append(ch.heading)
                cols["text"].append(ch.text)
                cols["content_hash"].append(ch.content_hash)
                cols["doc_hash"].append(item.digest)
                cols["tokens"].append(ch.tokens)
                cols[TEXT_INDEX_COLUMN].append(search_text(ch.heading, ch.text))
    schema = chunks_schema(dim)
    flat = pa.array(matrix.reshape(-1), type=pa.float32())
    vectors = pa.FixedSizeListArray.from_arrays(flat, dim)
    arrays = [vectors if f.name == "vector" else pa.array(cols[f.name], type=f.type)
              for f in schema]
    rows = pa.Table.from_arrays(arrays, schema=schema) if hashes else None
    docs: list[DocRecord] = []
    replaced: list[str] = []
    for item in items:
        st = item.stat
        size, mtime = (st.st_size, st.st_mtime_ns) if st else (0, 0)
        if item.kind == "parsed" and item.parsed:
            tag = reading_tag({part.format for part in item.parsed.walk()},
                              ocr_off=any(part.ocr_off for part in item.parsed.walk()))
            for part in item.parsed.walk():
                docs.append(DocRecord(part.path, item.digest, size, mtime, part.format,
                                      part.title, part.pages, len(part.chunks), "ok", "",
                                      _now(), part.loader, tag))
                replaced.append(part.path)
            replaced += parts_of.get(item.path, [])
        elif item.kind == "unchanged" and item.old is not None:
            # Same content, new mtime (a touch or a copy): only the stat fields move forward.
            docs.append(replace(item.old, size=size, mtime_ns=mtime))
        elif item.keeps_earlier and item.old is not None:
            # Not lost to a newer reader's failure (or a busy machine's time-out); marked as
            # read today, so the failure is not repeated at every run until the next upgrade.
            # The formats its name and its parts' names map to today count as tried.
            named = {format_for_name(Path(p))[0] or ""
                     for p in (item.path, *parts_of.get(item.path, []))}
            docs.append(replace(item.old, size=size, mtime_ns=mtime, reader=reading_tag(
                {item.old.format, *(formats_in(item.old.reader) or []), *named})))
        else:
            docs.append(DocRecord(item.path, item.digest, size, mtime,
                                  status="empty" if item.kind == "empty" else "failed",
                                  error=item.reason, indexed_at=_now(),
                                  reader=failure_tag(format_for_name(Path(item.path))[0]
                                                     or "", ocr_off=item.ocr_off)))
            replaced += [item.path, *parts_of.get(item.path, [])]
    return replaced, rows, docs
