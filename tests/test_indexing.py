"""Indexing end to end with the real embedder and real LanceDB: incremental, robust, resumable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine import index
from engine.indexer import index_paths
from engine.jobs import Job
from engine.retrieve import search
from engine.settings import Settings
from tests.helpers_corpus import (
    copy_corpus,
    index_and_kill_mid_run,
    write_bad_files,
    write_text_files,
)

ROOT = Path(__file__).resolve().parents[1]


def chunk_rows(collection: str = "default") -> list[tuple]:
    coll = index.Collection.open(collection)
    table = coll.chunks.to_arrow().drop_columns(["vector"]).to_pylist()
    return sorted(tuple(sorted(r.items())) for r in table)


def doc_rows(collection: str = "default") -> list[tuple]:
    coll = index.Collection.open(collection)
    rows = coll.docs.to_arrow().drop_columns(["indexed_at"]).to_pylist()
    return sorted(tuple(sorted(r.items())) for r in rows)


def test_sample_corpus_every_format_indexed(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    summary = index_paths([corpus])
    files = sorted(p.name for p in corpus.iterdir())
    assert summary.files_failed == [] and summary.files_skipped == []
    assert summary.files_indexed == len(files) >= 13
    coll = index.Collection.open("default")
    docs = coll.documents()
    formats = {d.format for d in docs.values()}
    assert {"pdf", "docx", "odt", "pptx", "xlsx", "csv", "epub", "html", "markdown", "rst",
            "text", "code", "json"} <= formats
    assert coll.count_chunks() == summary.chunks == sum(d.chunks for d in docs.values())
    pdf = next(d for d in docs.values() if d.format == "pdf")
    assert pdf.pages > 1
    pages = {r["page"] for r in coll.chunks.to_arrow().to_pylist() if r["path"] == pdf.path}
    assert len(pages) > 1  # page numbers survive into the index


def test_incremental_add_change_remove(tmp_path):
    folder = tmp_path / "notes"
    files = write_text_files(folder, 6, 200)
    first = index_paths([folder])
    assert first.files_indexed == 6
    before = {r["chunk_id"]: r for r in index.Collection.open("default").chunks.to_arrow()
              .drop_columns(["vector"]).to_pylist()}

    again = index_paths([folder])
    assert (again.files_indexed, again.files_unchanged, again.chunks) == (0, 6, 0)

    os.utime(files[0], ns=(1, 1))  # touched, content identical: no re-embedding
    touched = index_paths([folder])
    assert (touched.files_indexed, touched.files_unchanged) == (0, 6)

    files[1].write_text("# Changed\n\nThe new secret word is ZEPHYRINE-77.")
    files[2].unlink()
    write_text_files(tmp_path / "extra", 1, 100, seed=9)[0].rename(folder / "added.md")
    third = index_paths([folder])
    assert (third.files_indexed, third.files_unchanged, third.files_removed) == (2, 4, 1)
    coll = index.Collection.open("default")
    rows = coll.chunks.to_arrow().drop_columns(["vector"]).to_pylist()
    paths = {r["path"] for r in rows}
    assert str(files[2]) not in paths and str(folder / "added.md") in paths
    changed = [r for r in rows if r["path"] == str(files[1])]
    assert len(changed) == 1 and "ZEPHYRINE-77" in changed[0]["text"]
    untouched = [r for r in rows if r["path"] == str(files[3])]
    assert all(before[r["chunk_id"]] == r for r in untouched)
    assert set(coll.documents()) == {str(p) for p in folder.iterdir()}
    hits = search("ZEPHYRINE-77", mode="text", k=1)
    assert hits and hits[0].path == str(files[1])


def test_indexing_another_folder_keeps_the_first(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_text_files(a, 2, 100)
    write_text_files(b, 3, 100, seed=4)
    index_paths([a])
    second = index_paths([b])
    assert second.files_removed == 0
    assert len(index.Collection.open("default").documents()) == 5


def test_bad_files_are_reported_and_the_run_completes(tmp_path):
    folder = tmp_path / "mixed"
    expected = write_bad_files(folder)
    write_text_files(folder, 2, 100)
    (folder / "loop").symlink_to(folder)  # a symlink loop must not hang the walk
    os.mkfifo(folder / "pipe.txt")  # opening a FIFO would block forever
    # a dangling link to a file Satchel does not read (calibre's fonts link to system fonts)
    # is skipped by its name, not one more failure; a dangling .md fails (write_bad_files)
    (folder / "Serif.ttf").symlink_to(folder / "gone" / "Serif.ttf")
    settings = Settings(max_file_mb=0.1)
    summary = index_paths([folder], settings=settings)
    failed = {Path(f["path"]).name: f["reason"] for f in summary.files_failed}
    assert summary.files_indexed == 2
    for name, fragment in expected.items():
        assert name in failed, (name, failed)
        assert fragment.lower() in failed[name].lower()
        assert "\n" not in failed[name] and failed[name]
    assert failed["pipe.txt"] == "not a regular file"
    skipped = {Path(f["path"]).name: f["reason"] for f in summary.files_skipped}
    assert skipped["Serif.ttf"] == "unsupported file type (.ttf)"
    # an empty text file (a package's __init__.py) is fine: skipped, not one more failure
    (folder / "__init__.py").write_bytes(b"")
    (folder / "blank.md").write_text("\n   \n")
    summary = index_paths([folder], settings=settings)
    skipped = {Path(f["path"]).name: f["reason"] for f in summary.files_skipped}
    assert skipped["__init__.py"] == "empty file (0 bytes)"
    assert skipped["blank.md"] == "no text in this file (blank)"
    failed = {Path(f["path"]).name: f["reason"] for f in summary.files_failed}
    assert failed.keys() == expected.keys() | {"pipe.txt"}
    # failed files are remembered and listed again without being re-parsed
    again = index_paths([folder], settings=settings)
    assert {Path(f["path"]).name for f in again.files_failed} == set(failed)
    assert again.files_unchanged == 2


def test_parse_time_limit_kills_a_slow_file_and_goes_on(tmp_path):
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "big.md").write_text("# Big\n\n" + ("many words in a long paragraph " * 150_000))
    write_text_files(folder, 1, 100)
    summary = index_paths([folder], settings=Settings(parse_timeout_s=0.1))
    failed = {Path(f["path"]).name: f["reason"] for f in summary.files_failed}
    assert "time limit" in failed["big.md"]
    assert summary.files_indexed == 1


def test_a_parser_killed_mid_file_leaves_no_copy_of_it_in_tmp(tmp_path, monkeypatch):
    """Cancelling a run kills the parser mid-file; what it had written out (an attachment, its
    PDF printout) went with it, not left in /tmp. A parser folder whose Satchel process died is
    removed by the next parser started."""
    import shutil
    import tempfile
    import threading
    from email.message import EmailMessage

    from engine.ingest.isolation import TEMP_PREFIX, ParseConfig, ParseFailed, ParseWorker
    from engine.model_files import resolve_embedder

    if not shutil.which("gs"):
        pytest.skip("needs Ghostscript")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    stale = scratch / f"{TEMP_PREFIX}999999999-x"  # no such process
    stale.mkdir()
    (stale / "copy.pdf").write_bytes(b"%PDF- a document")
    message = EmailMessage()
    message["Subject"] = "The drawing"
    message.set_content("See the attached drawing.")
    message.add_attachment(b"%!PS-Adobe-3.0\n{} loop\n", maintype="application",
                           subtype="postscript", filename="drawing.ps")
    (tmp_path / "drawing.eml").write_bytes(bytes(message))
    worker = ParseWorker(ParseConfig(str(resolve_embedder(None)[1]), 128, 16, None))
    failed: list[str] = []

    def parse() -> None:
        try:
            worker.parse(str(tmp_path / "drawing.eml"), 300)
        except ParseFailed as exc:
            failed.append(str(exc))

    thread = threading.Thread(target=parse)
    thread.start()
    deadline = time.monotonic() + 60
    while not list(scratch.rglob("drawing.ps")):  # written out, being read
        assert time.monotonic() < deadline, sorted(str(p) for p in scratch.rglob("*"))
        time.sleep(0.05)
    assert not stale.exists()
    worker.close()
    thread.join(10)
    assert failed and list(scratch.iterdir()) == []


def test_a_parser_that_cannot_start_stops_the_run_with_a_reason(tmp_path, monkeypatch):
    """Not one file's fault: the run says why at once instead of "0 indexed, nothing failed"."""
    import dataclasses

    from engine import indexer
    from engine.errors import SatchelError
    from engine.ingest.isolation import ParseConfig, ParserUnavailable, ParseWorker

    original = indexer._open_collection

    def broken_parser(name, settings, job):
        coll, rebuilt, config = original(name, settings, job)
        return coll, rebuilt, dataclasses.replace(config, tokenizer_dir=str(tmp_path / "gone"))

    monkeypatch.setattr(indexer, "_open_collection", broken_parser)
    write_text_files(tmp_path / "docs", 2, 50)
    started = time.monotonic()
    with pytest.raises(SatchelError, match="parser process could not start: FileNotFoundError"):
        index_paths([tmp_path / "docs"])
    assert time.monotonic() - started < 60
    worker = ParseWorker(ParseConfig(str(tmp_path / "gone"), 64, 8, None))
    with pytest.raises(ParserUnavailable):
        worker.parse(str(tmp_path / "docs"), 5)
    worker.close()  # closing a worker whose child never came up is harmless


