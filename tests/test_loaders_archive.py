"""ZIP archives: the documents inside are read, indexed and cited one by one.

Real archives written with zipfile around the real sample corpus files, plus the things real
archives hold besides documents: macOS clutter, programs, archives inside archives, encrypted
and damaged members.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.indexer import index_paths
from engine.ingest.document import LoadError, NothingToRead, display_name
from engine.ingest.loaders import archive, detect_format, load, skip_reason
from engine.retrieve import search
from engine.samples import CORPUS_DIR

DOCS = ("annual_report_2025.pdf", "field_safety_handbook.docx", "data_management.md")


def _zip_bytes(members: dict[str, bytes], *, encrypted: tuple[str, ...] = ()) -> bytes:
    """A zip archive of ``members``; those named in ``encrypted`` carry the flag a
    password-protected member has (zipfile cannot encrypt, so the flag is set in the bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    raw = bytearray(buf.getvalue())
    for signature, flags_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30),
                                                      (b"PK\x01\x02", 8, 28, 46)):
        at = raw.find(signature)
        while at >= 0:
            size = int.from_bytes(raw[at + name_len_at:at + name_len_at + 2], "little")
            if raw[at + name_at:at + name_at + size].decode() in encrypted:
                raw[at + flags_at] |= 0x1
            at = raw.find(signature, at + 4)
    return bytes(raw)


def _bundle(folder: Path) -> Path:
    members = {f"docs/{name}": (CORPUS_DIR / name).read_bytes() for name in DOCS}
    members["__MACOSX/docs/._data_management.md"] = b"\x00\x05\x16\x07 resource fork"
    members["docs/.DS_Store"] = b"\x00\x00\x00\x01Bud1"
    members["setup.exe"] = b"MZ\x90\x00" + b"\x00" * 200
    members["broken.pdf"] = b"%PDF-1.7\n" + b"\x00" * 300
    members["logs.zip"] = _zip_bytes({
        "2025/wildlife_log_2025.txt": (CORPUS_DIR / "wildlife_log_2025.txt").read_bytes()})
    path = folder / "bundle.zip"
    path.write_bytes(_zip_bytes(members))
    return path


def test_an_archive_is_a_container_of_its_documents(tmp_path):
    path = _bundle(tmp_path)
    assert detect_format(path) == "zip"
    doc = load(path)
    assert doc.format == "zip" and doc.pages == []
    assert doc.loader == "ZIP archive (Python zipfile)"
    names = [display_name(p.path) for p in doc.walk()[1:]]
    assert names == ["bundle.zip › docs › annual_report_2025.pdf",
                     "bundle.zip › docs › field_safety_handbook.docx",
                     "bundle.zip › docs › data_management.md",
                     "bundle.zip › logs.zip",
                     "bundle.zip › logs.zip › 2025 › wildlife_log_2025.txt"]
    pdf = doc.parts[0]
    assert pdf.format == "pdf" and len(pdf.pages) == 5  # read as the PDF on disk is
    assert load(CORPUS_DIR / DOCS[0]).pages[3].text == pdf.pages[3].text
    skipped = doc.metadata["members_skipped"].split("; ")
    assert skipped[0] == "setup.exe: unsupported file type"
    assert skipped[1].startswith("broken.pdf: ")
    assert not any("MACOSX" in s or "DS_Store" in s for s in skipped)  # clutter: not listed
    assert doc.metadata["files"] == "6"
    assert doc.title == "bundle.zip: 4 of 6 files read"


def test_archives_nest_two_deep_at_most(tmp_path):
    inner = _zip_bytes({"note.txt": b"The innermost note says the code is 4711."})
    middle = _zip_bytes({"inner.zip": inner, "readme.txt": b"The middle readme."})
    (tmp_path / "outer.zip").write_bytes(_zip_bytes({"middle.zip": middle}))
    doc = load(tmp_path / "outer.zip")
    mid = doc.parts[0]
    assert [display_name(p.path) for p in mid.parts] == ["outer.zip › middle.zip › readme.txt"]
    assert mid.metadata["members_skipped"] == "inner.zip: archives nested more than 2 deep"


