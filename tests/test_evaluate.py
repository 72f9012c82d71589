"""Evaluation without a model: metrics against hand-computed values, question files, mode plans.

Every expected number below was worked out by hand (the working is in the comment next to it),
so a metric that drifts, or silently returns a constant, fails here.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import SatchelError
from engine.evaluate import EvalConfig, QuestionSetError, load_questions, parse_questions
from engine.evaluate import metrics as M
from engine.evaluate.metrics import score_row
from engine.evaluate.questions import QAItem, dump_questions
from engine.evaluate.runner import plan_modes


# ------------------------------------------------------------------------------ answer metrics
def test_token_f1_hand_values():
    # pred tokens: winter crew numbered 27 people (article "the" dropped) = 5; gold: 27 = 1
    # common 1 -> P 1/5, R 1 -> F1 = 2*(1/5)/(1/5+1) = 1/3
    assert M.token_f1("The winter crew numbered 27 people.", "27") == pytest.approx(1 / 3)
    # pred: obi lindgren is mechanic (4); gold: mechanic obi lindgren (3); common 3
    # P 3/4, R 1 -> F1 = 1.5/1.75 = 6/7
    assert M.token_f1("Obi Lindgren is the mechanic", "mechanic Obi Lindgren") == \
        pytest.approx(6 / 7)
    assert M.token_f1("nothing in common", "27") == 0.0
    # punctuation goes on both sides: "4.82" -> "482"
    assert M.token_f1("EUR 4.82 million", "4.82 million") == pytest.approx(2 * (2 / 3) / (
        2 / 3 + 1))


def test_rouge_l_hand_values():
    # same pair as above: LCS of [obi lindgren is mechanic] and [mechanic obi lindgren] is
    # [obi lindgren] = 2 -> P 2/4, R 2/3 -> F = 2*(1/2)(2/3)/(1/2+2/3) = (2/3)/(7/6) = 4/7
    assert M.rouge_l("Obi Lindgren is the mechanic", "mechanic Obi Lindgren") == \
        pytest.approx(4 / 7)
    # order matters for ROUGE-L but not for F1: reversed 2-token answer, LCS 1
    # P 1/2, R 1/2 -> 1/2 ; F1 would be 1
    assert M.rouge_l("Lindgren Obi", "Obi Lindgren") == pytest.approx(0.5)
    assert M.token_f1("Lindgren Obi", "Obi Lindgren") == pytest.approx(1.0)
    # the textbook LCS example: ABCBDAB vs BDCABA -> 4 (BCBA)
    assert M.lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert M.lcs_length([], list("abc")) == 0


def test_best_takes_the_closest_gold_answer():
    # vs "31 percent": tokens [31 percent] both in pred [fuel was 31 percent] -> P 2/4 R 1 = 2/3
    # vs "31%": normalised to "31" -> P 1/4 R 1 = 2/5 ; best = 2/3
    assert M.best(M.token_f1, "Fuel was 31 percent", ["31%", "31 percent"]) == \
        pytest.approx(2 / 3)


def test_contains_answer_rule():
    assert M.contains_answer("It is at the ANEMOMETER  mast.", ["Anemometer Mast"])
    assert M.contains_answer("Hut\nC", ["hut c"])
    assert not M.contains_answer("fourteen", ["14"])
    assert not M.contains_answer("", ["27"])
    assert M.contains_answer("In 2027", ["27"])  # the contract is plain containment


def test_percentile_and_mean():
    assert M.percentile([4, 1, 3, 2], 50) == pytest.approx(2.5)
    # p95 of [100, 200, 300]: position 0.95*2 = 1.9 -> 200 + 0.9*100 = 290
    assert M.percentile([100, 200, 300], 95) == pytest.approx(290)
    assert M.percentile([], 50) is None
    assert M.mean([1, None, 0]) == pytest.approx(0.5)
    assert M.mean([None]) is None


# --------------------------------------------------------------------------- source metrics
def test_source_matching_is_on_folder_boundaries():
    path = "/home/u/docs/corpus/report.pdf"
    assert M.source_matches(path, "report.pdf")
    assert M.source_matches(path, "corpus/report.pdf")
    assert M.source_matches(path, "REPORT.PDF")
    assert M.source_matches("C:\\Users\\u\\report.pdf", "report.pdf")
    assert not M.source_matches("/home/u/docs/annual_report.pdf", "report.pdf")
    assert not M.source_matches(path, "other/report.pdf")
    assert not M.source_matches(path, "")


def test_gold_rank_and_retrieval_scores():
    ranked = [("/c/a.pdf", 1), ("/c/b.pdf", 2), ("/c/b.pdf", 3), ("/c/a.pdf", 4)]
    assert M.gold_rank(ranked, ["b.pdf"], [3]) == 3
    assert M.gold_rank(ranked, ["b.pdf"], [3], use_pages=False) == 2
    assert M.gold_rank(ranked, ["b.pdf"], []) == 2
    assert M.gold_rank(ranked, ["c.pdf"], []) is None
    assert M.retrieval_scores(3) == {"hit_at_1": 0.0, "hit_at_3": 1.0, "hit_at_5": 1.0,
                                     "rr": pytest.approx(1 / 3)}
    assert M.retrieval_scores(None) == {"hit_at_1": 0.0, "hit_at_3": 0.0, "hit_at_5": 0.0,
                                        "rr": 0.0}
    assert M.retrieval_scores(6)["rr"] == 0.0  # beyond the scored depth


def _passages():
    return [{"n": 1, "path": "/c/minutes.odt", "page": 1, "text": "The council met at 19:00."},
            {"n": 2, "path": "/c/report.pdf", "page": 2, "text": "The winter crew numbered 27."},
            {"n": 3, "path": "/c/report.pdf", "page": 5, "text": "A fire broke out in Hut C."}]


def test_citation_correctness():
    p = _passages()
    # cites the passage holding the answer
    assert M.citation_correct(p, [2], ["27"], ["report.pdf"], [2])
    # cites a gold-source passage on the gold page, though its text lacks the answer string
    assert M.citation_correct(p, [3], ["twenty-seven"], ["report.pdf"], [5])
    # right file, wrong page, no answer in it
    assert not M.citation_correct(p, [3], ["27"], ["report.pdf"], [2])
    # wrong passage, and citing nothing is not a correct citation
    assert not M.citation_correct(p, [1], ["27"], ["report.pdf"], [2])
    assert not M.citation_correct(p, [], ["27"], ["report.pdf"], [2])
    assert not M.citation_correct(p, [9], ["27"], ["report.pdf"], [2])  # no such passage


# ---------------------------------------------------------------------------- rows and summary
ITEM = QAItem("How many people were in the winter crew?", ("27",), ("report.pdf",), (2,))


def _answer(text, cited, total_ms=1000.0, ttft_ms=200.0, tps=50.0):
    return {"answer": text, "sources": _passages(), "cited": cited, "error": None,
            "timings": {"total_ms": total_ms, "ttft_ms": ttft_ms, "prompt_tokens": 100,
                        "completion_tokens": 10, "tokens_per_s": tps}}


def test_score_row_hand_values():
    retrieval = {"gold_rank": 2, "gold_rank_file": 2}
    answer = _answer("The winter crew numbered 27 people [2].", [2])
    m = score_row(ITEM, "rag", retrieval, answer, similarity=0.5)
    # retrieval rank 2: hit@1 0, hit@3 1, hit@5 1, rr 1/2
    assert (m["hit_at_1"], m["hit_at_3"], m["hit_at_5"], m["rr"]) == (0.0, 1.0, 1.0, 0.5)
    assert m["hit_at_5_file"] == 1.0
    # tokens: winter crew numbered 27 people 2 (the "[2]" citation is a token "2") -> 6
    # F1 vs "27": P 1/6, R 1 -> 2/7 ; ROUGE-L the same (one-token gold)
    assert m["correct"] == 1.0
    assert m["token_f1"] == pytest.approx(2 / 7)
    assert m["rouge_l"] == pytest.approx(2 / 7)
    assert m["citation_correct"] == 1.0 and m["cited"] == 1.0 and m["similarity"] == 0.5
    base = score_row(ITEM, "base", None, _answer("Twelve people.", []), similarity=0.1)
    assert base["correct"] == 0.0 and base["token_f1"] == 0.0
    assert base["hit_at_5"] is None and base["citation_correct"] is None and base["cited"] is None
    no_gold = QAItem("q?", ("27",))
    assert score_row(no_gold, "rag", {"gold_rank": None, "gold_rank_file": None},
                     None, None)["hit_at_5"] is None


def test_summarize_hand_values():
    rows = [
        {"answer": _answer("27 [2]", [2], 1000, 100, 40), "metrics": score_row(
            ITEM, "rag", {"gold_rank": 1, "gold_rank_file": 1}, _answer("27 [2]", [2]), 0.9)},
        {"answer": _answer("no idea", [], 3000, 300, 60), "metrics": score_row(
            ITEM, "rag", {"gold_rank": 4, "gold_rank_file": 2}, _answer("no idea", []), 0.1)},
        {"answer": _answer("It was 27.", [1], 2000, 200, 50), "metrics": score_row(
            ITEM, "rag", {"gold_rank": None, "gold_rank_file": None},
            _answer("It was 27.", [1]), 0.5)},
    ]
    s = M.summarize(rows)
    assert s["n"] == 3
    assert s["hit_at_1"] == pytest.approx(1 / 3)  # ranks 1, 4, none
    assert s["hit_at_5"] == pytest.approx(2 / 3)
    assert s["mrr"] == pytest.approx((1 + 1 / 4 + 0) / 3)
    assert s["correct"] == pytest.approx(2 / 3)  # "27 [2]" and "It was 27."
    # "27 [2]": tokens [27, 2] -> F1 2/3 ; "no idea" 0 ; "It was 27." [it was 27] -> 1/2
    assert s["token_f1"] == pytest.approx((2 / 3 + 0 + 1 / 2) / 3)
    # cites passage 2 (has 27) ; cites nothing ; cites passage 1 (minutes, no 27): 1 of 3
    assert s["citation_correct"] == pytest.approx(1 / 3)
    assert s["cited"] == pytest.approx(2 / 3)
    assert s["similarity"] == pytest.approx(0.5)
    assert s["latency_p50_ms"] == pytest.approx(2000)
    assert s["latency_p95_ms"] == pytest.approx(2900)  # 2000 + 0.9 * 1000
    assert s["ttft_p50_ms"] == pytest.approx(200)
    assert s["tokens_per_s"] == pytest.approx(50)


# -------------------------------------------------------------------------------- question sets
BAD_FILES = [
    ('{"question": "q?", "answers": ["a"]}\n{"question": "q2?" "answers": ["a"]}\n', 2,
     "not valid JSON"),
    ('["q?", "a"]\n', 1, "expected a JSON object"),
    ('{"question": "q?"}\n', 1, "'answers' is missing"),
    ('{"question": "q?", "answers": []}\n', 1, "non-empty list"),
    ('{"question": "q?", "answers": "27"}\n', 1, "non-empty list"),
    ('{"question": "  ", "answers": ["a"]}\n', 1, "'question' must be"),
    ('\n# comment\n{"question": "q?", "answers": ["a"], "pages": ["2"]}\n', 3, "'pages'"),
    ('{"question": "q?", "answers": ["a"], "pages": [0]}\n', 1, "'pages'"),
    ('{"question": "q?", "answers": ["a"], "pages": [true]}\n', 1, "'pages'"),
    ('{"question": "q?", "answers": ["a"], "sources": "a.pdf"}\n', 1, "'sources'"),
    ('{"question": "q?", "answers": ["a"], "page": [2]}\n', 1, "unknown key 'page'"),
]


@pytest.mark.parametrize("text,line,needle", BAD_FILES)
def test_bad_question_files_name_the_line(tmp_path, text, line, needle):
    path = tmp_path / "qa.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(QuestionSetError) as info:
        load_questions(path)
    message = str(info.value)
    assert message.startswith(f"qa.jsonl:{line}: ") and needle in message
    assert "\n" not in message


def test_empty_missing_and_limited_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n# nothing\n", encoding="utf-8")
    with pytest.raises(QuestionSetError, match="no questions"):
        load_questions(empty)
    with pytest.raises(QuestionSetError, match="not found"):
        load_questions(tmp_path / "missing.jsonl")
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"question": f"q{i}?", "answers": ["a"]}) + "\n"
                            for i in range(5)), encoding="utf-8")
    assert [i.question for i in load_questions(good, limit=2)] == ["q0?", "q1?"]
    with pytest.raises(QuestionSetError, match="at least 1"):
        load_questions(good, limit=0)


def test_round_trip_keeps_gold_and_line_numbers():
    text = ('// drafted\n{"question": "Who?", "answers": ["Ann"], "sources": ["a.md"], '
            '"pages": [1], "note": "check"}\n\n{"question": "When?", "answers": ["1987"]}\n')
    items = parse_questions(text, "set.jsonl")
    assert [i.line for i in items] == [2, 4]
    assert items[0].sources == ("a.md",) and items[0].extra == {"note": "check"}
    again = parse_questions(dump_questions(items))
    assert [(i.question, i.answers, i.sources, i.pages) for i in again] == \
        [(i.question, i.answers, i.sources, i.pages) for i in items]
    assert items[0].key() == again[0].key()  # line numbers are not part of the key
    assert items[0].key() != QAItem("Who?", ("Bob",), ("a.md",), (1,)).key()


def test_shipped_question_set_is_valid():
    from engine.samples import QA_SET_PATH

    items = load_questions(QA_SET_PATH)
    assert len(items) >= 30
    assert all(i.sources and i.pages for i in items)
    assert len({i.question for i in items}) == len(items)


# ------------------------------------------------------------------------------------- modes
def test_mode_plans():
    modes, notes = plan_modes(EvalConfig(), {})
    assert modes == ["base", "rag"] and len(notes) == 2 and all("skipped" in n for n in notes)
    both = {"adapter": "mine", "rag+adapter": "mine"}
    modes, notes = plan_modes(EvalConfig(), both)
    assert modes == ["base", "rag", "adapter", "rag+adapter"] and notes == []
    with pytest.raises(SatchelError, match="needs an adapter"):
        plan_modes(EvalConfig(modes=("base", "adapter")), {})
    modes, _ = plan_modes(EvalConfig(modes=("rag+adapter", "base"), adapter="x"),
                          {"rag+adapter": "x"})
    assert modes == ["base", "rag+adapter"]  # base weights first: one adapter switch
    modes, notes = plan_modes(EvalConfig(retrieval_only=True), {})
    assert modes == ["rag"] and notes == []
    modes, notes = plan_modes(EvalConfig(retrieval_only=True, modes=("base", "rag+adapter")), {})
    assert modes == ["rag+adapter"] and "base: skipped" in notes[0]
    with pytest.raises(SatchelError, match="unknown mode"):
        plan_modes(EvalConfig(modes=("rag", "magic")), {})
    # only a reader: adapter mode (no passages) is left out and says what it would need
    modes, notes = plan_modes(EvalConfig(), {"rag+adapter": "reader"})
    assert modes == ["base", "rag", "rag+adapter"]
    assert notes == ["adapter: skipped (no adapter for this model answers without passages (a "
                     "reader is for rag+adapter); train one with `satchel adapter train --kind "
                     "knowledge` or pass --adapter NAME)"]
    with pytest.raises(SatchelError, match="answers without passages"):
        plan_modes(EvalConfig(modes=("adapter",)), {"rag+adapter": "reader"})


# ------------------------------------------------------------------------------ drafting facts
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200))
def test_every_candidate_fact_is_a_piece_of_its_sentence(sentence):
    from engine.evaluate.draft import candidate_answers

    for fact in candidate_answers(sentence):
        assert fact and fact in sentence


def test_footnote_markers_are_not_facts():
    from engine.evaluate.draft import candidate_answers

    assert candidate_answers("These postinst and prerm files [57] are called maintainer "
                             "scripts.") == []
    assert "92" not in candidate_answers("Packages should not ship *.la archives.[92]")
    assert candidate_answers("[84] The dput package has 12 options.") == ["12"]
    assert "10" in candidate_answers("The array a holds 10 values, see a [ 10 ].")


def test_paths_options_addresses_and_dotted_names_are_facts():
    from engine.evaluate.draft import candidate_answers

    # the facts of manuals about tools, which have neither a capital nor a digit
    assert candidate_answers("Edit the debian/control file, then run the build with "
                             "-us -uc.") == ["debian/control", "-us", "-uc"]
    assert candidate_answers("Mail debian-devel@lists.debian.org before an upload.") == [
        "debian-devel@lists.debian.org"]
    assert candidate_answers("Set core.editor in ~/.gitconfig, or pass --amend.") == [
        "core.editor", "~/.gitconfig", "--amend"]
    assert candidate_answers("Sources are listed in /etc/apt/sources.list.") == [
        "/etc/apt/sources.list"]
    # plain English is not: slash pairs, abbreviations, a list's dash, hyphenated words
    assert candidate_answers("Use read/write and/or client/server mode, e.g. for the "
                             "well-known - and i.e. self-contained - cases.") == []


def test_title_case_headings_run_into_the_text_are_not_names():
    from engine.evaluate.draft import candidate_answers

    # a heading glued to its section's first sentence, as SQLite's pages are extracted
    assert candidate_answers("- Maximum Number Of Tables In A Join SQLite does not support "
                             "joins containing more than 64 tables.") == ["64"]
    assert candidate_answers("Why Does Not Work The Same As MySQL is a question.") == []
    # real names, with or without a lowercase particle, are still facts
    assert candidate_answers("It reports time in Universal Coordinated Time, as the "
                             "Bank of England does.") == ["Universal Coordinated Time",
                                                          "Bank of England"]


def test_numbers_and_codes_are_whole_and_section_numbers_are_not_facts():
    from engine.evaluate.draft import candidate_answers

    # a version is one fact, an address none (its option is), a file name is not a code
    assert candidate_answers("Android 4.0.3 running on android x86 emulator.") == ["4.0.3"]
    assert candidate_answers("Give it the option --log-socket=127.0.0.1:12345 first.") == [
        "--log-socket"]
    assert "SomePackage-2" not in candidate_answers("Run pip hash ./SomePackage-2.2.tar.gz now.")
    # a table of contents run into the text: "4.5." is the number of the next section
    assert candidate_answers("Valgrind behaves unexpectedly: 4.5.; B: Memcheck reports "
                             "nothing.") == []
    # a number that ends its sentence is still a fact
    assert candidate_answers("It is covered by the License, Version 1.2.")[0] == "1.2"


def test_headings_labels_and_references_are_not_sentences_to_draft_from():
    from engine.evaluate.draft import sentences

    text = ("Acting on Cachegrind's Information 5.8.\n"
            "(VEE 2007), San Diego, California, USA, June 2007.\n"
            "The Global and Function-level Counts 5.2.6.\n"
            "Name: Ada Lovelace; Role: Chief Engineer\n"
            "The winter crew numbered 27 people in all.")
    assert sentences(text) == ["Name: Ada Lovelace; Role: Chief Engineer",
                               "The winter crew numbered 27 people in all."]


def test_a_hard_wrapped_sentence_is_drafted_whole():
    from engine.evaluate.draft import sentences

    text = ("A \"Modified Version\" of the Document means any work containing the\n"
            "Document or a portion of it, either copied verbatim, or with\n"
            "modifications and/or translated into another language.")
    assert sentences(text) == [" ".join(text.split())]


def test_a_question_about_the_fact_is_kept_only_when_asked_for():
    from engine.evaluate.draft import acceptable_question

    sentence = "The maint-guide package contains the Debian New Maintainers' Guide."
    about = "What does the maint-guide package contain?"
    assert not acceptable_question(about, "maint-guide", sentence)  # names its gold answer
    assert acceptable_question(about, "maint-guide", sentence, about_ok=True)
    assert not acceptable_question("What is it?", "maint-guide", sentence, about_ok=True)
    assert not acceptable_question("Who won the match yesterday?", "maint-guide", sentence,
                                   about_ok=True)  # not about the sentence


# ------------------------------------------------------------------------------ drafting journal
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_DRAFTED = st.lists(st.tuples(_TEXT, st.lists(_TEXT, min_size=0, max_size=2)), min_size=1,
                    max_size=5)


@given(_DRAFTED, st.integers(min_value=0), st.data())
def test_a_torn_drafting_journal_keeps_its_whole_records_and_goes_on(tmp_path_factory, drafted,
                                                                     cut, data):
    """A run killed while writing leaves a torn last line: the journal reads back the chunks
    written whole, in order, and a record appended after that is read too."""
    from engine.evaluate.draft import ChunkDrafted, append_journal, read_journal

    path = tmp_path_factory.mktemp("journal") / "drafts.partial.jsonl"
    records = [ChunkDrafted(3 * i, answer, [QAItem(q, (answer,), ("a.txt",), (2,),
                                                   extra={"chunk_id": f"c{i}", "note": "n",
                                                          "sentence": q})
                                            for q in questions])
               for i, (answer, questions) in enumerate(drafted)]
    for record in records:
        append_journal(path, record)
    raw = path.read_bytes()
    path.write_bytes(raw[:cut % (len(raw) + 1)])
    kept = read_journal(path)
    whole = path.read_bytes()
    assert kept == records[:len(kept)]
    assert raw.startswith(whole) and whole.count(b"\n") == len(kept)
    assert len(kept) == len(records) or cut % (len(raw) + 1) < len(raw)
    late = ChunkDrafted(100, data.draw(_TEXT), [])
    append_journal(path, late)
    assert read_journal(path) == [*kept, late]


def test_a_journal_out_of_order_or_not_text_is_cut_where_it_stops_making_sense(tmp_path):
    from engine.evaluate.draft import ChunkDrafted, append_journal, read_journal

    path = tmp_path / "j.partial.jsonl"
    for index in (0, 4, 2):  # a record going back is not from this run
        append_journal(path, ChunkDrafted(index, "27 people", []))
    assert [r.index for r in read_journal(path)] == [0, 4]
    path.write_bytes(b"\xff\xfe garbage")
    assert read_journal(path) == [] and path.read_bytes() == b""
    assert read_journal(tmp_path / "missing.jsonl") == []


def test_adapter_mode_never_runs_a_reader_and_rag_adapter_prefers_one():
    """A reader shown no passages answers from nothing: adapter mode does not pick it."""
    from benchmarks.random_adapter import make_random_adapter
    from engine.evaluate.runner import adapter_for_mode
    from engine.model_files import default_model_path

    model = default_model_path()
    make_random_adapter("skimmer", kind="reader")
    assert adapter_for_mode(model, "adapter") is None
    assert adapter_for_mode(model, "rag+adapter") == "skimmer"
    make_random_adapter("facts", kind="knowledge")
    assert adapter_for_mode(model, "adapter") == "facts"
    assert adapter_for_mode(model, "rag+adapter") == "skimmer"