def test_cancel_keeps_committed_files_and_resume_finishes(tmp_path, monkeypatch):
    from engine import indexer

    monkeypatch.setattr(indexer, "EMBED_BATCH", 24)  # several commits from a small corpus
    folder = tmp_path / "many"
    write_text_files(folder, 40, 300)
    job = Job()

    def cancel_after_first_commit(state):
        if state.done >= 1 and not job.cancelled():
            job.cancel()

    job.add_listener(cancel_after_first_commit)
    first = index_paths([folder], job=job)
    assert first.cancelled and 0 < first.files_indexed < 40
    second = index_paths([folder])
    assert second.files_unchanged == first.files_indexed
    assert second.files_indexed == 40 - first.files_indexed
    rows = chunk_rows()
    assert len({r for r in rows}) == len(rows) == index.Collection.open("default").count_chunks()


def test_cancel_stops_a_file_mid_parse_and_does_not_count_it_failed(tmp_path):
    """A cancel kills the parser mid-file instead of waiting for it (a 300-page scan's OCR
    took minutes to cancel), and that file is neither indexed nor remembered as failed: the
    next run reads it. Ghostscript runs ``{} loop`` until it is killed."""
    import shutil
    import threading

    if not shutil.which("gs"):
        pytest.skip("needs Ghostscript")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Notes\n\nThe harbour closes at dusk.\n")
    (folder / "z.ps").write_bytes(b"%!PS-Adobe-3.0\n{} loop\n")
    job = Job()
    result: list[Any] = []

    def cancel_while_reading(state: Any) -> None:
        if (state.status or "").startswith("Reading z.ps") and not job.cancelled():
            threading.Timer(1.0, job.cancel).start()

    job.add_listener(cancel_while_reading)
    run = threading.Thread(target=lambda: result.append(index_paths([folder], job=job)))
    run.start()
    run.join(60)
    assert not run.is_alive() and result, "the cancel waited for the file's parse"
    summary = result[0]
    assert summary.cancelled and summary.files_indexed == 1 and not summary.files_failed
    docs = index.Collection.open("default").documents()
    assert str(folder / "a.md") in docs and str(folder / "z.ps") not in docs