def test_encrypted_members_are_listed_and_an_encrypted_archive_fails_in_one_line(tmp_path):
    mixed = tmp_path / "mixed.zip"
    mixed.write_bytes(_zip_bytes({"open.txt": b"Open words.", "secret.txt": b"xxxxxxxx"},
                                 encrypted=("secret.txt",)))
    doc = load(mixed)
    assert [display_name(p.path) for p in doc.parts] == ["mixed.zip › open.txt"]
    assert doc.metadata["members_skipped"] == "secret.txt: encrypted (password protected)"
    locked = tmp_path / "locked.zip"
    locked.write_bytes(_zip_bytes({"a.txt": b"xxxx", "b.txt": b"yyyy"},
                                  encrypted=("a.txt", "b.txt")))
    with pytest.raises(LoadError, match=r"^encrypted ZIP archive \(password protected\)$"):
        load(locked)


def test_size_limits_hold_while_unpacking(tmp_path, monkeypatch):
    big = b"The harbour log. " * 4000  # 68 KB, compresses to almost nothing
    path = tmp_path / "big.zip"
    path.write_bytes(_zip_bytes({"a.txt": big, "b.txt": big, "c.txt": b"Small and fine."}))
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 100_000)
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 100_000)  # room for one of the two
    doc = load(path)
    assert [display_name(p.path) for p in doc.parts] == ["big.zip › a.txt", "big.zip › c.txt"]
    assert doc.metadata["members_skipped"] == (
        "b.txt: unpacks to more than the archive's size limit")
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 10_000)
    assert "a.txt: larger than 0 MB unpacked" in load(path).metadata["members_skipped"]


def test_archives_without_documents_and_broken_archives(tmp_path):
    photos = tmp_path / "programs.zip"
    photos.write_bytes(_zip_bytes({"a.exe": b"MZ\x00", "b.dll": b"MZ\x01"}))
    with pytest.raises(NothingToRead, match=r"^no documents in the ZIP archive \(2 files"):
        load(photos)
    clutter = tmp_path / "clutter.zip"
    clutter.write_bytes(_zip_bytes({"__MACOSX/._x": b"x", ".DS_Store": b"y"}))
    with pytest.raises(NothingToRead, match=r"^empty archive \(no files\)$"):
        load(clutter)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(_bundle(tmp_path).read_bytes()[:5000])
    with pytest.raises(LoadError) as info:
        load(cut)
    assert "\n" not in str(info.value) and str(info.value).startswith("corrupt ZIP archive")
    (tmp_path / "fake.zip").write_text("just some words")
    assert detect_format(tmp_path / "fake.zip") is None
    assert skip_reason(tmp_path / "fake.zip") == "not a ZIP archive (no zip header; mislabelled?)"


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                        max_size=40), min_size=1, max_size=6))
def test_member_keys_are_safe_file_names_that_keep_the_file_name(parts):
    name = "/".join(parts) + ".txt"
    key = archive.member_key(name)
    assert "/" not in key and "\\" not in key and "\x00" not in key
    assert len(key) <= 240
    assert key.endswith(".txt")


