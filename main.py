"""Satchel's entry point: subcommands run the CLI; the same engine serves both.

Kept tiny on purpose: the network guard goes up first, before any library that might phone home is
imported, and nothing heavy is imported here so ``satchel --help`` is instant.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run Satchel with ``argv`` (default: the process arguments); returns the exit status."""
    from engine import netguard

    netguard.install()
    from cli.app import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
