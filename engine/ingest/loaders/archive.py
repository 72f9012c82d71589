"""ZIP archives: every document inside is indexed and cited on its own.

People keep documents zipped: a downloaded bundle of papers, a project handed over, an export of
a shared drive, an old folder packed away. An archive becomes a container Document (like an
mbox) whose parts are its readable members, each read by the ordinary loaders
(:mod:`engine.ingest.loaders.embedded`) and cited as "bundle.zip › reports › q1.pdf p. 3".

What is not read, and why, is listed in ``metadata["members_skipped"]``: unsupported types,
encrypted members, files a loader refuses. Archives are where zip bombs live, so sizes are
checked while the bytes are copied (a member's declared size can lie), members past
:data:`MAX_MEMBERS` are left out, and an archive inside an archive is opened only
:data:`MAX_NESTING` deep. Folders of system clutter (``__MACOSX``, ``.DS_Store``) are passed over
silently: they are not the user's files.
"""

from __future__ import annotations

import contextvars
import zipfile
import zlib
from pathlib import Path

from engine.ingest import loaders, progress
from engine.ingest.document import Document, LoadError, LoadOptions, NothingToRead
from engine.ingest.loaders.common import library_errors, one_line
from engine.ingest.loaders.embedded import load_embedded, safe_name

#: Members read from one archive at most (the rest are listed as skipped).
MAX_MEMBERS = 2000
#: Largest member, uncompressed: bigger ones are listed as skipped.
MAX_MEMBER_BYTES = 512 << 20
#: Most bytes unpacked from one archive (all members together).
MAX_TOTAL_BYTES = 4 << 30
#: An archive inside an archive is read; one inside that is listed as skipped.
MAX_NESTING = 2
#: Shown between the folders of a member's path in its citation ("bundle.zip › docs › a.pdf").
FOLDER_MARK = " › "

_depth: contextvars.ContextVar[int] = contextvars.ContextVar("satchel_zip_depth", default=0)
_CLUTTER = frozenset({"__macosx", ".ds_store", "thumbs.db", "desktop.ini"})


class _TooBig(Exception):
    pass


def member_key(name: str) -> str:
    """The part key of member ``name`` ("docs/2024/q1.pdf" -> "docs › 2024 › q1.pdf")."""
    parts = [safe_name(p, 80) for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    key = FOLDER_MARK.join(parts) or "file"
    while len(key) > 200 and len(parts) > 1:  # keep the file name, drop the outer folders
        parts = parts[1:]
        key = "…" + FOLDER_MARK + FOLDER_MARK.join(parts)
    return key


def is_clutter(name: str) -> bool:
    """System files that are not the user's: macOS resource forks, Finder and Explorer caches,
    hidden files and folders."""
    return any(p.lower() in _CLUTTER or p.startswith(".")
               for p in name.replace("\\", "/").split("/") if p)


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: int) -> int:
    """Unpack ``info`` to ``dest``, at most ``budget`` bytes (raises _TooBig past it)."""
    written = 0
    with zf.open(info) as src, dest.open("wb") as out:
        while block := src.read(1 << 20):
            written += len(block)
            if written > budget:
                raise _TooBig
            out.write(block)
    return written


def load_zip(path: Path, options: LoadOptions) -> Document:
    """A .zip file -> a container Document (no pages) whose parts are its readable members."""
    depth = _depth.get()
    token = _depth.set(depth + 1)
    try:
        with library_errors("ZIP archive"):
            zf = zipfile.ZipFile(path)
        with zf:
            return _read_members(path, zf, options, depth)
    finally:
        _depth.reset(token)


def _read_members(path: Path, zf: zipfile.ZipFile, options: LoadOptions, depth: int) -> Document:
    with library_errors("ZIP archive"):
        infos = [i for i in zf.infolist() if not i.is_dir() and not is_clutter(i.filename)]
    if not infos:
        raise NothingToRead("empty archive (no files)")
    doc = Document(path=str(path), format="zip")
    skipped: list[str] = []
    used: set[str] = set()
    unpacked = encrypted = 0
    for number, info in enumerate(infos, 1):
        key = member_key(info.filename)
        while key.lower() in used:  # a malformed archive may name a member twice
            key = f"{key} ({number})"
        used.add(key.lower())
        if number > MAX_MEMBERS:
            skipped.append(f"{len(infos) - MAX_MEMBERS} more files: only the first "
                           f"{MAX_MEMBERS} of an archive are read")
            break
        reason = None
        if not loaders.is_supported_name(key):
            reason = "unsupported file type"
        elif info.flag_bits & 0x1:
            reason, encrypted = "encrypted (password protected)", encrypted + 1
        elif info.filename.lower().endswith(".zip") and depth + 1 >= MAX_NESTING:
            reason = f"archives nested more than {MAX_NESTING} deep"
        elif info.file_size > MAX_MEMBER_BYTES:
            reason = f"larger than {MAX_MEMBER_BYTES >> 20} MB unpacked"
        if reason is not None:
            skipped.append(f"{key}: {reason}")
            continue
        progress.report(f"file {number} of {len(infos)} in the archive")
        budget = min(MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - unpacked)
        sizes: list[int] = []
        try:
            doc.parts.append(load_embedded(
                str(path), key,
                lambda f, i=info, b=budget, s=sizes: s.append(_copy(zf, i, f, b)), options))
        except _TooBig:
            skipped.append(f"{key}: unpacks to more than the archive's size limit")
        except LoadError as exc:
            skipped.append(f"{key}: {one_line(str(exc)).replace(';', ',')}")
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
            skipped.append(f"{key}: damaged in the archive ({one_line(str(exc) or 'bad data')})")
        unpacked += sum(sizes)
    if encrypted == len(infos):
        raise LoadError("encrypted ZIP archive (password protected)")
    if skipped:
        doc.metadata["members_skipped"] = "; ".join(skipped)
    doc.metadata["files"] = str(len(infos))
    if not doc.parts:
        if all(s.endswith(": unsupported file type") for s in skipped):
            raise NothingToRead(f"no documents in the archive ({len(infos)} files of other "
                                "types)")
        raise LoadError(f"no readable documents in the archive ({skipped[0]})")
    doc.title = f"{path.name}: {len(doc.parts)} of {len(infos)} files read"
    return doc
