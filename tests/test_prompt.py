"""Prompt assembly: focusing passages, fitting the context, citations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.llm import LLMError
from engine.prompt import (
    LOOP_CHARS,
    LOOP_RUN,
    NEXT_TURN,
    HistoryTurn,
    Passage,
    best_sentence,
    cited_numbers,
    fit,
    focus,
    number_passages,
    repeat_start,
    sentence_runs,
    sentences_of,
    unwrap,
    user_message,
)


def words(text: str) -> int:
    return len(text.split())


def test_focus_keeps_the_sentence_with_the_answer():
    text = ("The station opened in 1961. It has three huts. The winter crew numbered 27 people. "
            "Supplies arrive by ship in March. The dogs were retired in 1994.")
    out = focus(text, "How many people were in the winter crew?", 12, words)
    assert "27 people" in out and words(out.replace("…", "")) <= 12
    assert focus(text, "anything", 1000, words) == text


def test_best_sentence_is_the_one_sharing_most_question_words_earliest_first():
    text = "The crew has 27 people. The winter crew numbered 27 people. The crew left."
    assert best_sentence(text, "How many people were in the winter crew?") == (
        "The winter crew numbered 27 people.")
    assert best_sentence(text, "Who was the crew?") == "The crew has 27 people."  # a tie
    assert best_sentence("", "anything") == ""
    # a focused passage's cut marks are not part of its sentences
    assert best_sentence("… The crew numbered 27. It left …", "the crew") == "The crew numbered 27."
    assert best_sentence("It left … The crew numbered 27.", "crew?") == "The crew numbered 27."


@given(st.lists(st.sampled_from(["alpha beta.", "gamma delta epsilon.", "zeta 42 eta.",
                                 "theta iota kappa lambda mu."]), min_size=1, max_size=30),
       st.integers(min_value=3, max_value=40))
def test_focus_output_is_a_budgeted_slice_of_the_input(sentences, budget):
    text = " ".join(sentences)
    out = focus(text, "zeta 42", budget, words)
    core = out.replace("… ", "").replace(" …", "")
    assert core in text
    assert words(core) <= max(budget, 1)


def test_a_hard_wrapped_sentence_is_one_sentence():
    mail = ("Hi all,\n\nThe build server moves to the new rack on Friday, so please\n"
            "push your branches before noon. Jobs queued after that will\n"
            "wait until Monday.\n\nThanks,\nAda")
    assert sentences_of(mail) == [
        "Hi all,", "The build server moves to the new rack on Friday, so please push your "
        "branches before noon.", "Jobs queued after that will wait until Monday.", "Thanks,",
        "Ada"]
    # a line capitalised at its start continues the sentence when the line before was full
    assert sentences_of("A \"Modified Version\" of the Document means any work containing the\n"
                        "Document or a portion of it, either copied verbatim.") == [
        "A \"Modified Version\" of the Document means any work containing the Document or a "
        "portion of it, either copied verbatim."]


def test_lists_rows_and_headings_keep_their_line_breaks():
    text = ("Hardware facilities\n-------------------\nValgrind runs on the host machine\n"
            "- first item of the list here\n- second item\n"
            "Name: Ada; Role: Engineer and author of the notes\nName: Bob; Role: Manager\n"
            "237371 better support for the malloc-like block requests\n"
            "237485 symlink is not supported on Mac OS\n"
            "# Installing pip from the sources of the project\npip is the installer")
    assert sentences_of(text) == [line for line in text.split("\n")]


TABLE = ("2.2.9. Package activity logs\n\nYou can check package activity history in the log "
         "files.\n\nTable 2.12. The log files for package activities\n\n"
         "file: /var/log/dpkg.log; content: Log of dpkg level activity for all package activities\n"
         "file: /var/log/apt/term.log; content: Log of generic APT activity\n"
         "file: /var/log/aptitude; content: Log of aptitude command activity\n\n"
         "In reality, it is not so easy to get meaningful understanding quickly out from these "
         "logs. See Section 9.3.9 for an easier way.")


def test_a_focused_table_keeps_one_row_per_line():
    """Debian Reference, ch. 2: joined with spaces, the rows read as one sentence, and the
    model answered with the first row's log file."""
    question = "Which log file records generic APT activity?"
    out = focus(TABLE, question, 60, words)
    assert out.startswith("… ") and "file: /var/log/apt/term.log; content: Log of generic APT " \
        "activity\nfile: /var/log/aptitude;" in out
    assert "command activity\n\nIn reality" in out  # and a paragraph break stays one
    assert best_sentence(out, question) == (
        "file: /var/log/apt/term.log; content: Log of generic APT activity")
    assert [gap for _, gap in sentence_runs(TABLE)] == [
        "", " ", "\n\n", "\n\n", " ", "\n\n", "\n", "\n", "\n\n", " "]


