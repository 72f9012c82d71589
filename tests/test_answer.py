"""The four answer modes with the real bundled model and a real index of the sample corpus."""

from __future__ import annotations

import threading
import time

import pytest

from engine import index, paths
from engine.answer import Assistant, Layout, retrieval_query
from engine.errors import SatchelError
from engine.llm import Runtime
from engine.prompt import HistoryTurn, Passage
from engine.settings import Settings


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory):
    """A data dir with the sample corpus indexed once for the whole session (read-only use)."""
    from engine.indexer import index_paths
    from engine.samples import CORPUS_DIR

    home = tmp_path_factory.mktemp("sample-home")
    paths.set_data_dir(home)
    try:
        index_paths([CORPUS_DIR], "sample")
    finally:
        paths.set_data_dir(None)
    return home


@pytest.fixture
def assistant(sample_home):
    paths.set_data_dir(sample_home)
    yield Assistant(Settings(default_collection="sample", temperature=0.0))
    paths.set_data_dir(None)


def test_the_copy_bias_favours_the_best_sentence_words_the_question_lacks(assistant):
    assistant.ensure_model()
    text = ("The depot opened in 1961. Its winter crew numbered 27 people, led by Okafor. "
            "Supplies arrive by ship in March.")
    question = "How many people were in the depot's winter crew?"
    quote = assistant.copy_targets(question, [Passage(1, "/d/depot.txt", 1, text, 1.0, "c1")])
    tokenize = assistant.runtime.tokenize
    assert quote.passages == [tokenize(text)] and quote.bonus == assistant.settings.copy_bias
    favoured = set(quote.favoured)
    assert set(tokenize(" 27")) <= favoured and set(tokenize(" Okafor")) <= favoured
    assert not favoured & set(tokenize(" " + question))  # nothing it already says
    assert not favoured & (set(tokenize(" March")) | set(tokenize(" Supplies")))  # elsewhere


def test_base_mode_streams_without_sources(assistant):
    stream = assistant.ask("Name a primary colour.", "base", max_tokens=24)
    pieces = list(stream)
    answer = stream.answer
    assert len(pieces) > 1 and answer.text == "".join(pieces).strip()
    assert answer.sources == [] and answer.timings.retrieval_ms == 0
    assert answer.timings.completion_tokens >= len(pieces)
    assert answer.timings.ttft_ms > 0 and answer.timings.tokens_per_s > 0


def test_rag_mode_sources_exist_in_the_index(assistant):
    stream = assistant.ask("How many people were in the 2025 winter crew?", "rag",
                           max_tokens=40)
    pieces = list(stream)
    answer = stream.answer
    assert pieces and answer.text
    assert [p.n for p in answer.sources] == list(range(1, len(answer.sources) + 1))
    assert 1 <= len(answer.sources) <= assistant.settings.top_k
    ids = set(index.Collection.open("sample").chunks.to_arrow()["chunk_id"].to_pylist())
    assert all(p.chunk_id in ids for p in answer.sources)
    assert any("27" in p.focused for p in answer.sources)  # the fact reached the prompt
    assert "[1]" in answer.user_message and answer.user_message.endswith(
        "Question: How many people were in the 2025 winter crew?")
    data = answer.to_json()
    assert set(data["timings"]) >= {"retrieval_ms", "prompt_tokens", "ttft_ms",
                                    "completion_tokens", "tokens_per_s", "total_ms"}
    assert data["sources"][0].keys() >= {"n", "path", "page", "text", "score"}


def test_follow_up_reuses_the_prompt_prefix(assistant):
    first = assistant.ask("Who chaired the June council meeting?", "rag", max_tokens=24)
    a1 = first.consume()
    second = assistant.ask("What time did it start?", "rag", history=[a1.history_turn()],
                           max_tokens=24)
    a2 = second.consume()
    # the system prompt and the whole first exchange were already evaluated
    assert a2.timings.reused_tokens >= a1.timings.prompt_tokens - 1
    assert a2.retrieval_query.startswith("Who chaired the June council meeting?")
    # passages the first turn showed are referred to, not repeated: only new tokens are paid
    shown = {p.chunk_id: p.n for p in a1.sources}
    repeated = [p for p in a2.sources if p.repeated]
    assert repeated and all(shown[p.chunk_id] == p.n for p in repeated)
    assert "above" in a2.user_message.splitlines()[0]
    assert all(p.focused not in a2.user_message for p in repeated)
    assert a2.timings.prompt_tokens - a2.timings.reused_tokens < 120


