"""Bulk ingestion on Ray Data: ``satchel index --engine ray`` (the optional ``scale`` extra).

Why this shape: the desktop indexer (:mod:`engine.indexer`) is one process whose slow stage is
the embedder. On a cluster, or a workstation with many cores, the same run fans out:

    driver: scan + diff, under the writer lock      -> one row per file to (re)index
    Ray tasks: hash + parse with Satchel's loaders  -> groups of parsed files, at most
      (each task drives a ParseWorker child: the        EMBED_BATCH chunks or COMMIT_FILES
      same time/memory limits and failure reasons       files each, streamed as they are ready
      as the local indexer)
    actor pool: one embedder per actor, loaded once -> one ready-made commit per group
    driver: Collection.commit_files per group       -> one LanceDB commit per batch

The same index as the local indexer, by construction: whatever decides ids and rows is the
indexer's own code. The diff (stat, then content hash) is the indexer's, parse tasks run the
indexer's ``_parse_thread`` on their slice of files, and actors build each commit with the
indexer's ``_embed_batch`` (chunk ids are ``chunk_id(path, ordinal, content_hash)``), so both
engines write the same chunk ids, rows and documents rows (``indexed_at`` apart).

Only the driver writes, holding ``index.writer_lock`` for the whole run as ``satchel index`` does
(a second writer fails fast); each group is one ``commit_files`` call (its chunks in one
merge_insert, then its documents rows), so a cancel or a crash leaves whole files, which the next
run of either engine skips by content hash. Ray starts only when the diff finds files to parse: a
re-run over an unchanged folder costs a scan, as with the local indexer. A cancel
(``Job.cancel``, Ctrl-C in the CLI) lands when the next group arrives: that group is committed
(it is embedded already), then the run stops; at start-up that is after the actors have loaded
their model. How Ray is started and kept offline: :mod:`engine.scale.cluster`.

Limits: on a cluster every node needs Satchel with the ``scale`` extra and must see the files, the
embedder folder and the tokenizer at the driver's paths (one image, a shared mount); only the
driver writes the index. Ray does not run in the PyInstaller bundle.
"""

from __future__ import annotations

import os
import pickle
import queue
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.errors import SatchelError
from engine.indexer import COMMIT_FILES, EMBED_BATCH, IndexSummary, file_work
from engine.jobs import Cancelled, Job
from engine.scale.cluster import first_line, ray_session, require_ray
from engine.settings import Settings

#: Files one parse task takes at most (a parse child costs ~0.4 s to start; more files per task
#: amortise it, fewer spread a small folder over every CPU).
PARSE_TASK_FILES = 16


@dataclass
class RayOptions:
    """How to run on Ray. ``address`` None: ``RAY_ADDRESS`` if set, else a local cluster."""

    address: str | None = None
    #: CPUs of a local cluster (default: every CPU of this machine); unused for a remote one.
    num_cpus: int | None = None
    #: Embedding actors (default: half the cluster's CPUs, at least 1: parsing needs the rest).
    workers: int | None = None
    #: Files per parse task at most.
    parse_files: int = PARSE_TASK_FILES
    #: Chunks per commit (and per actor call) at most: the indexer's own batch size by default.
    batch_chunks: int = EMBED_BATCH


def index_paths_ray(inputs: list[str | os.PathLike[str]], collection: str = "default", *,
                    job: Job | None = None, settings: Settings | None = None,
                    retry_failed: bool = False, options: RayOptions | None = None
                    ) -> IndexSummary:
    """:func:`engine.indexer.index_paths` with parsing and embedding on Ray; the same contract
    (summary, incremental diff, writer lock, failed files listed, cancel keeps committed work).

    The run is the indexer's own (scan, lock, generation, diff, removals, finalize, rebuild)
    with its pipeline stage swapped for :func:`_run_on_ray`.
    """
    from engine.indexer import index_paths

    require_ray()
    options = options or RayOptions()

    def pipeline(coll: Any, todo: list[tuple[str, os.stat_result | None]],
                 docs: dict[str, Any], config: Any, settings: Settings, job: Job,
                 summary: IndexSummary) -> None:
        _run_on_ray(coll, todo, docs, config, settings, job, summary, options)

    return index_paths(inputs, collection, job=job, settings=settings,
                       retry_failed=retry_failed, pipeline=pipeline)