@given(st.lists(st.sampled_from(["alpha beta.", "Gamma delta", "- item one", "", "x: 1; y: 2",
                                 "zeta 42 eta.", "theta iota kappa lambda mu nu xi omicron pi",
                                 "# Head", "12 rows"]), min_size=1, max_size=14),
       st.sampled_from(["\n", "\n\n", " "]), st.integers(min_value=3, max_value=30))
def test_focus_keeps_the_breaks_between_the_sentences_it_keeps(lines, joint, budget):
    text = joint.join(lines)
    runs = sentence_runs(text)
    assert [s for s, _ in runs] == sentences_of(text)
    out = focus(text, "zeta 42", budget, words)
    core = out.removeprefix("… ").removesuffix(" …")
    # what focus keeps is a run of the same sentences with the same breaks between them (or
    # the words of one long sentence, cut)
    kept = sentence_runs(core)
    assert not kept or any(kept[1:] == runs[i + 1:i + len(kept)] and [s for s, _ in kept] == [
        s for s, _ in runs[i:i + len(kept)]] for i in range(len(runs))) or (
        len(kept) == 1 and out.endswith(" …"))


@given(st.lists(st.sampled_from(["alpha beta", "Gamma delta.", "- item", "", "  ", "x | y",
                                 "# Head", "zeta eta theta iota kappa lambda mu nu xi omicron",
                                 "Name: a; Role: b", "12 rows", "---"]), max_size=12))
def test_unwrap_only_turns_line_breaks_into_spaces(lines):
    text = "\n".join(lines)
    out = unwrap(text)
    assert out.split() == text.split()  # no word lost, added or moved
    assert out.count("\n") <= text.count("\n")
    assert unwrap(" ".join(lines)) == " ".join(lines)  # one line: unchanged


def fake_render(messages):
    text = "".join(m["content"] for m in messages)
    return text, list(range(len(text.split()))), []


def passage(n: int, size: int) -> Passage:
    return Passage(n, f"/d/f{n}.txt", 1, "w " * size, 1.0 / n, f"c{n}")


def test_fit_drops_lowest_ranked_passages_then_oldest_turns():
    history = [HistoryTurn("q", "q " * 30, "a " * 30) for _ in range(3)]
    fitted = fit(fake_render, n_ctx=300, answer_tokens=50, system="sys",
                 history=history, question="what now?",
                 passages=[passage(1, 60), passage(2, 60), passage(3, 60)])
    kept = [p.n for p in fitted.passages]
    assert kept == [1, 2, 3][: len(kept)] and 1 <= len(kept) < 3  # lowest-ranked dropped first
    assert len(fitted.tokens) <= 250 and fitted.dropped_turns == 0
    tight = fit(fake_render, n_ctx=150, answer_tokens=50, system="sys",
                history=history, question="what now?",
                passages=[passage(1, 60), passage(2, 60)])
    assert [p.n for p in tight.passages] == [1] and tight.dropped_turns >= 1
    assert tight.user_message.endswith("Question: what now?")


def test_an_answer_from_passages_ends_where_the_model_starts_the_next_turn():
    with_passages = fit(fake_render, n_ctx=300, answer_tokens=50, system="sys", history=[],
                        question="what now?", passages=[passage(1, 20)])
    assert set(NEXT_TURN) <= set(with_passages.stop)
    for marker in ("\nQuestion:", "\nPassages:", "\n[1] ("):  # how the prompt writes a turn
        assert marker in "\n" + with_passages.user_message and marker in NEXT_TURN
    assert "\n[2] (" in NEXT_TURN  # a passage the model makes up after its answer
    assert not any(stop in "The default is Full [1]." for stop in NEXT_TURN)  # inline cites
    closed_book = fit(fake_render, n_ctx=300, answer_tokens=50, system="sys", history=[],
                      question="what now?", passages=[])
    assert closed_book.stop == []


def test_fit_never_cuts_the_question():
    try:
        fit(fake_render, n_ctx=50, answer_tokens=10, system="s", history=[],
            question="why " * 100, passages=[])
    except LLMError as exc:
        assert "too long" in str(exc)
    else:
        raise AssertionError("expected LLMError")


def test_cited_numbers():
    assert cited_numbers("See [2] and [1, 3]; also [2-3] and [9].", 3) == [2, 1, 3]
    assert cited_numbers("no citations", 3) == []


def _p(chunk: str, n: int = 0) -> Passage:
    return Passage(n=n, path=f"/docs/{chunk}.pdf", page=1 if chunk != "c" else 3,
                   text=f"text of {chunk}", score=1.0, chunk_id=chunk)


