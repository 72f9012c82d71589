"""What the GUI asks the engine to do, as plain functions run by :class:`gui.worker.Executor`.

Why one module: it is the whole boundary between widgets and engine. Every function runs in the
worker thread, takes a :class:`gui.worker.TaskContext` first, calls only the engine's public API
(indexer, index, answer, sessions, llm, models) and returns plain data the widgets can show.
Heavy libraries are imported here lazily, inside the functions, never when the window starts.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from engine.modes import ADAPTER_MODES
from engine.settings import Settings
from gui.tasks import TaskContext, stream_pieces


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int
    embedder: str
    chunk_tokens: int
    #: why its index cannot be read (re-indexing rebuilds it); "" when it is fine
    damaged: str = ""


@dataclass(frozen=True)
class FileStatus:
    """One row of the library table: what happened to a file (or what the index holds)."""

    path: str
    status: str  # indexed | unchanged | failed | skipped | stored
    detail: str = ""
    chunks: int = 0
    loader: str = ""  # what read the file ("python-docx", "... + OCR on 2 of 5 pages")
    outdated: bool = False  # read by an earlier version's readers; Re-index reads it again


@dataclass
class IndexOutcome:
    summary: Any  # engine.indexer.IndexSummary
    files: list[FileStatus] = field(default_factory=list)


def list_collections(ctx: TaskContext) -> list[CollectionInfo]:
    """Every collection with its counts (opens each collection: worker only)."""
    from engine import index
    from engine.index_health import counts_or_damage

    out = []
    for meta in index.list_collections():
        documents, chunks, damaged = counts_or_damage(meta)
        out.append(CollectionInfo(meta.name, documents, chunks, meta.embedder,
                                  meta.chunk_tokens, damaged))
    return out


def collection_files(ctx: TaskContext, name: str, ocr: bool = False) -> list[FileStatus]:
    """What the index holds for ``name``: one row per document, failed ones with the reason;
    ``outdated`` rows are read again by the next index run (``ocr``: OCR is on now)."""
    from engine import index

    if name not in {m.name for m in index.list_collections()}:
        return []
    docs = index.Collection.open(name).documents()
    outdated = set(index.outdated(docs, ocr=ocr))
    shown = {"ok": "stored", "empty": "skipped"}
    return [FileStatus(d.path, shown.get(d.status, "failed"),
                       d.error if d.status != "ok" else _doc_detail(d), d.chunks, d.loader,
                       outdated=d.path in outdated)
            for d in sorted(docs.values(), key=lambda d: d.path)]


def _doc_detail(doc: Any) -> str:
    pages = f"{doc.pages} page{'s' if doc.pages != 1 else ''}, " if doc.pages else ""
    chunks = f"{doc.chunks} chunk{'s' if doc.chunks != 1 else ''}"
    from engine.ingest.revisions import is_current

    older = "" if is_current(doc.reader, path=doc.path) else " by an earlier version"
    return f"{pages}{chunks}, indexed {doc.indexed_at.replace('T', ' ')}{older}"


def _docs_or_empty(name: str) -> dict[str, Any]:
    from engine import index

    if name not in {m.name for m in index.list_collections()}:
        return {}
    return index.Collection.open(name).documents()


def index_files(ctx: TaskContext, inputs: list[str], collection: str,
                settings: Settings, retry_failed: bool = False) -> IndexOutcome:
    """Index ``inputs`` into ``collection`` and say, per file, what happened.

    The engine's summary has counts and the failed files; which files were (re-)indexed or left
    unchanged comes from comparing the collection's documents before and after the run.
    """
    from engine.indexer import index_paths
    from engine.ingest.scan import is_under

    ctx.job.status("Preparing")
    sent = [0]
    lock = threading.Lock()

    def finished_files(_state: Any) -> None:
        """Stream the files the indexer is done with (its Job's partial results) as
        ``("files", [path, ...])`` events, so the table fills while the run goes on.

        Job listeners run in whichever thread reports: the indexer's thread (progress, status)
        and the worker's command thread (``job.cancel()``). Without the lock two of them could
        read the same ``sent[0]`` and send a file twice; holding it across the emit also keeps
        the batches in order.
        """
        with lock:
            done = ctx.job.partial_results[sent[0]:]
            if done:
                sent[0] += len(done)
                ctx.emit(("files", [str(p) for p in done]))

    ctx.job.add_listener(finished_files)
    before = _docs_or_empty(collection)
    summary = index_paths(inputs, collection, job=ctx.job, settings=settings,
                          retry_failed=retry_failed)
    after = _docs_or_empty(collection)
    roots = [os.path.abspath(os.path.expanduser(os.fspath(p))) for p in inputs]
    failed = {f["path"]: f["reason"] for f in summary.files_failed}
    skipped = {f["path"] for f in summary.files_skipped}
    rows: list[FileStatus] = []
    for path, doc in sorted(after.items()):
        if not is_under(path, roots) or path in failed or path in skipped:
            continue
        old = before.get(path)
        changed = old is None or old.indexed_at != doc.indexed_at or \
            old.content_hash != doc.content_hash
        if doc.status != "ok":
            rows.append(FileStatus(path, "failed", doc.error))
        elif changed:
            rows.append(FileStatus(path, "indexed", _doc_detail(doc), doc.chunks, doc.loader))
        else:
            rows.append(FileStatus(path, "unchanged", _doc_detail(doc), doc.chunks, doc.loader))
    rows += [FileStatus(p, "failed", r) for p, r in sorted(failed.items())]
    rows += [FileStatus(f["path"], "skipped", f["reason"]) for f in summary.files_skipped]
    return IndexOutcome(summary, rows)


def prepare_sample(ctx: TaskContext, settings: Settings) -> IndexOutcome:
    """First run: index the bundled sample corpus into the "sample" collection."""
    from engine.samples import CORPUS_DIR
    from gui.state import SAMPLE_COLLECTION

    return index_files(ctx, [str(CORPUS_DIR)], SAMPLE_COLLECTION, settings)


def remove_collection(ctx: TaskContext, name: str) -> str:
    from engine import index

    index.remove_collection(name)
    return name


@dataclass(frozen=True)
class WarmUpRequest:
    """What the first question will most likely need: the window's mode, collection, adapter."""

    mode: str
    collection: str
    adapter: str | None
    adapter_scale: float
    settings: Settings


def warm_up(ctx: TaskContext, req: WarmUpRequest) -> Any:
    """Background start-up: load the model, the collection's embedder and tables, and evaluate
    the prompt's fixed start (:meth:`engine.answer.Assistant.warm_up`), so the first question
    pays only for itself. Gives way between steps as soon as the user's own task waits behind
    it or the window cancels it; never fails (a first run has no collection yet). Returns the
    engine's WarmUp report."""
    from engine.answer import Assistant
    from engine.jobs import Cancelled

    report = Assistant(req.settings).warm_up(
        req.mode, collection=req.collection, adapter=req.adapter,
        adapter_scale=req.adapter_scale,
        interrupted=lambda: ctx.cancelled() or ctx.others_waiting())
    if ctx.cancelled():
        raise Cancelled()
    return report


@dataclass(frozen=True)
class AskRequest:
    question: str
    mode: str
    collection: str
    adapter: str | None
    adapter_scale: float
    session_id: int | None
    settings: Settings


def ask(ctx: TaskContext, req: AskRequest) -> Any:
    """Answer one question, streaming text batches as events; the turn is saved to the session.

    Without a session one is created first and announced as a ``("session", id)`` event.
    Follow-ups: the session's earlier turns are the history (the engine reuses their exact
    prompt text so llama.cpp's cache keeps working). Returns the finished
    :class:`engine.answer.Answer`, stopped or not.
    """
    from engine.answer import Assistant
    from engine.sessions import SessionStore

    store = SessionStore()
    session_id = req.session_id
    if session_id is None:
        session_id = store.create()
        ctx.emit(("session", session_id))
    history = store.history(session_id)
    assistant = Assistant(req.settings)
    uses_adapter = req.mode in ADAPTER_MODES
    stream = assistant.ask(req.question, req.mode, collection=req.collection, history=history,
                           adapter=req.adapter if uses_adapter else None,
                           adapter_scale=req.adapter_scale)
    ctx.on_cancel(stream.stop)
    ctx.emit(("sources", list(stream.answer.sources)))
    stream_pieces(stream, lambda text: ctx.emit(("text", text)))
    answer = stream.answer
    if answer.text and not answer.error:
        store.add_turn(session_id, answer)
    return answer


# -- chat sessions: SQLite only, so they run on the worker's quick lane ---------------------------
@dataclass(frozen=True)
class SavedTurn:
    """A stored turn ready to show: the sources as passages and which of them the answer cites."""

    question: str
    mode: str
    adapter: str | None
    answer: str
    sources: list[Any]  # engine.prompt.Passage
    cited: list[int]
    timings: dict[str, Any]


def list_sessions(ctx: TaskContext) -> list[Any]:
    """Saved chats, most recent first (engine.sessions.SessionInfo)."""
    from engine.sessions import SessionStore

    return SessionStore().list()


def session_turns(ctx: TaskContext, session_id: int) -> list[SavedTurn]:
    from engine.prompt import Passage, cited_numbers
    from engine.sessions import SessionStore

    out = []
    for t in SessionStore().turns(session_id):
        sources = [Passage(n=s["n"], path=s["path"], page=s["page"], text=s["text"],
                           score=s.get("score", 0.0), chunk_id="") for s in t.sources]
        out.append(SavedTurn(t.question, t.mode, t.adapter, t.answer, sources,
                             cited_numbers(t.answer, len(sources)), t.timings))
    return out


def rename_session(ctx: TaskContext, session_id: int, title: str) -> str:
    from engine.sessions import SessionStore

    SessionStore().rename(session_id, title)
    return title


def delete_session(ctx: TaskContext, session_id: int) -> int:
    from engine.sessions import SessionStore

    SessionStore().delete(session_id)
    return session_id


def export_session(ctx: TaskContext, session_id: int, target: str) -> str:
    """Write the chat as Markdown to ``target`` (a path the user chose)."""
    from engine.errors import SatchelError
    from engine.sessions import SessionStore

    text = SessionStore().export_markdown(session_id)
    try:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise SatchelError(f"could not export to {target}: {exc.strerror or exc}") from None
    return target


def compare(ctx: TaskContext, question: str, collection: str, adapter: str | None,
            adapter_scale: float, settings: Settings, modes: tuple[str, ...]) -> list[Any]:
    """One question through every mode, each column streamed as it is generated.

    Same rules as :meth:`engine.answer.Assistant.compare` (adapter modes are skipped with a note
    when no adapter is active); events are ``(mode, "text", str)`` and ``(mode, "answer", Answer)``.
    """
    from engine.answer import Answer, Assistant

    assistant = Assistant(settings)
    answers: list[Any] = []
    for mode in modes:
        ctx.check()
        if mode in ADAPTER_MODES and not adapter:
            answer = Answer(question=question, mode=mode, error="skipped: no adapter is active "
                            "(train or activate one on the Adapters screen)")
        else:
            stream = assistant.ask(question, mode, collection=collection,
                                   adapter=adapter if mode in ADAPTER_MODES else None,
                                   adapter_scale=adapter_scale)
            ctx.on_cancel(stream.stop)
            ctx.emit((mode, "started", stream.answer))
            stream_pieces(stream, lambda text, m=mode: ctx.emit((m, "text", text)))
            answer = stream.answer
        answers.append(answer)
        ctx.emit((mode, "answer", answer))
    return answers


def list_models(ctx: TaskContext) -> list[Any]:
    """Bundled and registered GGUF models with their header metadata (reads files: worker)."""
    from models.store import list_models as store_models

    return store_models()


def register_model(ctx: TaskContext, path: str) -> Any:
    """Validate a GGUF file picked by the user and remember it."""
    from models.store import register_model as store_register

    return store_register(path)


def embedder_info(ctx: TaskContext, name_or_path: str | None) -> tuple[str, str]:
    """(display name, folder) of an embedder; a bad folder is a one-line error."""
    from engine.model_files import resolve_embedder

    name, folder = resolve_embedder(name_or_path)
    return name, str(folder)


def reindex(ctx: TaskContext, name: str, sources: list[str], settings: Settings) -> IndexOutcome:
    """Index a collection again: every file and folder it was built from (the engine records
    them; ``sources`` adds what this window knows, such as watched folders), plus any indexed
    file outside them; files that no longer exist are removed from the index.

    With changed chunking or embedder settings the engine rebuilds the collection from all of
    them while the old generation keeps answering (see :mod:`engine.index`).
    """
    from engine.indexer import reindex_inputs

    ctx.job.status("Finding the collection's files")
    inputs = reindex_inputs(name, sources)
    return index_files(ctx, inputs, name, settings, retry_failed=True)
