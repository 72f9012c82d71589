"""Satchel's desktop window (PySide6 widgets only).

Why a separate package: the engine stays Qt-free and usable from the CLI; everything here is a
thin view over the engine's public API, and every call that touches the model or the index goes
through :mod:`gui.worker` (which runs it in the engine worker process) so the window never
blocks. Importing this package is cheap on purpose (no torch, llama_cpp, lancedb or
sentence_transformers): the window must appear first.

One process-wide guard lives here, because it must be in place before any widget is used:
PySide6 6.12.0 on Python 3.11 drops a reference to ``None`` in many void calls
(``QLabel.setText``, timer and socket-notifier slots) and to ``True`` in every ``Signal.emit``;
measured: the window process aborts with "deallocating None/True" after a few hundred signals or
some tens of thousands of calls. PySide6 6.11.3 does not do this, and Python 3.12+ makes these
objects immortal, which hides it. :func:`guard_singleton_refcounts` gives the three singletons
the same effectively-infinite reference count 3.12 gives them; they are never freed anyway, so
the guard changes nothing else.
"""

from __future__ import annotations

import sys

_GUARDED = False


def guard_singleton_refcounts() -> None:
    """Make ``None``, ``True`` and ``False`` effectively immortal on Python < 3.12 (idempotent)."""
    global _GUARDED
    if _GUARDED or sys.version_info >= (3, 12):
        return
    import ctypes

    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40
    _GUARDED = True


guard_singleton_refcounts()
