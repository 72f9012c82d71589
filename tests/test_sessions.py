"""Chat sessions in SQLite: turns round-trip, rename, delete, Markdown export."""

from __future__ import annotations

import pytest

from engine.answer import Answer
from engine.errors import SatchelError
from engine.prompt import Passage
from engine.sessions import SessionStore


def make_answer(question: str, text: str) -> Answer:
    return Answer(question=question, mode="rag", text=text, user_message=f"P\n\nQ: {question}",
                  sources=[Passage(1, "/docs/report.pdf", 3, "passage", 0.5, "c1")], cited=[1])


def test_turns_round_trip_and_title_from_first_question():
    store = SessionStore()
    sid = store.create()
    store.add_turn(sid, make_answer("Who leads the station?", "Dr. Marchetti-Okafor [1]."))
    store.add_turn(sid, make_answer("Since when?", "Since 2019 [1]."))
    info = store.list()[0]
    assert info.title == "Who leads the station?" and info.turns == 2
    history = store.history(sid)
    assert [h.question for h in history] == ["Who leads the station?", "Since when?"]
    assert history[0].user_message == "P\n\nQ: Who leads the station?"
    assert history[0].shown == ((1, "c1"),)  # a reopened session still reuses passages
    turn = store.turns(sid)[0]
    assert turn.sources[0]["path"] == "/docs/report.pdf" and turn.mode == "rag"


def test_rename_delete_and_errors():
    store = SessionStore()
    a, b = store.create("First"), store.create("Second")
    store.rename(a, "Renamed")
    assert {s.title for s in store.list()} == {"Renamed", "Second"}
    store.delete(b)
    assert [s.id for s in store.list()] == [a]
    with pytest.raises(SatchelError, match="no chat session"):
        store.delete(b)
    with pytest.raises(SatchelError, match="empty"):
        store.rename(a, "  ")


def test_export_markdown():
    store = SessionStore()
    sid = store.create()
    store.add_turn(sid, make_answer("Who leads the station?", "Dr. Marchetti-Okafor [1]."))
    notes = make_answer("Since when?", "Since 2019 [1].")
    notes.sources = [Passage(1, "/docs/notes.txt", 1, "passage", 0.5, "c2")]
    store.add_turn(sid, notes)
    md = store.export_markdown(sid)
    assert md.startswith("# Who leads the station?")
    assert "## Who leads the station?" in md and "Dr. Marchetti-Okafor [1]." in md
    assert "- [1] report.pdf, page 3" in md
    assert "- [1] notes.txt\n" in md  # no "page 1" for a file without pages
