"""Issue 11: the reader adapter (RAFT-style examples in the answer-time prompt) and its filters.

Real models throughout: the bundled SmolLM2-135M drafts, focuses and renders prompts, MiniLM
retrieves, and the tiny training run is measured through llama.cpp, as the app would run it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.samples import QA_PATH
from tests.helpers_corpus import in_data_dir, indexed_sample_home

pytestmark = pytest.mark.slow

_PASSAGE_LINE = re.compile(r"^\[(\d+)\] \(([^)]*)\) (.*)$")


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory):
    """One indexed sample corpus for the module (indexing is the slow part)."""
    return indexed_sample_home(tmp_path_factory, "reader-home")


@pytest.fixture
def in_sample(sample_home):
    yield from in_data_dir(sample_home)


@pytest.fixture(scope="module")
def assistant():
    from engine.answer import Assistant
    from engine.llm import Runtime
    from engine.settings import Settings

    runtime = Runtime()
    yield Assistant(Settings(), runtime)
    runtime.unload()


def passages_of(user_message: str) -> dict[int, tuple[str, str]]:
    """[n] -> (label, focused text) as the model sees them."""
    out: dict[int, tuple[str, str]] = {}
    current = None
    for line in user_message.rsplit("\nQuestion: ", 1)[0].splitlines()[1:]:
        m = _PASSAGE_LINE.match(line)
        if m:
            current = int(m.group(1))
            out[current] = (m.group(2), m.group(3))
        elif current is not None:  # a passage's text may span lines (headings, list items)
            label, text = out[current]
            out[current] = (label, f"{text}\n{line}")
    return out


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_oracle_plan_holds_exactly_the_asked_fraction():
    from engine.train.reader import oracle_plan

    for n, p in ((10, 0.8), (57, 0.8), (3, 0.5), (20, 0.0), (20, 1.0)):
        plan = oracle_plan(n, p, seed=3)
        assert len(plan) == n and sum(plan) == round(p * n)
    assert oracle_plan(40, 0.8, seed=1) != oracle_plan(40, 0.8, seed=2)  # seeded places
    from engine.train.data import TrainDataError

    with pytest.raises(TrainDataError, match="between 0 and 1"):
        oracle_plan(10, 1.5, seed=0)


def test_quote_is_the_answering_sentence_cut_around_the_answer():
    from engine.train.reader import answer_in, quote_for

    text = ("The station has two labs. The winter crew was 27 people in 2025, all of whom "
            "completed the safety course. Boats leave at noon.")
    assert quote_for("27", text) == ("The winter crew was 27 people in 2025, all of whom "
                                     "completed the safety course.")
    long = "Intro. " + " ".join(f"w{i}" for i in range(60)) + " the code is HRB-09 " + " ".join(
        f"v{i}" for i in range(60)) + "."
    cut = quote_for("HRB-09", long, max_words=20)
    assert cut is not None and "HRB-09" in cut and len(cut.split()) == 20
    assert quote_for("missing", text) is None
    assert answer_in("27  People", text) and not answer_in("28", text)


def test_a_quoted_table_row_comes_with_the_rows_after_it_that_fit():
    from engine.train.reader import quote_for

    table = ("The log files.\n\nfile: dpkg.log; content: dpkg activity\n"
             "file: term.log; content: generic APT activity\n"
             "file: aptitude; content: aptitude command activity\n\nIn reality it is hard.")
    assert quote_for("term.log", table) == (
        "file: dpkg.log; content: dpkg activity\nfile: term.log; content: generic APT activity\n"
        "file: aptitude; content: aptitude command activity")  # in order, within 20 words
    assert quote_for("term.log", table, max_words=12) == (
        "file: term.log; content: generic APT activity\n"
        "file: aptitude; content: aptitude command activity")  # the next row first
    assert quote_for("term.log", table, max_words=6) == (
        "file: term.log; content: generic APT activity")  # a row alone, never cut
    # prose sentences stay alone: a paragraph is not a table
    assert quote_for("hard", table) == "In reality it is hard."


def test_reader_examples_are_answer_time_prompts_with_oracles_and_other_document_distractors(
        in_sample, assistant):
    from engine.train import reader

    questions, dropped = reader.questions_from_file(QA_PATH, "sample")
    assert len(questions) + dropped == 56 and len(questions) >= 50
    rows = {r["chunk_id"]: r for r in reader._chunk_rows("sample")}
    for q in questions:  # each user pair is tied to a passage that holds its answer
        assert reader.answer_in(q.answer, rows[q.chunk_id]["text"])
    examples, stats = reader.reader_examples(questions, "sample", assistant=assistant,
                                             p_oracle=0.75, seed=0)
    assert stats.examples == len(examples) >= len(questions) - 4
    planned = sum(reader.oracle_plan(len(questions), 0.75, seed=0))
    assert stats.with_oracle == planned - stats.dropped_cut_by_focus
    assert 0.65 <= stats.with_oracle / stats.examples <= 0.8
    by_question = {q.question: q for q in questions}
    cited = 0
    assert len(stats.layout) == len(examples)
    for ex, (question, oracle_id, shown_ids) in zip(examples, stats.layout, strict=True):
        roles = [r for r, _ in ex.messages]
        assert roles == ["system", "user", "assistant"]
        assert ex.messages[0][1] == reader_system()
        user, target = ex.messages[1][1], ex.messages[2][1]
        assert user.rsplit("\nQuestion: ", 1)[1] == question
        q = by_question[question]
        shown = passages_of(user)
        assert len(shown) == len(shown_ids) == assistant.settings.top_k
        assert len(set(shown_ids)) == len(shown_ids)
        # distractors: passages of other documents, none of which holds the answer
        for cid in shown_ids:
            if cid != q.chunk_id:
                assert not reader.answer_in(q.answer, rows[cid]["text"])
                assert rows[cid]["path"] != rows[q.chunk_id]["path"]
        m = re.search(r" \[(\d+)\]$", target)
        if m:  # oracle present: the answer names the fact, quotes the oracle passage and
            # cites its number
            cited += 1
            n = int(m.group(1))
            assert oracle_id == q.chunk_id and shown_ids[n - 1] == q.chunk_id
            label, text = shown[n]
            assert label.split(" p. ")[0] == rows[q.chunk_id]["path"].rsplit("/", 1)[-1]
            assert target.startswith(f"{q.answer}: ")
            quote = target[len(q.answer) + 2: m.start()]
            assert reader.answer_in(q.answer, quote) and norm(quote) in norm(text)
        else:  # oracle-free: every passage is a distractor, the target still states the fact
            assert oracle_id == "" and q.chunk_id not in shown_ids
            assert reader.answer_in(q.answer, target)
    assert cited == stats.with_oracle


def test_the_default_oracle_fraction_follows_the_layout(in_sample, assistant):
    """One passage per answer: every example holds its oracle (a distractor shown alone taught
    the reader to answer from outside the passage); several passages: RAFT's 0.8."""
    import dataclasses

    from engine.answer import Assistant
    from engine.train import reader

    questions, _ = reader.questions_from_file(QA_PATH, "sample")
    questions = questions[:10]
    assert assistant.settings.top_k == 1
    examples, stats = reader.reader_examples(questions, "sample", assistant=assistant)
    assert stats.with_oracle == stats.examples == len(examples) > 0
    wide = Assistant(dataclasses.replace(assistant.settings, top_k=3), assistant.runtime)
    _, stats = reader.reader_examples(questions, "sample", assistant=wide)
    assert stats.with_oracle == sum(reader.oracle_plan(10, 0.8, seed=0)) - (
        stats.dropped_cut_by_focus)
    assert stats.examples - stats.with_oracle >= 1


