"""The base of every error that is the user's to fix, shown as one line, never as a traceback.

The CLI and the GUI catch :class:`SatchelError` and show ``str(err)``; anything else is a bug and
keeps its traceback (in the log file for the GUI).
"""

from __future__ import annotations


class SatchelError(Exception):
    """A user-facing problem: bad input, missing file, unusable model. ``str()`` is one line."""
