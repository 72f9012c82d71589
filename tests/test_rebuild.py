"""A settings change rebuilds a collection from every source it has, without emptying it.

Real embedder, real LanceDB. The collection records its sources; a run with a new chunk size
re-embeds all of them into a pending generation while the current one keeps answering, swaps
atomically when complete, and resumes when cancelled or killed.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine import index
from engine.indexer import index_paths, reindex_inputs
from engine.jobs import Job
from engine.retrieve import search
from engine.settings import Settings
from tests.helpers_corpus import index_and_kill_mid_run, write_text_files
from tests.test_indexing import chunk_rows, doc_rows

ROOT = Path(__file__).resolve().parents[1]
SMALLER = Settings(chunk_tokens=96, chunk_overlap=16)


def found(code: str) -> str | None:
    hits = search(code, mode="text", k=1)
    return hits[0].path if hits else None


def test_new_chunk_size_then_one_new_file_keeps_every_document(tmp_path):
    folder = tmp_path / "notes"
    write_text_files(folder, 5, 200)
    single = tmp_path / "elsewhere" / "memo.md"
    single.parent.mkdir()
    single.write_text("# Memo\n\nThe spare key is kept under the OSPREY-77 mat.\n")
    index_paths([folder])
    index_paths([single])
    assert index.get_meta("default").sources == sorted([str(folder), str(single)])

    fresh = tmp_path / "new.md"
    fresh.write_text("# New\n\nThe courier code is HERON-12.\n")
    summary = index_paths([fresh], settings=SMALLER)

    assert summary.rebuilt and not summary.rebuild_pending
    assert summary.files_indexed == 7  # the five notes, the memo and the new file
    meta = index.get_meta("default")
    assert meta.chunk_tokens == 96 and meta.generation == 2 and meta.rebuild is None
    for i in range(5):
        assert found(f"NX-{i:04d}-Q").endswith(f"note_{i:04d}.md")
    assert found("OSPREY-77") == str(single) and found("HERON-12") == str(fresh)
    tables = set(index.connect().list_tables().tables)
    assert not any(t.endswith("__g1") for t in tables)  # the old generation is dropped


def test_cancelled_rebuild_keeps_answering_from_the_old_generation_then_resumes(
        tmp_path, monkeypatch):
    from engine import indexer

    folder = tmp_path / "many"
    write_text_files(folder, 24, 300)
    index_paths([folder])
    before = index.get_meta("default")
    monkeypatch.setattr(indexer, "EMBED_BATCH", 16)  # several commits from a small corpus
    job = Job()

    def cancel_after_first_commit(state):
        if state.done >= 1 and not job.cancelled():
            job.cancel()

    job.add_listener(cancel_after_first_commit)
    first = index_paths([folder], job=job, settings=SMALLER)
    assert first.cancelled and first.rebuild_pending and not first.rebuilt
    assert 0 < first.files_indexed < 24
    meta = index.get_meta("default")
    assert meta.generation == before.generation and meta.rebuild["chunk_tokens"] == 96
    for i in range(24):  # the current generation still answers, complete
        assert found(f"NX-{i:04d}-Q").endswith(f"note_{i:04d}.md")

    second = index_paths([folder], settings=SMALLER)
    assert second.rebuilt and second.files_unchanged == first.files_indexed
    assert second.files_indexed == 24 - first.files_indexed
    assert index.get_meta("default").chunk_tokens == 96
    rows = chunk_rows()
    assert len(set(rows)) == len(rows) == index.Collection.open("default").count_chunks()


def test_kill_9_mid_rebuild_then_run_again_is_complete_and_consistent(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    write_text_files(folder, 30, 900, seed=4)
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nThe gate code is PLOVER-3.\n")
    home = tmp_path / "crashed"
    monkeypatch.setenv("SATCHEL_HOME", str(home))
    index_paths([folder])
    (home / "settings.json").write_text(json.dumps({"chunk_tokens": 96, "chunk_overlap": 16}))

    def committed_files() -> int:
        pending = index.get_meta("default").pending()
        return len(index.Collection(pending).documents()) if pending else 0

    committed = index_and_kill_mid_run([extra], home, committed_files)
    assert 0 < committed < 31
    assert index.get_meta("default").chunk_tokens != 96  # not swapped: the old one answers
    assert found("NX-0029-Q").endswith("note_0029.md")

    resumed = index_paths([folder], settings=SMALLER)
    assert resumed.rebuilt and resumed.files_unchanged >= committed
    assert resumed.files_unchanged + resumed.files_indexed == 31  # the extra file too
    crashed_chunks, crashed_docs = chunk_rows(), doc_rows()
    assert found("PLOVER-3") == str(extra)

    monkeypatch.setenv("SATCHEL_HOME", str(tmp_path / "clean"))
    index_paths([folder, extra], settings=SMALLER)
    assert chunk_rows() == crashed_chunks and doc_rows() == crashed_docs


def test_reindex_inputs_cover_sources_and_loose_files(tmp_path):
    folder = tmp_path / "kept"
    write_text_files(folder, 2, 60)
    loose = tmp_path / "loose.md"
    loose.write_text("# Loose\n\nA loose file with WREN-8.\n")
    gone = tmp_path / "gone.md"
    gone.write_text("# Gone\n\nThis one is deleted: TERN-9.\n")
    index_paths([folder, loose, gone])
    gone.unlink()
    inputs = reindex_inputs("default")
    assert sorted(inputs) == sorted([str(folder), str(loose)])
    assert str(gone) not in index.Collection.open("default").documents()


def test_a_collection_named_like_another_s_prefix_keeps_its_tables(tmp_path):
    write_text_files(tmp_path / "a", 1, 60)
    write_text_files(tmp_path / "b", 1, 60, seed=2)
    index_paths([tmp_path / "a"], "notes")
    index_paths([tmp_path / "b"], "notes__x")
    index_paths([tmp_path / "a"], "notes", settings=SMALLER)  # drops notes' old generation only
    assert index.Collection.open("notes__x").count_chunks() > 0
    index.remove_collection("notes")
    assert index.Collection.open("notes__x").count_chunks() > 0


def test_removing_a_collection_removes_what_was_derived_from_its_text(tmp_path):
    """Drafted questions and a stopped evaluation's answers quote the documents: they go with
    the collection, and another collection's stay."""
    from engine import paths

    write_text_files(tmp_path / "a", 1, 60)
    index_paths([tmp_path / "a"], "notes")
    index_paths([tmp_path / "a"], "notes.old")
    derived = [paths.collection_cache("notes") / "drafted" / "reader-1.jsonl",
               paths.collection_cache("notes") / "eval-journals" / "2.jsonl"]
    kept = paths.collection_cache("notes.old") / "drafted" / "reader-1.jsonl"
    for path in [*derived, kept]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"question": "What is the code?"}\n', encoding="utf-8")
    index.remove_collection("notes")
    assert not paths.collection_cache("notes").exists()
    assert kept.is_file() and index.Collection.open("notes.old").count_chunks() > 0


