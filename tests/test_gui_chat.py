"""Chat, the mode switch and Compare with the real bundled model and the real sample index."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

import gui.citations
from engine.sessions import SessionStore
from tests.helpers_gui import quick_settings, wait_for

#: the shared GUI fixtures (make_window, sample_home, ...)
pytest_plugins = ("tests.gui_fixtures",)

QUESTION = "How many people were in the 2025 winter crew at Halcyon Reach?"


def ask(qtbot, window, question: str):
    """Type and send a question; returns (answer, the turn widget, text batches received)."""
    window.chat.question.setPlainText(question)
    batches: list[str] = []
    with qtbot.waitSignal(window.chat.answer_finished, timeout=480_000) as done:
        qtbot.mouseClick(window.chat.ask_button, Qt.MouseButton.LeftButton)
        turn = window.chat.turns[-1]
        original = turn.append
        turn.append = lambda text: (batches.append(text), original(text))
    return done.args[0], turn, batches


def test_ask_streams_an_answer_with_citations_that_open_the_source(
        sample_home, make_window, qtbot, monkeypatch):
    window = make_window()
    window.startup(first_run=False, preload=False, watch=False)
    assert window.ctx.mode == "rag" and window.ctx.active_collection == "sample"
    answer, turn, batches = ask(qtbot, window, QUESTION)
    assert answer.mode == "rag" and answer.text and not answer.error
    assert len(batches) >= 2, "the answer arrived in one piece, not streamed"
    assert turn.answer_view.markdown.strip() == answer.text
    assert turn.chip_widgets and len(turn.chip_widgets) == len(answer.sources)
    assert "first token" in turn.footer.text()
    # a chip shows its passage and opens the file (at the page for a PDF)
    opened: list = []
    monkeypatch.setattr(gui.citations, "launch", lambda target: opened.append(target) or True)
    chip = turn.chip_widgets[0]
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    popup = chip.popup
    assert popup is not None and popup.isVisible()
    assert popup.text.toPlainText() == answer.sources[0].text
    qtbot.mouseClick(popup.open_button, Qt.MouseButton.LeftButton)
    assert len(opened) == 1
    target = opened[0]
    shown = target.toLocalFile() if hasattr(target, "toLocalFile") else target[-1]
    assert Path(shown) == Path(answer.sources[0].path)
    # the turn was saved; a follow-up uses the session's history
    sessions = SessionStore().list()
    assert len(sessions) == 1 and sessions[0].turns == 1
    follow, _turn, _ = ask(qtbot, window, "And who led it?")
    assert follow.retrieval_query.startswith(QUESTION)  # the follow-up borrowed the context
    assert SessionStore().list()[0].turns == 2
    assert follow.timings.reused_tokens > 0  # the earlier turn's prompt stayed cached


def test_mode_switch_changes_the_mode_the_engine_uses(sample_home, make_window, qtbot):
    window = make_window()
    buttons = window.mode_switch.buttons
    assert not buttons["adapter"].isEnabled()  # no adapter active: the reason is in the tooltip
    qtbot.mouseClick(buttons["base"], Qt.MouseButton.LeftButton)
    assert window.ctx.mode == "base"
    answer, turn, _ = ask(qtbot, window, "Name a primary colour.")
    assert answer.mode == "base" and answer.sources == [] and answer.timings.retrieval_ms == 0
    assert not turn.chip_widgets
    qtbot.mouseClick(buttons["rag"], Qt.MouseButton.LeftButton)
    answer, turn, _ = ask(qtbot, window, QUESTION)
    assert answer.mode == "rag" and answer.sources and turn.chip_widgets
    stored = SessionStore().turns(SessionStore().list()[0].id)
    assert [t.mode for t in stored] == ["base", "rag"]


def test_stop_ends_the_answer_early(sample_home, make_window, qtbot):
    window = make_window(quick_settings(max_answer_tokens=400))
    window.ctx.set_mode("base")
    window.chat.question.setPlainText("Write a long story about a lighthouse keeper.")
    with qtbot.waitSignal(window.chat.answer_finished, timeout=240_000) as done:
        window.chat.ask()
        turn = window.chat.turns[-1]
        qtbot.waitUntil(lambda: bool(turn.text), timeout=120_000)
        qtbot.keyClick(window.chat.question, Qt.Key.Key_Escape)
        if not window.chat.handle or not window.chat.handle.cancelled:
            window.stop_answers()  # Esc reaches the window shortcut only when it is active
    answer = done.args[0]
    assert answer.stopped and answer.timings.completion_tokens < 400
    assert turn.footer.text().startswith("Stopped")
    assert window.chat.ask_button.isEnabled() and not window.chat.stop_button.isEnabled()


def test_compare_fills_four_columns(sample_home, make_window, qtbot):
    window = make_window(quick_settings(max_answer_tokens=12))
    window.show_screen("Compare")
    window.compare.question.setText(QUESTION)
    answers = wait_for(qtbot, window.compare.finished,
                       lambda: qtbot.mouseClick(window.compare.run_button,
                                                Qt.MouseButton.LeftButton))
    assert [a.mode for a in answers] == ["base", "rag", "adapter", "rag+adapter"]
    cols = window.compare.columns
    for mode, column in cols.items():
        assert column.view.markdown.strip(), f"column {mode} is empty"
    assert cols["base"].answer.text and cols["rag"].answer.text
    assert "first token" in cols["rag"].timings.text()
    assert cols["rag"].chips.count() == len(answers[1].sources) > 0
    assert cols["base"].chips.count() == 0
    assert "skipped" in cols["adapter"].view.markdown  # no adapter yet: says so, in its column


def test_sessions_rename_delete_export(make_window, qtbot, tmp_path, satchel_home):
    from engine.answer import Answer

    store = SessionStore()
    first = store.create()
    store.add_turn(first, Answer(question="Where is buoy HRB-09?", mode="rag",
                                 text="Off the north jetty [1].", user_message="q"))
    store.create("Second chat")
    window = make_window()
    chat = window.chat
    sessions = chat.sessions
    qtbot.waitUntil(lambda: sessions.list.count() == 2, timeout=60_000)
    item = next(sessions.list.item(i) for i in range(2)
                if sessions.list.item(i).text().startswith("Where is buoy"))
    with qtbot.waitSignal(chat.session_shown, timeout=30_000):
        sessions.list.setCurrentItem(item)
    assert chat.session_id == first and len(chat.turns) == 1
    assert "north jetty" in chat.turns[0].answer_view.markdown
    with qtbot.waitSignal(sessions.refreshed, timeout=30_000):
        item.setText("Buoys")  # what an in-place edit does
    assert any(s.title == "Buoys" for s in store.list())
    assert sessions.list.currentItem().text() == "Buoys"
    target = tmp_path / "buoys.md"
    sessions.ask_export_path = lambda suggested: str(target)
    with qtbot.waitSignal(window.messages.shown, timeout=30_000) as shown:
        qtbot.mouseClick(sessions.export_button, Qt.MouseButton.LeftButton)
    assert shown.args[1] == f"Exported the chat to {target}"
    assert target.read_text().startswith("# Buoys") and "north jetty" in target.read_text()
    sessions.confirm = lambda text: True
    with qtbot.waitSignal(sessions.refreshed, timeout=30_000):
        qtbot.mouseClick(sessions.delete_button, Qt.MouseButton.LeftButton)
    assert [s.title for s in store.list()] == ["Second chat"]
    assert sessions.list.count() == 1
    assert chat.session_id is None and not chat.turns
