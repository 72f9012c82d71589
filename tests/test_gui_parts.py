"""The GUI's plumbing and smaller screens: the worker process (cancel, crash, shutdown), the
citation opener, Settings, watched folders and collection removal, small helpers."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl

from engine.samples import CORPUS_DIR
from tests.helpers_gui import chatty_task, sleepy_task, wait_for

#: the shared GUI fixtures (make_window, sample_home, ...)
pytest_plugins = ("tests.gui_fixtures",)


@pytest.fixture
def private_executor(qtbot):
    """An executor with its own worker process (so killing it cannot disturb other tests)."""
    from gui.engine_process import EngineProcess
    from gui.worker import Executor

    engine = EngineProcess()
    executor = Executor(engine=engine)
    yield executor
    executor.shutdown(30)
    engine.stop(30)
    assert not engine.running


def test_worker_runs_cancels_queued_and_running_tasks(private_executor, qtbot):
    ex = private_executor
    results: list = []
    first = ex.submit(sleepy_task, 30.0, label="long", on_done=results.append,
                      on_cancelled=lambda: results.append("first cancelled"))
    queued = ex.submit(sleepy_task, 0.0, label="queued", on_done=results.append,
                       on_cancelled=lambda: results.append("queued cancelled"))
    qtbot.waitUntil(lambda: first.started, timeout=60_000)
    assert ex.busy and [h.label for h in ex.running()] == ["long", "queued"]
    queued.cancel()
    first.cancel()
    qtbot.waitUntil(lambda: not ex.busy, timeout=30_000)
    assert results == ["first cancelled", "queued cancelled"] and not queued.started
    done = wait_for(qtbot, ex.busy_changed, lambda: ex.submit(sleepy_task, 0.01,
                                                              on_done=results.append))
    assert done is True
    qtbot.waitUntil(lambda: results[-1] == "slept", timeout=30_000)


def test_tens_of_thousands_of_events_arrive_in_order_without_crashing(private_executor, qtbot):
    """A long answer or training run sends thousands of messages; every one must arrive, in
    order, and none may hurt the window (PySide6 6.12 on Python 3.11 used to abort the process
    after a few hundred signals: see gui/__init__.py)."""
    received: list[int] = []
    progress: list = []
    results: list = []
    private_executor.submit(chatty_task, 30_000, on_event=received.append,
                            on_progress=progress.append, on_done=results.append,
                            progress_interval_s=0.0)
    qtbot.waitUntil(lambda: results == [30_000], timeout=120_000)
    assert received == list(range(30_000))
    assert progress and progress[-1].done == 30_000


def test_a_crashed_worker_is_an_error_message_and_restarts(private_executor, qtbot):
    ex = private_executor
    with qtbot.waitSignal(ex.error, timeout=60_000) as failed:
        handle = ex.submit(sleepy_task, 60.0, label="doomed")
        qtbot.waitUntil(lambda: handle.started, timeout=60_000)
        os.kill(ex.engine.pid, signal.SIGKILL)
    assert "engine worker stopped unexpectedly" in failed.args[0]
    results: list = []
    ex.submit(sleepy_task, 0.01, on_done=results.append)
    qtbot.waitUntil(lambda: results == ["slept"], timeout=60_000)


def test_tasks_must_be_sendable(private_executor):
    with pytest.raises(Exception, match=r"pickle|Pickl|attribute"):
        private_executor.submit(lambda ctx: None)
    assert not private_executor.busy


def test_singletons_survive_many_signals_and_calls(qtbot):
    """The PySide6 6.12 / Python 3.11 reference leak on None and True must not abort us."""
    import sys

    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Emitter(QObject):
        fired = Signal(object)

    emitter, label = Emitter(), QLabel()
    qtbot.addWidget(label)
    for i in range(50_000):
        emitter.fired.emit(i)
        label.setText("x")
    assert sys.getrefcount(None) > 1_000_000 or sys.version_info >= (3, 12)


def test_the_four_modes_are_defined_once():
    """engine.modes is the one definition; no other module spells the modes out again."""
    import re

    from engine.modes import ADAPTER_MODES, MODE_LABELS, MODES

    assert tuple(MODE_LABELS) == MODES and set(ADAPTER_MODES) < set(MODES)
    root = Path(__file__).resolve().parents[1]
    spelled = re.compile(r'[(\[]\s*"(base|adapter)",\s*"(rag|rag\+adapter)"')
    again = [str(f.relative_to(root)) for folder in ("engine", "gui", "cli")
             for f in (root / folder).rglob("*.py")
             if f.name != "modes.py" and spelled.search(f.read_text(encoding="utf-8"))]
    assert not again


def test_open_command_jumps_to_the_page_where_the_viewer_can():
    from gui.citations import open_command

    have = {"evince", "okular", "zathura"}.__contains__

    def which(name):
        return f"/usr/bin/{name}" if have(name) else None

    assert open_command("/d/r.pdf", 4, "org.gnome.Evince", which) == [
        "evince", "--page-index=4", "/d/r.pdf"]
    assert open_command("/d/r.pdf", 4, "okularApplication_pdf", which) == [
        "okular", "--page", "4", "/d/r.pdf"]
    url = open_command("/d/r.pdf", 4, "firefox", which)
    assert isinstance(url, QUrl) and url.fragment() == "page=4" and url.isLocalFile()
    plain = open_command("/d/r.pdf", 4, "org.gnome.Evince", lambda name: None)  # not installed
    assert isinstance(plain, QUrl) and not plain.hasFragment()
    assert open_command("/d/notes.docx", 3, None, which).toLocalFile() == "/d/notes.docx"


def test_job_text_shows_rate_and_eta():
    from engine.jobs import JobState
    from gui.widgets import job_text

    state = JobState("Embedding report.pdf", 5, 13, 2.0, 2.5, 3.2, False, False)
    assert job_text(state) == "Embedding report.pdf · 5 / 13 · 2.5/s · ETA 3 s"
    assert job_text(JobState("", 0, None, 0, None, None, False, False)) == "Working"
    slow = JobState("Training", 3, 60, 12.0, 0.25, 228.0, False, False)
    assert job_text(slow) == "Training · 3 / 60 · 4.0 s each · ETA 3 min 48 s"
    wrapping_up = JobState("Optimizing the index", 1738, 4417, 1449.0, 0.4, 7200.0, True, False)
    assert job_text(wrapping_up) == "Optimizing the index · 1738 / 4417"  # no stale ETA


def test_settings_show_model_metadata_and_say_when_reindexing_is_needed(
        make_window, qtbot, satchel_home):
    from engine import settings as settings_io

    window = make_window()
    window.show_screen("Settings")
    screen = window.settings_screen
    qtbot.waitUntil(lambda: bool(screen.models), timeout=60_000)
    meta = screen.metadata()
    assert meta["Architecture"] == "llama" and meta["Chat template"] == "yes"
    assert meta["Quantization"].startswith("Q4_1 (runs as a Q8_0 copy")  # engine.llm_weights
    assert meta["Parameters"].endswith("M")
    assert screen.reindex_note.text() == ""
    screen.temperature.setValue(0.7)
    assert screen.copy_bias.value() == 4.0
    screen.copy_bias.setValue(0.0)  # answers no longer nudged towards the passages' words
    assert screen.copy_bias.text() == "Off"
    assert screen.reindex_note.text() == ""  # generation settings do not touch the index
    assert screen.ocr.isChecked()
    screen.ocr.setChecked(False)  # scans and images are no longer OCR'd
    screen.chunk_tokens.setValue(120)
    assert "re-indexed" in screen.reindex_note.text()
    with qtbot.waitSignal(window.messages.shown) as shown:
        screen.save_button.click()
    assert shown.args[0] == "warning" and "re-index" in shown.args[1]
    assert screen.reindex_button.isVisible()
    saved, _ = settings_io.load()
    assert saved.chunk_tokens == 120 and saved.temperature == 0.7 and saved.ocr is False
    assert saved.copy_bias == 0.0
    assert window.ctx.settings.chunk_tokens == 120
    screen.chunk_overlap.setValue(200)  # overlap must stay below the chunk size
    with qtbot.waitSignal(window.messages.shown) as shown:
        screen.save_button.click()
    assert shown.args[0] == "error" and "chunk_overlap" in shown.args[1]
    screen.chunk_overlap.setValue(window.ctx.settings.chunk_overlap)
    screen.reindex_button.hide()
    screen.ocr.setChecked(True)  # scans left unread while it was off can be read now
    with qtbot.waitSignal(window.messages.shown) as shown:
        screen.save_button.click()
    assert shown.args[0] == "info" and "re-index" in shown.args[1]
    assert screen.reindex_button.isVisible() and window.ctx.settings.ocr


def test_watched_folder_reindexes_on_change_and_collections_can_be_removed(
        make_window, qtbot, tmp_path):
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "first.txt").write_text("The generator hut is north of the jetty. " * 10)
    window = make_window()
    window.startup(first_run=False, preload=False, watch=False)
    library = window.library
    outcome = wait_for(qtbot, library.indexed, lambda: library.watch_folder(str(folder)))
    assert outcome.summary.files_indexed == 1 and window.ctx.state.watched == {
        str(folder): "default"}
    assert window.ctx.settings.watched_folders == [str(folder)]
    assert library.watched.count() == 1
    outcome = wait_for(qtbot, library.indexed, lambda: (folder / "second.md").write_text(
        "# Second\n\nThe fuel store is behind the workshop.\n"))
    assert library.model.statuses()[str(folder / "second.md")] == "indexed"
    library.watched.setCurrentRow(0)
    library.unwatch_selected()
    assert not library.watchers and window.ctx.settings.watched_folders == []
    qtbot.waitUntil(lambda: any(c.name == "default" for c in window.ctx.collections),
                    timeout=30_000)
    library.confirm = lambda text: True
    window.ctx.set_active_collection("default")
    with qtbot.waitSignal(window.messages.shown, timeout=60_000) as shown:
        library.remove_current()
    assert "Removed the collection" in shown.args[1]
    qtbot.waitUntil(lambda: all(c.name != "default" for c in window.ctx.collections),
                    timeout=30_000)
    assert Path(folder / "first.txt").exists()  # the user's files are untouched


def test_citation_popup_shows_headings_and_file_names_as_text(qtbot, tmp_path):
    from PySide6.QtGui import QTextDocumentFragment

    from engine.prompt import Passage
    from gui.citations import PassagePopup

    passage = Passage(n=1, path=str(tmp_path / "R&D <draft>.md"), page=2, text="body",
                      score=1.0, chunk_id="c1", heading="<i>Intro</i> & <b>Scope</b>")
    popup = PassagePopup(passage, cited=True)
    qtbot.addWidget(popup)
    shown = QTextDocumentFragment.fromHtml(popup.title.text()).toPlainText()
    assert "R&D <draft>.md" in shown and "<i>Intro</i> & <b>Scope</b>" in shown


def test_citation_chips_name_slides_and_sheets_and_no_page_of_a_text_file(qtbot, tmp_path):
    from engine.prompt import Passage
    from gui.citations import CitationChip, PassagePopup

    def chip(name: str, page: int) -> CitationChip:
        widget = CitationChip(Passage(1, str(tmp_path / name), page, "body", 1.0, "c1"), True)
        qtbot.addWidget(widget)
        return widget

    assert chip("report.pdf", 4).text() == "[1] report.pdf p.4"
    assert chip("report.pdf", 1).text() == "[1] report.pdf p.1"
    assert chip("deck.pptx", 2).text() == "[1] deck.pptx slide 2"
    assert chip("deck.pptx", 2).toolTip().startswith("deck.pptx, slide 2\n\nbody")
    assert chip("budget.xlsx", 3).text() == "[1] budget.xlsx sheet 3"
    assert chip("notes.txt", 1).text() == "[1] notes.txt"
    assert chip("notes.txt", 1).toolTip().startswith("notes.txt\n\nbody")
    popup = PassagePopup(Passage(1, str(tmp_path / "notes.md"), 1, "body", 1.0, "c1"), True)
    qtbot.addWidget(popup)
    assert "page" not in popup.title.text() and "notes.md" in popup.title.text()


def test_opening_an_archived_pdf_citation_opens_the_copy_at_its_page(tmp_path, monkeypatch,
                                                                      qtbot):
    import gui.citations
    from engine.prompt import Passage
    from tests.test_loaders_archive import DOCS, _bundle

    opened: list = []
    monkeypatch.setattr(gui.citations, "launch", lambda target: opened.append(target) or True)
    monkeypatch.setattr(gui.citations, "default_pdf_app", lambda: "firefox")
    bundle = _bundle(tmp_path)
    popup = gui.citations.PassagePopup(Passage(1, f"{bundle}//docs › {DOCS[0]}", 4, "text",
                                               1.0, "c1"), cited=True)
    qtbot.addWidget(popup)
    assert popup.open_button.text() == "Open file at page 4"
    assert popup.open_button.toolTip() == "Opens a copy taken out of bundle.zip"
    assert gui.citations.open_source(f"{bundle}//docs › {DOCS[0]}", 4)
    url = opened[-1]  # the copy, at its page (a browser reads #page=N)
    assert url.fragment() == "page=4" and url.toLocalFile().endswith(DOCS[0])
    assert Path(url.toLocalFile()).read_bytes() == (CORPUS_DIR / DOCS[0]).read_bytes()
    assert gui.citations.open_source(f"{bundle}//logs.zip//2025 › wildlife_log_2025.txt", 1)
    shown = opened[-1]
    assert (shown.toLocalFile() if hasattr(shown, "toLocalFile") else shown[-1]) == str(bundle)


def test_opening_a_mail_attachment_citation_opens_the_copy_at_its_page(tmp_path, monkeypatch,
                                                                        qtbot):
    import gui.citations
    from engine.prompt import Passage
    from tests.helpers_mail import make_pdf
    from tests.test_loaders_parts import _message

    opened: list = []
    monkeypatch.setattr(gui.citations, "launch", lambda target: opened.append(target) or True)
    monkeypatch.setattr(gui.citations, "default_pdf_app", lambda: "firefox")
    pdf = make_pdf(["The March invoice totals 1,200 euros.", "Pay by 30 April."])
    eml = tmp_path / "invoices.eml"
    eml.write_bytes(_message("Invoices", [("invoice.pdf", pdf)]).as_bytes())
    popup = gui.citations.PassagePopup(Passage(1, f"{eml}//invoice.pdf", 2, "Pay by 30 April.",
                                               1.0, "c1"), cited=True)
    qtbot.addWidget(popup)
    assert popup.open_button.text() == "Open file at page 2"
    assert popup.open_button.toolTip() == "Opens a copy taken out of invoices.eml"
    assert gui.citations.open_source(f"{eml}//invoice.pdf", 2)
    url = opened[-1]
    assert url.fragment() == "page=2" and Path(url.toLocalFile()).read_bytes() == pdf
