"""Progress from inside a loader (OCR page 3 of 40) to whoever runs it.

Loaders run in the parser child (engine.ingest.isolation), which installs a reporter that sends
each message to the indexer: the indexer shows it, and counts it as a sign of life, so a long OCR
run is not mistaken for a hung parser. Outside the child, reports go nowhere.
"""

from __future__ import annotations

from collections.abc import Callable

_reporter: list[Callable[[str], None] | None] = [None]


def set_reporter(reporter: Callable[[str], None] | None) -> None:
    """Send later :func:`report` calls to ``reporter`` (None: drop them)."""
    _reporter[0] = reporter


def report(message: str) -> None:
    """Tell the indexer what a long load is doing now ("OCR page 3 of 40")."""
    reporter = _reporter[0]
    if reporter is not None:
        reporter(message)
