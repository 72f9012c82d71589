"""The evaluation report: ``results.json`` (every row), ``summary.md`` (tables) and PNG charts.

Why three forms: the JSON is for tools and the GUI (each row holds the same ``Answer.to_json()``
object ``satchel ask --json`` and compare print, so every screen shows the same data); the
Markdown is what a person reads or pastes into an issue; the charts make four modes comparable
at a glance. Files are written atomically so a report folder never holds half a file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.evaluate.metrics import SUMMARY_FIELDS

if TYPE_CHECKING:
    from engine.evaluate.runner import EvalResult

RATE_FIELDS = {"hit_at_1", "hit_at_3", "hit_at_5", "mrr", "hit_at_5_file", "correct",
               "token_f1", "rouge_l", "similarity", "citation_correct", "cited"}


def default_report_dir() -> Path:
    """A new folder under the data dir's reports: ``eval-YYYYmmdd-HHMMSS`` (suffixed if taken)."""
    from engine.paths import reports_dir

    base = reports_dir() / time.strftime("eval-%Y%m%d-%H%M%S")
    candidate, n = base, 2
    while candidate.exists():
        candidate, n = base.with_name(f"{base.name}-{n}"), n + 1
    return candidate


def fmt(key: str, value: Any) -> str:
    """A summary value as the Markdown table shows it ("–" when it does not apply)."""
    if value is None:
        return "–"
    if key in RATE_FIELDS:
        return f"{value:.3f}"
    if key.endswith("_ms"):
        return f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def time_line(result: EvalResult) -> str:
    """"Run time 412.0 s: answers 401.2 s, evaluation overhead 10.8 s (2.6%)"."""
    t = result.times
    if result.meta.get("retrieval_only"):
        return f"Retrieval of {result.meta['questions']} questions scored in {t.total_s:.1f} s"
    return (f"Run time {t.total_s:.1f} s: answers {t.generation_s:.1f} s, evaluation overhead "
            f"{t.overhead_s:.1f} s ({t.overhead_pct:.1f}%)")


def summary_markdown(result: EvalResult) -> str:
    """The Markdown report: run facts, the metrics table (modes as columns), notes, per question."""
    meta, modes = result.meta, result.modes
    lines = ["# Satchel evaluation", ""]
    retrieval_only = bool(meta.get("retrieval_only"))
    if retrieval_only:  # no answers: model, adapter and generation settings did not matter
        facts = [("question set", meta.get("qa_file") or "–"),
                 ("questions", meta["questions"]), ("collection", meta["collection"]),
                 ("settings", f"retrieval only, {meta['search_mode']} search, top "
                              f"{meta['retrieval_depth']} scored")]
    else:
        facts = [("question set", meta.get("qa_file") or "–"),
                 ("questions", meta["questions"]), ("collection", meta["collection"]),
                 ("model", meta["model"]), ("adapter", meta.get("adapter") or "–"),
                 ("settings", f"temperature 0, seed {meta['seed']}, max {meta['max_tokens']} "
                              f"answer tokens, top {meta['top_k']} passages, "
                              f"{meta['search_mode']} search")]
    facts.append(("written", time.strftime("%Y-%m-%d %H:%M:%S")))
    lines += [f"- **{k}**: {v}" for k, v in facts]
    if not retrieval_only:
        from engine.evaluate.advisor import advise

        lines += ["", f"**Recommendation**: {advise(result.summary).sentence}"]
    lines += ["", "| metric | " + " | ".join(modes) + " |",
              "|---|" + "---:|" * len(modes)]
    present = [k for k in SUMMARY_FIELDS
               if any(result.summary[m].get(k) is not None for m in modes)]
    for key in present:
        cells = [fmt(key, result.summary[m].get(key)) for m in modes]
        lines.append(f"| {SUMMARY_FIELDS[key]} | " + " | ".join(cells) + " |")
    legend = ("hit@k and MRR: a passage from a gold source (and gold page, when given) among "
              "the first k retrieved; *file hit@5* ignores pages.")
    if not retrieval_only:
        lines.append("| answers with errors | " + " | ".join(
            str(result.summary[m].get("errors", 0)) for m in modes) + " |")
        legend += (" *correct*: the answer contains a gold answer (case-insensitive). "
                   "*citation correct*: a cited passage contains a gold answer or comes from a "
                   "gold source.")
    lines += ["", legend, ""]
    lines.append(time_line(result) + " (" + ", ".join(
        f"{k} {v:.2f} s" for k, v in result.times.sections.items()) + ").")
    if result.notes:
        lines += ["", "Notes:", *[f"- {n}" for n in result.notes]]
    charts = [p for p in ("accuracy.png", "latency.png", "questions.png", "retrieval.png")
              if (result.report_dir and (result.report_dir / p).exists())]
    if charts:
        lines += ["", *[f"![{p[:-4]}]({p})" for p in charts]]
    lines += ["", "## Per question", "", "| # | question | " + " | ".join(modes) + " |",
              "|---:|---|" + ":---:|" * len(modes)]
    by_key: dict[tuple[int, str], dict[str, Any]] = {(r["id"], r["mode"]): r
                                                     for r in result.rows}
    for qid in sorted({r["id"] for r in result.rows}):
        question = next(r["question"] for r in result.rows if r["id"] == qid)
        cells = []
        for m in modes:
            row = by_key.get((qid, m))
            cells.append(_cell(row) if row else "")
        lines.append(f"| {qid} | {question.replace('|', '/')} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Cells: ✓ correct / ✗ wrong answer; r1…r5 rank of the first gold passage "
                 "(r– not in the top 5).")
    return "\n".join(lines) + "\n"


