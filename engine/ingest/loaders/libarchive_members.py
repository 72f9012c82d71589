"""The members of 7-Zip and RAR archives, OneNote packages (cabinets) and zstd tarballs, read
through libarchive.

Why libarchive: people keep documents in .7z and .rar archives as much as in zips (downloads,
forum and e-mail bundles, old backups), and modern tarballs are compressed with zstd; Python's
zipfile and tarfile read none of them. libarchive, the C library ``bsdtar`` is built on, reads
7z (LZMA, LZMA2, PPMd, BCJ), RAR 4 and RAR 5 and tar under every filter, and it streams: one
pass through the archive, a member's bytes copied while it is the current entry, as for a
compressed tarball. It is a Debian package (libarchive13); ``libarchive-c`` binds it through
ctypes, so nothing is compiled. The members it gives are :class:`archive.Member` objects, so
the size limits, nesting depth and skip reasons of :mod:`engine.ingest.loaders.archive` apply
unchanged.

Errors: libarchive-c raises its own ``ArchiveError``; here it becomes :class:`ArchiveDamaged`,
a :class:`ValueError` (one of the errors :mod:`archive` reports as a damaged member or
archive), so the reading loop needs no knowledge of the library. Not an :class:`OSError`: that
would read as a failure to write the member's temporary copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.ingest.document import LoadError

#: What to install when the library is missing (a user's machine without libarchive13).
MISSING = ("reading 7z and RAR archives needs libarchive (Debian/Ubuntu: sudo apt install "
           "libarchive13)")


class ArchiveDamaged(ValueError):
    """libarchive could not read the archive's headers or a member's data (in its words)."""


def _library() -> Any:
    """The ``libarchive`` package, or LoadError with the install hint (it loads the C library
    when imported)."""
    try:
        import libarchive
        import libarchive.ffi
    except (ImportError, OSError, TypeError) as exc:  # TypeError: find_library found nothing
        raise LoadError(MISSING) from exc
    return libarchive


class _EntryStream:
    """The current entry's bytes as a readable file (``read(n)``), for :func:`archive._copy`."""

    def __init__(self, blocks: Iterator[bytes], error: type[Exception]) -> None:
        self._blocks = blocks
        self._error = error  # libarchive's ArchiveError: a damaged or cut member
        self._pending = b""

    def read(self, size: int = -1) -> bytes:
        out = [self._pending]
        have = len(self._pending)
        while size < 0 or have < size:
            try:
                block = next(self._blocks, b"")
            except self._error as exc:
                raise ArchiveDamaged(_message(exc)) from exc
            if not block:
                break
            out.append(block)
            have += len(block)
        data = b"".join(out)
        if size < 0:
            self._pending = b""
            return data
        self._pending = data[size:]
        return data[:size]

    def __enter__(self) -> _EntryStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self._blocks = iter(())


def _message(exc: BaseException) -> str:
    """libarchive's own words ("Truncated RAR file data"), without the pointers it adds."""
    msg = getattr(exc, "msg", None)
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return str(msg) if msg else "truncated or damaged data"


def _is_encrypted(lib: Any, entry: Any) -> bool:
    """Whether the entry's data is encrypted (libarchive >= 3.2 says so from the header)."""
    fn = getattr(lib.ffi.libarchive, "archive_entry_is_data_encrypted", None)
    if fn is None:
        return False
    import ctypes

    fn.argtypes = [ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn(entry._entry_p) == 1


def _reader_format(head: bytes) -> tuple[str, str]:
    """libarchive's (format, filter) for the file, from its first bytes.

    Named, not "all": with every format enabled libarchive lets them bid, and the zip reader,
    which looks for a central directory at the end of the file, wins a RAR whose last member
    is a stored zip; the RAR's own members are then never seen.
    """
    from engine.ingest.loaders.formats import CAB_MAGIC, RAR_MAGIC, SEVEN_Z_MAGIC

    if head.startswith(SEVEN_Z_MAGIC):
        return "7zip", "none"
    if head.startswith(CAB_MAGIC):  # a OneNote package
        return "cab", "none"
    if head.startswith(RAR_MAGIC):
        return ("rar5" if head[6:8] == b"\x01\x00" else "rar"), "none"
    return "tar", "all"  # a compressed tarball (zstd)


@contextlib.contextmanager
def members(path: Path) -> Iterator[Iterator[Any]]:
    """The archive's regular files as :class:`archive.Member`, in archive order.

    Links, folders and devices are not files of their own. A header libarchive cannot read
    (a damaged archive, headers encrypted with a password) raises :class:`ArchiveDamaged`.
    """
    from engine.ingest.loaders.archive import Member

    lib = _library()
    with path.open("rb") as f:
        fmt, filt = _reader_format(f.read(8))
    from libarchive.exception import ArchiveError

    def entries(archive: Any) -> Iterator[Any]:
        it = iter(archive)
        while True:
            try:
                entry = next(it)
            except StopIteration:
                return
            except ArchiveError as exc:
                raise ArchiveDamaged(_message(exc)) from exc
            if entry.isfile and not entry.islnk:  # a hard link: another member's bytes
                yield Member(entry.pathname or "file", entry.size or 0,
                             _is_encrypted(lib, entry),
                             lambda e=entry: _EntryStream(iter(e.get_blocks()), ArchiveError))

    try:
        with lib.file_reader(str(path), format_name=fmt, filter_name=filt) as archive:
            yield entries(archive)
    except ArchiveError as exc:
        raise ArchiveDamaged(_message(exc)) from exc