def plan_resources(cpus: float, workers: int | None) -> tuple[int, float, float]:
    """(embedding actors, CPUs per actor, CPUs per parse task) for a cluster of ``cpus``.

    Actors never take every CPU: a pool that does starves the parse tasks feeding it and the run
    hangs (ray#44687), so at least half a CPU stays for parsing.
    """
    workers = max(1, workers if workers else int(cpus) // 2)
    parse_cpus = 1.0 if cpus - workers >= 1 else 0.5
    actor_cpus = max(0.1, min(1.0, (cpus - parse_cpus) / workers))
    return workers, round(actor_cpus, 3), parse_cpus


def _run_on_ray(coll: Any, todo: list[tuple[str, os.stat_result | None]], docs: dict[str, Any],
                config: Any, settings: Settings, job: Job, summary: IndexSummary,
                options: RayOptions) -> None:
    """Parse on tasks, embed on actors, commit here; raises Cancelled after a cancel."""
    import pyarrow as pa

    from engine.ingest.document import container_of
    from engine.ingest.isolation import ParserUnavailable

    parts_of: dict[str, list[str]] = {}  # file -> its parts now in the index (to replace them)
    for path in docs:
        if container_of(path) != path:
            parts_of.setdefault(container_of(path), []).append(path)
    job.check()  # cancelled while scanning: no cluster for nothing
    job.status("Starting Ray")
    first_failed, first_file = len(summary.files_failed), len(summary.files)
    with ray_session(options.address, options.num_cpus) as ray:
        job.check()
        cpus = float(ray.cluster_resources().get("CPU", 1))
        workers, actor_cpus, parse_cpus = plan_resources(cpus, options.workers)
        workers = min(workers, len(todo))  # each actor loads a model: not more than files
        slots = max(1, int((cpus - workers * actor_cpus) / parse_cpus))
        per_task = max(1, min(options.parse_files, -(-len(todo) // slots)))
        rows = [pickle.dumps((path, st, docs.get(path), parts_of.get(path, [])))
                for path, st in todo]
        # one block per parse task: Ray Data runs a task per block, whatever the batch size
        ds = ray.data.from_arrow([
            pa.table({"todo": pa.array(rows[i:i + per_task], pa.large_binary())})
            for i in range(0, len(rows), per_task)])
        ds = ds.map_batches(_parse_task, batch_size=per_task, batch_format="pyarrow",
                            num_cpus=parse_cpus, fn_kwargs={
                                "config": config, "timeout_s": settings.parse_timeout_s,
                                "batch_chunks": options.batch_chunks})
        with warnings.catch_warnings():
            # max_restarts=0 (Ray Data's documented switch, deprecated as a loose keyword in
            # 2.60 with no named replacement yet): an actor that dies ends the run, committed
            # groups stay and the next run resumes, as an embedder crash ends a local run. With
            # restarts on, Ray logs an error for every actor (its constructor arguments live in
            # the object store, ray#53727). The differing remote args also keep Ray Data from
            # fusing the parse tasks into the actors, which would then parse and embed in turn
            # instead of overlapping the two stages.
            warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
            ds = ds.map_batches(_EmbedActor, batch_size=1, batch_format="pyarrow",
                                compute=ray.data.ActorPoolStrategy(size=workers),
                                num_cpus=actor_cpus, max_restarts=0, fn_constructor_kwargs={
                                    "embedder_path": coll.meta.embedder_path,
                                    "dim": coll.meta.dim, "threads": max(1, round(actor_cpus))})
        job.status(f"Parsing and embedding on Ray ({workers} embedding "
                   f"worker{'s' if workers > 1 else ''})")
        done, work_done = 0, 0.0
        weights = {path: file_work(path, st) for path, st in todo}
        total_work = float(sum(weights.values()))
        try:
            with warnings.catch_warnings():
                # fewer groups than actors (a small folder) is not worth a warning on stderr
                warnings.filterwarnings("ignore", "The minimum number of concurrent actors")
                for row in ds.iter_rows():
                    if row["fatal"]:
                        raise ParserUnavailable(row["fatal"])
                    commit, report, paths = pickle.loads(row["commit"])
                    coll.commit_files(*commit)  # embedded already: kept even if cancelled now
                    _merge(summary, report)
                    for path in paths:
                        job.partial(path)
                    done += len(paths)
                    work_done += sum(weights.get(path, 0.0) for path in paths)
                    job.progress(done, len(todo), chunks=summary.chunks,
                                 work=(work_done, total_work))
                    job.check()
        except (Cancelled, SatchelError):
            raise
        except Exception as exc:  # a Ray failure, not one file's: the run cannot complete
            if job.cancelled():  # Ctrl-C reached a worker first: still a cancel
                raise Cancelled() from None
            raise SatchelError(f"the Ray run failed: {first_line(exc)}") from None
    # groups arrive in completion order; list them as the local indexer does, in path order
    summary.files[first_file:] = sorted(summary.files[first_file:], key=lambda f: f["path"])
    summary.files_failed[first_failed:] = sorted(summary.files_failed[first_failed:],
                                                 key=lambda f: f["path"])


def _merge(summary: IndexSummary, report: IndexSummary) -> None:
    summary.files_indexed += report.files_indexed
    summary.files_unchanged += report.files_unchanged
    summary.files_reread += report.files_reread
    summary.chunks += report.chunks
    summary.files += report.files
    summary.files_failed += report.files_failed


# -- inside Ray workers ---------------------------------------------------------------------------
def _group_table(group: list[tuple[Any, list[str]]], fatal: str = "") -> Any:
    import pyarrow as pa

    payload = pickle.dumps(group) if group else b""
    return pa.table({"group": pa.array([payload], pa.large_binary()),
                     "fatal": pa.array([fatal], pa.string())})


def _parse_task(batch: Any, config: Any, timeout_s: float, batch_chunks: int) -> Iterator[Any]:
    """A Ray task: hash and parse a slice of files with the indexer's own parse loop (its
    ParseWorker child keeps the time and memory limits); yield groups of at most
    ``batch_chunks`` chunks or COMMIT_FILES files as they fill, so embedding starts early.

    A parser that cannot start at all is yielded as a ``fatal`` row: the driver stops the run
    with that reason, as the local indexer does.
    """
    from engine.indexer import _parse_thread

    entries = [pickle.loads(b) for b in batch.column("todo").to_pylist()]
    todo = [(path, st) for path, st, _, _ in entries]
    docs = {path: doc for path, _, doc, _ in entries if doc is not None}
    parts = {path: old for path, _, _, old in entries}
    out: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()
    errors: list[BaseException] = []
    thread = threading.Thread(target=_parse_thread, name="satchel-parse", daemon=True,
                              args=(todo, docs, config, timeout_s, out, stop, errors, Job()))
    thread.start()
    group: list[tuple[Any, list[str]]] = []
    chunks = 0
    try:
        while (item := out.get()) is not None:
            group.append((item, parts.get(item.path, [])))
            chunks += sum(len(p.chunks) for p in item.parsed.walk()) if item.parsed else 0
            if chunks >= batch_chunks or len(group) >= COMMIT_FILES:
                yield _group_table(group)
                group, chunks = [], 0
        if group:
            yield _group_table(group)
    finally:
        stop.set()
        thread.join()
    if errors:
        error = errors[0]
        reason = first_line(error) if isinstance(error, SatchelError) else (
            f"{type(error).__name__}: {first_line(error)}")
        yield _group_table([], fatal=reason)


class _EmbedActor:
    """A Ray actor: one embedder, loaded once; turns each group into a ready-made commit with the
    indexer's ``_embed_batch`` (same ids, same rows) plus that group's share of the summary."""

    def __init__(self, embedder_path: str, dim: int, threads: int) -> None:
        from engine.embed import get_embedder

        self.embedder = get_embedder(embedder_path)
        self.embedder.info  # noqa: B018 - load now, not on the first batch
        self.embedder.set_threads(threads)  # the loader takes every core; this actor has `threads`
        self.dim = dim

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from engine.indexer import _account, _embed_batch

        commits, fatals = [], []
        for payload, fatal in zip(batch.column("group").to_pylist(),
                                  batch.column("fatal").to_pylist(), strict=True):
            fatals.append(fatal)
            if fatal:
                commits.append(b"")
                continue
            group = pickle.loads(payload)
            items = [item for item, _ in group]
            parts_of = {item.path: old for item, old in group}
            commit = _embed_batch(items, self.embedder, self.dim, Job(), parts_of)
            report = IndexSummary(collection="")
            for item in items:
                _account(item, report)
            commits.append(pickle.dumps((commit, report, [item.path for item in items])))
        return pa.table({"commit": pa.array(commits, pa.large_binary()),
                         "fatal": pa.array(fatals, pa.string())})