def test_follow_up_shows_passages_again_when_their_turn_no_longer_fits(assistant):
    first = assistant.ask("Who chaired the June council meeting?", "rag", max_tokens=16)
    a1 = first.consume()
    filler = "The station keeps detailed records of everything. " * 40
    history = [a1.history_turn()] + [HistoryTurn(f"Q{i}?", f"Q{i}?", filler) for i in range(30)]
    a2 = assistant.ask("Who chaired the June council meeting?", "rag", history=history,
                       max_tokens=16).consume()
    assert a2.error is None and a2.sources
    assert not any(p.repeated for p in a2.sources)  # a1's turn was dropped to fit
    assert [p.n for p in a2.sources] == list(range(1, len(a2.sources) + 1))
    assert a2.user_message.startswith("Passages:\n[1] (")


def test_stop_ends_generation_promptly(assistant):
    stream = assistant.ask("Write a very long story about a lighthouse keeper.", "base",
                           max_tokens=400)
    got: list[str] = []
    stopped_at = 0.0
    for piece in stream:
        got.append(piece)
        if len(got) == 3:
            stopped_at = time.perf_counter()
            threading.Thread(target=stream.stop).start()
    ended = time.perf_counter()
    answer = stream.answer
    assert answer.stopped
    assert answer.timings.completion_tokens < 20
    assert ended - stopped_at < 1.0


def test_long_history_still_fits(assistant):
    long_answer = "The station keeps detailed records of everything. " * 40
    history = [HistoryTurn(f"Question number {i}?", f"Question number {i}?", long_answer)
               for i in range(30)]
    stream = assistant.ask("How many people were in the 2025 winter crew?", "rag",
                           history=history, max_tokens=32)
    answer = stream.consume()
    assert answer.error is None and answer.text
    assert answer.timings.prompt_tokens + 32 <= assistant.runtime.n_ctx
    assert answer.sources  # passages outrank old turns


def test_bad_input_is_one_line(assistant, tmp_path):
    with pytest.raises(SatchelError, match="empty"):
        assistant.ask("   ", "rag")
    with pytest.raises(SatchelError, match="unknown mode"):
        assistant.ask("hi", "magic")
    with pytest.raises(SatchelError, match="needs an adapter"):
        assistant.ask("hi", "adapter")
    with pytest.raises(SatchelError, match="no collection named"):
        assistant.ask("hi", "rag", collection="missing")
    with pytest.raises(SatchelError, match="too long"):
        assistant.ask("why " * 5000, "base")


def test_empty_collection_says_so(tmp_path):
    from engine.indexer import index_paths

    (tmp_path / "empty").mkdir()
    index_paths([tmp_path / "empty"], "blank")
    with pytest.raises(SatchelError, match="is empty"):
        Assistant().ask("anything?", "rag", collection="blank")


def test_corrupt_or_missing_model_is_a_clear_error(tmp_path):
    from engine.llm import LLMError, Runtime

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    runtime = Runtime()
    with pytest.raises(LLMError) as info:
        runtime.load(bad)
    assert "\n" not in str(info.value) and "broken.gguf" in str(info.value)
    with pytest.raises(LLMError, match="not found"):
        runtime.load(tmp_path / "missing.gguf")
    assert not runtime.loaded


def test_retrieval_query_rewrites_follow_ups():
    turn = HistoryTurn("Where is buoy HRB-09 moored?", "x", "At Outer Bank.")
    assert retrieval_query("And how deep is it?", [turn]).startswith("Where is buoy HRB-09")
    standalone = "What was the total operating budget for the 2025 financial year?"
    assert retrieval_query(standalone, [turn]) == standalone
    assert retrieval_query("Depth?", []) == "Depth?"


