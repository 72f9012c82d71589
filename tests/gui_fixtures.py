"""Shared fixtures for the GUI tests, loaded by the test_gui*.py modules as a pytest plugin
(``pytest_plugins = ("tests.gui_fixtures",)``).

The sample corpus is indexed once per session (real embedder, real LanceDB) and copied into each
test's own SATCHEL_HOME, so every test gets a private, ready index in well under a second. The
window fixture closes the window the way a user does and waits until its work has ended; conftest
then fails the test if a thread was left running, and this module fails it if a child process
was: the one engine worker process may stay warm between tests (starting it costs seconds), but
it must be idle (no parser or other children of its own), and it is stopped at the end of the
session, after which no child process may remain.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import gui  # noqa: F401 - first: guards the PySide6 6.12 reference leak (see gui/__init__.py)
from engine import paths
from engine.settings import Settings
from tests.helpers_gui import assert_no_stray_processes, close_window, quick_settings

_SAMPLE_INDEX: list[Path] = []


def _build_sample_index(tmp_root: Path) -> Path:
    """Index the sample corpus once per session (a cache shared by every GUI test module)."""
    if _SAMPLE_INDEX:
        return _SAMPLE_INDEX[0]
    from engine.indexer import index_paths
    from engine.samples import CORPUS_DIR

    home = tmp_root / "gui-sample-home"
    paths.set_data_dir(home)
    try:
        index_paths([CORPUS_DIR], "sample")
    finally:
        paths.set_data_dir(None)
    _SAMPLE_INDEX.append(home / "index")
    return _SAMPLE_INDEX[0]


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_sample_index(tmp_path_factory.getbasetemp())


@pytest.fixture
def sample_home(sample_index: Path, satchel_home: Path) -> Path:
    """This test's data dir with the sample collection indexed and the first run done."""
    satchel_home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(sample_index, satchel_home / "index")
    (satchel_home / "gui-state.json").write_text(json.dumps(
        {"first_run_done": True, "active_collection": "sample", "mode": "rag"}))
    return satchel_home


@pytest.fixture(scope="session", autouse=True)
def engine_stopped_at_the_end() -> Iterator[None]:
    """Stop the shared engine worker after the last test; then no child may remain."""
    yield
    from gui.engine_process import EngineProcess

    if EngineProcess._shared is not None:
        EngineProcess._shared.stop(60)
    assert_no_stray_processes(allow_engine=False)


@pytest.fixture
def make_window(qtbot: Any) -> Iterator[Callable[..., Any]]:
    """Build MainWindows; each is closed at teardown, its work must end and no child process
    other than the idle engine worker may be left."""
    from gui.main_window import MainWindow

    made: list[MainWindow] = []

    def make(settings: Settings | None = None, show: bool = True) -> MainWindow:
        window = MainWindow(settings=settings or quick_settings())
        made.append(window)
        if show:
            window.show()
            qtbot.waitExposed(window)
        return window

    yield make
    for window in made:
        close_window(qtbot, window)
    assert_no_stray_processes(allow_engine=True)