def test_an_indexed_archive_is_searched_and_cited_by_member(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    _bundle(folder)
    summary = index_paths([folder])
    # the members not read are reported as files on disk are, by the path they would be cited by
    bundle = folder / "bundle.zip"
    assert summary.files_indexed == 1
    assert summary.files_failed == [{"path": f"{bundle}//broken.pdf", "reason": (
        "truncated PDF (end-of-file marker missing; incomplete download?)")}]
    assert summary.files_skipped == [{"path": f"{bundle}//setup.exe",
                                      "reason": "unsupported file type"}]
    hit = search("Kept by ranger Zoë Achterberg", mode="text", k=1)[0]
    assert display_name(hit.path) == "bundle.zip › logs.zip › 2025 › wildlife_log_2025.txt"
    report = search("Merrow petrel tracking GPS tags", mode="text", k=1)[0]
    assert display_name(report.path) == "bundle.zip › docs › annual_report_2025.pdf"
    assert report.page == 4
    again = index_paths([folder])
    assert again.files_indexed == 0 and again.files_removed == 0 and not again.files_failed
    (folder / "bundle.zip").unlink()
    assert index_paths([folder]).files_removed == 1
    assert not search("Kept by ranger Zoë Achterberg", mode="text", k=3)


def test_the_index_report_names_members_not_read_inside_their_archive(tmp_path, capsys):
    from cli.app import run

    folder = tmp_path / "docs"
    folder.mkdir()
    bundle = _bundle(folder)
    assert run(["index", str(folder), "--collection", "bundle"]) == 0
    out = capsys.readouterr().out
    assert f"  failed: {bundle} › broken.pdf: truncated PDF" in out
    assert f"  skipped 1 file (unsupported file type), e.g. {bundle} › setup.exe" in out
    assert "1 indexed, 0 unchanged, 0 removed, 1 failed, 1 skipped" in out


def _tar(path: Path, members: dict[str, bytes], mode: str, *, link: str | None = None) -> Path:
    import tarfile

    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type, info.linkname = tarfile.SYMTYPE, next(iter(members))
            tf.addfile(info)
    return path


@pytest.mark.parametrize(("name", "mode"), [("papers.tar", "w"), ("papers.tar.gz", "w:gz"),
                                            ("papers.tgz", "w:gz"), ("papers.tar.bz2", "w:bz2"),
                                            ("papers.tar.xz", "w:xz")])
def test_tarballs_are_read_like_zip_archives(tmp_path, name, mode):
    members = {f"papers/{doc}": (CORPUS_DIR / doc).read_bytes() for doc in DOCS}
    members["papers/._data_management.md"] = b"\x00\x05\x16\x07 AppleDouble"
    members["papers/build.o"] = b"\x7fELF" + b"\x00" * 64
    path = _tar(tmp_path / name, members, mode, link="papers/latest.pdf")
    assert detect_format(path) == "tar"
    doc = load(path)
    assert doc.format == "tar" and doc.loader == "tar archive (Python tarfile)"
    assert [display_name(p.path) for p in doc.parts] == [
        f"{name} › papers › {d}" for d in DOCS]
    assert len(doc.parts[0].pages) == 5
    assert doc.metadata["members_skipped"] == "papers › build.o: unsupported file type"
    assert doc.title == f"{name}: 3 of 4 files read"  # the link is not a file of its own


def test_a_pre_posix_tar_without_the_ustar_magic_is_read(tmp_path):
    """A V7 tar (old Unix tar, some embedded tools; the mimetype project's tar.v7.tar) has no
    "ustar" magic: its headers are told by their checksum. Random bytes named .tar are not."""
    import tarfile

    ustar = _tar(tmp_path / "u.tar", {"notes.md": (CORPUS_DIR / "data_management.md").read_bytes()},
                 "w")
    data = bytearray(ustar.read_bytes())
    data[257:512] = bytes(255)  # a V7 header ends at the link name
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:512])
    v7 = tmp_path / "old.tar"
    v7.write_bytes(bytes(data))
    with tarfile.open(v7) as archive:
        assert archive.getnames() == ["notes.md"]
    assert detect_format(v7) == "tar"
    assert [display_name(p.path) for p in load(v7).parts] == ["old.tar › notes.md"]
    (tmp_path / "noise.tar").write_bytes(bytes(range(1, 256)) * 8)
    assert skip_reason(tmp_path / "noise.tar") == (
        "not a tar archive (no tar or compression header; mislabelled?)")


