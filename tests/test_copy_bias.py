"""Copy-biased decoding: passage spans are continued, nothing else is touched, real model too."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.copy_bias import FAVOUR_SHARE, MAX_NGRAM, VOCAB_SHARE, CopyBias, Quote, citation_openers
from engine.llm import Runtime

token_lists = st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=30), min_size=1,
                       max_size=4)


@given(token_lists, st.data())
def test_a_generated_span_of_a_passage_boosts_the_token_that_follows_it(passages, data):
    bias = CopyBias(passages, prompt_len=0, bonus=4.0)
    source = data.draw(st.sampled_from(passages))
    end = data.draw(st.integers(1, len(source) - 1))
    start = data.draw(st.integers(max(0, end - MAX_NGRAM), end - 1))
    ids, bonus = bias.boosted(source[start:end])
    assert source[end] in ids
    assert 0 < bonus <= 4.0
    # whatever is boosted really follows the matched span in some passage
    n = round(bonus / 4.0 * MAX_NGRAM)
    tail = source[start:end][-n:]
    for t in ids:
        assert any(p[i:i + n] == tail and p[i + n] == t
                   for p in passages for i in range(len(p) - n))


def test_longer_matches_win_and_spans_do_not_run_across_passages():
    bias = CopyBias([[1, 2, 3], [9, 2, 7]], prompt_len=0, bonus=4.0)
    assert bias.boosted([2]) == ([3, 7], 1.0)  # one token matched: both continuations, weakly
    assert bias.boosted([9, 2]) == ([7], 2.0)  # two matched: only the second passage's
    assert bias.boosted([3]) == ([], 0.0)  # 3 ends passage one: it is not followed by 9
    assert bias.boosted([]) == ([], 0.0)


def test_scores_change_only_for_passage_tokens_and_only_after_the_prompt():
    bias = CopyBias([[5, 6, 7]], prompt_len=3, bonus=4.0)
    scores = bias(np.array([5, 6, 8]), np.zeros(10, dtype=np.float32))  # nothing generated yet
    assert list(np.nonzero(scores)[0]) == [5, 6, 7]
    assert set(scores[[5, 6, 7]]) == {4.0 * VOCAB_SHARE}
    scores = bias(np.array([5, 6, 8, 5, 6]), np.zeros(10, dtype=np.float32))
    assert scores[7] == pytest.approx(4.0 * VOCAB_SHARE + 4.0 * 2 / MAX_NGRAM)
    assert scores[5] == scores[6] == pytest.approx(4.0 * VOCAB_SHARE)
    assert not scores[[0, 1, 2, 3, 4, 8, 9]].any()


def test_an_answer_cannot_open_with_a_citation_but_may_cite_later():
    bias = CopyBias([[5, 6, 7]], prompt_len=2, bonus=4.0, not_first=[8, 9])
    first = bias(np.array([5, 6]), np.full(10, 1.0, dtype=np.float32))
    assert first[8] == first[9] == -np.inf
    assert np.isfinite(first[:8]).all()
    later = bias(np.array([5, 6, 5]), np.full(10, 1.0, dtype=np.float32))
    assert np.isfinite(later).all()  # "... 125 [1]" stays possible


def test_favoured_tokens_get_their_bonus_on_top_of_the_passage_bonus():
    bias = CopyBias([[5, 6, 7]], prompt_len=3, bonus=4.0, favoured=[7, 8])
    scores = bias(np.array([5, 6, 8]), np.zeros(10, dtype=np.float32))
    assert scores[7] == pytest.approx(4.0 * (VOCAB_SHARE + FAVOUR_SHARE))
    assert scores[8] == pytest.approx(4.0 * FAVOUR_SHARE)  # favoured, though in no span
    assert scores[5] == scores[6] == pytest.approx(4.0 * VOCAB_SHARE)
    assert not scores[[0, 1, 2, 3, 4, 9]].any()


#: Shaped like a development-set question the plain model got wrong (it answers the default, 10).
PASSAGE = ("The maximum number of attached databases can be raised to 125 at compile time; the "
           "default is 10.")
QUESTION = "What is the highest value the maximum number of attached databases can be raised to?"


@pytest.fixture(scope="module")
def runtime():
    rt = Runtime()
    rt.load(n_ctx=1024)
    yield rt
    rt.unload()


def _answer(runtime: Runtime, quote: Quote | None) -> str:
    from engine.prompt import SYSTEM_RAG

    messages = [{"role": "system", "content": SYSTEM_RAG},
                {"role": "user", "content": f"Passages:\n[1] (depot.txt) {PASSAGE}\n\n"
                                            f"Question: {QUESTION}"}]
    _, tokens, stop = runtime.render(messages)
    return "".join(runtime.generate(tokens, max_tokens=40, temperature=0.0, stop=stop,
                                    quote=quote))


def test_the_real_model_answers_from_the_passage_under_the_bias(runtime):
    source = [runtime.tokenize(PASSAGE)]
    assert "125" not in _answer(runtime, None)  # the plain model misreads it
    assert "125" in _answer(runtime, Quote(source, 4.0))
    # a bias of 0 is the plain model, token for token
    assert _answer(runtime, Quote(source, 0.0, (1, 2))) == _answer(runtime, None)


def test_citation_openers_are_the_tokens_with_a_bracket(runtime):
    llm = runtime._require()
    openers = set(citation_openers(llm.detokenize, llm.n_vocab()))
    for text in ("[1]", " [2]", "([3])"):
        assert runtime.tokenize(text)[0] in openers
    assert not openers & set(runtime.tokenize("The default is 10."))
