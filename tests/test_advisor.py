"""The mode advisor: one sentence recommending a mode from measured correctness and latency."""

from __future__ import annotations

from engine.evaluate.advisor import advise, margin


def summary(**modes: tuple[float, float]) -> dict:
    return {m.replace("_", "+"): {"n": 50, "correct": c, "latency_p50_ms": ms}
            for m, (c, ms) in modes.items()}


def test_the_clearly_best_mode_is_recommended_with_its_numbers():
    advice = advise(summary(base=(0.10, 400), rag=(0.60, 1200), adapter=(0.12, 500),
                            rag_adapter=(0.74, 1500)))
    assert advice.mode == "rag+adapter"
    s = advice.sentence
    assert s.startswith("Use RAG+adapter for this collection: it answered 74% of 50 questions")
    assert "base 10%" in s and "RAG 60%" in s and "adapter 12%" in s and "1.5 s" in s
    assert "level" not in s


def test_a_tie_within_the_margin_goes_to_the_simpler_mode_and_says_so():
    advice = advise(summary(base=(0.10, 400), rag=(0.62, 1100), rag_adapter=(0.64, 1500)))
    assert margin(50) == 0.04
    assert advice.mode == "rag"
    assert "RAG+adapter is level with it" in advice.sentence
    assert "1.1 s" in advice.sentence


def test_missing_modes_and_retrieval_only_runs():
    assert advise(summary(base=(0.2, 300))).mode == "base"
    only_retrieval = {"rag": {"n": 10, "correct": None, "latency_p50_ms": None}}
    advice = advise(only_retrieval)
    assert advice.mode is None and "No answers" in advice.sentence
    # a small set needs a bigger gap: 2 of 12 questions
    assert margin(12) == 2 / 12
    assert advise({"base": {"n": 12, "correct": 0.25}, "rag": {"n": 12, "correct": 0.4}}
                  ).mode == "base"
    assert advise({"base": {"n": 12, "correct": 0.25}, "rag": {"n": 12, "correct": 0.5}}
                  ).mode == "rag"


def test_a_handful_of_questions_gets_no_recommendation():
    """Two answers decide nothing: the numbers are given, best first, and no mode is named."""
    advice = advise({"base": {"n": 2, "correct": 0.5}, "rag": {"n": 2, "correct": 1.0},
                     "rag+adapter": {"n": 2, "correct": 1.0}})
    assert advice.mode is None
    assert advice.sentence == ("Too few questions (2) to tell the modes apart (RAG 100%, "
                               "RAG+adapter 100%, base 50%); evaluate 10 or more to get a "
                               "recommendation.")
