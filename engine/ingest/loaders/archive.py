"""Archives (ZIP, tar, 7z, RAR): every document inside is indexed and cited on its own.

People keep documents zipped: a downloaded bundle of papers, a project handed over, an export of
a shared drive, an old folder packed away (as .zip, .7z or .rar, or as a tarball: .tar,
.tar.gz, .tgz, .tar.bz2, .tar.xz, .tar.zst). 7z, RAR and zstd tarballs are read through
libarchive (:mod:`engine.ingest.loaders.libarchive_members`). An archive becomes a container
Document (like an mbox) whose parts are its readable members, each read by the ordinary loaders
(:mod:`engine.ingest.loaders.embedded`) and cited as "bundle.zip › reports › q1.pdf p. 3".

What is not read, and why, is listed in ``metadata["members_skipped"]``: unsupported types,
encrypted members, files a loader refuses. Archives are where zip bombs live, so sizes are
checked while the bytes are copied (a member's declared size can lie), members past
:data:`MAX_MEMBERS` are left out, and an archive inside an archive is opened only
:data:`MAX_NESTING` deep. Folders of system clutter (``__MACOSX``, ``.DS_Store``) are passed over
silently: they are not the user's files.
"""

from __future__ import annotations

import bz2
import contextlib
import contextvars
import gzip
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from engine.ingest import loaders, progress
from engine.ingest.document import Document, LoadError, LoadOptions, NothingToRead, Unread
from engine.ingest.loaders.common import library_errors, one_line
from engine.ingest.loaders.embedded import load_embedded, safe_name
from engine.ingest.loaders.formats import ARCHIVE_FORMATS, ZSTD_MAGIC, format_for_name, is_clutter

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
class _TooBig(Exception):
    """A member unpacked past its byte budget (its declared size lied, or the archive's total
    ran out)."""


