"""Run a question set through the chosen modes and score every answer: the evaluation harness.

Why it is built this way:
- Deterministic: temperature 0 (greedy) and a fixed seed, so two runs on the same index, model
  and adapter give the same answers and a difference between runs means something changed.
- Mode by mode, not question by question: the system prompt of a mode stays in llama.cpp's
  prefix cache across its questions and the adapter is switched at most twice (switching resets
  the cache). Reusing the cache does not change greedy answers (checked: identical text with and
  without it), it only saves the prompt time a real session would also save.
- Resumable: every finished (question, mode) row is appended to a journal before the next one
  starts. The journal is keyed by everything that decides an answer (model file, adapter,
  collection version, settings, seed), so re-running the same command after Ctrl-C, a crash or
  a kill continues where it stopped; it is deleted once a report is written.
- Honest cost accounting: time inside ``Assistant.ask`` (retrieval for the prompt, prompt
  evaluation, generation) is the answers' time; everything else (loading the set, the scoring
  retrieval, metrics, the journal, the report) is evaluation overhead and is measured by section.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SatchelError
from engine.evaluate import metrics as M
from engine.evaluate.journal import JOURNAL_VERSION, Journal, file_id, journal_path
from engine.evaluate.questions import QAItem
from engine.jobs import Cancelled, Job
from engine.modes import ADAPTER_MODES, MODES
from engine.settings import Settings


@dataclass
class EvalConfig:
    """What to evaluate; ``None`` means "the settings' value" or "every mode"."""

    collection: str | None = None
    modes: tuple[str, ...] | None = None  # None: all four; adapter modes skipped without one
    adapter: str | None = None  # both adapter modes; None: chosen per mode by kind (below)
    #: rag+adapter only (overrides ``adapter`` there); None: the newest reader adapter.
    reader_adapter: str | None = None
    adapter_scale: float = 1.0
    retrieval_only: bool = False
    search_mode: str | None = None  # vector | text | hybrid (None: settings.retrieval_mode)
    max_tokens: int | None = None  # None: settings.max_answer_tokens
    seed: int = 0
    resume: bool = True
    qa_file: str = ""  # recorded in the report only


@dataclass
class EvalTimes:
    """Seconds by section; ``generation_s`` is inside ``Assistant.ask``, the rest is overhead."""

    total_s: float = 0.0
    generation_s: float = 0.0
    sections: dict[str, float] = field(default_factory=dict)

    @property
    def overhead_s(self) -> float:
        return max(0.0, self.total_s - self.generation_s)

    @property
    def overhead_pct(self) -> float:
        return 100.0 * self.overhead_s / self.total_s if self.total_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"total_s": round(self.total_s, 3), "generation_s": round(self.generation_s, 3),
                "overhead_s": round(self.overhead_s, 3),
                "overhead_pct": round(self.overhead_pct, 2),
                "sections": {k: round(v, 3) for k, v in self.sections.items()}}


@dataclass
class EvalResult:
    """Every row, the per-mode summary, and what the report needs to explain the run."""

    rows: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    modes: list[str]
    notes: list[str]
    meta: dict[str, Any]
    times: EvalTimes
    resumed_rows: int = 0
    report_dir: Path | None = None

    #: The fields of ``satchel eval --json`` per mode, in order.
    CLI_FIELDS = ("hit_at_5", "mrr", "correct", "token_f1", "rouge_l", "similarity",
                  "citation_correct", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
                  "tokens_per_s")

    def to_cli_json(self) -> dict[str, Any]:
        """``{"report_dir": str, "modes": {MODE: {...11 fields}}}`` (None where n/a)."""
        def clean(v: Any) -> Any:
            return round(v, 4) if isinstance(v, float) else v

        return {"report_dir": str(self.report_dir) if self.report_dir else None,
                "modes": {mode: {k: clean(self.summary[mode].get(k)) for k in self.CLI_FIELDS}
                          for mode in self.modes}}


class _Clock:
    """Accumulates wall time per named section."""

    def __init__(self) -> None:
        self.sections: dict[str, float] = {}

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.sections[name] = self.sections.get(name, 0.0) + time.perf_counter() - started


# ------------------------------------------------------------------------------------- planning
def _fitting_adapters(model_path: Path) -> list[Any]:
    """Stored adapters trained on this model file, newest first.

    An adapter made for another model file would be refused by the runtime anyway.
    """
    from engine.model_files import model_sha256
    from models.adapters import list_adapters

    entries = list_adapters()
    if not entries or not Path(model_path).is_file():
        return []
    sha = model_sha256(model_path)
    return sorted((a for a in entries if a.manifest.base_model_sha256 == sha),
                  key=lambda a: a.manifest.created, reverse=True)


def newest_adapter_for(model_path: Path) -> str | None:
    """The newest stored adapter trained on this model file, or None (the demo's choice)."""
    fitting = _fitting_adapters(model_path)
    return fitting[0].name if fitting else None


def adapter_for_mode(model_path: Path, mode: str) -> str | None:
    """The newest adapter for this model that fits ``mode``, or the newest of another kind.

    A reader adapter (trained on the RAG prompt) is what ``rag+adapter`` wants; ``adapter``
    mode (no passages) wants a knowledge adapter, else any adapter but a reader: a reader shown
    no passages answers from nothing, and a row of it would only mislead the comparison.
    """
    from models.adapters import adapter_kind, modes_for

    fitting = _fitting_adapters(model_path)
    if mode == "rag+adapter":
        wanted: tuple[tuple[str, ...], ...] = (("reader",), ("knowledge", "pairs", "text"))
    else:
        wanted = (("knowledge",), ("pairs", "text"))
        fitting = [a for a in fitting if mode in modes_for(a)]
    for kinds in wanted:
        for a in fitting:
            if adapter_kind(a) in kinds:
                return a.name
    return fitting[0].name if fitting else None


def plan_modes(config: EvalConfig,
               adapters: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The modes to run and a note per mode left out. Raises SatchelError for bad requests.

    ``adapters``: the adapter each adapter mode would use. Default modes leave an adapter mode
    out (with a note) when it has none; adapter modes asked for by name without one are an
    error, since the user expects them.
    """
    explicit = config.modes is not None
    requested = list(config.modes) if explicit else (
        ["rag"] if config.retrieval_only else list(MODES))
    unknown = [m for m in requested if m not in MODES]
    if unknown:
        raise SatchelError(f"unknown mode {unknown[0]!r} (use one of: {', '.join(MODES)})")
    if not requested:
        raise SatchelError("no modes to evaluate")
    modes: list[str] = []
    notes: list[str] = []
    for mode in dict.fromkeys(requested):
        if config.retrieval_only and "rag" not in mode:
            notes.append(f"{mode}: skipped (no retrieval to score with --retrieval-only)")
        elif not config.retrieval_only and mode in ADAPTER_MODES and not adapters.get(mode):
            readers_only = mode == "adapter" and adapters.get("rag+adapter")
            why = ("no adapter for this model answers without passages (a reader is for "
                   "rag+adapter); train one with `satchel adapter train --kind knowledge`"
                   if readers_only else
                   "no adapter for this model; train one with `satchel adapter train`")
            if explicit:
                raise SatchelError(f"mode {mode!r} needs an adapter: {why}, or pass --adapter "
                                   "NAME (see `satchel adapter list`)")
            notes.append(f"{mode}: skipped ({why} or pass --adapter NAME)")
        else:
            modes.append(mode)
    if not modes:
        raise SatchelError("none of the requested modes can be evaluated: " + "; ".join(notes))
    order = {m: i for i, m in enumerate(MODES)}  # one adapter switch: base, rag, then adapter
    return sorted(modes, key=order.__getitem__), notes


# ------------------------------------------------------------------------------------- running
def run_eval(items: list[QAItem], config: EvalConfig, *, settings: Settings | None = None,
             runtime: Any = None, job: Job | None = None) -> EvalResult:
    """Evaluate ``items`` in the configured modes; raises Cancelled (journal kept) on cancel.

    ``runtime`` shares an already loaded model (tests, the GUI); by default the process-wide one.
    The report is written separately (:func:`engine.evaluate.report.write_report`).
    """
    from engine.answer import Assistant

    clock = _Clock()
    started = time.perf_counter()
    job = job or Job()
    settings = dataclasses.replace(settings or Settings())
    if config.search_mode:
        if config.search_mode not in ("vector", "text", "hybrid"):
            raise SatchelError(f"unknown search mode {config.search_mode!r} (use vector, text "
                               "or hybrid)")
        settings.retrieval_mode = config.search_mode
    if config.max_tokens is not None and config.max_tokens < 1:
        raise SatchelError("--max-tokens must be at least 1")
    max_tokens = config.max_tokens or settings.max_answer_tokens
    collection = config.collection or settings.default_collection
    with clock.section("setup"):
        job.status("Preparing the evaluation")
        from engine.model_files import default_model_path

        # not resolve_model(): parsing the GGUF header takes seconds, and ask() validates anyway
        model_path = (Path(settings.model_path).expanduser().resolve() if settings.model_path
                      else default_model_path())
        if not config.retrieval_only and not model_path.is_file():
            raise SatchelError(f"model file not found: {model_path}")
        wants_adapter = not config.retrieval_only and (
            config.modes is None or any(m in ADAPTER_MODES for m in config.modes))
        by_mode: dict[str, str] = {}
        if wants_adapter:
            for mode in ADAPTER_MODES:
                chosen = (config.reader_adapter if mode == "rag+adapter" else None) or (
                    config.adapter or adapter_for_mode(model_path, mode))
                if chosen:
                    by_mode[mode] = chosen
        adapter_id: list[Any] = []
        if by_mode:
            from models.adapters import get_adapter

            for mode, name in by_mode.items():
                entry = get_adapter(name)  # one-line error naming the known adapters
                adapter_id += [mode, name, *file_id(entry.path)]
        modes, notes = plan_modes(config, by_mode)
        if config.adapter is None:
            for mode in (m for m in modes if m in by_mode):
                if mode == "rag+adapter" and config.reader_adapter:
                    continue
                notes.append(f"{mode} uses {by_mode[mode]!r}, the newest adapter for this model "
                             "that fits the mode (pick another with --adapter / "
                             "--reader-adapter)")
        coll_id: list[Any] = []
        if any("rag" in m for m in modes):
            from engine.index import Collection

            coll = Collection.open(collection)  # one-line error naming known collections
            if coll.count_chunks() == 0:
                raise SatchelError(f"collection {collection!r} is empty: index files into it "
                                   f"first (satchel index PATH --collection {collection})")
            coll_id = [collection, coll.chunks.version, coll.count_chunks()]
        fingerprint = {
            "v": JOURNAL_VERSION, "adapter": adapter_id,
            "model": file_id(model_path) if model_path.is_file() else [str(model_path)],
            "adapter_scale": config.adapter_scale, "collection": coll_id,
            "retrieval_only": config.retrieval_only, "seed": config.seed,
            "max_tokens": max_tokens, "settings": {k: getattr(settings, k) for k in (
                "n_ctx", "n_batch", "top_k", "context_tokens", "retrieval_mode", "embedder")},
        }
        journal = Journal(journal_path(fingerprint, collection if coll_id else None))
        if not config.resume:
            journal.remove()
        done = journal.load()
    assistant = None if config.retrieval_only else Assistant(settings, runtime)
    retrievals: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    resumed = 0
    total = len(items) * len(modes)
    generation_s = 0.0
    for mode in modes:
        for number, item in enumerate(items, start=1):
            key = item.key()
            job.progress(len(rows), total, mode=mode)
            previous = done.get((key, mode))
            if previous is not None:
                previous["id"] = item.line or number
                rows.append(previous)
                resumed += 1
                continue
            job.check()
            job.status(f"{mode}: question {number} of {len(items)}")
            answer_json = None
            if assistant is not None:
                t0 = time.perf_counter()
                try:
                    stream = assistant.ask(item.question, mode, collection=collection,
                                           adapter=by_mode.get(mode),
                                           adapter_scale=config.adapter_scale,
                                           temperature=0.0, seed=config.seed,
                                           max_tokens=max_tokens)
                except SatchelError as exc:  # say which question, keep it one line
                    raise SatchelError(f"question {item.line or number} ({mode}): {exc}"
                                       ) from None
                for _ in stream:
                    if job.cancelled():
                        stream.stop()
                answer = stream.answer
                generation_s += time.perf_counter() - t0
                if answer.stopped and job.cancelled():
                    raise Cancelled()  # a cut-short answer is not a result: redo it on resume
                answer_json = answer.to_json()
            retrieval = None
            if "rag" in mode:  # after the answer, which loads the embedder it needs anyway
                with clock.section("retrieval scoring"):
                    if key not in retrievals:
                        from engine.retrieve import search

                        hits = search(item.question, collection, k=M.RETRIEVAL_DEPTH,
                                      mode=settings.retrieval_mode)
                        retrievals[key] = M.retrieval_record(hits, item)
                    retrieval = retrievals[key]
            with clock.section("metrics"):
                row = {"id": item.line or number, "key": key, "mode": mode,
                       "question": item.question,
                       "gold": {"answers": list(item.answers), "sources": list(item.sources),
                                "pages": list(item.pages)},
                       "retrieval": retrieval, "answer": answer_json,
                       "metrics": M.score_row(item, mode, retrieval, answer_json, None)}
            with clock.section("journal"):
                journal.append(row)
            rows.append(row)
            job.partial(row)
    job.progress(len(rows), total, mode=modes[-1])
    with clock.section("similarity"):
        job.status("Scoring answers by meaning")
        M.fill_similarity(rows, settings.embedder)
    with clock.section("metrics"):
        summary = {mode: M.summarize([r for r in rows if r["mode"] == mode]) for mode in modes}
    if resumed:
        notes.append(f"resumed: {resumed} of {total} rows came from an interrupted run")
    times = EvalTimes(total_s=time.perf_counter() - started, generation_s=generation_s,
                      sections=dict(clock.sections))
    meta = {
        "qa_file": config.qa_file, "questions": len(items), "collection": collection,
        "modes": modes, "adapter": _adapter_label(by_mode, modes),
        "adapters": {m: by_mode[m] for m in modes if m in by_mode},
        "adapter_scale": config.adapter_scale,
        "model": (assistant.runtime.info.name if assistant is not None and assistant.runtime.loaded
                  and assistant.runtime.info.name else model_path.name),
        "model_path": str(model_path), "retrieval_only": config.retrieval_only,
        "search_mode": settings.retrieval_mode, "top_k": settings.top_k,
        "context_tokens": settings.context_tokens, "temperature": 0.0, "seed": config.seed,
        "max_tokens": max_tokens, "retrieval_depth": M.RETRIEVAL_DEPTH,
        "journal": str(journal.path),
    }
    return EvalResult(rows=rows, summary=summary, modes=modes, notes=notes, meta=meta,
                      times=times, resumed_rows=resumed)


def _adapter_label(by_mode: dict[str, str], modes: list[str]) -> str | None:
    """"name" when the adapter modes share one, else "a (adapter), b (rag+adapter)"."""
    used = {m: by_mode[m] for m in modes if m in by_mode}
    if not used:
        return None
    if len(set(used.values())) == 1:
        return next(iter(used.values()))
    return ", ".join(f"{name} ({mode})" for mode, name in used.items())


def evaluate(items: list[QAItem], config: EvalConfig, out_dir: str | os.PathLike[str] | None,
             *, settings: Settings | None = None, runtime: Any = None,
             job: Job | None = None) -> EvalResult:
    """Run, write the report, then drop the journal: the one call the CLI, GUI and bench use.

    ``out_dir`` None: a new timestamped folder under the data dir's ``reports``. The reported
    total time includes writing the report, so the overhead figure is the whole run's.
    """
    from engine.evaluate.report import default_report_dir, write_report

    started = time.perf_counter()
    job = job or Job()
    result = run_eval(items, config, settings=settings, runtime=runtime, job=job)
    job.status("Writing the report")
    report_started = time.perf_counter()
    target = Path(out_dir).expanduser().resolve() if out_dir else default_report_dir()
    result.times.sections["report"] = 0.0  # measured below; written into results.json last
    write_report(result, target, finish=lambda: _finish_times(result, started, report_started))
    Journal(Path(result.meta["journal"])).remove()
    job.finish()
    return result


def _finish_times(result: EvalResult, started: float, report_started: float) -> None:
    now = time.perf_counter()
    result.times.sections["report"] = now - report_started
    result.times.total_s = now - started