def reader_system() -> str:
    from engine.prompt import SYSTEM_RAG

    return SYSTEM_RAG


def test_reader_prompt_is_identical_to_the_prompt_an_answer_is_generated_from(
        in_sample, assistant):
    from engine.model_files import default_model_path
    from engine.train.model import load_tokenizer
    from engine.train.reader import reader_prompt

    question = "How many people were in the 2025 winter crew at Halcyon Reach?"
    answer = assistant.ask(question, "rag", collection="sample", temperature=0.0,
                           max_tokens=4).consume()
    retrieved, _ = assistant.retrieve(question, "sample", assistant.settings.top_k)
    fitted = reader_prompt(assistant, question, retrieved)
    assert fitted.user_message == answer.user_message
    assert fitted.messages[0]["content"] == reader_system()
    # and the trainer's tokenizer renders it to the very tokens llama.cpp evaluates
    text, tokens, _ = assistant.runtime.render(fitted.messages)
    tokenizer = load_tokenizer(default_model_path())
    rendered = tokenizer.apply_chat_template(fitted.messages, tokenize=False,
                                             add_generation_prompt=True)
    assert rendered == text
    assert tokenizer.encode(rendered, add_special_tokens=False) == tokens[-len(
        tokenizer.encode(rendered, add_special_tokens=False)):]


