"""Files held inside other files (an e-mail's attachments, an archive's members).

Each is written to a temporary folder under its own name and read by the ordinary loaders, so
an attached PDF or a zipped DOCX is read exactly as the same file on disk would be; it then
takes its path inside the holder ("/mail/inbox.mbox//3//report.pdf"), the path it is cited by.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.ingest import loaders
from engine.ingest.document import (
    Document,
    LoadError,
    LoadOptions,
    parser_error,
    part_path,
    rebase,
)
from engine.ingest.file_names import legacy_text

#: Characters a file name cannot hold on some system, and control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_name(name: str, limit: int = 120) -> str:
    """``name`` as a file name any system accepts, its extension kept when it is cut."""
    name = _UNSAFE.sub("_", legacy_text(name)).strip(" .") or "file"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - 21] + dot + ext[:20]) if dot and stem else name[:limit]
    return name


def unique_key(name: str, used: set[str]) -> str:
    """``name`` as a safe file name (:func:`safe_name`) not yet in ``used`` (compared without
    case; "notes (2).txt" after "notes.txt"), added to it: the end of a part's path."""
    name = safe_name(name)
    stem, ext = os.path.splitext(name)
    key, number = name, 1
    while key.lower() in used:
        number += 1
        key = f"{stem} ({number}){ext}"
    used.add(key.lower())
    return key


def load_embedded(holder: str, key: str, write: Callable[[Path], None],
                  options: LoadOptions) -> Document:
    """Load the file ``key`` (a safe file name, see :func:`safe_name`) of ``holder``.

    ``write(path)`` puts its bytes at ``path``. Raises LoadError with a one-line reason (the
    loaders' own, or a temporary copy that cannot be written). An exception no loader expected
    (a library's bug on one odd attachment, a truncated picture) is that part's reason too, as
    the indexer reports it for a file: one bad part never loses the message or archive around it.
    """
    with tempfile.TemporaryDirectory(prefix="satchel-part-") as tmp:
        file = Path(tmp) / key
        try:
            write(file)
        except OSError as exc:  # disk full, a name the file system refuses...
            raise LoadError(f"cannot write a temporary copy ({exc.strerror or exc})") from exc
        try:
            child = loaders.load(file, options=options)
        except (LoadError, MemoryError):
            raise
        except RecursionError as exc:
            raise LoadError("too deeply nested to parse") from exc
        except Exception as exc:
            raise LoadError(parser_error(exc)) from exc
    return rebase(child, part_path(holder, key))
