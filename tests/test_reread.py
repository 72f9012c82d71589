"""Files read by an older revision of a reader are read again; unchanged chunks keep their vectors.

Real indexing runs (isolated parser process, the real embedder, LanceDB). A "newer reader" is a
bumped revision in :data:`engine.ingest.revisions.READER_REVISIONS`; an index written before
revisions existed is one whose documents table lacks the ``reader`` column.
"""

from __future__ import annotations

import mailbox
import shutil
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import index
from engine.embed import Embedder
from engine.indexer import index_paths
from engine.ingest import revisions
from engine.ingest.loaders.formats import CONVERTED_TO
from engine.ingest.revisions import formats_in, is_current, reading_tag
from engine.retrieve import search
from engine.settings import Settings
from tests.helpers_corpus import copy_corpus, write_text_files


def vectors(collection: str = "default") -> dict[str, np.ndarray]:
    rows = index.Collection.open(collection).chunks.to_arrow().select(
        ["chunk_id", "vector"]).to_pylist()
    return {r["chunk_id"]: np.asarray(r["vector"], np.float32) for r in rows}


@pytest.fixture
def embedded(monkeypatch) -> list[str]:
    """Every text the embedder is asked to encode during the test (documents, not queries)."""
    seen: list[str] = []
    original = Embedder.encode

    def spy(self, texts, *args, **kwargs):
        seen.extend(texts)
        return original(self, texts, *args, **kwargs)

    monkeypatch.setattr(Embedder, "encode", spy)
    return seen


def test_a_newer_reader_reads_its_files_again_and_embeds_nothing_unchanged(
        tmp_path, monkeypatch, embedded):
    corpus = copy_corpus(tmp_path / "corpus")
    first = index_paths([corpus])
    docs = index.Collection.open("default").documents()
    markdown = {p for p, d in docs.items() if d.format == "markdown"}
    assert markdown and all(is_current(d.reader) for d in docs.values())
    before = vectors()
    embedded.clear()

    monkeypatch.setitem(revisions.READER_REVISIONS, "markdown",
                        revisions.READER_REVISIONS["markdown"] + 1)
    again = index_paths([corpus])
    assert again.files_reread == again.files_indexed == len(markdown)
    assert again.files_unchanged == first.files_indexed - len(markdown)
    assert again.chunks_reused == again.chunks == sum(docs[p].chunks for p in markdown)
    assert embedded == []  # the reader's output did not change: every vector was kept
    assert vectors().keys() == before.keys()
    assert all(np.array_equal(vectors()[k], before[k]) for k in before)
    docs = index.Collection.open("default").documents()
    assert all(is_current(d.reader) for d in docs.values())

    third = index_paths([corpus])  # read by today's readers now: nothing to do
    assert (third.files_indexed, third.files_reread) == (0, 0)


def test_an_index_from_before_reader_revisions_is_read_again_once(tmp_path, embedded):
    folder = tmp_path / "notes"
    write_text_files(folder, 3, 200)
    index_paths([folder])
    before = vectors()
    coll = index.Collection.open("default")
    coll.docs.drop_columns(["reader"])  # the documents table an older Satchel wrote
    assert index.Collection.open("default").documents()[str(folder / "note_0000.md")].reader == ""
    assert len(index.Collection.open("default").outdated_files()) == 3
    embedded.clear()

    again = index_paths([folder])
    assert (again.files_reread, again.files_unchanged) == (3, 0)
    assert embedded == [] and vectors().keys() == before.keys()
    assert (index_paths([folder]).files_unchanged, index_paths([folder]).files_reread) == (3, 0)
    assert index.Collection.open("default").outdated_files() == []


