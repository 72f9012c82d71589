"""The desktop window, driven through real widgets (offscreen): start-up cost, drops that index
files, the first run, errors shown as messages, closing that cancels work, shortcuts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.helpers_gui import activate, broken_task, close_window, wait_for

#: the shared GUI fixtures (make_window, sample_home, ...)
pytest_plugins = ("tests.gui_fixtures",)

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "llama_cpp", "lancedb", "sentence_transformers", "transformers", "pyarrow",
         "peft")


def test_window_appears_before_any_heavy_import(tmp_path):
    """Import the GUI, build and show the window, paint it: none of the heavy libraries load."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import main  # the no-argument path imports gui.app from here
        from gui.app import has_display
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from gui.main_window import MainWindow
        w = MainWindow()
        w.show()
        for _ in range(5):
            app.processEvents()
        w.grab()
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        w.close()
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SATCHEL_HOME": str(tmp_path / "h")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def drop(window, paths: list[Path]) -> None:
    """A real drag-enter and drop with file URLs, delivered to a child widget of the window."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    target = window.chat.transcript  # any child: drops are caught window-wide
    enter = QDragEnterEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    assert event.isAccepted()


def test_drop_indexes_files_with_per_file_status(make_window, qtbot, tmp_path):
    docs = tmp_path / "my docs"
    docs.mkdir()
    (docs / "tides.txt").write_text("The spring tide at Halcyon Reach peaks at 4.82 metres. " * 20)
    (docs / "notes.md").write_text("# Notes\n\nThe boat shed key hangs in the radio room.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole image")  # OCR'd: fails
    (docs / "setup.exe").write_bytes(b"MZ\x90\x00 a program")
    window = make_window()
    window.startup(first_run=False, preload=False, watch=False)
    outcome = wait_for(qtbot, window.library.indexed, lambda: drop(window, [docs]))
    statuses = {Path(p).name: s for p, s in window.library.model.statuses().items()}
    assert statuses["tides.txt"] == "indexed" and statuses["notes.md"] == "indexed"
    assert statuses["broken.pdf"] == "failed" and statuses["photo.jpg"] == "failed"
    assert statuses["setup.exe"] == "skipped"
    assert all(r.detail for r in window.library.model.rows if r.status == "failed")  # reasons
    indexed = next(r for r in window.library.model.rows if r.path.endswith("tides.txt"))
    assert window.library.model.data(window.library.model.index(
        window.library.model.rows.index(indexed), 3)) == "plain text"  # what read it
    assert outcome.summary.collection == "default"  # the sample stays pristine
    assert window.stack.currentWidget() is window.library
    qtbot.waitUntil(lambda: any(c.name == "default" and c.documents == 2
                                for c in window.ctx.collections), timeout=30_000)
    assert window.ctx.active_collection == "default"
    assert window.job_strip.isHidden()
    # dropping again: nothing changed, nothing re-embedded
    outcome = wait_for(qtbot, window.library.indexed, lambda: drop(window, [docs / "notes.md"]))
    assert window.library.model.statuses()[str(docs / "notes.md")] == "unchanged"
    assert outcome.summary.files_indexed == 0
    # re-index scans what was added again; a deleted file leaves the index
    (docs / "tides.txt").unlink()
    outcome = wait_for(qtbot, window.library.indexed, lambda: window.library.reindex("default"))
    statuses = {Path(p).name: s for p, s in window.library.model.statuses().items()}
    assert statuses["notes.md"] == "unchanged" and "tides.txt" not in statuses
    assert statuses["broken.pdf"] == "failed"  # retried, still failing, still explained
    assert outcome.summary.files_removed == 1
    # files read by an earlier version are pointed out, and Re-index reads them again
    from engine import index

    index.Collection.open("default").docs.update(values={"reader": ""})
    window.library.show_documents()
    qtbot.waitUntil(lambda: "1 to read again" in window.library.table_title.text(),
                    timeout=30_000)
    stored = next(r for r in window.library.model.rows if r.path.endswith("notes.md"))
    assert stored.outdated and "by an earlier version" in stored.detail
    outcome = wait_for(qtbot, window.library.indexed, lambda: window.library.reindex("default"))
    assert outcome.summary.files_reread == 1
    assert "1 read again with today's readers" in window.library.table_title.text()


def test_first_run_prepares_the_sample_collection(make_window, qtbot):
    window = make_window()
    assert not window.ctx.state.first_run_done
    listed: list[int] = []  # files shown in the table while the run goes on
    window.library.model.rowsInserted.connect(lambda _p, first, last: listed.append(last + 1))
    with qtbot.waitSignal(window.library.indexed, timeout=240_000):
        window.startup(preload=False, watch=False)
        qtbot.waitUntil(lambda: window.job_strip.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: window.ctx.state.first_run_done, timeout=10_000)
    assert listed and listed[-1] == 13  # every file was listed as it was done
    assert {r.status for r in window.library.model.rows} == {"indexed"}  # then its outcome
    assert window.ctx.active_collection == "sample"
    qtbot.waitUntil(lambda: any(c.name == "sample" and c.documents >= 13
                                for c in window.ctx.collections), timeout=30_000)
    assert "drop your own files" in window.messages.text
    assert "drop your own files or folders" in window.chat.welcome.text()


def test_errors_become_messages_not_crashes(make_window, qtbot, satchel_home, tmp_path):
    window = make_window()
    # a user error from the engine: its one line
    window.ctx.set_active_collection("nowhere")
    window.chat.question.setPlainText("What is the tide?")
    with qtbot.waitSignal(window.messages.shown, timeout=60_000) as shown:
        window.chat.ask()
    assert shown.args[0] == "error" and "no collection named 'nowhere'" in shown.args[1]
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    assert "no collection named" in window.chat.turns[-1].footer.text()
    assert window.chat.ask_button.isEnabled()
    # a bug in a background task: a short message, the traceback in the log
    with qtbot.waitSignal(window.messages.shown, timeout=30_000) as shown:
        window.executor.submit(broken_task, label="a broken task")
    assert "Unexpected error: ZeroDivisionError" in shown.args[1]
    log = satchel_home / "logs" / "worker.log"
    assert "Traceback" in log.read_text() and str(log) in shown.args[1]
    # a bad model file picked in Settings
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model at all")
    window.settings_screen.ask_model_file = lambda: str(bogus)
    with qtbot.waitSignal(window.messages.shown, timeout=30_000) as shown:
        window.settings_screen.add_model()
    assert "not a GGUF file" in shown.args[1]
    # a dropped path that vanished
    with qtbot.waitSignal(window.messages.shown, timeout=30_000) as shown:
        window.library.index([str(tmp_path / "gone.txt")])
    assert "no such file or folder" in shown.args[1]
    assert window.isVisible()


def test_closing_cancels_indexing_and_waits_for_the_worker(make_window, qtbot):
    from engine.samples import CORPUS_DIR
    from gui import ops

    window = make_window()
    ended: list[str] = []
    settings = window.ctx.settings_copy()
    handle = window.ctx.run_job(
        ops.index_files, [str(CORPUS_DIR)], "sample", settings, label="Indexing",
        on_done=lambda o: ended.append("cancelled" if o.summary.cancelled else "completed"),
        on_cancelled=lambda: ended.append("cancelled"))
    qtbot.waitUntil(lambda: handle.started, timeout=30_000)
    assert window.job_strip.isVisible()
    close_window(qtbot, window)  # returns once the worker thread has ended
    assert handle.cancelled and handle.finished
    assert not window.isVisible()


def _close_by_signal(qtbot, window, signum: int) -> None:
    """Send ``signum`` to this process with the window's handlers installed; wait for it to
    close (the old handlers are back after)."""
    import signal

    from gui.app import close_on_signals

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    restore = close_on_signals(window)
    try:
        with qtbot.waitSignal(window.closed, timeout=60_000):
            os.kill(os.getpid(), signum)
    finally:
        restore()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert not window.isVisible()


def test_sigterm_or_ctrl_c_closes_the_window_as_its_close_button_does(make_window, qtbot):
    """Logging out, ``kill`` or Ctrl-C in the terminal that ran it: the running job is
    cancelled (finished work kept) and the window closes, instead of the process dying
    mid-step or printing a KeyboardInterrupt and going on."""
    import signal

    from engine.samples import CORPUS_DIR
    from gui import ops
    from gui.app import close_on_signals

    window = make_window()
    settings = window.ctx.settings_copy()
    handle = window.ctx.run_job(ops.index_files, [str(CORPUS_DIR)], "sample", settings,
                                label="Indexing")
    qtbot.waitUntil(lambda: handle.started, timeout=30_000)
    _close_by_signal(qtbot, window, signal.SIGTERM)
    assert handle.cancelled and handle.finished
    # Ctrl-C: as in a terminal (Python's own handler), whatever this test process inherited
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _close_by_signal(qtbot, make_window(), signal.SIGINT)
        # started in the background (SIGINT ignored): it stays ignored
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        restore = close_on_signals(make_window())
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        restore()
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_shortcuts_switch_screens_and_focus_the_question(make_window, qtbot):
    window = make_window()
    activate(qtbot, window)
    for i, screen in enumerate((window.chat, window.library, window.compare, window.adapters,
                                window.evaluate, window.settings_screen)):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + i), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is screen
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.chat
    assert window.chat.question.hasFocus()
    # Ctrl+Enter in the question box asks (one shortcut, not an ambiguous pair)
    window.ctx.set_active_collection("nowhere")  # fails fast: no model needed
    qtbot.keyClicks(window.chat.question, "Where is the boat shed?")
    with qtbot.waitSignal(window.messages.shown, timeout=30_000):
        qtbot.keyClick(window.chat.question, Qt.Key.Key_Return,
                       Qt.KeyboardModifier.ControlModifier)
    assert len(window.chat.turns) == 1 and window.chat.question.toPlainText() == ""


def test_no_display_falls_back_to_the_demo(monkeypatch, capsys):
    import cli.app
    import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    calls: list[list[str]] = []
    monkeypatch.setattr(cli.app, "run", lambda argv: calls.append(argv) or 0)
    assert main.main([]) == 0
    assert calls == [["demo"]]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no display" in err[0]


def test_gui_state_survives_a_damaged_file(satchel_home):
    from gui.state import GuiState, load_state, save_state, state_file

    save_state(GuiState(active_collection="notes", adapter="a1", adapter_scale=0.5))
    loaded = load_state()
    assert (loaded.active_collection, loaded.adapter, loaded.adapter_scale) == ("notes", "a1", 0.5)
    state_file().write_text("{not json")
    assert load_state() == GuiState()
    state_file().write_text(json.dumps({"active_collection": 3, "watched": []}))
    assert load_state() == GuiState()


@pytest.mark.parametrize("platform,display,expected", [
    ("", ":99999", False), ("", "", False), ("xcb", "", False), ("offscreen", "", True)])
def test_has_display_probes_x(monkeypatch, platform, display, expected):
    """Qt aborts the process without a display, so this must say no before Qt is asked."""
    from gui.app import has_display

    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", platform)
    monkeypatch.setenv("DISPLAY", display)
    assert has_display() is expected
