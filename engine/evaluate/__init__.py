"""Evaluate the four answer modes on the user's own documents (DESIGN.md ``engine/evaluate``).

- :mod:`~engine.evaluate.questions`: question-set files (load, validate, write);
- :mod:`~engine.evaluate.draft`: draft a question set from a collection;
- :mod:`~engine.evaluate.metrics`: hit@k, MRR, correctness, token F1, ROUGE-L, citations, cost;
- :mod:`~engine.evaluate.runner`: every question through every mode, resumable, with a Job;
- :mod:`~engine.evaluate.report`: ``results.json``, ``summary.md`` and PNG charts.

Typical use (what ``satchel eval`` does)::

    items = load_questions("qa.jsonl")
    result = evaluate(items, EvalConfig(collection="sample"), out_dir=None, job=job)
    result.report_dir, result.summary["rag"]["correct"]

Only light modules are imported here; the model, the index and matplotlib load when used.
"""

from __future__ import annotations

from engine.evaluate.questions import (
    QAItem,
    QuestionSetError,
    load_questions,
    parse_questions,
    write_questions,
)
from engine.evaluate.runner import (
    MODES,
    EvalConfig,
    EvalResult,
    EvalTimes,
    evaluate,
    plan_modes,
    run_eval,
)


def draft_questions(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`engine.evaluate.draft.draft_questions` (imported on use)."""
    from engine.evaluate.draft import draft_questions as _draft

    return _draft(*args, **kwargs)


__all__ = ["MODES", "EvalConfig", "EvalResult", "EvalTimes", "QAItem", "QuestionSetError",
           "draft_questions", "evaluate", "load_questions", "parse_questions", "plan_modes",
           "run_eval", "write_questions"]
