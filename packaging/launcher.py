"""The packaged app's entry point: put Satchel's source on ``sys.path``, then run ``main.main()``.

Why a launcher and not main.py itself: the frozen folder holds only third-party code (rebuilt when
dependencies change, minutes); Satchel's own packages sit as plain source with compiled bytecode in
``_internal/satchel_src`` and are replaced on every ``make package`` (seconds). The same executable
is the window (no arguments) and the CLI (subcommands), exactly like ``python main.py``.

``multiprocessing.freeze_support()`` comes after the path is set and before anything else: the
GUI's engine worker and the parser child are started with "spawn", which re-runs this executable
with ``--multiprocessing-fork``; that child must find Satchel's modules to unpickle its task.
"""

from __future__ import annotations

import os
import sys

SOURCE_DIR_NAME = "satchel_src"


def source_dir() -> str:
    """Where the bundled Satchel source lives (``_internal/satchel_src`` in the folder)."""
    base = getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(base, SOURCE_DIR_NAME)


def restore_library_path() -> None:
    """Give programs Satchel starts the user's ``LD_LIBRARY_PATH``, not the bundle's.

    PyInstaller's bootloader points ``LD_LIBRARY_PATH`` at the bundle (keeping the user's value
    in ``LD_LIBRARY_PATH_ORIG``) and every child inherits it: LibreOffice, Tesseract or the PDF
    viewer ``xdg-open`` starts would then load the bundle's Qt, GLib or libstdc++ and may crash.
    This process is unaffected (the dynamic loader read the variable at start-up), and a
    spawned Satchel child gets the bundle's path again from its own bootloader.
    """
    if not getattr(sys, "frozen", False):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = original


def run() -> int:
    """Start Satchel (or a multiprocessing child) and return the exit status."""
    restore_library_path()
    sys.path.insert(0, source_dir())
    import multiprocessing

    multiprocessing.freeze_support()  # a spawned child runs its task here and exits
    import main

    return main.main()


if __name__ == "__main__":
    sys.exit(run())