def test_removing_a_collection_removes_its_opened_copies_and_older_satchels_drafts(tmp_path):
    """Copies of attachments opened from a citation, and drafts and evaluation journals older
    Satchels kept under hashed names in the cache, are found by what they quote and go with
    the collection; another collection's stay."""
    from engine import derived, paths

    write_text_files(tmp_path / "a", 2, 120, seed=1)
    write_text_files(tmp_path / "b", 2, 120, seed=2)
    index_paths([tmp_path / "a"], "notes")
    index_paths([tmp_path / "b"], "other")

    def collection_facts(name: str) -> tuple[str, str, str]:
        row = index.Collection.open(name).chunks.to_arrow().to_pylist()[-1]
        sentence = row["text"][-80:]  # random words: this collection's alone
        return row["chunk_id"], row["path"], sentence

    def older_files(tag: str, name: str) -> list[Path]:
        chunk_id, path, sentence = collection_facts(name)
        drafted = paths.cache_dir() / "drafted"
        journals = paths.cache_dir() / "eval-journals"
        files = {
            drafted / f"{tag}1.jsonl": json.dumps({"question": "Which code?", "answer": "NX",
                                                   "chunk_id": chunk_id}) + "\n",
            drafted / f"{tag}2.partial.jsonl": json.dumps({"index": 0, "answer": "NX", "items": [
                {"question": "Which code?", "answers": ["NX"], "chunk_id": chunk_id}]}) + "\n",
            drafted / f"{tag}3.json": json.dumps({f"NX\x1f{sentence}": ["Which code?"]}),
            journals / f"{tag}4.jsonl": json.dumps({"key": "k", "mode": "rag", "answer": {
                "collection": "renamed", "sources": [{"n": 1, "path": path}]}}) + "\n",
            journals / f"{tag}5.jsonl": json.dumps({"key": "k", "mode": "rag", "answer": None,
                                                    "retrieval": {"ranked": [{"path": path}]}}),
        }
        for file, text in files.items():
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
        return list(files)

    gone, kept = older_files("a", "notes"), older_files("b", "other")
    opened = derived.opened_copy_dir(collection_facts("notes")[1]) / "note.pdf"
    still_opened = derived.opened_copy_dir(collection_facts("other")[1]) / "note.pdf"
    for copy in (opened, still_opened):
        copy.parent.mkdir(parents=True)
        copy.write_bytes(b"%PDF-1.4")
    index.remove_collection("notes")
    assert [p for p in gone if p.exists()] == [] and not opened.parent.exists()
    assert all(p.is_file() for p in kept) and still_opened.is_file()