def member_key(name: str) -> str:
    """The part key of member ``name`` ("docs/2024/q1.pdf" -> "docs › 2024 › q1.pdf")."""
    parts = [safe_name(p, 80) for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    key = FOLDER_MARK.join(parts) or "file"
    while len(key) > 200 and len(parts) > 1:  # keep the file name, drop the outer folders
        parts = parts[1:]
        key = "…" + FOLDER_MARK + FOLDER_MARK.join(parts)
    return key


def in_clutter(name: str) -> bool:
    """Whether a member's path is, or is inside, program clutter or a hidden folder."""
    return any(is_clutter(p) for p in name.replace("\\", "/").split("/") if p)


@dataclass
class Member:
    """One file of an archive, as the reading loop needs it whatever the archive's kind."""

    name: str  # its path in the archive ("docs/2024/q1.pdf")
    size: int  # uncompressed size as the archive declares it
    encrypted: bool
    open: Callable[[], IO[bytes]]


def _copy(member: Member, dest: Path, budget: int) -> int:
    """Unpack ``member`` to ``dest``, at most ``budget`` bytes (raises _TooBig past it): a
    member's declared size can lie."""
    written = 0
    with member.open() as src, dest.open("wb") as out:
        while block := src.read(1 << 20):
            written += len(block)
            if written > budget:
                raise _TooBig
            out.write(block)
    return written


def _zip_members(zf: zipfile.ZipFile) -> Iterator[Member]:
    for info in zf.infolist():
        if not info.is_dir():
            yield Member(info.filename, info.file_size, bool(info.flag_bits & 0x1),
                         lambda i=info: zf.open(i))


def _tar_members(tf: tarfile.TarFile) -> Iterator[Member]:
    """Regular files in archive order (a compressed tarball is read front to back once);
    links, devices and folders are not files of their own."""
    for info in tf:
        if info.isfile():
            yield Member(info.name, info.size, False,
                         lambda i=info: tf.extractfile(i))  # type: ignore[arg-type, return-value]


@contextlib.contextmanager
def _one_level_deeper() -> Iterator[int]:
    """The nesting depth of the archive being opened; archives opened inside it are deeper."""
    depth = _depth.get()
    token = _depth.set(depth + 1)
    try:
        yield depth
    finally:
        _depth.reset(token)


def load_zip(path: Path, options: LoadOptions) -> Document:
    """A .zip file -> a container Document (no pages) whose parts are its readable members."""
    with _one_level_deeper() as depth:
        with library_errors("ZIP archive"):
            zf = zipfile.ZipFile(path)
        with zf:
            return _read_members(path, "zip", _zip_members(zf), options, depth)


def load_tar(path: Path, options: LoadOptions) -> Document:
    """A tarball (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz) -> a container Document, read as a
    stream (``r|*``): one pass through the compressed data, whatever its size. A zstd tarball
    (.tar.zst), which tarfile cannot decompress, is read by libarchive."""
    if _is_zstd(path):
        return load_libarchive(path, options, "tar")
    with _one_level_deeper() as depth:
        with library_errors("tar archive"):
            tf = tarfile.open(path, "r|*")  # noqa: SIM115 - closed by the with below
        with tf:
            return _read_members(path, "tar", _tar_members(tf), options, depth)


def load_7z(path: Path, options: LoadOptions) -> Document:
    """A 7-Zip archive -> a container Document (libarchive)."""
    return load_libarchive(path, options, "7z")


def load_rar(path: Path, options: LoadOptions) -> Document:
    """A RAR archive (RAR 4 or 5) -> a container Document (libarchive)."""
    return load_libarchive(path, options, "rar")


def load_onepkg(path: Path, options: LoadOptions) -> Document:
    """A OneNote package (a notebook exported as one file: a cabinet of its sections) -> a
    container Document whose parts are the sections (libarchive reads cabinets)."""
    return load_libarchive(path, options, "onepkg")


def load_libarchive(path: Path, options: LoadOptions, fmt: str) -> Document:
    from engine.ingest.loaders.libarchive_members import ArchiveDamaged, members

    with _one_level_deeper() as depth:
        try:
            with members(path) as found:
                doc = _read_members(path, fmt, found, options, depth)
        except ArchiveDamaged as exc:  # the archive's headers: unreadable before any member
            raise LoadError(_unreadable(fmt, str(exc))) from exc
    if fmt == "tar":
        doc.loader = "tar archive, zstd (libarchive)"
    return doc


def _unreadable(fmt: str, why: str) -> str:
    """The one-line error for an archive none of whose members could be listed."""
    if _says_encrypted(why):  # 7-Zip and RAR can encrypt the list of files itself
        return f"encrypted {_WHAT[fmt]} (password protected)"
    return f"corrupt {_WHAT[fmt]}: {one_line(why or 'unreadable')}"


def _says_encrypted(why: str) -> bool:
    """libarchive's words for data it cannot read without the password."""
    return any(word in why.lower() for word in ("encrypt", "passphrase", "password"))


def _is_zstd(path: Path) -> bool:
    with contextlib.suppress(OSError), path.open("rb") as f:
        return f.read(4) == ZSTD_MAGIC
    return False


def _compressed_member(path: Path) -> Member:
    """The one file inside a compressed file ("notes.txt" of "notes.txt.gz")."""
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[path.suffix.lower()]
    return Member(path.name[: -len(path.suffix)], 0, False,
                  lambda: opener(path, "rb"))  # type: ignore[operator]


def load_compressed(path: Path, options: LoadOptions) -> Document:
    """One compressed file ("notes.txt.gz") -> a container of the file inside, read by its
    own loader and cited as "notes.txt.gz › notes.txt"."""
    with _one_level_deeper() as depth:
        doc = _read_members(path, "compressed", iter([_compressed_member(path)]), options,
                            depth)
    doc.title = doc.parts[0].title or doc.parts[0].path
    return doc


#: What a damaged member raises while it is unpacked, by zipfile, tarfile or the decompressors.
_DAMAGED = (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError,
            ValueError, NotImplementedError, OSError)
#: What each kind of container is called in messages.
_WHAT = {"zip": "ZIP archive", "tar": "tar archive", "compressed": "compressed file",
         "7z": "7z archive", "rar": "RAR archive", "onepkg": "OneNote package"}


def _skip_reason(member: Member, key: str, depth: int) -> str | None:
    if not loaders.is_supported_name(key):
        return loaders.UNSUPPORTED
    if member.encrypted:
        return "encrypted (password protected)"
    if format_for_name(Path(key))[0] in ARCHIVE_FORMATS and depth + 1 >= MAX_NESTING:
        return f"archives nested more than {MAX_NESTING} deep"
    if member.size > MAX_MEMBER_BYTES:
        return f"larger than {MAX_MEMBER_BYTES >> 20} MB unpacked"
    return None


def _read_members(path: Path, fmt: str, members: Iterator[Member], options: LoadOptions,
                  depth: int) -> Document:
    what = _WHAT[fmt]
    doc = Document(path=str(path), format=fmt)
    skipped: list[str] = []

    def skip(key: str, reason: str, quiet: bool = False) -> None:
        """Record a member not read; ``quiet``: it holds no document at all."""
        skipped.append(f"{key}: {one_line(reason).replace(';', ',')}")
        doc.unread.append(Unread(key, one_line(reason), quiet))

    used: set[str] = set()
    files = unpacked = encrypted = 0
    last_encrypted = False
    try:
        for member in members:
            if in_clutter(member.name):
                continue
            files += 1
            if files > MAX_MEMBERS:
                continue  # counted, not read
            key = member_key(member.name)
            while key.lower() in used:  # a malformed archive may name a member twice
                key = f"{key} ({files})"
            used.add(key.lower())
            reason = _skip_reason(member, key, depth)
            encrypted += member.encrypted
            last_encrypted = member.encrypted
            if reason is not None:
                skip(key, reason, reason == loaders.UNSUPPORTED)
                continue
            progress.report(f"file {files} in the archive")
            budget = min(MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - unpacked)
            sizes: list[int] = []
            try:
                doc.parts.append(load_embedded(
                    str(path), key,
                    lambda f, m=member, b=budget, s=sizes: s.append(_copy(m, f, b)), options))
            except _TooBig:
                skip(key, "unpacks to more than the archive's size limit")
            except LoadError as exc:
                skip(key, str(exc), isinstance(exc, NothingToRead))
            except _DAMAGED as exc:
                skip(key, f"damaged in the {what} ({one_line(str(exc) or type(exc).__name__)})")
            unpacked += sum(sizes)
    except _DAMAGED as exc:  # the archive's own structure, past the members read so far
        why = str(exc) or type(exc).__name__
        if not files:
            raise LoadError(_unreadable(fmt, why)) from exc
        if not _says_encrypted(why):
            skip("the rest of the archive", f"damaged ({one_line(why)})")
        elif not last_encrypted:  # (7-Zip cannot step over an encrypted member it skipped)
            skip("the rest of the archive", "encrypted (password protected)")
    if not files:
        raise NothingToRead("empty archive (no files)")
    if files > MAX_MEMBERS:
        skip(f"{files - MAX_MEMBERS} more files", f"only the first {MAX_MEMBERS} of an archive "
             "are read")
    if encrypted == files:
        raise LoadError(f"encrypted {what} (password protected)")
    if skipped:
        doc.metadata["members_skipped"] = "; ".join(skipped)
    doc.metadata["files"] = str(files)
    if not doc.parts:
        # members skipped as no document at all (a program, a split manual's table)
        quiet = sum(u.skipped for u in doc.unread)
        if quiet == len(skipped) and fmt == "compressed":
            raise NothingToRead(skipped[0])  # "ls.1: unsupported file type (...)"
        if quiet == len(skipped):
            raise NothingToRead(f"no documents in the {what} ({files} files of other types)")
        raise LoadError(f"no readable documents in the {what} ({skipped[0]})")
    doc.title = f"{path.name}: {len(doc.parts)} of {files} files read"
    return doc


def extract_part(path: str, folder: Path) -> Path | None:
    """A copy of the archive member ``path`` ("/docs/backup.zip//reports › q1.pdf") in
    ``folder``, to open it where it was cited (a PDF at its page) rather than the archive;
    None when ``path`` is not a member of an archive or a compressed file that is still
    there (a mail attachment, an archive inside an archive: the caller opens the holder).
    """
    from engine.ingest.document import PART_SEPARATOR, container_of

    holder = container_of(path)
    key = path[len(holder) + len(PART_SEPARATOR):]
    fmt = format_for_name(Path(holder))[0]
    if holder == path or PART_SEPARATOR in key or fmt not in ARCHIVE_FORMATS or not Path(
            holder).is_file():
        return None
    dest = folder / safe_name(key.split(FOLDER_MARK)[-1])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if fmt == "compressed":
            _copy(_compressed_member(Path(holder)), dest, MAX_MEMBER_BYTES)
            return dest
        with _members_of(Path(holder), fmt) as members:
            for member in members:
                if member_key(member.name) == key and not member.encrypted:
                    _copy(member, dest, MAX_MEMBER_BYTES)
                    return dest
    except (*_DAMAGED, _TooBig, LoadError):
        return None
    return None


@contextlib.contextmanager
def _members_of(path: Path, fmt: str) -> Iterator[Iterator[Member]]:
    """The members of a zip, tarball, 7z or RAR archive or OneNote package, opened for one
    pass."""
    if fmt in ("7z", "rar", "onepkg") or (fmt == "tar" and _is_zstd(path)):
        from engine.ingest.loaders.libarchive_members import members

        with members(path) as found:
            yield found
    elif fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            yield _zip_members(zf)
    else:
        with tarfile.open(path, "r|*") as tf:
            yield _tar_members(tf)
