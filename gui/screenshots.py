"""Take the README's screenshots from the real window: ``python -m gui.screenshots``.

Runs under a real X server (Xvfb is started when there is no ``$DISPLAY``), with a fresh data dir,
and drives the app like a user: the first run indexes the sample corpus, a question is asked, an
adapter is trained for a few steps and activated, Compare and Evaluate run, Settings shows the
model. Each screen is grabbed from the screen (so popups are included) and written to
``docs/screenshots/`` as a PNG kept under ~150 KB. Takes a few minutes (real training, real
answers). A last shot shows the window under a dark palette, as a dark desktop theme would give.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 150_000
#: Questions about the sample documents that the bundled 135M model answers well from its
#: passages (checked against the sample question set), so the pictures show the app working.
CHAT_QUESTIONS = ("Which desalination unit did the station council approve?",
                  "Where is the muster point when an alarm sounds?")
COMPARE_QUESTION = "What is the issue code of the expedition parka?"


def ensure_display() -> subprocess.Popen[bytes] | None:
    """Use $DISPLAY, or start a private Xvfb; returns the process to stop afterwards."""
    from gui.app import start_xvfb

    os.environ["QT_QPA_PLATFORM"] = "xcb"
    if os.environ.get("DISPLAY"):
        return None
    started = start_xvfb()
    if started is None:
        raise SystemExit("no $DISPLAY and no Xvfb: install xvfb (apt-get install xvfb)")
    proc, os.environ["DISPLAY"] = started
    return proc


def wait_until(app: Any, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def settle(app: Any, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save_png(image: Any, path: Path) -> int:
    """Write ``image`` as PNG under MAX_BYTES: full colour, else 8-bit palette, else scaled."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    candidates = [image, image.convertToFormat(QImage.Format.Format_Indexed8,
                                               Qt.ImageConversionFlag.ThresholdDither)]
    for scale in (0.85, 0.75, 0.65):
        small = image.scaledToWidth(int(image.width() * scale),
                                    Qt.TransformationMode.SmoothTransformation)
        candidates.append(small.convertToFormat(QImage.Format.Format_Indexed8,
                                                Qt.ImageConversionFlag.ThresholdDither))
    for candidate in candidates:
        candidate.save(str(path), "PNG", 9)
        if path.stat().st_size <= MAX_BYTES:
            break
    return path.stat().st_size


def grab(app: Any, window: Any, path: Path) -> None:
    """The window's area of the screen (includes popups), as a PNG."""
    settle(app)
    geometry = window.frameGeometry()
    screen = window.screen() or app.primaryScreen()
    pixmap = screen.grabWindow(0, geometry.x(), geometry.y(), geometry.width(),
                               geometry.height())
    size = save_png(pixmap.toImage(), path)
    print(f"  {path.name}: {pixmap.width()}x{pixmap.height()}, {size / 1000:.0f} KB", flush=True)


def dark_palette() -> Any:
    """A dark palette like a dark desktop theme hands to Qt (only used for the last shot)."""
    from PySide6.QtGui import QColor, QPalette

    p = QPalette()
    roles = QPalette.ColorRole
    for role, colour in ((roles.Window, "#2b2d30"), (roles.WindowText, "#e6e6e6"),
                         (roles.Base, "#1e1f22"), (roles.AlternateBase, "#26282b"),
                         (roles.Text, "#e6e6e6"), (roles.Button, "#3a3c40"),
                         (roles.ButtonText, "#e6e6e6"), (roles.Highlight, "#3d7bd9"),
                         (roles.HighlightedText, "#ffffff"), (roles.Mid, "#55585d"),
                         (roles.Dark, "#151618"), (roles.Light, "#4a4d52"),
                         (roles.PlaceholderText, "#9a9ca0"), (roles.ToolTipBase, "#2b2d30"),
                         (roles.ToolTipText, "#e6e6e6"), (roles.Link, "#7aa7ff")):
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.ColorGroup.Disabled, roles.ButtonText, QColor("#7a7c80"))
    p.setColor(QPalette.ColorGroup.Disabled, roles.Text, QColor("#7a7c80"))
    p.setColor(QPalette.ColorGroup.Disabled, roles.WindowText, QColor("#7a7c80"))
    return p