def test_compare_skips_adapter_modes_without_adapter(assistant):
    answers = assistant.compare("What is the station's radio call sign?", temperature=0.0)
    assert [a.mode for a in answers] == ["base", "rag", "adapter", "rag+adapter"]
    assert answers[0].text and answers[1].text and answers[1].sources
    assert all("skipped" in (a.error or "") for a in answers[2:])


# -- adapter modes ---------------------------------------------------------------------------
@pytest.fixture
def stored_adapter(assistant):
    """A (random, untrained) LoRA in the adapter store, removed again after the test."""
    from benchmarks.random_adapter import make_random_adapter
    from models.adapters import remove_adapter

    name = make_random_adapter("modes-test")
    yield name
    assistant.runtime.set_adapter(None)
    remove_adapter(name)


def test_adapter_modes_stream_and_switching_off_restores_base_output(assistant, stored_adapter):
    question = "Name a primary colour."
    before = assistant.ask(question, "base", max_tokens=24).consume()
    stream = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24)
    pieces = list(stream)
    adapted = stream.answer
    assert len(pieces) > 1 and adapted.error is None and adapted.adapter == stored_adapter
    assert assistant.runtime.active_adapter == stored_adapter
    assert adapted.text != before.text  # the adapter really changes the weights
    after = assistant.ask(question, "base", max_tokens=24).consume()
    assert assistant.runtime.active_adapter is None
    assert after.text == before.text  # identical base output once it is off again
    both = assistant.ask("How many people were in the 2025 winter crew?", "rag+adapter",
                         adapter=stored_adapter, max_tokens=24).consume()
    assert both.text and both.sources and both.adapter == stored_adapter
    # on again, then off: the same adapted / base texts (no state left behind by a switch)
    again = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24).consume()
    assert again.text == adapted.text
    assert assistant.ask(question, "base", max_tokens=24).consume().text == before.text


def test_each_answer_runs_under_its_own_adapter_when_interleaved(assistant, stored_adapter):
    """Answers are prepared first and generated later: the adapter travels with each one."""
    question = "Name a primary colour."
    adapted = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24).consume()
    base = assistant.ask(question, "base", max_tokens=24).consume()
    assert adapted.text != base.text
    first = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24)
    second = assistant.ask(question, "base", max_tokens=24)  # prepared before first generates
    assert first.consume().text == adapted.text
    assert second.consume().text == base.text
    third = assistant.ask(question, "base", max_tokens=24)
    fourth = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24)
    assert third.consume().text == base.text and fourth.consume().text == adapted.text


def test_adapter_retrained_in_place_answers_with_its_new_weights(assistant, stored_adapter):
    from benchmarks.random_adapter import make_random_adapter

    question = "Name a primary colour."
    old = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24).consume()
    make_random_adapter(stored_adapter, seed=1)  # saved over the same name (--overwrite)
    new = assistant.ask(question, "adapter", adapter=stored_adapter, max_tokens=24).consume()
    assert new.error is None and new.text != old.text
    assert assistant.runtime.state().loaded_adapters.count(stored_adapter) == 1
    fresh = Assistant(assistant.settings, Runtime())  # a new process would load the new file
    try:
        alone = fresh.ask(question, "adapter", adapter=stored_adapter, max_tokens=24).consume()
        assert alone.text == new.text
    finally:
        fresh.runtime.unload()


def test_a_refused_adapter_switch_is_an_error_not_the_wrong_weights(assistant, stored_adapter,
                                                                     monkeypatch):
    import llama_cpp

    question = "Name a primary colour."
    base = assistant.ask(question, "base", max_tokens=16).consume()
    real = llama_cpp.llama_set_adapters_lora
    with monkeypatch.context() as patch:
        patch.setattr(llama_cpp, "llama_set_adapters_lora",
                      lambda ctx, handles, n, scales: -1 if n else real(ctx, handles, n, scales))
        answer = assistant.ask(question, "adapter", adapter=stored_adapter,
                               max_tokens=16).consume()
    assert answer.error and "could not switch to adapter" in answer.error and not answer.text
    assert assistant.runtime.active_adapter is None
    assert assistant.ask(question, "base", max_tokens=16).consume().text == base.text