def test_a_damaged_tarball_keeps_what_was_read_before_the_damage(tmp_path):
    import gzip

    first = (CORPUS_DIR / "data_management.md").read_bytes()
    noise = bytes(range(256)) * 400  # does not compress: the damage lands in the second file
    whole = _tar(tmp_path / "whole.tar", {"a.md": first, "b.txt": noise}, "w").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(gzip.compress(whole)[: len(gzip.compress(whole)) * 2 // 3])
    doc = load(cut)
    assert [display_name(p.path) for p in doc.parts] == ["cut.tar.gz › a.md"]
    assert "damaged" in doc.metadata["members_skipped"]
    (tmp_path / "notes.tar.gz").write_text("not compressed at all")
    assert skip_reason(tmp_path / "notes.tar.gz") == (
        "not a tar archive (no tar or compression header; mislabelled?)")
    (tmp_path / "junk.tar").write_bytes(b"\x1f\x8b" + b"\x00" * 100)
    with pytest.raises(LoadError) as info:
        load(tmp_path / "junk.tar")
    assert str(info.value).startswith("corrupt tar archive") and "\n" not in str(info.value)


def test_one_compressed_file_is_read_as_the_file_inside(tmp_path):
    import bz2
    import gzip
    import lzma

    notes = (CORPUS_DIR / "data_management.md").read_bytes()
    (tmp_path / "guide.md.gz").write_bytes(gzip.compress(notes))
    (tmp_path / "guide.md.bz2").write_bytes(bz2.compress(notes))
    (tmp_path / "buoys.csv.xz").write_bytes(lzma.compress(
        (CORPUS_DIR / "buoy_deployments.csv").read_bytes()))
    plain = load(CORPUS_DIR / "data_management.md")
    for name in ("guide.md.gz", "guide.md.bz2"):
        assert detect_format(tmp_path / name) == "compressed"
        doc = load(tmp_path / name)
        assert [display_name(p.path) for p in doc.parts] == [f"{name} › guide.md"]
        assert doc.parts[0].format == "markdown" and doc.title == plain.title
        assert doc.parts[0].pages[0].text == plain.pages[0].text
    assert load(tmp_path / "buoys.csv.xz").parts[0].format == "csv"
    (tmp_path / "ChangeLog.gz").write_bytes(gzip.compress(b"2024-03-01 Ada: fix the tide table."))
    assert "fix the tide table" in load(tmp_path / "ChangeLog.gz").parts[0].pages[0].text
    # a compressed program is not a document: not even opened
    (tmp_path / "setup.exe.gz").write_bytes(gzip.compress(b"MZ\x90\x00"))
    assert skip_reason(tmp_path / "setup.exe.gz") == "unsupported file type '.gz'"
    # a man page's name says nothing: it is opened, seen to be troff, and skipped, not failed
    (tmp_path / "ls.1.gz").write_bytes(gzip.compress(b".TH LS 1"))
    with pytest.raises(NothingToRead, match=r"^ls\.1: unsupported file type \(\.1: a manual"):
        load(tmp_path / "ls.1.gz")
    (tmp_path / "fake.txt.gz").write_text("not compressed")
    assert skip_reason(tmp_path / "fake.txt.gz") == (
        "not a gz-compressed file (no gz header; mislabelled?)")
    words = " ".join(f"w{i * 7919 % 100003}" for i in range(20000)).encode()
    (tmp_path / "cut.txt.gz").write_bytes(gzip.compress(words)[:20000])  # cut in the middle
    with pytest.raises(LoadError, match=r"^no readable documents in the compressed file "
                                        r"\(cut.txt: damaged in the compressed file"):
        load(tmp_path / "cut.txt.gz")


def test_a_cited_member_is_copied_out_to_be_opened_at_its_page(tmp_path):
    import gzip

    bundle = _bundle(tmp_path)
    tarball = _tar(tmp_path / "papers.tar.gz", {
        f"papers/{DOCS[0]}": (CORPUS_DIR / DOCS[0]).read_bytes()}, "w:gz")
    (tmp_path / "guide.md.gz").write_bytes(gzip.compress(b"# Guide\n\nKeep the logs."))
    for part, name in ((f"{bundle}//docs › {DOCS[0]}", DOCS[0]),
                       (f"{tarball}//papers › {DOCS[0]}", DOCS[0]),
                       (f"{tmp_path / 'guide.md.gz'}//guide.md", "guide.md")):
        copy = archive.extract_part(part, tmp_path / "out" / name)
        assert copy is not None and copy.name == name
    pdf = tmp_path / "out" / DOCS[0] / DOCS[0]
    assert pdf.read_bytes() == (CORPUS_DIR / DOCS[0]).read_bytes()
    # not a member of an archive on disk: the caller opens the holder instead
    for part in (str(bundle), f"{bundle}//logs.zip//2025 › wildlife_log_2025.txt",
                 f"{bundle}//docs › missing.pdf", f"{tmp_path / 'inbox.mbox'}//3",
                 f"{tmp_path / 'gone.zip'}//a.pdf"):
        assert archive.extract_part(part, tmp_path / "none") is None, part