def test_follow_up_passages_keep_their_numbers_and_are_only_referred_to():
    first = number_passages([_p("a"), _p("b"), _p("c")], [])
    assert [(p.n, p.repeated) for p in first] == [(1, False), (2, False), (3, False)]
    msg = user_message("Q1?", first)
    assert msg.startswith("Passages:\n[1] (a.pdf) text of a") and "[3] (c.pdf p. 3)" in msg
    turn = HistoryTurn("Q1?", msg, "A1", shown=((1, "a"), (2, "b"), (3, "c")))

    again = number_passages([_p("b"), _p("a"), _p("c")], [turn])
    assert [(p.n, p.repeated) for p in again] == [(2, True), (1, True), (3, True)]
    assert user_message("Q2?", again) == "Passages [2], [1] and [3] above.\n\nQuestion: Q2?"

    mixed = number_passages([_p("d"), _p("a"), _p("e")], [turn])
    assert [(p.n, p.repeated) for p in mixed] == [(4, False), (1, True), (5, False)]
    msg = user_message("Q2?", mixed)
    assert msg.startswith("Passage [1] above, and:\n[4] (d.pdf) text of d\n[5] (e.pdf)")
    # no overlap: the plain numbering, everything shown
    fresh = number_passages([_p("x"), _p("y")], [turn])
    assert [(p.n, p.repeated) for p in fresh] == [(1, False), (2, False)]
    assert cited_numbers("see [4] and [2]", [p.n for p in mixed]) == [4]


# -- answers that loop ----------------------------------------------------------------------------
def test_a_repeated_paragraph_is_cut_to_its_first_copy():
    para = ("The default weight of a glob element is 50 [1]. The maximum is 100, and a file "
            "whose name matches several globs takes the one with the biggest weight.\n\n")
    looped = para * 3
    cut = repeat_start(looped[:len(para) + LOOP_RUN + 10])
    assert cut is not None and looped[:cut].strip() == para.strip()


def test_a_short_loop_is_cut_at_once_and_a_reused_phrase_is_not():
    looped = "Deployed 18.9502; 386; 2025-03-20" + "; 2025-03-20" * 5
    assert repeat_start(looped) == len("Deployed 18.9502; 386; 2025-03-20")
    phrase = " the maximum number of simultaneously attached databases"
    said_again = f"At run time you can lower{phrase}. At compile time you can raise{phrase}"
    assert said_again.endswith(said_again[-LOOP_CHARS:]) and repeat_start(said_again) is None
    assert repeat_start("-" * 200) is None  # a table rule is not a loop
    item = (" nobody, nogroup: daemons that need not own any files sometimes run as user "
            "nobody, although a dedicated user is far preferable; no files should be owned by "
            "this user or group, and a daemon that needs to own files gets a user of its own.")
    assert len(item) >= LOOP_RUN
    listed = "1." + item + "\n2." + item
    assert listed[:repeat_start(listed)] == "1." + item  # not "...\n2."


def test_counting_without_end_is_a_loop_and_a_list_of_numbers_is_not():
    counted = "".join(f"{n}. {n}.\n" for n in range(1, 40))  # gnuplot's manual, 135M model
    cut = repeat_start(counted)
    assert cut is not None and cut <= len("1. 1.\n2. 2.")
    years = "The releases were 3.7, 3.8, 3.9, 3.10, 3.11 and 3.12 [1]. Rows: 2019 45, 2020 47."
    assert repeat_start(years) is None  # letters in the end: compared exactly
    numbers = "Ports: 80, 443, 8080, 8443, 3306, 5432, 6379, 27017, 9200, 11211, 5672, 1883."
    assert repeat_start(numbers) is None  # no piece of it repeats, digits masked or not
    hosts = "The pool is " + ", ".join(f"10.0.0.{n}" for n in range(1, 13)) + "."
    assert len(hosts) < LOOP_RUN and repeat_start(hosts) is None  # a short list is an answer


def test_a_new_sentence_running_into_a_repeat_is_kept_whole():
    both = ("Both the Windows and Linux binaries are compiled this way, and a program can ask "
            "the library whether it was. ")
    new = "But to be thread-safe it must be built with the THREADSAFE macro set to 1. "
    looped = "The macro set to 1. " + both + new + both + new + both
    cut = repeat_start(looped)  # the repeat starts at " macro set to 1.", inside ``new``
    assert cut is not None and looped[:cut].endswith(both + "But to be thread-safe it must be "
                                                     "built with the THREADSAFE macro set to 1.")


@given(st.text(alphabet="abc xyz,;", max_size=60),
       st.text(alphabet="abcdefghij 0123456789,;-", min_size=8, max_size=90)
       .filter(lambda u: sum(c.isalnum() for c in u) >= 6))
def test_a_loop_keeps_at_most_one_copy_of_what_repeats(prefix, unit):
    copies = 2 + (LOOP_RUN + LOOP_CHARS) // len(unit)
    text = prefix + unit * copies
    cut = repeat_start(text)
    assert cut is not None and cut <= len(prefix) + len(unit)
