"""7-Zip and RAR archives, and zstd tarballs: read through libarchive like zips.

The 7z archives and zstd tarballs are written here with libarchive's own writer around the
sample corpus. RAR cannot be written by free tools, so the RAR files in tests/data are real RAR
4 and RAR 5 archives from libarchive's test suite (github.com/libarchive/libarchive,
BSD-2-Clause): Unicode member names, a hard link and a symbolic link, and an archive whose last
member is a stored zip. The password-protected 7z files were made with 7-Zip (p7zip 16.02,
password "satchel"): encrypted contents, encrypted names, and one encrypted member beside an
open one.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from engine.indexer import index_paths
from engine.ingest.document import LoadError, display_name
from engine.ingest.loaders import archive, detect_format, load, skip_reason
from engine.ingest.loaders.libarchive_members import MISSING
from engine.retrieve import search
from engine.samples import CORPUS_DIR

DATA = Path(__file__).parent / "data"
DOCS = ("annual_report_2025.pdf", "field_safety_handbook.docx", "data_management.md")


def _pack(path: Path, fmt: str, members: dict[str, bytes], filter_name: str | None = None) -> Path:
    """An archive written by libarchive (format "7zip" or "gnutar"), members in order."""
    import libarchive

    kwargs = {"filter_name": filter_name} if filter_name else {}
    with libarchive.file_writer(str(path), fmt, **kwargs) as writer:
        for name, data in members.items():
            writer.add_file_from_memory(name, len(data), data)
    return path


def _papers() -> dict[str, bytes]:
    members = {f"papers/{doc}": (CORPUS_DIR / doc).read_bytes() for doc in DOCS}
    members["papers/build.o"] = b"\x7fELF" + b"\x00" * 64
    return members


@pytest.mark.parametrize(("name", "fmt", "filter_name", "kind", "loader"), [
    ("papers.7z", "7zip", None, "7z", "7-Zip archive (libarchive)"),
    ("papers.tar.zst", "gnutar", "zstd", "tar", "tar archive, zstd (libarchive)"),
    ("papers.tzst", "gnutar", "zstd", "tar", "tar archive, zstd (libarchive)"),
])
def test_7z_and_zstd_tarballs_are_read_like_zip_archives(tmp_path, name, fmt, filter_name,
                                                        kind, loader):
    path = _pack(tmp_path / name, fmt, _papers(), filter_name)
    assert detect_format(path) == kind
    doc = load(path)
    assert doc.format == kind and doc.loader == loader
    assert [display_name(p.path) for p in doc.parts] == [f"{name} › papers › {d}" for d in DOCS]
    assert len(doc.parts[0].pages) == 5 and doc.parts[0].pages[3].number == 4
    assert doc.metadata["members_skipped"] == "papers › build.o: unsupported file type"
    assert doc.title == f"{name}: 3 of 4 files read"
    copy = archive.extract_part(doc.parts[1].path, tmp_path / "out")
    assert copy is not None and copy.read_bytes() == (CORPUS_DIR / DOCS[1]).read_bytes()


def test_real_rar_4_and_5_archives_with_unicode_names_and_links():
    old = load(DATA / "rar4-unicode.rar")
    assert old.format == "rar" and old.loader == "RAR archive (libarchive)"
    assert [display_name(p.path) for p in old.parts] == [
        "rar4-unicode.rar › 表だよ › 漢字長いファイル名long-filename-in-漢字.txt"]
    assert old.parts[0].pages[0].text == "kanji"
    assert old.metadata["members_skipped"].endswith(
        "新規テキスト ドキュメント.txt: empty file (0 bytes)")
    new = load(DATA / "rar5-links.rar")
    assert [display_name(p.path) for p in new.parts] == ["rar5-links.rar › 𝒻𝒾𝓁𝑒.txt"]
    assert new.parts[0].pages[0].text == "This is from 𝒻𝒾𝓁𝑒.txt"
    assert new.title == "rar5-links.rar: 1 of 1 files read"  # the two links are not files


def test_a_rar_ending_in_a_zip_is_read_as_the_rar_it_is():
    """libarchive left to guess takes this RAR for the zip stored at its end (the zip reader
    finds a central directory there) and never sees the RAR's own last member."""
    doc = load(DATA / "rar5-zip-inside.rar")
    assert [display_name(p.path) for p in doc.parts] == [
        "rar5-zip-inside.rar › payload › inner.zip",
        "rar5-zip-inside.rar › payload › real_after.txt"]
    inner = doc.parts[0]
    assert [display_name(p.path) for p in inner.parts] == [
        "rar5-zip-inside.rar › payload › inner.zip › THIS_IS_INSIDE_THE_ZIP.txt"]
    assert inner.parts[0].pages[0].text == "inner content"