def test_kill_9_mid_run_then_resume_matches_a_clean_index(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    write_text_files(folder, 48, 1500, seed=3)
    crashed_home = tmp_path / "crashed"
    monkeypatch.setenv("SATCHEL_HOME", str(crashed_home))

    def committed_files() -> int:
        if not (crashed_home / "index" / "collections.json").exists():
            return 0
        return len(index.Collection.open("default").documents())

    committed = index_and_kill_mid_run([folder], crashed_home, committed_files)
    assert 0 < committed < 48
    monkeypatch.setenv("SATCHEL_HOME", str(crashed_home))
    resumed = index_paths([folder])
    assert resumed.files_unchanged >= committed
    assert resumed.files_unchanged + resumed.files_indexed == 48
    crashed_chunks, crashed_docs = chunk_rows(), doc_rows()

    monkeypatch.setenv("SATCHEL_HOME", str(tmp_path / "clean"))
    clean = index_paths([folder])
    assert clean.files_indexed == 48
    assert chunk_rows() == crashed_chunks
    assert doc_rows() == crashed_docs


def test_embedder_change_rebuilds_instead_of_breaking(tmp_path, small_embedder):
    corpus = tmp_path / "notes"
    write_text_files(corpus, 3, 120)
    index_paths([corpus])
    assert index.get_meta("default").dim == 384
    summary = index_paths([corpus], settings=Settings(embedder=str(small_embedder)))
    assert summary.rebuilt and summary.files_indexed == 3
    meta = index.get_meta("default")
    assert meta.dim == 128 and meta.generation == 2 and meta.embedder_path == str(small_embedder)
    tables = set(index.connect().list_tables().tables)
    assert not any("__g1" in t for t in tables)  # the old generation is gone
    hits = search("NX-0001-Q", k=2)
    assert hits and hits[0].path.endswith("note_0001.md")


@pytest.fixture(scope="session")
def small_embedder(tmp_path_factory):
    """A second, genuinely different local embedder: MiniLM + a 128-d dense projection."""
    import torch
    from sentence_transformers import SentenceTransformer, models

    from engine.model_files import default_embedder_dir

    torch.manual_seed(0)
    base = SentenceTransformer(str(default_embedder_dir()), device="cpu")
    dense = models.Dense(in_features=384, out_features=128, activation_function=torch.nn.Tanh())
    model = SentenceTransformer(modules=[*base, dense], device="cpu")
    folder = tmp_path_factory.mktemp("embedders") / "minilm-128"
    model.save(str(folder))
    return folder


def test_collections_and_search_cli(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    home = tmp_path / "home"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "main.py", "--data-dir", str(home), *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)

    out = run("index", str(corpus), "--collection", "station", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert set(summary) >= {"files_indexed", "files_unchanged", "files_removed", "files_failed",
                            "chunks", "seconds"}
    listed = json.loads(run("collections", "--json").stdout)
    assert listed == [{"name": "station", "documents": summary["files_indexed"],
                       "chunks": summary["chunks"], "embedder": "all-MiniLM-L6-v2"}]
    hits = json.loads(run("search", "buoy deployment", "--collection", "station", "--json",
                          "--k", "3").stdout)
    assert len(hits) == 3 and set(hits[0]) == {"path", "page", "score", "text", "chunk_id"}
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    missing = run("search", "x", "--collection", "nope")
    assert missing.returncode == 2 and "no collection named 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr
    empty = run("search", "   ", "--collection", "station")
    assert empty.returncode == 2 and "empty" in empty.stderr
    nopath = run("index", str(tmp_path / "nowhere"))
    assert nopath.returncode == 2 and "no such file or folder" in nopath.stderr
    badname = run("index", str(corpus), "--collection", "../etc")
    assert badname.returncode == 2 and "invalid collection name" in badname.stderr
    assert run("collections", "remove", "station").returncode == 0
    assert json.loads(run("collections", "--json").stdout) == []


def test_exact_product_code_found_by_text_and_hybrid_not_vector(tmp_path):
    corpus = copy_corpus(tmp_path / "corpus")
    index_paths([corpus])
    code = "HRB-09"
    source = "buoy_deployments.csv"

    def found(mode: str) -> bool:
        return any(code in h.text for h in search(code, mode=mode, k=1))

    assert found("text") and found("hybrid")
    assert not found("vector")
    assert search(code, mode="hybrid", k=1)[0].path.endswith(source)


def test_path_filter(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_text_files(a, 2, 100)
    write_text_files(b, 2, 100, seed=5)
    index_paths([a, b])
    hits = search("ledger harbour", k=10, paths=[str(b)])
    assert hits and all(h.path.startswith(str(b) + os.sep) for h in hits)


def test_second_writer_is_refused(tmp_path):
    from engine.errors import SatchelError

    write_text_files(tmp_path / "n", 1, 50)
    index_paths([tmp_path / "n"])
    with index.writer_lock("default"), pytest.raises(SatchelError, match="another Satchel"):
        index_paths([tmp_path / "n"])


def test_folder_watcher_reindexes_after_changes(tmp_path):
    from engine.watch import FolderWatcher

    folder = tmp_path / "watched"
    write_text_files(folder, 1, 50)
    index_paths([folder])
    calls: list[list[str]] = []

    def on_change(changed: list[str]) -> None:
        calls.append(changed)
        index_paths([folder])

    with FolderWatcher([folder], on_change, quiet_s=0.3):
        (folder / "fresh.md").write_text("# Fresh\n\nThe watcher saw KESTREL-5.")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not calls:
            time.sleep(0.1)
        time.sleep(0.5)
    assert calls and any(p.endswith("fresh.md") for p in calls[0])
    assert search("KESTREL-5", mode="text", k=1)[0].path.endswith("fresh.md")


def test_search_never_writes_and_the_writer_builds_a_missing_text_index(tmp_path, monkeypatch):
    """A run killed before its full-text index was built: searches stay read-only (no
    compaction, no index build, whatever the error) and the next index run builds it."""
    folder = tmp_path / "n"
    write_text_files(folder, 3, 100)
    index_paths([folder])
    coll = index.Collection.open("default")
    for idx in coll.chunks.list_indices():
        if tuple(idx.columns) == (index.TEXT_INDEX_COLUMN,):
            coll.chunks.drop_index(idx.name)
    index._search_plans.clear()
    version = index.Collection.open("default").chunks.version
    finalized: list[str] = []

    class Broken:  # a word query failing with a plain IndexError (the word "index" in it)
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise IndexError("list index out of range")
            return fail

    table_type = type(coll.chunks)
    real_search = table_type.search

    def search_breaking_words(self, query=None, *args, **kwargs):
        if kwargs.get("query_type") == "fts":
            return Broken()
        return real_search(self, query, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(index.Collection, "finalize", lambda self: finalized.append("x"))
        assert search("NX-0001-Q", mode="text", k=3) == []  # no word index to search yet
        hybrid = search("NX-0001-Q", k=3)
        assert hybrid and hybrid[0].path.endswith(".md")  # vectors still answer
        plan = index.SearchPlan(0, index.TEXT_INDEX_COLUMN, 0)
        patch.setattr(index.Collection, "search_plan", lambda self: plan)
        patch.setattr(table_type, "search", search_breaking_words)
        with pytest.raises(IndexError):
            search("NX-0001-Q", mode="text", k=3)
    assert finalized == [] and index.Collection.open("default").chunks.version == version

    index._search_plans.clear()
    again = index_paths([folder])  # nothing changed, but the writer notices the missing index
    assert again.files_unchanged == 3
    assert search("NX-0001-Q", mode="text", k=1)[0].path.endswith("note_0001.md")


def test_path_filter_treats_underscore_and_percent_literally(tmp_path):
    literal = tmp_path / "a_b%"
    lookalike = tmp_path / "aXbYZ"  # matches 'a_b%' as a LIKE pattern
    write_text_files(literal, 1, 60)
    write_text_files(lookalike, 1, 60, seed=7)
    index_paths([literal, lookalike])
    hits = search("Reference code", k=10, paths=[str(literal)])
    assert hits and all(h.path.startswith(str(literal) + os.sep) for h in hits)


def test_copies_of_a_file_are_listed_once_in_search_results(tmp_path):
    folder = tmp_path / "downloads"
    folder.mkdir()
    text = "# Mooring\n\nBuoy HRB-09 is moored with a 40 metre chain at the harbour mouth.\n"
    for name in ("mooring.md", *(f"mooring ({n}).md" for n in range(1, 25))):
        (folder / name).write_text(text)  # more copies than a search's lists first hold
    (folder / "chain.md").write_text("# Chains\n\nChain links are inspected every spring for "
                                     "wear at the harbour mouth buoys.\n")
    index_paths([folder])
    for mode in ("hybrid", "vector", "text"):
        hits = search("HRB-09 moored chain harbour mouth", mode=mode, k=2)
        assert [Path(h.path).name.startswith("mooring") for h in hits] == [True, False], mode
        assert len({h.text for h in hits}) == 2
    only = search("HRB-09", mode="text", k=5, paths=[str(folder / "mooring (2).md")])
    assert [Path(h.path).name for h in only] == ["mooring (2).md"]  # a chosen copy still shows


def test_one_passage_kept_in_two_formats_is_listed_once(tmp_path):
    """A report kept as Markdown and as the web page made from it (curly quotes, the heading
    written apart) is one passage in the results, the best-ranked copy first; two passages that
    share many of their words but say different things both stay, and so do files of one
    format that differ in a few numbers (invoices)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    body = ("Users can have one or more libraries, normally specified by the environment "
            "variable R_LIBS_USER. This has a default value (to see it, use "
            "{q}Sys.getenv(R_LIBS_USER){q} within a session), but that is only used if the "
            "directory actually exists, which by default it will not.")
    (folder / "admin.md").write_text("# Managing libraries\n\n" + body.format(q="'") + "\n")
    (folder / "admin.html").write_text(
        "<html><body><h2>6.2 Managing libraries</h2><p>" + body.format(q="\u2018")
        + "</p></body></html>")
    stash = ("{key}: When set to true, automatically create a temporary stash entry before "
             "the operation begins, and apply it after the operation ends. {own}")
    (folder / "merge.md").write_text(stash.format(
        key="merge.autoStash", own="This means that you can run merge on a dirty worktree. "
        "The default value of the variable is false, as the libraries expect.") + "\n")
    (folder / "rebase.md").write_text(stash.format(
        key="rebase.autoStash", own="However, use with care: the final stash application "
        "after a successful rebase might result in conflicts with the default libraries.")
        + "\n")
    bills = tmp_path / "bills"  # one vendor's invoices: the same words but for a few numbers
    bills.mkdir()
    for month, amount in (("02", "1,204.50"), ("03", "1,388.20")):
        (bills / f"invoice-2024-{month}.md").write_text(
            f"Invoice 2024-{month} from Harbour Supplies Ltd for the mooring chain service. "
            f"Amount due: {amount} EUR, payable within thirty days by bank transfer to the "
            "account named on the order. Thank you for your custom; questions about this "
            "invoice go to the accounts office at the harbour master building.\n")
    index_paths([folder, bills])
    for mode in ("hybrid", "text"):
        hits = search("libraries R_LIBS_USER default value variable", mode=mode, k=4,
                      paths=[str(folder)])
        names = [Path(h.path).name for h in hits]
        assert names[0].startswith("admin.") and len(names) == 3, (mode, names)
        assert sorted(names[1:]) == ["merge.md", "rebase.md"], (mode, names)
        hits = search("amount due invoice harbour supplies", mode=mode, k=2)
        assert sorted(Path(h.path).name for h in hits) == [
            "invoice-2024-02.md", "invoice-2024-03.md"], mode


def _png_with_truncated_exif() -> bytes:
    """A blank PNG whose eXIf block claims more entries than it holds (Pillow warns)."""
    import io
    import struct
    import zlib

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, "PNG")
    png = buf.getvalue()
    exif = b"MM\x00\x2a\x00\x00\x00\x08\x00\x02\x01\x0f\x00\x02\x00\x00\x00\x10\x00\x00\x00\x40"
    block = b"eXIf" + exif
    chunk = struct.pack(">I", len(exif)) + block + struct.pack(">I", zlib.crc32(block))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def test_a_documentation_folder_is_read_by_content_and_quietly(tmp_path, capfd):
    """What /usr/share/doc holds: README.Debian and NEWS.Debian.gz are text whatever their
    extension; a program, a man page and a photo are skipped, none failed; a library's warning
    about a photo's bytes does not reach the terminal."""
    import gzip

    folder = tmp_path / "doc" / "tidetool"
    folder.mkdir(parents=True)
    (folder / "README.Debian").write_text("The tidetool package keeps its tables in "
                                          "/var/lib/tidetool; run tidetool-update weekly.\n")
    (folder / "NEWS.Debian.gz").write_bytes(gzip.compress(
        b"tidetool (2.0-1) unstable; urgency=low\n\n  * The --harbour option is now called "
        b"--port: QUILLWORT-19.\n"))
    (folder / "tidetool-helper").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(3000))
    (folder / "tidetool.1").write_bytes(b'.\\" Manual page\n.TH TIDETOOL 1\n.SH NAME\ntidetool\n')
    (folder / "stripe.png").write_bytes(_png_with_truncated_exif())
    capfd.readouterr()
    summary = index_paths([tmp_path / "doc"])
    err = capfd.readouterr().err
    assert "EXIF" not in err and "Truncated File Read" not in err and "Warning" not in err, err
    assert summary.files_failed == []
    skipped = {Path(s["path"]).name: s["reason"] for s in summary.files_skipped}
    assert set(skipped) == {"tidetool-helper", "tidetool.1", "stripe.png"}
    assert skipped["tidetool-helper"] == "unsupported file type (no extension: not text)"
    assert skipped["tidetool.1"] == "unsupported file type (.1: a manual page's troff source)"
    hits = search("which option replaced --harbour", k=3, mode="text")
    assert "QUILLWORT-19" in hits[0].text
    assert hits[0].path.endswith("NEWS.Debian.gz//NEWS.Debian")
    assert "weekly" in search("how often to run tidetool-update", k=1, mode="text")[0].text


def test_a_big_file_whose_name_says_nothing_is_skipped_or_failed_by_its_content(tmp_path):
    """Over the size limit, a program named "core.q7" is skipped (not a document at any size);
    a text file of that name fails with the limit's reason, which the user can change."""
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "core.q7").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(60_000))
    (folder / "notes.q7").write_text("tide tables and harbour notes\n" * 2_000)
    summary = index_paths([folder], settings=Settings(max_file_mb=0.02))
    assert [(Path(s["path"]).name, s["reason"]) for s in summary.files_skipped] == [
        ("core.q7", "unsupported file type (.q7: not text)")]
    assert [Path(f["path"]).name for f in summary.files_failed] == ["notes.q7"]
    assert "limit (setting max_file_mb)" in summary.files_failed[0]["reason"]


def test_a_file_of_many_chunks_moves_the_progress_while_it_is_embedded(tmp_path, monkeypatch):
    """A big file (a 10 MB changelog: ~40,000 chunks, half an hour) reports progress as its
    chunks are embedded, not only once it is done: the bar moves and the ETA has a rate."""
    from engine import indexer

    monkeypatch.setattr(indexer, "EMBED_BATCH", 4)  # parts of 16 chunks
    folder = tmp_path / "big"
    folder.mkdir()
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    paragraphs = [" ".join(f"{words[(i + j) % 8]}{i}x{j}" for j in range(120)) + "."
                  for i in range(60)]
    (folder / "changelog.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    seen: list[tuple[float, str]] = []
    job = Job(lambda s: seen.append((s.done, s.status)), min_interval_s=0)
    summary = index_paths([folder], job=job)
    assert summary.files_indexed == 1 and summary.chunks > 32
    assert any(0 < done < 1 for done, _ in seen), seen
    assert any(status.startswith("Embedding changelog.txt: 16 of ") for _, status in seen)
    assert seen[-1][0] == 1


def test_progress_counts_files_but_measures_the_work_in_bytes(tmp_path):
    """The bar and the ETA go by bytes (a compressed changelog at its unpacked size), the count
    by files: one big file among small ones is most of the bar, as it is most of the time
    (how the bar and the ETA follow the work: tests/test_jobs.py)."""
    import gzip

    from engine.indexer import FILE_COST_BYTES, file_work

    folder = tmp_path / "docs"
    folder.mkdir()
    log = " ".join(f"Entry {i}: the buoy lamp was checked and found working." for i in range(4000))
    (folder / "changelog.gz").write_bytes(gzip.compress(log.encode()))
    for i in range(3):
        (folder / f"note{i}.txt").write_text(f"Note {i}: the ferry leaves at {i + 6} o'clock.")
    big = file_work(str(folder / "changelog.gz"), (folder / "changelog.gz").stat())
    assert big == len(log.encode()) + FILE_COST_BYTES  # not the 2 KB on disk
    states = []
    index_paths([folder], job=Job(states.append, min_interval_s=0))
    counted = [s for s in states if s.work]
    total = sum(file_work(str(p), p.stat()) for p in folder.iterdir())
    assert counted and all(s.work[1] == total and s.total == 4 for s in counted)
    assert counted[-1].work == (total, total) and counted[-1].done == 4
    assert big > 0.9 * total  # so the changelog is nine tenths of the bar, not a quarter