def test_drafted_questions_keep_only_answers_found_in_their_passage(in_sample, assistant):
    from engine.evaluate.draft import acceptable_question
    from engine.train import reader

    drafted = reader.draft_questions_for("sample", 4, assistant=assistant, seed=0)
    assert drafted, "the model drafted no usable question from the sample corpus"
    rows = {r["chunk_id"]: r for r in reader._chunk_rows("sample")}
    for q in drafted:
        assert q.question.endswith("?") and not q.question.startswith("Fill in the blank")
        assert reader.answer_in(q.answer, rows[q.chunk_id]["text"])
        # a question *about* the fact may name it (the reader quotes the sentence), but not
        # one that is off the sentence or malformed
        assert acceptable_question(q.question, q.answer, q.sentence, about_ok=True)
        assert reader.answer_in(q.answer, q.sentence)


def test_a_resumed_drafting_run_ends_as_one_never_stopped(in_sample):
    """Cancelled after three questions, drafting goes on from the chunk after the last one it
    recorded, and ends with exactly the questions of an uninterrupted run."""
    from engine.evaluate.draft import draft_questions
    from engine.jobs import Cancelled, Job

    whole = draft_questions("sample", 6, use_model=False, seed=3)
    records: list = []
    job = Job(lambda s: s.done >= 3 and not job.cancelled() and job.cancel(), min_interval_s=0)
    with pytest.raises(Cancelled):
        draft_questions("sample", 6, use_model=False, seed=3, job=job, on_chunk=records.append)
    assert 3 <= sum(len(r.items) for r in records) < 6
    totals: list[float] = []
    resumed = draft_questions("sample", 6, use_model=False, seed=3, done=records,
                              job=Job(lambda s: s.total and totals.append(s.done),
                                      min_interval_s=0))
    assert resumed == whole and [i.extra for i in resumed] == [i.extra for i in whole]
    assert min(totals) >= 3  # it started from what was kept


def test_a_cancelled_reader_drafting_keeps_its_questions_in_a_journal(in_sample, assistant,
                                                                     tmp_path, monkeypatch):
    """The model is not asked again about the chunks a cancelled run finished."""
    from engine.evaluate import draft
    from engine.jobs import Cancelled, Job
    from engine.train import reader

    asked: list[str] = []
    real_ask = draft._ask_model

    def ask(assistant, sentence, *args, **kwargs):
        asked.append(sentence)
        return real_ask(assistant, sentence, *args, **kwargs)

    monkeypatch.setattr(draft, "_ask_model", ask)
    journal = tmp_path / "drafts.partial.jsonl"
    job = Job(lambda s: s.done >= 1 and not job.cancelled() and job.cancel(), min_interval_s=0)
    with pytest.raises(Cancelled):
        reader.draft_questions_for("sample", 3, assistant=assistant, seed=0, job=job,
                                   journal=journal)
    kept = [item for record in draft.read_journal(journal) for item in record.items]
    first_run = list(asked)
    assert kept and first_run
    asked.clear()
    drafted = reader.draft_questions_for("sample", 3, assistant=assistant, seed=0,
                                         journal=journal)
    resumed_run = list(asked)
    assert not set(resumed_run) & {i.extra["sentence"] for i in kept}
    asked.clear()
    whole = reader.draft_questions_for("sample", 3, assistant=assistant, seed=0)
    assert drafted == whole
    assert first_run + resumed_run == asked  # every question asked once, none again