def _with_data_source(stored: str, name: str, data_source: dict) -> str:
    """A copy of adapter ``stored`` saved as ``name`` with its manifest's data source replaced."""
    import json

    from models.adapters import AdapterManifest, get_adapter, save_adapter

    entry = get_adapter(stored)
    manifest = json.loads((entry.path.parent / "manifest.json").read_text())
    manifest.update(name=name, data_source=data_source)
    save_adapter(name, entry.path, AdapterManifest.from_json(manifest))
    return name


def test_a_reader_answers_from_the_layout_it_was_trained_on(assistant, stored_adapter):
    """Settings changed after training (one passage now) do not change a reader's prompt: on the
    development set a reader trained on 140 passage tokens answered 0.78 from them and 0.68
    from 200 or 280."""
    from models.adapters import remove_adapter

    question = "How many people were in the 2025 winter crew?"
    reader = _with_data_source(stored_adapter, "reader-2x90", {
        "kind": "reader", "layout": {"top_k": 2, "context_tokens": 90}})
    damaged = _with_data_source(stored_adapter, "reader-damaged", {
        "kind": "reader", "layout": {"top_k": "two"}})
    try:
        assert assistant.settings.top_k == 1
        read = assistant.ask(question, "rag+adapter", adapter=reader, max_tokens=4).consume()
        assert [p.n for p in read.sources] == [1, 2]
        budget = 90 // 2
        assert all(assistant.runtime.count_tokens(p.focused) <= budget + 8 for p in read.sources)
        # the plain modes keep the settings' layout, and so does a reader whose record is bad
        assert len(assistant.ask(question, "rag", max_tokens=4).consume().sources) == 1
        assert len(assistant.ask(question, "rag+adapter", adapter=damaged,
                                 max_tokens=4).consume().sources) == 1
        # adapter mode (no retrieval) shows no passages whatever the reader was trained on
        assert not assistant.ask(question, "adapter", adapter=reader, max_tokens=4).consume(
        ).sources
    finally:
        assistant.runtime.set_adapter(None)
        remove_adapter(reader)
        remove_adapter(damaged)


def test_a_reader_keeps_to_its_passages_more_strongly(assistant, stored_adapter, monkeypatch):
    """A reader's answers get the stronger copy bias (measured: 125 of 170 development answers
    against 120 at the settings' bias); other adapters and plain RAG keep the settings'."""
    from engine.answer import READER_COPY_BIAS_SCALE
    from models.adapters import remove_adapter

    reader = _with_data_source(stored_adapter, "reader-bias", {
        "kind": "reader", "layout": {"top_k": 1, "context_tokens": 140}})
    bias = assistant.settings.copy_bias
    try:
        assert bias > 0 and READER_COPY_BIAS_SCALE > 1
        assert assistant.layout_for("rag+adapter", reader).copy_bias == pytest.approx(
            bias * READER_COPY_BIAS_SCALE)
        assert assistant.layout_for("rag+adapter", stored_adapter).copy_bias == bias
        assert assistant.layout_for("rag", None).copy_bias == bias
        # the answer is generated with its layout's strength
        seen: list[float | None] = []
        real = assistant.copy_targets
        monkeypatch.setattr(assistant, "copy_targets", lambda q, ps, strength=None: (
            seen.append(strength), real(q, ps, strength))[1])
        question = "How many people were in the 2025 winter crew?"
        assistant.ask(question, "rag+adapter", adapter=reader, max_tokens=4).consume()
        assistant.ask(question, "rag", max_tokens=4).consume()
        assert seen == [pytest.approx(bias * READER_COPY_BIAS_SCALE), bias]
        # off stays off
        monkeypatch.setattr(assistant.settings, "copy_bias", 0.0)
        assert assistant.layout_for("rag+adapter", reader).copy_bias == 0.0
    finally:
        assistant.runtime.set_adapter(None)
        remove_adapter(reader)


