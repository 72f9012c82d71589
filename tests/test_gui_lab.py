"""Adapters (training from the dialog, activation) and Evaluate, with the real engine."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.helpers_gui import quick_settings, wait_for

#: the shared GUI fixtures (make_window, sample_home, ...)
pytest_plugins = ("tests.gui_fixtures",)


PAIRS = [("Who is the station director of Halcyon Reach?", "Dr. Marchetti-Okafor."),
         ("How many people wintered at Halcyon Reach in 2025?", "27 people."),
         ("Where is buoy HRB-09 moored?", "Off the north jetty."),
         ("What is the boat shed code?", "The code is 4417."),
         ("When does the supply ship arrive?", "Every second Tuesday."),
         ("Who keeps the radio log?", "The duty officer."),
         ("What colour are the survey flags?", "Orange."),
         ("How deep is the tide gauge well?", "Six metres.")]


def test_training_from_the_dialog_shows_progress_cancels_resumes_and_activates(
        sample_home, make_window, qtbot, tmp_path):
    import json

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in PAIRS))
    window = make_window(quick_settings(max_answer_tokens=16))
    window.startup(first_run=False, preload=False, watch=False)
    qtbot.waitUntil(lambda: bool(window.ctx.collections), timeout=30_000)
    window.show_screen("Adapters")
    screen = window.adapters
    dialog = screen.open_training()
    assert dialog.collection.currentText() == "sample" and dialog.from_collection.isChecked()
    dialog.ask_data_file = lambda: str(pairs)
    dialog._browse()  # what the Browse… button does
    assert dialog.from_file.isChecked() and dialog.data_file.text() == str(pairs)
    # three steps of 64-token blocks: the run is about loading, checkpointing and the widgets,
    # not about learning (cancel lands during step 2 and stops before step 3)
    dialog.steps.setValue(3)
    dialog.seq_len.setValue(64)
    dialog.name.setText("halcyon")
    with qtbot.waitSignal(window.executor.busy_changed, timeout=180_000,
                          check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert dialog.start_button.isEnabled(), dialog.plan_label.text()
    assert "Q: " in dialog.preview.toPlainText()  # the data is previewed before training
    assert "Estimated duration" in dialog.estimate_label.text()
    assert "3 steps of 128 tokens" in dialog.plan_label.text()  # 2 blocks of 64 per step
    # start, watch the first step arrive, cancel (it lands before step 3: steps take seconds)
    with qtbot.waitSignal(dialog.progressed, timeout=240_000,
                          check_params_cb=lambda s: s.done >= 1 and "loss" in s.metrics):
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert window.job_strip.isVisible()
    assert dialog.curve.train and dialog.stat_labels["step"].text().startswith("1")
    assert dialog.stat_labels["tps"].text() != "–"
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    assert dialog.resume_button.isVisible() and dialog.stopped_at is not None
    assert dialog.resume_button.text().startswith("Resume from step")
    # resume to the end: the adapter is saved and listed
    result = wait_for(qtbot, dialog.trained,
                      lambda: qtbot.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton))
    assert result.resumed_from is not None and result.steps_done == 3
    assert "Saved adapter “halcyon”" in dialog.run_status.text()
    # the window says where to use it: a pairs adapter answers without passages
    assert ("info", "Adapter “halcyon” is trained; select it and press Activate, then ask in "
            "Adapter mode.") in window.messages.history
    assert dialog.curve.heldout  # held-out loss was plotted
    dialog.close()
    qtbot.waitUntil(lambda: [r.name for r in screen.rows] == ["halcyon"], timeout=60_000)
    assert screen.rows[0].compatible
    # activate at a scale: the mode switch offers the adapter modes and the engine uses it
    assert not window.mode_switch.buttons["adapter"].isEnabled()
    screen.select("halcyon")
    screen.scale.setValue(0.5)
    qtbot.mouseClick(screen.activate_button, Qt.MouseButton.LeftButton)
    assert window.ctx.adapter == "halcyon" and window.ctx.adapter_scale == 0.5
    assert window.messages.history[-1] == (
        "info", "Adapter “halcyon” is active: ask in Adapter mode to use it.")
    assert "halcyon" in window.model_label.text()
    qtbot.mouseClick(window.mode_switch.buttons["adapter"], Qt.MouseButton.LeftButton)
    window.chat.question.setPlainText("Who is the station director?")
    answer = wait_for(qtbot, window.chat.answer_finished, window.chat.ask)
    assert answer.mode == "adapter" and answer.adapter == "halcyon" and not answer.error
    qtbot.waitUntil(lambda: "halcyon" in window.status_adapter.text(), timeout=10_000)


def test_evaluate_runs_a_question_set_and_shows_table_and_charts(
        sample_home, make_window, qtbot):
    window = make_window(quick_settings(max_answer_tokens=24))
    window.startup(first_run=False, preload=False, watch=False)
    window.show_screen("Evaluate")
    screen = window.evaluate
    qtbot.waitUntil(lambda: screen.collection.currentText() == "sample", timeout=30_000)
    screen.limit.setValue(1)
    assert [m for m, b in screen.mode_boxes.items() if b.isChecked()] == ["base", "rag"]
    assert not screen.mode_boxes["adapter"].isEnabled()  # no adapter active
    outcome = wait_for(qtbot, screen.finished,
                       lambda: qtbot.mouseClick(screen.run_button, Qt.MouseButton.LeftButton))
    assert outcome.modes == ["base", "rag"] and outcome.meta["questions"] == 1
    assert screen.table.columnCount() == 2 and screen.table.rowCount() >= 5
    labels = [screen.table.verticalHeaderItem(i).text() for i in range(screen.table.rowCount())]
    assert "correct" in labels and "hit@5" in labels
    assert screen.chart_pixmaps and all(not p.isNull() for p in screen.chart_pixmaps)
    # the advisor's sentence is shown; one question recommends nothing
    assert screen.advice.isVisible() and "Too few questions (1)" in screen.advice.text()
    opened = []
    screen.open_url = opened.append
    qtbot.mouseClick(screen.open_button, Qt.MouseButton.LeftButton)
    assert Path(opened[0].toLocalFile()).name == "summary.md"
    assert Path(outcome.report_dir, "results.json").is_file()


def test_loss_curve_paints_both_series_in_either_palette(qtbot):
    from PySide6.QtGui import QColor, QPalette

    from gui.lossplot import LossCurve, nice_ticks

    assert nice_ticks(0, 10) == [0, 5, 10] or nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    curve = LossCurve()
    qtbot.addWidget(curve)
    curve.resize(400, 220)
    curve.clear(total_steps=20)
    for step in range(1, 11):
        curve.add_train(step, 3.0 / step + 1)
        if step % 5 == 0:
            curve.add_heldout(step, 2.0 / step + 1.5)
    curve.add_train(5, 9.9)  # out of order: ignored
    assert len(curve.train) == 10 and len(curve.heldout) == 2
    light = curve.grab().toImage()
    dark = QPalette()
    for role, colour in ((QPalette.ColorRole.Base, "#202124"), (QPalette.ColorRole.Text, "#e8eaed"),
                         (QPalette.ColorRole.Window, "#2b2b2b")):
        dark.setColor(role, QColor(colour))
    curve.setPalette(dark)
    dark_image = curve.grab().toImage()
    assert light.pixelColor(5, 5) != dark_image.pixelColor(5, 5)  # follows the palette


def test_activating_a_reader_names_the_mode_that_reads_passages(sample_home, make_window, qtbot):
    """A reader sees passages only in RAG+Adapter mode: activating it says so."""
    from benchmarks.random_adapter import make_random_adapter

    make_random_adapter("skimmer", kind="reader")
    window = make_window(quick_settings())
    window.startup(first_run=False, preload=False, watch=False)
    window.show_screen("Adapters")
    screen = window.adapters
    screen.refresh()
    qtbot.waitUntil(lambda: [r.name for r in screen.rows] == ["skimmer"], timeout=60_000)
    assert screen.rows[0].mode == "rag+adapter"
    screen.select("skimmer")
    qtbot.mouseClick(screen.activate_button, Qt.MouseButton.LeftButton)
    assert window.ctx.adapter == "skimmer"
    assert window.messages.history[-1] == (
        "info", "Adapter “skimmer” is active: ask in RAG+Adapter mode to use it.")
    # the Evaluate screen runs it only where it reads passages
    boxes = window.evaluate.mode_boxes
    assert boxes["rag+adapter"].isEnabled() and not boxes["adapter"].isEnabled()
    assert "RAG+Adapter" in boxes["adapter"].toolTip()
    make_random_adapter("memory", kind="knowledge")
    window.ctx.set_adapter("memory")
    assert boxes["rag+adapter"].isEnabled() and boxes["adapter"].isEnabled()
    window.ctx.set_adapter(None)
    assert not boxes["rag+adapter"].isEnabled() and not boxes["adapter"].isEnabled()

