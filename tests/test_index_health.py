"""Damaged index files: one line that says what to do, the other collections untouched, and a
re-index that rebuilds the collection from its files.

Each case damages a real collection the way a disk error, a half-restored backup or a sync
tool does (truncated or missing data files, a truncated manifest, a table without versions,
an unreadable documents table, a garbled ``collections.json``). Before, every one of them
ended every command in a LanceDB traceback, and re-indexing failed the same way.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from cli.library import collections_json
from engine import index, paths
from engine.index_health import CollectionDamaged, damage_reason
from engine.indexer import index_paths, reindex_inputs
from engine.retrieve import search
from engine.storage_meta import StorageError
from tests.helpers_corpus import write_text_files


def _table(name: str, kind: str) -> Path:
    return paths.data_dir() / "index" / f"{name}__{kind}__g1.lance"


def _truncate(files: list[Path], size: int) -> None:
    assert files
    for file in files:
        with open(file, "r+b") as fh:
            fh.truncate(size)


DAMAGE = {
    "truncated data files": lambda: _truncate(list((_table("two", "chunks") / "data").glob(
        "*.lance")), 100),
    "missing data files": lambda: [f.unlink() for f in (_table("two", "chunks") / "data").glob(
        "*.lance")],
    "truncated manifests": lambda: _truncate(list((_table("two", "chunks") / "_versions").glob(
        "*.manifest")), 50),
    "a table without versions": lambda: shutil.rmtree(_table("two", "chunks") / "_versions"),
    "truncated documents table": lambda: _truncate(list((_table("two", "docs") / "data").glob(
        "*.lance")), 100),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_collection_says_so_and_re_indexing_rebuilds_it(tmp_path, damage):
    write_text_files(tmp_path / "one", 2, 120, seed=1)
    write_text_files(tmp_path / "two", 3, 120, seed=2)
    index_paths([tmp_path / "one"], "one")
    index_paths([tmp_path / "two"], "two")
    query = (tmp_path / "two").glob("*.md").__next__().read_text().split("\n")[2][:60]
    DAMAGE[damage]()

    if damage != "truncated documents table":  # a search reads only the chunks
        with pytest.raises(CollectionDamaged, match="re-index it to rebuild it") as err:
            search(query, "two", k=1)
        assert "\n" not in str(err.value) and "lance error" not in str(err.value)
    listed = {c["name"]: c for c in collections_json()}
    assert "damaged" not in listed["one"] and listed["one"]["documents"] == 2
    assert search("the", "one", k=1)  # the other collection answers as before
    if damage == "truncated documents table":  # what drafting, training, the Library read
        with pytest.raises(CollectionDamaged):
            index.Collection.open("two").documents()
    # what a listing reads of "two" (manifests, the documents' status) may show its damage
    assert "two" in listed
    if damage in ("truncated manifests", "a table without versions"):
        assert listed["two"]["damaged"]

    summary = index_paths(reindex_inputs("two"), "two")  # what Re-index and the CLI run
    assert summary.rebuilt and summary.repaired and not summary.files_failed
    assert summary.files_indexed == 3
    assert search(query, "two", k=1)[0].path.startswith(str(tmp_path / "two"))
    assert {c["name"]: c["documents"] for c in collections_json()} == {"one": 2, "two": 3}
    assert index_paths([tmp_path / "two"], "two").files_unchanged == 3  # healed for good


def test_a_garbled_collections_file_is_read_from_its_copy(tmp_path):
    write_text_files(tmp_path / "docs", 2, 80)
    index_paths([tmp_path / "docs"])
    meta = paths.data_dir() / "index" / "collections.json"
    assert meta.with_name("collections.json.copy").read_text() == meta.read_text()
    meta.write_text("{garbage")
    assert [m.name for m in index.list_collections()] == ["default"]
    assert search("the", "default", k=1)
    write_text_files(tmp_path / "more", 1, 80, seed=5)
    index_paths([tmp_path / "more"])  # the next change writes it whole again
    assert '"default"' in meta.read_text()
    meta.write_text("{garbage")
    meta.with_name("collections.json.copy").write_text("[]")
    with pytest.raises(StorageError, match=r"collections\.json is unreadable"):
        index.list_collections()


def test_only_damage_is_taken_for_damage():
    truncated = RuntimeError("lance error: LanceError(IO): Generic LocalFileSystem error: failed "
                             "to fill whole buffer, /rustc/x/library/core/src/ops/function.rs:2")
    missing = RuntimeError("lance error: Not found: tmp/x/index/a__chunks__g1.lance/data/0.lance,"
                           " /root/.cargo/registry/src/lance-io-13.0.0/src/local.rs:273:40")
    full = RuntimeError("lance error: LanceError(IO): No space left on device (os error 28), x")
    assert damage_reason(truncated) == "an index file is damaged"
    assert damage_reason(missing) == "an index file is missing"
    assert damage_reason(full) is None  # a full disk is said as such (engine.errors)
    assert damage_reason(OSError(errno.EACCES, "Permission denied")) is None
    assert damage_reason(ValueError("unknown search mode")) is None
