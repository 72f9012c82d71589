"""The window's warm-up: sent once the window has painted, it gets the first answer ready, gives
way to the user's question, and stays silent on a first run (no collection, no model)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.helpers_gui import quick_settings

#: the shared GUI fixtures (make_window, sample_home, ...)
pytest_plugins = ("tests.gui_fixtures",)

QUESTION = "How many people were in the 2025 winter crew at Halcyon Reach?"


def ask(qtbot, window, question: str):
    window.chat.question.setPlainText(question)
    with qtbot.waitSignal(window.chat.answer_finished, timeout=480_000) as done:
        qtbot.mouseClick(window.chat.ask_button, Qt.MouseButton.LeftButton)
    return done.args[0]


def errors_of(window) -> list[str]:
    shown: list[str] = []
    window.messages.shown.connect(lambda level, text: shown.append(f"{level}: {text}")
                                  if level != "info" else None)
    window.executor.error.connect(lambda text: shown.append(f"notifier: {text}"))
    return shown


def test_warm_up_is_sent_after_the_first_paint_and_the_first_answer_uses_it(
        sample_home, make_window, qtbot):
    window = make_window(show=False)
    painted: list[bool] = []
    window.first_painted.connect(lambda: painted.append(True))
    errors = errors_of(window)
    window.startup(first_run=False, watch=False)
    assert window.warm_up_handle is None  # not before the window is on screen
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.warm_up_handle is not None, timeout=10_000)
    assert painted == [True]
    assert window.warm_up_handle.label == "Getting ready"
    # it may give way to start-up work (listing the collection's files) and run again after it
    qtbot.waitUntil(lambda: window.warm_up_report is not None
                    and not window.warm_up_report.interrupted, timeout=480_000)
    report = window.warm_up_report
    assert set(report.done) == {"model", "embedder", "index", "prompt"}, report.skipped
    answer = ask(qtbot, window, QUESTION)
    assert answer.mode == "rag" and answer.text and not answer.error and answer.sources
    assert answer.timings.reused_tokens > 0  # the prompt's start was evaluated ahead
    assert answer.timings.n_threads >= 1
    assert errors == []


def test_a_question_asked_at_once_runs_right_after_the_step_loading(
        sample_home, make_window, qtbot):
    window = make_window(show=False)
    errors = errors_of(window)
    window.startup(first_run=False, watch=False)
    window.show()
    qtbot.waitUntil(lambda: window.warm_up_handle is not None, timeout=10_000)
    answer = ask(qtbot, window, QUESTION)  # queued behind the warm-up's current step
    assert answer.text and not answer.error and answer.sources
    qtbot.waitUntil(lambda: window.warm_up_report is not None, timeout=60_000)
    assert errors == []


def test_warm_up_is_silent_without_a_collection_or_a_model(make_window, qtbot, tmp_path):
    window = make_window(quick_settings(model_path=str(tmp_path / "missing.gguf")), show=False)
    errors = errors_of(window)
    window.ctx.set_mode("rag")
    window.startup(first_run=False, watch=False)
    window.show()
    qtbot.waitUntil(lambda: window.warm_up_report is not None
                    and not window.warm_up_report.interrupted, timeout=120_000)
    report = window.warm_up_report
    assert not report.done
    assert "missing.gguf" in report.skipped["model"]
    assert "no collection named" in report.skipped["embedder"]
    qtbot.wait(200)  # anything the worker had to say has arrived
    assert errors == []


def test_a_new_mode_or_collection_is_warmed_up_too(sample_home, make_window, qtbot):
    window = make_window(show=False)
    errors = errors_of(window)
    window.startup(first_run=False, watch=False)
    window.show()
    qtbot.waitUntil(lambda: window.warm_up_report is not None
                    and not window.warm_up_report.interrupted, timeout=480_000)
    first = window.warm_up_handle
    window.warm_up_report = None
    window.ctx.set_mode("base" if window.ctx.mode != "base" else "rag")
    qtbot.waitUntil(lambda: window.warm_up_handle is not first, timeout=10_000)
    qtbot.waitUntil(lambda: window.warm_up_report is not None
                    and not window.warm_up_report.interrupted, timeout=120_000)
    assert "model" in window.warm_up_report.done  # loaded already: a quick no-op
    assert errors == []
