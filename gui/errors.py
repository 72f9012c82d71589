"""Turning exceptions into one line for the user, with tracebacks in a log file (Qt-free).

Why separate from the message bar: the engine worker process formats its errors too, and it must
not import Qt. User errors (:class:`~engine.errors.SatchelError`) are their own one line;
anything else is a bug: a short message naming the log file that holds the traceback.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from engine.errors import SatchelError

log = logging.getLogger("satchel.gui")
_log_file: Path | None = None
#: "gui.log" in the window's process, "worker.log" in the engine worker process.
LOG_NAME = ["gui.log"]


def log_file() -> Path:
    """This process's log file (set up on first use, under the data dir's logs folder)."""
    global _log_file
    from logging.handlers import RotatingFileHandler

    from engine import paths

    target = paths.logs_dir() / LOG_NAME[0]
    if _log_file != target:
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()
        handler = RotatingFileHandler(target, maxBytes=1_000_000, backupCount=3,
                                      encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        _log_file = target
    return target


def describe_error(exc: BaseException) -> str:
    """The line to show for ``exc``; non-user errors are logged with their traceback first."""
    if isinstance(exc, SatchelError):
        text = str(exc).strip().splitlines()
        return text[0] if text else type(exc).__name__
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    where = ""
    try:
        target = log_file()
        log.error("unexpected error\n%s", "".join(traceback.format_exception(exc)))
        for handler in log.handlers:
            handler.flush()
        where = f" (details in {target})"
    except Exception:  # an unwritable log must not hide the error itself: show it without a path
        where = ""
    name = type(exc).__name__
    return f"Unexpected error: {name}{': ' + detail if detail else ''}{where}"
