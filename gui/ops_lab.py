"""Worker-side calls for the Adapters and Evaluate screens (LoRA training, the adapter store,
the evaluation harness), the counterpart of :mod:`gui.ops` for the "lab" screens.

Same rules: run in the worker thread, public engine APIs only (``engine.train``,
``models.adapters``, ``engine.evaluate``), heavy imports inside the functions, plain results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.settings import Settings
from gui.tasks import TaskContext


@dataclass(frozen=True)
class AdapterRow:
    name: str
    base_model: str
    created: str
    source: str
    metrics: dict[str, Any]
    compatible: bool
    problem: str = ""
    mode: str = "adapter"  # the answer mode it is made for (models.adapters.mode_for)


def _describe_source(source: dict[str, Any]) -> str:
    kind = source.get("kind")
    if kind == "collection":
        return f"collection {source.get('name')}"
    if kind == "pairs":
        return f"pairs file {Path(str(source.get('path', ''))).name}"
    return str(kind or "?")


def list_adapters(ctx: TaskContext, model_path: str | None) -> list[AdapterRow]:
    """Stored adapters, each checked against the model in use (sha256, shapes)."""
    from engine.model_files import resolve_model
    from models.adapters import AdapterError, check_compatible, mode_for
    from models.adapters import list_adapters as stored

    entries = stored()
    model: Path | None = None
    if entries:
        model, _info = resolve_model(model_path)
    rows = []
    for entry in entries:
        problem = ""
        try:
            check_compatible(entry, model)  # type: ignore[arg-type]
        except AdapterError as exc:
            problem = str(exc)
        m = entry.manifest
        rows.append(AdapterRow(entry.name, m.base_model_name, m.created.replace("T", " "),
                               _describe_source(m.data_source), dict(m.metrics), not problem,
                               problem, mode_for(entry)))
    return rows


def adapter_modes(name: str) -> tuple[str, ...]:
    """The answer modes the adapter ``name`` can answer in (models.adapters.modes_for): a reader
    only in rag+adapter. Reads one small manifest, so the GUI thread may call it. A missing
    adapter gets both modes: asking with it reports that it is gone."""
    from engine.modes import ADAPTER_MODES
    from models.adapters import AdapterError, get_adapter, modes_for

    try:
        return modes_for(get_adapter(name))
    except AdapterError:
        return ADAPTER_MODES


def delete_adapter(ctx: TaskContext, name: str) -> str:
    """Remove an adapter; if llama.cpp holds it, the model is unloaded (reloads on next use),
    so a new adapter trained under the same name is never confused with the old weights."""
    from engine.llm import get_runtime
    from models.adapters import remove_adapter

    remove_adapter(name)
    runtime = get_runtime()
    if name in runtime.state().loaded_adapters:
        runtime.unload()
    return name


#: Prepared plans, kept in the worker process (a plan holds the tokenizer and the packed data;
#: the window only needs its description and its id).
_PLANS: dict[str, Any] = {}


@dataclass
class PreparedRun:
    """What the dialog shows about a prepared plan before the user commits to it."""

    plan_id: str
    name: str
    describe: str
    estimate_s: float
    preview: list[str]
    checkpoint_step: int | None
    steps: int
    eval_every: int


def prepare_training(ctx: TaskContext, collection: str | None, data_file: str | None,
                     preset: str, name: str | None, max_steps: int | None,
                     settings: Settings, seq_len: int | None = None,
                     resume: bool = False, kind: str = "auto") -> PreparedRun:
    """Read and pack the data, estimate the run, find a checkpoint to resume (no model load).

    ``seq_len`` overrides the preset's block length (the dialog's advanced field): shorter
    blocks train faster per step, and the engine says so when an example does not fit.
    """
    from engine.train import TrainConfig, prepare

    config = TrainConfig(collection=collection, data_file=data_file, preset=preset, kind=kind,
                         settings=settings, name=name or None, max_steps=max_steps,
                         model_path=settings.model_path,
                         resume=resume, overrides={"seq_len": seq_len} if seq_len else {})
    plan = prepare(config, ctx.job)
    _PLANS.clear()  # one plan at a time: the dialog prepares, then trains or re-prepares
    _PLANS[plan.run_id] = plan
    return PreparedRun(plan.run_id, plan.name, plan.describe(), plan.estimate_s,
                       plan.data.preview(6), plan.checkpoint_step(), plan.steps,
                       plan.preset.eval_every)


def run_training(ctx: TaskContext, plan_id: str, resume: bool) -> Any:
    """Train (or resume from the checkpoint); returns engine.train.TrainResult.

    Cancelling raises Cancelled after the engine saved a checkpoint, so Resume continues there.
    """
    from engine.errors import SatchelError
    from engine.train import run

    plan = _PLANS.get(plan_id)
    if plan is None:
        raise SatchelError("the training plan is gone (the worker restarted): press “Check "
                           "data and estimate” again")
    plan.config.resume = resume
    return run(plan, ctx.job)


# -- evaluation -----------------------------------------------------------------------------------
@dataclass
class EvalOutcome:
    report_dir: str
    modes: list[str]
    summary: dict[str, dict[str, Any]]
    notes: list[str]
    time_line: str
    meta: dict[str, Any] = field(default_factory=dict)
    charts: list[str] = field(default_factory=list)
    advice: str = ""  # the mode advisor's sentence (empty for retrieval-only runs)


def _outcome_from_payload(report_dir: Path, payload: dict[str, Any], time_line: str
                          ) -> EvalOutcome:
    charts = [str(report_dir / n) for n in ("accuracy.png", "latency.png", "questions.png",
                                            "retrieval.png") if (report_dir / n).exists()]
    from engine.evaluate.advisor import advise

    meta = payload.get("meta", {})
    advice = "" if meta.get("retrieval_only") else advise(payload["summary"]).sentence
    return EvalOutcome(str(report_dir), list(payload["modes"]), payload["summary"],
                       list(payload.get("notes", [])), time_line, meta, charts, advice)


def run_evaluation(ctx: TaskContext, qa_file: str, collection: str, modes: tuple[str, ...],
                   adapter: str | None, adapter_scale: float, limit: int | None,
                   retrieval_only: bool, settings: Settings) -> EvalOutcome:
    """Every question through the chosen modes, scored, with the report written to disk."""
    from engine.evaluate import EvalConfig, evaluate, load_questions
    from engine.evaluate.report import time_line

    items = load_questions(qa_file, limit=limit)
    config = EvalConfig(collection=collection, modes=modes, adapter=adapter,
                        adapter_scale=adapter_scale, retrieval_only=retrieval_only,
                        qa_file=qa_file)
    result = evaluate(items, config, None, settings=settings, job=ctx.job)
    payload = {"modes": result.modes, "summary": result.summary, "notes": result.notes,
               "meta": result.meta}
    return _outcome_from_payload(Path(result.report_dir), payload, time_line(result))


def latest_report(ctx: TaskContext) -> EvalOutcome | None:
    """The newest report under the data dir (shown when the screen opens), or None."""
    from engine import paths

    reports = sorted((p for p in paths.reports_dir().iterdir()
                      if (p / "results.json").is_file()), key=lambda p: p.stat().st_mtime)
    if not reports:
        return None
    folder = reports[-1]
    try:
        payload = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    times = payload.get("times", {})
    line = (f"Run time {times.get('total_s', 0):.1f} s: answers {times.get('generation_s', 0):.1f}"
            f" s, evaluation overhead {times.get('overhead_s', 0):.1f} s")
    return _outcome_from_payload(folder, payload, line)


def summary_fields() -> dict[str, str]:
    """metric key -> label, in the report's order (light import: no model, no matplotlib)."""
    from engine.evaluate.metrics import SUMMARY_FIELDS

    return dict(SUMMARY_FIELDS)
