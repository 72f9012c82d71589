"""Satchel's entry point: no arguments open the window; subcommands run the CLI (same engine).

Kept tiny on purpose: the network guard goes up first, before any library that might phone home is
imported, and nothing heavy is imported here so ``satchel --help`` is instant and the window
appears before torch, llama.cpp or LanceDB load.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run Satchel with ``argv`` (default: the process arguments); returns the exit status."""
    from engine import netguard

    netguard.install()
    args = sys.argv[1:] if argv is None else argv
    files: list[str] = []
    if args and all(os.path.isabs(a) and os.path.exists(a) for a in args):
        # "Open with Satchel" from a file manager (the .desktop file's `Exec=satchel %F`): only
        # absolute paths, which no subcommand looks like. The window indexes them.
        files, args = args, []
    if not args:
        from gui.app import has_display

        if has_display():
            from gui.app import run as run_gui

            return run_gui(sys.argv[:1], open_paths=files)
        if files:
            args = ["index", *files]
        else:
            print("satchel: no display found (set DISPLAY or run in a desktop session); running "
                  "`satchel demo` instead", file=sys.stderr)
            args = ["demo"]
    from cli.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
