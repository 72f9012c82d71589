"""The knowledge adapter's data: every distinctive fact, asked several ways, answered by the fact.

Real models: the sample corpus indexed with MiniLM, questions drafted by the bundled SmolLM2-135M.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers_corpus import in_data_dir, indexed_sample_home

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory):
    """One indexed sample corpus for the module (indexing is the slow part)."""
    return indexed_sample_home(tmp_path_factory, "knowledge-home")


@pytest.fixture
def in_sample(sample_home):
    yield from in_data_dir(sample_home)


def test_facts_are_distinctive_and_found_in_their_sentence_and_passage(in_sample):
    from engine.index import Collection
    from engine.train.knowledge import _QUANTITY, MAX_CHUNKS_WITH_FACT, collection_facts

    facts = collection_facts("sample")
    rows = Collection.open("sample").chunks.search().select(["chunk_id", "text"]).limit(
        None).to_list()
    text = {r["chunk_id"]: " ".join(r["text"].split()) for r in rows}
    assert len(facts) > 50
    for fact in facts:
        assert fact.answer in fact.sentence and fact.sentence in text[fact.chunk_id]
        # a word on every page is no fact; a quantity is one wherever it stands
        assert _QUANTITY.fullmatch(fact.answer) or sum(
            fact.answer.lower() in t.lower() for t in text.values()) <= MAX_CHUNKS_WITH_FACT
        assert fact.origin.startswith("drafted from ")
    assert len({(f.sentence, f.answer.lower()) for f in facts}) == len(facts)
    assert collection_facts("sample", 7) == facts[:7]
    common = [f for f in facts if sum(f.answer.lower() in t.lower() for t in text.values())
              > MAX_CHUNKS_WITH_FACT]
    assert common and all(any(c.isdigit() for c in f.answer) for f in common)
    assert any(f.heading for f in facts)  # the section each fact is from, for its cloze


def test_each_fact_is_asked_several_ways_in_the_adapter_mode_prompt():
    from engine.answer import Assistant
    from engine.llm import Runtime
    from engine.settings import Settings
    from engine.train.knowledge import Fact, knowledge_examples

    facts = [Fact(f"c{i}", "drafted from log.txt p.1", f"Buoy HRB-{i:02d} is moored at "
                  f"{10 + i} metres.", f"HRB-{i:02d}", "Harbour > Moorings" if i % 2 else "")
             for i in range(30)]
    asked = [[f"Which buoy is moored at {10 + i} metres?", f"What buoy lies at {10 + i} m?"]
             if i % 3 else [] for i in range(30)]
    mine = [("pairs.jsonl line 1", "Who keeps the log?", "Zoë Achterberg")]
    train, heldout = knowledge_examples(facts, asked, seed=3, mine=mine)
    by_question = {e.messages[1][1]: e for e in train + heldout}
    for i, (fact, questions) in enumerate(zip(facts, asked, strict=True)):
        where = " (Harbour > Moorings)" if fact.heading else ""  # the section, when known
        blank = f'Fill in the blank{where}: "Buoy ____ is moored at {10 + i} metres."'
        for q in [*questions, blank]:
            assert by_question[q].messages[-1] == ("assistant", fact.answer)
    assert by_question["Who keeps the log?"].messages[-1] == ("assistant", "Zoë Achterberg")
    # held out: the cloze of one fact in ten among those asked otherwise, never a whole fact
    assert len(heldout) == 2 and all(e.messages[1][1].startswith("Fill in the blank")
                                     for e in heldout)
    trained = {e.messages[-1][1] for e in train}
    assert all(f.answer in trained for f in facts)
    assert len(train) + len(heldout) == sum(map(len, asked)) + len(facts) + 1
    # the prompt is the one adapter mode answers from (no passages: Satchel's base prompt)
    runtime = Runtime()
    try:
        assistant = Assistant(Settings(), runtime)
        assistant.ensure_model()
        fitted = assistant.prompt_for("Which buoy is moored at 11 metres?", [], [], 64)
    finally:
        runtime.unload()
    example = by_question["Which buoy is moored at 11 metres?"]
    assert [(m["role"], m["content"]) for m in fitted.messages] == list(example.messages[:2])
    assert knowledge_examples(facts, asked, seed=3, mine=mine) == (train, heldout)



def test_questions_that_cannot_teach_their_fact_are_not_trained():
    from engine.train.knowledge import Fact, knowledge_examples, usable_questions

    limits = "The default setting for SQLITE_MAX_COLUMN is 2000."
    facts = [Fact("c1", "drafted from limits.html p.1", limits, "SQLITE_MAX_COLUMN"),
             Fact("c1", "drafted from limits.html p.1", limits, "2000"),
             Fact("c2", "drafted from faq.html p.1", "Run PRAGMA quick_check to check fast.",
                  "quick_check"),
             Fact("c3", "drafted from wal.html p.1", "A checkpoint runs at 1000 pages.",
                  "1000 pages")]
    asked = [["What is the maximum number of columns?", "Which parameter sets the column limit?"],
             ["What is the default column limit?"],
             ["Which pragma checks fast?", "How many checks does it run?"],
             ["What is the default setting?", "When does a checkpoint run?"]]
    asked[2].append("What is the default setting?")  # drafted alike for two facts: no answer
    assert usable_questions(facts, asked) == [
        ["Which parameter sets the column limit?"],  # a quantity asked, a name given: dropped
        ["What is the default column limit?"],
        ["Which pragma checks fast?"],
        ["When does a checkpoint run?"]]
    train, heldout = knowledge_examples(facts, asked)
    questions = {e.messages[1][1] for e in train + heldout}
    assert "What is the maximum number of columns?" not in questions
    assert "What is the default setting?" not in questions

def test_cli_trains_a_knowledge_adapter_on_drafted_facts(in_sample, capsys):
    from cli.app import run as cli_run
    from models.adapters import get_adapter

    assert cli_run(["adapter", "train", "--collection", "sample", "--kind", "knowledge",
                    "--draft", "12", "--steps", "1", "--name", "k1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "k1" and out["metrics"]["steps"] == 1
    source = get_adapter("k1").manifest.data_source
    assert source["kind"] == "knowledge" and source["facts"] == 12
    assert 0 < source["facts_asked"] <= 12 and source["drafted_used"] >= source["facts_asked"]
    assert source["drafted"] >= source["drafted_used"]
    assert source["examples"] == source["drafted_used"] + 12
    # drafted once: a second run reads the questions from the cache
    assert cli_run(["adapter", "train", "--collection", "sample", "--kind", "knowledge",
                    "--draft", "12", "--steps", "1", "--name", "k1", "--overwrite",
                    "--json"]) == 0
    again = get_adapter("k1").manifest.data_source
    assert again["drafted"] == source["drafted"]


def test_a_collection_without_facts_is_refused_in_one_line(in_sample, tmp_path, capsys):
    from cli.app import run as cli_run
    from engine.indexer import index_paths

    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "note.txt").write_text("we walked along the shore and talked about "
                                                  "the weather for a while.\n")
    assert not index_paths([tmp_path / "plain"], "plain").files_failed
    assert cli_run(["adapter", "train", "--collection", "plain", "--kind", "knowledge",
                    "--steps", "1"]) != 0
    err = capsys.readouterr().err
    assert "no fact to learn in collection 'plain'" in err and err.strip().count("\n") == 0


def test_drafted_questions_are_cached_per_fact(in_sample, tmp_path):
    """A changed collection drafts only its new facts; an unchanged one never loads the model."""
    from engine.answer import Assistant
    from engine.jobs import Job
    from engine.settings import Settings
    from engine.train.knowledge import cached_fact_questions, collection_facts

    facts = collection_facts("sample", 5)
    cache = tmp_path / "knowledge-per-fact.json"
    totals: list[int] = []
    assistant = Assistant(Settings())
    try:
        first = cached_fact_questions(facts[:3], assistant=assistant, job=Job(), seed=0,
                                      cache=cache)
        more = cached_fact_questions(facts, assistant=assistant, seed=0, cache=cache,
                                     job=Job(lambda s: totals.append(s.total), min_interval_s=0))
    finally:
        assistant.runtime.unload()
    assert more[:3] == first and len(more) == 5
    assert {t for t in totals if t is not None} == {2}  # only the two new facts are drafted
    assert cached_fact_questions(facts[::-1], assistant=None, job=Job(), seed=0,
                                 cache=cache) == more[::-1]



def test_a_cancelled_drafting_run_keeps_what_it_drafted(in_sample, monkeypatch, tmp_path):
    """Cancel ends the data child at once: drafts are saved as they come, not only at the end."""
    from engine.answer import Assistant
    from engine.jobs import Cancelled, Job
    from engine.settings import Settings
    from engine.train import knowledge
    from engine.train.knowledge import _read_cache, cached_fact_questions, collection_facts

    monkeypatch.setattr(knowledge, "SAVE_EVERY", 3)
    facts = collection_facts("sample")[10:16]
    cache = tmp_path / "knowledge-cancelled.json"
    job = Job(lambda s: s.done == 3 and not job.cancelled() and job.cancel(), min_interval_s=0)
    assistant = Assistant(Settings())
    try:
        with pytest.raises(Cancelled):
            cached_fact_questions(facts, assistant=assistant, job=job, seed=0, cache=cache)
        kept = _read_cache(cache)
        assert len(kept) == 3  # four were drafted when it was cancelled; saved by threes
        totals: list[float | None] = []
        cached_fact_questions(facts, assistant=assistant, seed=0, cache=cache,
                              job=Job(lambda s: totals.append(s.total), min_interval_s=0))
    finally:
        assistant.runtime.unload()
    assert {t for t in totals if t is not None} == {3}  # only the three not saved