def test_editing_one_paragraph_embeds_only_the_chunks_that_changed(tmp_path, embedded):
    folder = tmp_path / "long"
    [doc] = write_text_files(folder, 1, 3000)
    first = index_paths([folder])
    assert first.chunks >= 8
    before = index.Collection.open("default").chunks.to_arrow().select(
        ["text", "vector"]).to_pylist()
    embedded.clear()

    text = doc.read_text()
    doc.write_text(text.replace("Reference code NX-0000-Q.", "Reference code NX-0000-Q, "
                                "amended: the harbour ledger moved to cobalt shelf 7."))
    again = index_paths([folder])
    assert again.files_indexed == 1 and again.files_reread == 0  # an edit, not a new reader
    assert embedded and len(embedded) <= 2 and any("cobalt shelf 7" in t for t in embedded)
    assert again.chunks_reused == again.chunks - len(embedded)
    after = {r["text"]: r["vector"] for r in index.Collection.open("default").chunks.to_arrow()
             .select(["text", "vector"]).to_pylist()}
    kept = [r for r in before if r["text"] in after]
    assert len(kept) >= first.chunks - 2
    assert all(after[r["text"]] == r["vector"] for r in kept)


def test_copies_of_a_file_are_embedded_once(tmp_path, embedded):
    """A copy on disk, a copy in a zipped backup and a copy indexed later: each text is
    embedded once, and every copy is found with the same vector."""
    import zipfile

    folder = tmp_path / "docs"
    [doc] = write_text_files(folder, 1, 1200)
    shutil.copyfile(doc, folder / f"{doc.stem} (1).md")
    with zipfile.ZipFile(folder / "backup.zip", "w") as zf:
        zf.write(doc, f"old/{doc.name}")
    first = index_paths([folder])
    texts = {r["text"] for r in index.Collection.open("default").chunks.to_arrow()
             .select(["text"]).to_pylist()}
    assert first.files_indexed == 3 and first.chunks == 3 * len(texts)
    assert sorted(embedded) == sorted(texts)  # once each, not three times
    assert first.chunks_reused == first.chunks - len(texts)
    embedded.clear()

    later = tmp_path / "later"
    later.mkdir()
    shutil.copyfile(doc, later / "forwarded.md")
    second = index_paths([later])
    assert embedded == [] and second.chunks_reused == second.chunks == len(texts)
    by_text: dict[str, set[bytes]] = {}
    for row in index.Collection.open("default").chunks.to_arrow().select(
            ["text", "vector"]).to_pylist():
        by_text.setdefault(row["text"], set()).add(np.asarray(row["vector"]).tobytes())
    assert all(len(v) == 1 for v in by_text.values())
    hit = search("harbour ledger", mode="text", k=10)
    assert {h.path for h in hit} <= {str(folder / doc.name), str(later / "forwarded.md"),
                                     str(folder / f"{doc.stem} (1).md"),
                                     f"{folder / 'backup.zip'}//old › {doc.name}"}


def test_a_newer_reader_that_fails_keeps_the_earlier_text(tmp_path, monkeypatch):
    folder = tmp_path / "notes"
    files = write_text_files(folder, 2, 400)
    index_paths([folder])
    chunks = index.Collection.open("default").count_chunks()
    monkeypatch.setitem(revisions.READER_REVISIONS, "markdown",
                        revisions.READER_REVISIONS["markdown"] + 1)

    again = index_paths([folder], settings=Settings(parse_timeout_s=0.0001))
    reasons = {Path(f["path"]).name: f["reason"] for f in again.files_failed}
    assert set(reasons) == {p.name for p in files}
    assert all("time limit" in r and "earlier version is kept" in r for r in reasons.values())
    coll = index.Collection.open("default")
    assert coll.count_chunks() == chunks  # nothing lost to the failure
    docs = coll.documents()
    assert all(docs[str(p)].status == "ok" and is_current(docs[str(p)].reader) for p in files)
    assert index_paths([folder]).files_unchanged == 2  # not failed again at every run


def test_a_mailbox_is_read_again_with_its_messages(tmp_path, monkeypatch, embedded):
    box_path = tmp_path / "mail" / "archive.mbox"
    box_path.parent.mkdir()
    box = mailbox.mbox(str(box_path))
    for i, topic in enumerate(["ferry timetable", "glacier survey", "turbine repair"]):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "ops@example.org", "crew@example.org", topic
        msg["Date"] = f"Mon, 0{i + 1} Sep 2025 09:00:00 +0000"
        msg.set_content(f"The {topic} is planned for week {30 + i}. " * 20)
        box.add(msg)
    box.flush()
    index_paths([box_path.parent])
    docs = index.Collection.open("default").documents()
    assert {d.format for d in docs.values()} == {"mbox", "eml"}
    assert len({d.reader for d in docs.values()}) == 1
    assert formats_in(docs[str(box_path)].reader) == ["chunks", "eml", "mbox"]
    before = vectors()
    embedded.clear()

    monkeypatch.setitem(revisions.READER_REVISIONS, "eml", revisions.READER_REVISIONS["eml"] + 1)
    again = index_paths([box_path.parent])
    assert again.files_reread == 1 and embedded == []
    assert vectors().keys() == before.keys()
    assert set(index.Collection.open("default").documents()) == set(docs)