def test_reader_data_is_drafted_as_real_questions_without_fill_in_the_blanks(in_sample):
    """A cloze repeats the answering sentence, so a reader trained on clozes learned to copy
    the question; the reader's drafted examples are real questions only."""
    from engine.settings import Settings
    from engine.train.reader import drafts_dir, load_purpose_data

    data = load_purpose_data("reader", "sample", draft=6, seed=0, settings=Settings())
    assert data.source["drafted"] >= 1
    drafted_file = Path(data.source["drafted_file"])
    assert drafted_file.is_file()  # the finished drafts, and no journal of unfinished ones
    assert drafted_file.parent == drafts_dir("sample")  # removed with the collection
    assert not list(drafted_file.parent.glob("*.partial.jsonl"))
    for ex in data.train + data.heldout:
        question = ex.messages[1][1].rsplit("\nQuestion: ", 1)[1]
        assert question.endswith("?") and "Fill in the blank" not in question


def test_reader_questions_ask_for_a_name_or_an_option_with_which(assistant):
    """People ask for an option by what it does ("Which option ...?"), and so must a reader's
    training questions: the model is given the first word; numbers and dates keep their own."""
    from engine.evaluate.draft import _ask_model, acceptable_question, question_lead

    assert [question_lead(a) for a in ("--no-verify", "rebase.autoStash", "/etc/hosts")] == [
        "Which"] * 3
    assert [question_lead(a) for a in ("2000", "4,000 km", "3 March")] == [None] * 3
    sentence = "The --no-verify option bypasses the pre-commit and commit-msg hooks."
    question = _ask_model(assistant, sentence, "--no-verify", 0, about_ok=True, lead="Which")
    assert question is not None and question.startswith("Which ")
    assert acceptable_question(question, "--no-verify", sentence, about_ok=True)


def test_saved_reader_drafts_replace_the_collection_s_older_ones(tmp_path):
    from engine.train.reader import drop_other_drafts

    folder = tmp_path / "drafted"
    folder.mkdir()
    names = ["reader-new.jsonl", "reader-old.jsonl", "reader-old.partial.jsonl",
             "knowledge-a.json", "notes.txt"]
    for name in names:
        (folder / name).write_text("{}\n", encoding="utf-8")
    drop_other_drafts(folder / "reader-new.jsonl")
    assert sorted(p.name for p in folder.iterdir()) == ["knowledge-a.json", "notes.txt",
                                                        "reader-new.jsonl"]


def test_drafted_pairs_whose_answer_is_not_in_the_passage_are_dropped(in_sample, monkeypatch):
    from engine.train import generate_qa
    from engine.train.data import Example

    assert generate_qa.supported_by("27 people", "The winter crew was 27 people.")
    assert generate_qa.supported_by("the winter crew", "The Winter  crew was 27 people.")
    assert not generate_qa.supported_by("42 people", "The winter crew was 27 people.")
    assert not generate_qa.supported_by("Dr. Alvarez leads it", "The crew was 27 people.")

    replies = iter(["What was the size of the winter crew?", "It was 31 people.",  # invented
                    "Who directs the station?", "Marchetti-Okafor"] * 50)
    monkeypatch.setattr(generate_qa, "_chat", lambda llm, prompt: next(replies))
    passages = [Example("a.txt p.1", text="The winter crew was 27 people."),
                Example("b.txt p.1", text="The director is Marchetti-Okafor.")]
    monkeypatch.setattr(generate_qa, "from_collection", lambda name: passages)
    pairs = generate_qa.generate_pairs("sample", count=2)
    assert [(p.question, p.answer) for p in pairs] == [("Who directs the station?",
                                                        "Marchetti-Okafor")]


