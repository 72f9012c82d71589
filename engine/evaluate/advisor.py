"""The mode advisor: one sentence, from measured numbers, saying which mode to use.

Why a rule and not just "the highest score": on a few dozen questions one answer is a few
points, so a mode that is better by less than that is not shown to be better; the simpler and
faster mode (no adapter, then no retrieval) is recommended instead, and the sentence says the
two are level. Correctness decides; latency breaks ties and is always quoted, since on a CPU it
is what the user feels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.modes import MODES

#: Simplest first: what is preferred when modes are level.
SIMPLICITY = MODES
LABELS = {"base": "base", "rag": "RAG", "adapter": "adapter", "rag+adapter": "RAG+adapter"}


@dataclass(frozen=True)
class Advice:
    mode: str | None
    sentence: str


#: Below this many questions the advisor names no mode: two or three answers decide nothing,
#: and the margin rule would then call every mode level and recommend base even where RAG
#: answered twice as many.
MIN_QUESTIONS = 10


def margin(n: int) -> float:
    """The smallest difference in correctness taken as real: two questions, at least 3 points."""
    return max(0.03, 2.0 / n) if n else 1.0


def _seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.1f} s"


def advise(summary: dict[str, dict[str, Any]]) -> Advice:
    """Recommend a mode from per-mode summaries (``correct``, ``latency_p50_ms``, ``n``)."""
    scored = {m: s for m, s in summary.items() if s.get("correct") is not None}
    if not scored:
        return Advice(None, "No answers were scored, so no mode can be recommended "
                            "(retrieval-only run).")
    n = max(int(s.get("n") or 0) for s in scored.values())
    best = max(scored, key=lambda m: scored[m]["correct"])
    top = scored[best]["correct"]
    if n < MIN_QUESTIONS:
        ranked = sorted(scored, key=lambda m: (-scored[m]["correct"], SIMPLICITY.index(m)
                                               if m in SIMPLICITY else 99))
        numbers = ", ".join(f"{LABELS.get(m, m)} {scored[m]['correct']:.0%}" for m in ranked)
        return Advice(None, f"Too few questions ({n}) to tell the modes apart ({numbers}); "
                            f"evaluate {MIN_QUESTIONS} or more to get a recommendation.")
    level = [m for m in scored if top - scored[m]["correct"] < margin(n)]
    choice = min(level, key=lambda m: (SIMPLICITY.index(m) if m in SIMPLICITY else 99,
                                       scored[m].get("latency_p50_ms") or 0))
    s = scored[choice]
    others = ", ".join(f"{LABELS.get(m, m)} {scored[m]['correct']:.0%}"
                       for m in SIMPLICITY if m in scored and m != choice)
    sentence = (f"Use {LABELS.get(choice, choice)} for this collection: it answered "
                f"{s['correct']:.0%} of {n} questions correctly ({others}) in "
                f"{_seconds(s.get('latency_p50_ms'))} per answer (median)")
    tied = [m for m in level if m != choice]
    if tied:
        names = " and ".join(LABELS.get(m, m) for m in tied)
        sentence += (f"; {names} {'is' if len(tied) == 1 else 'are'} level with it (within "
                     f"{margin(n):.0%}), and it is the simpler choice")
    return Advice(choice, sentence + ".")