@pytest.mark.parametrize(("raw", "expected"), [
    ({"top_k": 2, "context_tokens": 280}, Layout(2, 280)),
    ({"top_k": "3", "context_tokens": 140.0}, Layout(3, 140)),
    ({"top_k": 0, "context_tokens": 140}, None),
    ({"top_k": 1}, None), (None, None), ("1x140", None)])
def test_a_recorded_layout_is_read_or_refused(raw, expected):
    assert Layout.from_json(raw) == expected
    if expected:
        assert Layout.from_json(expected.to_json()) == expected


def test_adapter_for_another_model_is_refused(assistant, stored_adapter, tmp_path):
    import json

    from benchmarks.random_adapter import write_random_lora
    from engine.llm import LLMError
    from models.adapters import AdapterManifest, get_adapter, save_adapter

    entry = get_adapter(stored_adapter)
    manifest = json.loads((entry.path.parent / "manifest.json").read_text())
    manifest.update(name="other-model", base_model_sha256="ab" * 32, base_model_name="Other-1B")
    save_adapter("other-model", entry.path, AdapterManifest.from_json(manifest))
    try:
        with pytest.raises(SatchelError) as info:
            assistant.ask("hi", "adapter", adapter="other-model")
        assert "another model file (Other-1B" in str(info.value) and "\n" not in str(info.value)
    finally:
        from models.adapters import remove_adapter

        remove_adapter("other-model")

    # a file whose shapes do not fit is stopped before llama.cpp sees it
    assistant.ensure_model()
    runtime = assistant.runtime
    wrong = tmp_path / "wide.gguf"
    write_random_lora(wrong, architecture="llama", width=runtime.info.embedding_length + 64,
                      blocks=2)
    with pytest.raises(LLMError, match="another model") as info:
        runtime.load_adapter("wide", wrong)
    assert "\n" not in str(info.value)
    deep = tmp_path / "deep.gguf"
    write_random_lora(deep, architecture="llama", width=runtime.info.embedding_length,
                      blocks=runtime.info.block_count + 1)
    with pytest.raises(LLMError, match="does not have"):
        runtime.load_adapter("deep", deep)
    assert "wide" not in runtime.state().loaded_adapters
    # and the runtime still answers
    assert assistant.ask("Name a primary colour.", "base", max_tokens=8).consume().text


def test_an_answer_that_loops_stops_and_keeps_one_copy(assistant, capsys):
    """The bundled model answers this sample question with "...; 2025-03-20; 2025-03-20; ..."
    until the token limit when let run: the answer stops once it loops, cut to one copy, and
    `satchel ask` says why it stopped."""
    from cli.answering import stream_to_terminal
    from engine.prompt import LOOP_CHARS

    answer = stream_to_terminal(assistant.ask("At what depth was buoy HRB-07 deployed?", "rag"))
    printed = capsys.readouterr()
    streamed = printed.out.rstrip("\n")
    assert "began repeating itself" in printed.err
    assert answer.finish_reason == "repeat" and not answer.error and not answer.stopped
    assert answer.timings.completion_tokens < assistant.settings.max_answer_tokens // 2
    # a short loop shows a few copies before it is told from a list; a long one is held back
    assert answer.text and streamed.startswith(answer.text)
    assert len(streamed) - len(answer.text) <= 2 * LOOP_CHARS
    text = answer.text
    windows = [text[i:i + LOOP_CHARS] for i in range(len(text) - LOOP_CHARS + 1)]
    assert len(windows) == len(set(windows))  # nothing in it repeats


def test_a_long_loop_is_held_back_from_the_stream(assistant):
    """Here the bundled model quotes its passage, then quotes it again: the second copy is held
    back while it could still be new text, and never shown once it is a loop."""
    stream = assistant.ask("How many Merrow petrel nesting pairs were counted at Gull Point?",
                           "rag")
    streamed = "".join(stream)
    answer = stream.answer
    assert answer.finish_reason == "repeat" and "412" in answer.text
    assert streamed.strip() == answer.text