@pytest.mark.timeout(1200)
def test_tiny_reader_training_raises_the_gold_answer_log_prob_through_llama_cpp(
        in_sample, tmp_path):
    """A few steps on the user's questions (no drafting): through llama.cpp, with the same
    prompt the rag+adapter mode sends, the adapter makes the cited gold answer more likely."""
    from engine.model_files import default_model_path
    from engine.settings import Settings
    from engine.train import TrainConfig, prepare, run
    from models.adapters import adapter_kind, get_adapter
    from tests.test_train_adapter import LlamaScorer

    plan = prepare(TrainConfig(collection="sample", data_file=str(QA_PATH), kind="reader",
                               draft=0, name="reader", max_steps=10, settings=Settings(),
                               overrides={"checkpoint_every": 5, "learning_rate": 2e-3}))
    assert plan.data.source["kind"] == "reader" and plan.data.source["from_file"] >= 50
    assert re.search(r"\d+ passages? \| A: ", plan.data.preview(1)[0])
    result = run(plan)
    entry = get_adapter("reader")
    assert adapter_kind(entry) == "reader" and result.steps_done == 10
    # a reader trains every step and keeps its last weights (no early stop on held-out loss)
    assert not result.stopped_early and result.metrics["best_step"] == 10

    scorer = LlamaScorer(default_model_path())
    try:
        from engine.llm import Runtime

        runtime = Runtime()
        runtime.load(default_model_path())
        cases = []
        for ex in plan.data.train[:12]:
            messages = [{"role": r, "content": c} for r, c in ex.messages[:-1]]
            _, prompt, _ = runtime.render(messages)
            target = scorer.llm.tokenize(ex.messages[-1][1].encode(), add_bos=False,
                                         special=False)
            cases.append((prompt, target))
        runtime.unload()

        def gold_logprob() -> float:
            total, count = 0.0, 0
            for prompt, target in cases:
                tokens = (prompt + target)[:500]
                scorer.llm.reset()
                scorer.llm.eval(tokens)
                scores = np.array(scorer.llm.scores[: len(tokens)], dtype=np.float64)
                for i in range(len(prompt), len(tokens)):
                    row = scores[i - 1]
                    logz = np.log(np.exp(row - row.max()).sum()) + row.max()
                    total += row[tokens[i]] - logz
                    count += 1
            return total / count

        scorer.use(None)
        before = gold_logprob()
        scorer.use(scorer.load_adapter(entry.path))
        after = gold_logprob()
    finally:
        scorer.close()
    assert after > before + 0.1, (before, after)


def test_cli_trains_a_reader_and_refuses_bad_requests(in_sample, capsys):
    from cli.app import run as cli_run

    assert cli_run(["adapter", "train", "--kind", "reader"]) != 0
    assert "--collection" in capsys.readouterr().err
    assert cli_run(["adapter", "train", "--collection", "sample", "--kind", "reader",
                    "--draft", "0"]) != 0
    assert "question file" in capsys.readouterr().err
    assert cli_run(["adapter", "train", "--collection", "sample", "--data", str(QA_PATH),
                    "--draft", "0", "--oracle", "1.5"]) != 0
    assert "between 0 and 1" in capsys.readouterr().err
    assert cli_run(["adapter", "train", "--collection", "sample", "--data", str(QA_PATH),
                    "--draft", "0", "--steps", "1", "--name", "r1"]) == 0
    out = capsys.readouterr().out
    assert "adapter 'r1' saved" in out
    # a reader reads the passages search finds: the mode it is used in retrieves
    assert "satchel ask QUESTION --mode rag+adapter --collection sample --adapter r1" in out
    assert cli_run(["adapter", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "r1" and listed[0]["kind"] == "reader"
    assert listed[0]["metrics"]["steps"] == 1
    # asked in adapter mode, where it sees no passages, the user is told where it belongs
    assert cli_run(["ask", "Who is the station director?", "--mode", "adapter",
                    "--adapter", "r1"]) == 0
    assert "'r1' is a reader adapter" in capsys.readouterr().err
    from models.adapters import mode_note

    assert mode_note("r1", "rag+adapter") is None and mode_note("gone", "adapter") is None
    # the layout it was trained on is recorded: rag+adapter answers from the same prompt
    from engine.settings import Settings
    from models.adapters import get_adapter

    layout = {"top_k": Settings().top_k, "context_tokens": Settings().context_tokens}
    assert get_adapter("r1").manifest.data_source["layout"] == listed[0]["layout"] == layout
    assert cli_run(["adapter", "list"]) == 0
    passages = f"{layout['top_k']} passage{'s' if layout['top_k'] > 1 else ''}"
    assert f"reads {passages} ({layout['context_tokens']} tokens)" in capsys.readouterr().out
