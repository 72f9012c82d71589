"""Satchel's Qt-free core.

Nothing in this package imports PySide6 or ``gui`` (an import-linter contract checks it), and heavy
libraries (torch, sentence_transformers, lancedb, llama_cpp) are imported inside the functions that
need them, so the window and ``satchel --help`` start fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