def test_reading_tags():
    assert reading_tag(["pdf"]) == (f"chunks/{revisions.CHUNKER_REVISION} "
                                    f"pdf/{revisions.READER_REVISIONS['pdf']}")
    assert reading_tag(["mbox", "eml", "eml"]) == reading_tag(["eml", "mbox"])
    for stale in ("", "pdf", "pdf/x", "chunks/1 pdf/1 /2", "chunks/0 pdf/1", "chunks/1 pdf/0"):
        assert not is_current(stale), stale
    assert formats_in("chunks/1 pdf/x") is None
    doc = reading_tag(["doc"])  # read through its DOCX conversion: the DOCX reader counts
    assert formats_in(doc) == ["chunks", "doc", "docx"] and is_current(doc)
    saved = revisions.READER_REVISIONS["docx"]
    revisions.READER_REVISIONS["docx"] = saved + 1
    try:
        assert not is_current(doc)
    finally:
        revisions.READER_REVISIONS["docx"] = saved
    scans = reading_tag(["pdf"], ocr_off=True)
    assert is_current(scans) and not is_current(scans, ocr=True)
    assert is_current(reading_tag(["pdf"]), ocr=True)
    assert not is_current(f"ocr-off {reading_tag(['pdf'])}")  # the mark comes last


@given(st.sets(st.sampled_from(sorted(revisions.READER_REVISIONS)), max_size=4),
       st.sampled_from(sorted(revisions.READER_REVISIONS)))
def test_a_tag_is_current_until_one_of_its_readers_changes(formats, bumped):
    tag = reading_tag(formats)
    readers = {*formats, *(CONVERTED_TO[f] for f in formats if f in CONVERTED_TO),
               *(r for f in formats for r in revisions.READ_THROUGH.get(f, ()))}
    assert is_current(tag) and set(formats_in(tag) or []) == {*readers, "chunks"}
    saved = revisions.READER_REVISIONS[bumped]
    revisions.READER_REVISIONS[bumped] = saved + 1
    try:
        assert is_current(tag) == (bumped not in readers)
    finally:
        revisions.READER_REVISIONS[bumped] = saved


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract-ocr")
def test_scans_left_unread_while_ocr_was_off_are_read_once_it_is_on(tmp_path):
    from tests.test_formats_e2e import OCR_SENTENCE, _scanned_pdf

    folder = tmp_path / "scans"
    folder.mkdir()
    _scanned_pdf(folder)  # night_log.pdf: a typed page and a scanned one; a PNG of the scan
    off = index_paths([folder], settings=Settings(ocr=False))
    failed = {Path(f["path"]).name for f in off.files_failed}
    assert failed == {"photo_of_page.png"} and off.files_indexed == 1
    docs = index.Collection.open("default").documents()
    log = str(folder / "night_log.pdf")
    assert docs[log].reader.endswith("ocr-off") and is_current(docs[log].reader)
    assert index.Collection.open("default").outdated_files(ocr=True) == [log]
    assert index_paths([folder], settings=Settings(ocr=False)).files_indexed == 0

    on = index_paths([folder], settings=Settings(ocr=True))  # no --retry-failed needed
    assert on.files_indexed == 2 and on.files_reread == 1 and not on.files_failed
    assert on.chunks_reused >= 1  # the typed page's chunk kept its vector
    hits = search(OCR_SENTENCE, mode="text", k=1, paths=[log])
    assert hits and hits[0].page == 2
    assert index_paths([folder], settings=Settings(ocr=True)).files_indexed == 0
