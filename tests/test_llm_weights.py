"""The runtime's weights file: a Q8_0 copy of the small Q4_1 bundled model, made once, exact
enough to answer the same, and never a reason to fail (engine.llm_weights)."""

from __future__ import annotations

import logging

import pytest

from engine import llm_weights
from engine.gguf_info import read_info
from engine.llm import Runtime
from engine.model_files import default_model_path


def test_only_small_q4_1_models_are_copied():
    assert llm_weights.wants_copy("Q4_1", 100 * 2**20)
    assert not llm_weights.wants_copy("Q4_1", llm_weights.MAX_COPY_BYTES + 1)
    for other in ("Q4_K_M", "Q8_0", "F16", None):
        assert not llm_weights.wants_copy(other, 100 * 2**20)


def test_the_copy_is_q8_0_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(llm_weights.ENV_CACHE, str(tmp_path / "weights"))
    model = default_model_path()
    info = read_info(model)
    assert info.quantization == "Q4_1"
    copy = llm_weights.runtime_weights(model, info.quantization, info.size_bytes)
    assert copy != model and copy.parent == tmp_path / "weights"
    copied = read_info(copy)
    assert copied.quantization == "Q8_0"
    assert copied.architecture == info.architecture and copied.parameters == info.parameters
    made = copy.stat().st_mtime_ns
    assert llm_weights.runtime_weights(model, info.quantization, info.size_bytes) == copy
    assert copy.stat().st_mtime_ns == made  # reused, not made again
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no temporary left over


def test_a_copy_that_cannot_be_made_runs_the_original(tmp_path, monkeypatch, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(llm_weights.ENV_CACHE, str(blocker / "weights"))
    model = default_model_path()
    with caplog.at_level(logging.WARNING, logger="engine.llm_weights"):
        got = llm_weights.runtime_weights(model, "Q4_1", model.stat().st_size)
    assert got == model
    assert "could not be made" in caplog.text


@pytest.fixture(scope="module")
def runtimes():
    fast, plain = Runtime(), Runtime()
    fast.load()
    # the original file, as llama.cpp would run it without the copy
    plain.load()
    import llama_cpp

    plain._llm.close()
    plain._llm = llama_cpp.Llama(model_path=str(default_model_path()), n_ctx=plain.n_ctx,
                                 n_threads=2, n_threads_batch=2, n_batch=256, verbose=False,
                                 seed=0)
    yield fast, plain
    fast.unload()
    plain.unload()


def test_the_runtime_runs_the_copy_and_keeps_the_model_identity(runtimes):
    fast, _ = runtimes
    state = fast.state()
    assert state.model_path == str(default_model_path())  # adapters are checked against this
    assert state.weights_path and state.weights_path.endswith(".q8_0.gguf")
    assert read_info(state.weights_path).quantization == "Q8_0"


def _next_token_logits(runtime: Runtime, tokens: list[int]):
    import llama_cpp
    import numpy as np

    llm = runtime._llm
    llm.reset()
    llm.eval(tokens)
    row = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(row, shape=(llm.n_vocab(),)).copy()


def test_the_copy_predicts_as_the_original_does(runtimes):
    """Near-lossless, not bit-exact: the same next token and nearly the same logits."""
    import numpy as np

    fast, plain = runtimes
    for question in ("What is the capital of France?", "Name three colours of the rainbow.",
                     "How many days are in a week?"):
        _, tokens, _ = fast.render([{"role": "user", "content": question}])
        a, b = _next_token_logits(fast, tokens), _next_token_logits(plain, tokens)
        assert int(np.argmax(a)) == int(np.argmax(b))
        assert np.corrcoef(a, b)[0, 1] > 0.99
        assert np.abs(a - b).max() < 0.1 * (b.max() - b.min())
