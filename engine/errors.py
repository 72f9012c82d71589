"""The base of every error that is the user's to fix, shown as one line, never as a traceback.

The CLI and the GUI catch :class:`SatchelError` and show ``str(err)``; anything else is a bug and
keeps its traceback (in the log file for the GUI).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class SatchelError(Exception):
    """A user-facing problem: bad input, missing file, unusable model. ``str()`` is one line."""


#: errno values of a disk that cannot take more: full (ENOSPC), over quota (EDQUOT), read-only
#: (EROFS), as OSError carries them and as LanceDB's Rust I/O errors spell them ("os error 28").
_STORAGE_ERRNOS = {28: "the disk is full", 122: "the disk quota is used up",
                   30: "the disk is read-only"}


def storage_full(exc: BaseException, where: str) -> SatchelError | None:
    """A one-line error for ``exc`` when it says the disk holding ``where`` cannot be written
    (full, over quota, read-only); None for any other exception. What was committed before
    stays: LanceDB writes a new version only once its files are complete."""
    import re
    import shutil

    for err in _chain(exc):
        code = err.errno if isinstance(err, OSError) else None
        if code is None and isinstance(err, RuntimeError):
            found = re.search(r"os error (\d+)\)", str(err))
            code = int(found[1]) if found else None
        if code in _STORAGE_ERRNOS:
            try:
                free = f" ({shutil.disk_usage(where).free / (1 << 20):,.0f} MB free)"
            except OSError:
                free = ""
            return SatchelError(f"cannot write to {where}: {_STORAGE_ERRNOS[code]}{free}; "
                                "make room and run it again (finished work is kept)")
    return None


def full_disk_is_one_line(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a write path (indexing, training) so that a full, over-quota or read-only
    disk under Satchel's data folder raises :func:`storage_full`'s SatchelError: one line in
    the CLI and the window, not a traceback from deep inside LanceDB or torch."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (OSError, RuntimeError) as exc:
            from engine import paths

            full = storage_full(exc, str(paths.data_dir(create=False)))
            if full is None:
                raise
            raise full from exc

    return wrapper


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, nearest first."""
    out: list[BaseException] = []
    while exc is not None and exc not in out and len(out) < 20:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out