def _cell(row: dict[str, Any]) -> str:
    m = row["metrics"]
    parts = []
    if m.get("correct") is not None:
        parts.append("✓" if m["correct"] else "✗")
    if row.get("retrieval") is not None and row["gold"]["sources"]:
        rank = row["retrieval"]["gold_rank"]
        parts.append(f"r{rank}" if rank else "r–")
    return " ".join(parts)


# --------------------------------------------------------------------------------------- charts
_COLORS = {"base": "#8c8c8c", "rag": "#1f77b4", "adapter": "#ff7f0e", "rag+adapter": "#2ca02c"}


def _bars(ax: Any, groups: list[str], series: dict[str, list[float | None]],
          fmt_value: Callable[[float], str]) -> None:
    """Grouped bars: one group per label, one bar per series; None leaves a gap."""
    n = max(1, len(series))
    width = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        pairs = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if not pairs:
            continue
        bars = ax.bar([p[0] for p in pairs], [p[1] for p in pairs], width * 0.95, label=name,
                      color=_COLORS.get(name))
        for bar, (_, v) in zip(bars, pairs, strict=True):
            ax.annotate(fmt_value(v), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def _legend(ax: Any) -> None:
    """Modes below the axes, so the legend never hides a bar."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=4, fontsize=8,
              frameon=False)


def _figure(figsize: tuple[float, float]) -> Any:
    """A Figure drawn by the Agg canvas, explicitly: no pyplot, no GUI backend, no global state.

    The GUI runs evaluations on a worker thread, where pyplot (or a Qt canvas) must not be
    touched; an Agg canvas is private to its figure, so this is safe on any thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> None:
    import io

    from engine.paths import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def write_charts(result: EvalResult, out_dir: Path) -> list[Path]:
    """PNG charts comparing the modes (matplotlib, imported here: it costs ~0.5 s to load)."""
    modes, summary = result.modes, result.summary
    written: list[Path] = []
    if result.meta.get("retrieval_only"):
        keys = ["hit_at_1", "hit_at_3", "hit_at_5", "mrr", "hit_at_5_file"]
        fig = _figure((8, 4.5))
        ax = fig.add_subplot()
        _bars(ax, [SUMMARY_FIELDS[k] for k in keys],
              {m: [summary[m].get(k) for k in keys] for m in modes}, lambda v: f"{v:.2f}")
        ax.set_ylim(0, 1.1)
        ax.set_title(f"Retrieval on {result.meta['questions']} questions "
                     f"({result.meta['search_mode']} search)")
        _legend(ax)
        _save(fig, out_dir / "retrieval.png")
        return [out_dir / "retrieval.png"]

    keys = [k for k in ("hit_at_5", "mrr", "correct", "token_f1", "rouge_l", "similarity",
                        "citation_correct") if any(summary[m].get(k) is not None for m in modes)]
    fig = _figure((10, 4.8))
    ax = fig.add_subplot()
    _bars(ax, [SUMMARY_FIELDS[k] for k in keys],
          {m: [summary[m].get(k) for k in keys] for m in modes}, lambda v: f"{v:.2f}")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (0–1, higher is better)")
    ax.set_title(f"Answer quality by mode ({result.meta['questions']} questions, "
                 f"{result.meta['model']})")
    _legend(ax)
    _save(fig, out_dir / "accuracy.png")
    written.append(out_dir / "accuracy.png")

    fig = _figure((10, 4.5))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1.4]})
    lat_keys = ["ttft_p50_ms", "latency_p50_ms", "latency_p95_ms"]
    _bars(left, ["first token p50", "answer p50", "answer p95"],
          {m: [(summary[m][k] / 1000 if summary[m].get(k) is not None else None)
               for k in lat_keys] for m in modes}, lambda v: f"{v:.1f}")
    left.set_ylabel("seconds (lower is better)")
    left.set_title("Latency by mode")
    left.legend(fontsize=8)
    _bars(right, ["tokens/s"], {m: [summary[m].get("tokens_per_s")] for m in modes},
          lambda v: f"{v:.0f}")
    right.set_title("Generation speed")
    _save(fig, out_dir / "latency.png")
    written.append(out_dir / "latency.png")

    ids = sorted({r["id"] for r in result.rows})
    index = {qid: i for i, qid in enumerate(ids)}
    grid = [[0.5] * len(modes) for _ in ids]  # grey: not run
    for r in result.rows:
        correct = r["metrics"].get("correct")
        if correct is not None and r["mode"] in modes:
            grid[index[r["id"]]][modes.index(r["mode"])] = correct
    from matplotlib.colors import ListedColormap

    fig = _figure((2.2 + 1.3 * len(modes), 1.2 + 0.22 * len(ids)))
    ax = fig.add_subplot()
    ax.imshow(grid, aspect="auto", vmin=0, vmax=1, interpolation="nearest",
              cmap=ListedColormap(["#d9534f", "#cccccc", "#5cb85c"]))
    ax.set_xticks(range(len(modes)), modes)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(ids)), [str(i) for i in ids], fontsize=7)
    ax.set_ylabel("question (line in the set)")
    ax.set_title("Correct (green) / wrong (red) per question", fontsize=9, pad=24)
    _save(fig, out_dir / "questions.png")
    written.append(out_dir / "questions.png")
    return written


def write_report(result: EvalResult, out_dir: Path,
                 finish: Callable[[], None] | None = None) -> Path:
    """Write charts, ``summary.md`` and ``results.json`` into ``out_dir``; returns ``out_dir``.

    ``finish`` runs after the charts (the slow part) and before the text files, so the run's
    timing in both files includes the report itself.
    """
    from engine.errors import SatchelError
    from engine.paths import atomic_write_text, ensure_writable_dir

    try:
        ensure_writable_dir(out_dir)
    except SatchelError as exc:
        raise SatchelError(f"cannot write the report: {exc}") from None
    result.report_dir = out_dir
    write_charts(result, out_dir)
    if finish is not None:
        finish()
    atomic_write_text(out_dir / "summary.md", summary_markdown(result))
    from engine.evaluate.advisor import advise

    advice = advise(result.summary) if not result.meta.get("retrieval_only") else None
    payload = {"meta": result.meta, "modes": result.modes, "summary": result.summary,
               "advice": ({"mode": advice.mode, "sentence": advice.sentence}
                          if advice else None),
               "notes": result.notes, "times": result.times.to_json(), "rows": result.rows}
    atomic_write_text(out_dir / "results.json",
                      json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    return out_dir