def training_pairs(folder: Path) -> Path:
    """Question-answer pairs from the sample question set (the adapter learns these facts)."""
    from engine.samples import QA_SET_PATH

    out = folder / "halcyon-pairs.jsonl"
    with open(QA_SET_PATH, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            item = json.loads(line)
            dst.write(json.dumps({"question": item["question"],
                                  "answer": item["answers"][0]}) + "\n")
    return out


def run(out_dir: Path, steps: int) -> None:
    from PySide6.QtWidgets import QApplication

    from engine import netguard

    netguard.install()
    home = Path(tempfile.mkdtemp(prefix="satchel-shots-"))
    os.environ["SATCHEL_HOME"] = str(home)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Satchel")
    from engine.settings import Settings
    from gui.main_window import MainWindow

    out_dir.mkdir(parents=True, exist_ok=True)
    window = MainWindow(settings=Settings(temperature=0.0, max_answer_tokens=96))
    window.resize(1280, 800)
    window.move(0, 0)
    window.show()
    settle(app, 0.5)
    print("first run: indexing the sample corpus", flush=True)
    window.startup(first_run=True, preload=True, watch=False)
    window.show_screen("Library")

    def mid_run() -> bool:
        text = window.job_strip.label.text()
        return len(window.library.model.rows) >= 3 and "ETA" in text and "ETA ?" not in text

    wait_until(app, lambda: mid_run() or window.ctx.state.first_run_done, 300,
               "indexing progress")
    if mid_run():
        grab(app, window, out_dir / "library-indexing.png")
    else:
        print("  library-indexing.png: the run ended before a progress shot; kept the old one")
    wait_until(app, lambda: window.ctx.state.first_run_done, 600, "the sample corpus")
    wait_until(app, lambda: not window.executor.busy, 300, "start-up work")
    window.library.table.selectRow(0)
    grab(app, window, out_dir / "library.png")

    print("chat: asking a question and a follow-up", flush=True)
    window.show_screen("Chat")
    for question in CHAT_QUESTIONS:
        window.chat.question.setPlainText(question)
        window.chat.ask()
        wait_until(app, lambda: not window.chat.busy, 300, "an answer")
    grab(app, window, out_dir / "chat.png")
    turn = window.chat.turns[0]
    if turn.chip_widgets:
        turn.chip_widgets[0].show_passage()
        grab(app, window, out_dir / "citation.png")
        if turn.chip_widgets[0].popup is not None:
            turn.chip_widgets[0].popup.close()

    print(f"adapters: training {steps} steps on the sample question set", flush=True)
    window.show_screen("Adapters")
    dialog = window.adapters.open_training()
    dialog.move(window.x() + 300, window.y() + 120)
    dialog.data_file.setText(str(training_pairs(home)))
    dialog.from_file.setChecked(True)
    dialog.steps.setValue(steps)
    dialog.name.setText("halcyon-facts")
    dialog.check()
    wait_until(app, lambda: dialog.start_button.isEnabled(), 300, "the training plan")
    grab(app, window, out_dir / "train-dialog.png")
    dialog.start()
    wait_until(app, lambda: not dialog.running, 1800, "the end of training")
    grab(app, window, out_dir / "training.png")
    dialog.close()
    wait_until(app, lambda: any(r.name == "halcyon-facts" for r in window.adapters.rows), 120,
               "the adapter list")
    window.adapters.select("halcyon-facts")
    window.adapters.scale.setValue(0.8)
    window.adapters.activate_selected()
    grab(app, window, out_dir / "adapters.png")

    print("compare: one question in all four modes", flush=True)
    window.show_screen("Compare")
    window.compare.question.setText(COMPARE_QUESTION)
    window.compare.compare()
    wait_until(app, lambda: not window.compare.busy, 600, "the comparison")
    grab(app, window, out_dir / "compare.png")

    print("evaluate: the sample question set in all four modes", flush=True)
    window.show_screen("Evaluate")
    screen = window.evaluate
    wait_until(app, lambda: screen.collection.currentText() == "sample", 60, "collections")
    screen.limit.setValue(4)
    for box in screen.mode_boxes.values():
        box.setChecked(True)
    screen.run()
    wait_until(app, lambda: not screen.running, 1800, "the evaluation")
    grab(app, window, out_dir / "evaluate.png")

    print("settings", flush=True)
    window.show_screen("Settings")
    wait_until(app, lambda: bool(window.settings_screen.models), 120, "the model list")
    grab(app, window, out_dir / "settings.png")

    window.close()
    wait_until(app, lambda: not window.executor.alive, 300, "the worker")
    print("dark palette: the window started again under a dark desktop theme", flush=True)
    app.setPalette(dark_palette())
    window = MainWindow(settings=Settings(temperature=0.0, max_answer_tokens=96))
    window.resize(1280, 800)
    window.move(0, 0)
    window.show()
    window.startup(first_run=False, preload=False, watch=False)
    wait_until(app, lambda: len(window.chat.turns) == len(CHAT_QUESTIONS), 60,
               "the last chat session")
    wait_until(app, lambda: not window.executor.busy, 120, "start-up work")
    grab(app, window, out_dir / "chat-dark.png")
    window.close()
    wait_until(app, lambda: not window.executor.alive, 300, "the worker")
    window.executor.engine.stop()
    shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshots"),
                        help="folder for the PNGs (default: docs/screenshots)")
    parser.add_argument("--steps", type=int, default=12, help="training steps for the adapter")
    args = parser.parse_args(argv)
    xvfb = ensure_display()
    try:
        run(Path(args.out), args.steps)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
