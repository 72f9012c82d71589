"""Start the desktop app: a display check, the QApplication, the window, then background start-up.

Why the order: the window must be on screen before anything heavy loads (torch, llama.cpp,
LanceDB are imported by the worker, later). Without a display Qt would abort the whole process,
so :func:`has_display` decides first and the caller falls back to the CLI demo.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

#: process start, for the "window visible after launch" benchmark
STARTED = time.monotonic()


def has_display() -> bool:
    """True when Qt can open a window: a platform chosen explicitly, Wayland, or a reachable X.

    A local X display (``:0``) is probed through its socket, because a stale ``DISPLAY`` makes
    Qt abort the process instead of raising.
    """
    if sys.platform in ("darwin", "win32"):
        return True
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # offscreen, vnc, eglfs...: chosen on purpose, no display server needed
    if os.environ.get("WAYLAND_DISPLAY") and not platform.startswith("xcb"):
        return True
    if platform.startswith("wayland"):
        return False
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    host, _, rest = display.rpartition(":")
    if host not in ("", "unix"):
        return True  # remote X (ssh -X): trust it
    number = rest.split(".")[0]
    path = f"/tmp/.X11-unix/X{number}"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(path)
        return True
    except OSError:
        # abstract-namespace sockets (some X servers) cannot be probed by path; try that too
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect("\0" + path)
            return True
        except OSError:
            return False


def start_xvfb(size: str = "1400x900x24", timeout_s: float = 10.0
               ) -> tuple[subprocess.Popen[bytes], str] | None:
    """Start a private Xvfb on a free display; (process, ":N"), or None without the binary.

    For the screenshots and the launch benchmark. Xvfb picks the display itself
    (``-displayfd``), so this never collides with another X server or ``xvfb-run -a``.
    """
    binary = shutil.which("Xvfb")
    if binary is None:
        return None
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([binary, "-displayfd", str(write_fd), "-screen", "0", size,
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + timeout_s
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            if select.select([pipe], [], [], 0.1)[0]:
                piece = pipe.read(16)
                if not piece:
                    break
                number += piece
    if not number.strip().isdigit():
        proc.kill()
        proc.wait(5)
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number.strip().decode()}"


#: The app icon (hand-written SVG, also installed by the .deb); absent in a plain wheel install.
ICON_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "packaging", "icons", "satchel.svg")


def run(argv: list[str] | None = None, *, first_run: bool | None = None,
        open_paths: list[str] | None = None) -> int:
    """Show the window and run the event loop; returns the exit status.

    ``open_paths``: files or folders to index once the window is up ("Open with Satchel").
    """
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QGuiApplication, QIcon
    from PySide6.QtWidgets import QApplication

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Satchel")
    app.setApplicationDisplayName("Satchel")
    # The desktop matches the window to satchel.desktop (Wayland app id, the dock's icon).
    app.setDesktopFileName("satchel")
    if os.path.isfile(ICON_PATH):  # QIcon renders the SVG lazily: no cost until painted
        app.setWindowIcon(QIcon(ICON_PATH))
    from engine import paths
    from engine.errors import SatchelError

    try:
        paths.data_dir()
    except SatchelError as exc:
        print(f"satchel: error: {exc}", file=sys.stderr)
        return 2
    from gui.main_window import MainWindow
    from gui.notify import describe_error

    window = MainWindow()
    previous_hook = sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: object) -> None:
        """An exception in a slot must become a message, not a dead window."""
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, exc, tb)  # type: ignore[arg-type]
            return
        window.messages.error(describe_error(exc))

    sys.excepthook = excepthook
    report_mode = os.environ.get("SATCHEL_REPORT_SHOWN")
    if report_mode:
        _report_first_paint(window, report_mode)
    window.show()
    if report_mode != "quit":
        QTimer.singleShot(0, lambda: window.startup(first_run=first_run))
        if open_paths:
            QTimer.singleShot(0, lambda: window.handle_drop(list(open_paths)))
    window.closed.connect(app.quit)  # a window hidden while its work stopped must still quit
    app.aboutToQuit.connect(lambda: (window.executor.shutdown(), window.executor.engine.stop()))
    restore_signals = close_on_signals(window)
    status = app.exec()
    restore_signals()
    sys.excepthook = previous_hook
    return status


def close_on_signals(window: Any) -> Callable[[], None]:
    """SIGTERM (logging out, a shutdown, ``kill``), SIGHUP and Ctrl-C in the terminal that
    started it close the window as its close button does: running work is cancelled and kept
    (finished files, a training's checkpoint) instead of the process dying mid-step, or, for
    Ctrl-C, a KeyboardInterrupt traceback from whichever slot ran next while the app went on.
    Returns a function that puts the old handlers back.

    Qt's event loop runs no Python while it waits, so a Python signal handler would run only at
    the next event; the signal also writes a byte to a socket (``signal.set_wakeup_fd``) that a
    QSocketNotifier watches, which wakes the loop at once.
    """
    import signal

    from PySide6.QtCore import QSocketNotifier, QTimer

    from engine.jobs import stop_signals

    ours, theirs = socket.socketpair()
    for sock in (ours, theirs):
        sock.setblocking(False)
    try:
        previous_fd = signal.set_wakeup_fd(theirs.fileno(), warn_on_full_buffer=False)
    except ValueError:  # not the main thread: leave the defaults
        ours.close()
        theirs.close()
        return lambda: None
    notifier = QSocketNotifier(ours.fileno(), QSocketNotifier.Type.Read, window)

    def drain() -> None:  # the handler itself has run by now (Python ran this slot)
        with contextlib.suppress(OSError):
            ours.recv(64)

    notifier.activated.connect(drain)

    def close(_signum: int, _frame: object) -> None:
        QTimer.singleShot(0, window.close)

    wanted = stop_signals()
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # ignored: started in background
        wanted.append(signal.SIGINT)  # Ctrl-C in the terminal that ran `make run`
    previous = {s: signal.signal(s, close) for s in wanted}

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        ours.close()
        theirs.close()

    return restore


def _report_first_paint(window: object, mode: str) -> None:
    """Benchmark hook: say (on stdout) when the window has painted for the first time; the
    benchmark measures from spawning the process to reading this line.

    ``mode`` "quit" closes the window then (bench_gui.py); "answer" asks the question in
    ``SATCHEL_BENCH_QUESTION`` from the chat and reports its first token and the memory after
    it (:mod:`gui.bench_hooks`, bench_launch.py).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        done = False

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.done:
                self.done = True
                QTimer.singleShot(0, self.report)
            return False

        def report(self) -> None:
            print(f"SATCHEL_WINDOW_SHOWN {time.monotonic() - STARTED:.4f}", flush=True)
            if mode == "quit":
                window.close()  # type: ignore[attr-defined]
            elif mode == "answer":
                from gui.bench_hooks import ask_and_report

                ask_and_report(window, os.environ.get("SATCHEL_BENCH_QUESTION", ""), STARTED)

    watcher = FirstPaint(window)  # type: ignore[arg-type]
    window.installEventFilter(watcher)  # type: ignore[attr-defined]
