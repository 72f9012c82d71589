"""Helpers for the GUI tests: background tasks to submit, quick settings, waiting and closing.

Plain functions (the fixtures are in :mod:`tests.gui_fixtures`, loaded as a pytest plugin), so
test modules import these by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psutil
import pytest

import gui  # noqa: F401 - first: guards the PySide6 6.12 reference leak (see gui/__init__.py)
from engine.settings import Settings


def broken_task(ctx: Any) -> None:
    """A background task with a bug (runs in the engine worker; sent there by name)."""
    raise ZeroDivisionError("division by zero")


def sleepy_task(ctx: Any, seconds: float) -> str:
    """A background task that waits, checking for cancellation."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ctx.check()
        time.sleep(0.02)
    return "slept"


def chatty_task(ctx: Any, events: int) -> int:
    """Streams many small events, like a long answer or a long training run."""
    for i in range(events):
        ctx.emit(i)
        ctx.job.progress(i + 1, events)
    return events


def quick_settings(**overrides: Any) -> Settings:
    """Deterministic, short answers: the tests check behaviour, not prose."""
    values = {"temperature": 0.0, "max_answer_tokens": 40}
    values.update(overrides)
    return Settings(**values)


def _child_processes() -> list[psutil.Process]:
    """This process's descendants, without multiprocessing's resource tracker (one per
    interpreter, by design, living as long as it)."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()) and child.is_running() \
                    and child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.Error:  # ended while we looked
            continue
    return out


def _engine_pid() -> int | None:
    from gui.engine_process import EngineProcess

    shared = EngineProcess._shared
    return shared.pid if shared is not None else None


def assert_no_stray_processes(allow_engine: bool, grace_s: float = 5.0) -> None:
    """Fail if a child process is left: anything but the idle, shared engine worker."""
    deadline = time.monotonic() + grace_s
    while True:
        engine = _engine_pid() if allow_engine else None
        stray = [p for p in _child_processes() if p.pid != engine]
        if not stray:
            return
        if time.monotonic() > deadline:
            names = []
            for p in stray:
                try:
                    names.append(f"{p.pid} {p.name()} {' '.join(p.cmdline())[:80]}")
                except psutil.Error:
                    names.append(str(p.pid))
            pytest.fail(f"child processes left running: {names}")
        time.sleep(0.05)


def activate(qtbot: Any, window: Any) -> None:
    """Make ``window`` the active window (keyboard shortcuts only fire there)."""
    window.raise_()
    window.activateWindow()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def close_window(qtbot: Any, window: Any, timeout_ms: int = 120_000) -> None:
    """Close like a user; wait until the work is cancelled and the window let go of the worker."""
    window.close()
    qtbot.waitUntil(lambda: not window.executor.alive and not window.executor.busy,
                    timeout=timeout_ms)
    window.deleteLater()


def wait_for(qtbot: Any, signal: Any, action: Callable[[], Any], timeout_ms: int = 480_000
             ) -> Any:
    """Run ``action`` and return the first argument of ``signal`` when it fires."""
    with qtbot.waitSignal(signal, timeout=timeout_ms) as blocker:
        action()
    return blocker.args[0] if blocker.args else None