def test_password_protected_7z_archives_fail_or_skip_in_one_line(tmp_path):
    for name in ("7z-encrypted.7z", "7z-encrypted-names.7z"):
        with pytest.raises(LoadError, match=r"^encrypted 7z archive \(password protected\)$"):
            load(DATA / name)
    mixed = load(DATA / "7z-one-encrypted.7z")
    assert [display_name(p.path) for p in mixed.parts] == ["7z-one-encrypted.7z › open.txt"]
    assert mixed.parts[0].pages[0].text == "The picnic is on Saturday at the lake."
    assert mixed.metadata["members_skipped"] == "secret.txt: encrypted (password protected)"
    assert archive.extract_part(f"{DATA / '7z-one-encrypted.7z'}//secret.txt", tmp_path) is None


def test_mislabelled_and_damaged_7z_and_rar(tmp_path):
    (tmp_path / "notes.7z").write_text("just some notes, not an archive\n")
    (tmp_path / "notes.rar").write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    assert skip_reason(tmp_path / "notes.7z") == "not a 7z archive (no 7Z header; mislabelled?)"
    assert skip_reason(tmp_path / "notes.rar") == "not a RAR archive (no RAR header; mislabelled?)"
    whole = _pack(tmp_path / "whole.7z", "7zip", _papers()).read_bytes()
    (tmp_path / "cut.7z").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(LoadError) as info:
        load(tmp_path / "cut.7z")
    message = str(info.value)
    assert message.startswith("corrupt 7z archive: ") and "\n" not in message
    rar = (DATA / "rar4-unicode.rar").read_bytes()
    (tmp_path / "cut.rar").write_bytes(rar[:120])
    with pytest.raises(LoadError, match=r"^corrupt RAR archive: truncated or damaged data$"):
        load(tmp_path / "cut.rar")
    (tmp_path / "short.rar").write_bytes(rar[:400])  # the last member's data is cut
    short = load(tmp_path / "short.rar")
    assert short.metadata["members_skipped"].endswith(
        "the rest of the archive: damaged (truncated or damaged data)")


def test_without_libarchive_the_error_says_what_to_install(tmp_path, monkeypatch):
    path = _pack(tmp_path / "papers.7z", "7zip", _papers())
    monkeypatch.setitem(sys.modules, "libarchive", None)  # import libarchive -> ImportError
    with pytest.raises(LoadError, match=r"^reading 7z and RAR archives needs libarchive "):
        load(path)
    assert "apt install libarchive13" in MISSING


def test_an_indexed_7z_is_searched_and_cited_by_member(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    _pack(folder / "papers.7z", "7zip", _papers())
    shutil.copy(DATA / "rar4-unicode.rar", folder / "old.rar")
    summary = index_paths([folder])
    assert summary.files_indexed == 2 and not summary.files_failed
    report = search("Merrow petrel tracking GPS tags", mode="text", k=1)[0]
    assert display_name(report.path) == "papers.7z › papers › annual_report_2025.pdf"
    assert report.page == 4
    again = index_paths([folder])
    assert again.files_indexed == 0 and again.files_removed == 0
