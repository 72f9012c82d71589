"""A full disk under the data folder is one line to act on, and the index stays usable.

Found by indexing into a 12 MB tmpfs: LanceDB's Rust writer failed with "No space left on
device (os error 28)" and the CLI printed a 40-line traceback. The files committed before
stayed (LanceDB writes a version only once its files are complete) and the next run, with
room again, went on from there; what was missing was telling the user what happened.
"""

from __future__ import annotations

import errno

import pytest

from engine import index
from engine.errors import SatchelError, storage_full
from engine.indexer import index_paths
from engine.retrieve import search
from tests.helpers_corpus import write_text_files

#: What LanceDB 0.2x raises when a write runs out of space (its Rust I/O error, verbatim).
LANCE_FULL = ("lance error: LanceError(IO): No space left on device (os error 28), /root/.cargo/"
              "registry/src/index.crates.io-1949cf8c6b5b557f/lance-file-13.0.0/src/writer/"
              "structural.rs:191:9")


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    RuntimeError(LANCE_FULL),
])
def test_a_full_disk_is_recognised_in_every_spelling(tmp_path, exc):
    error = storage_full(exc, str(tmp_path))
    assert isinstance(error, SatchelError) and "\n" not in str(error)
    assert str(error).startswith(f"cannot write to {tmp_path}: the disk")
    assert "MB free" in str(error) and "finished work is kept" in str(error)


def test_other_errors_are_not_taken_for_a_full_disk(tmp_path):
    assert storage_full(OSError(errno.EACCES, "Permission denied"), str(tmp_path)) is None
    assert storage_full(RuntimeError("lance error: invalid schema (os error)"), "x") is None
    wrapped = RuntimeError("the write failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert storage_full(wrapped, str(tmp_path)) is not None  # found down the chain


def test_a_run_that_fills_the_disk_ends_in_one_line_and_keeps_what_it_committed(
        tmp_path, monkeypatch):
    from engine import indexer

    monkeypatch.setattr(indexer, "EMBED_BATCH", 24)  # several commits from a small corpus
    folder = tmp_path / "many"
    write_text_files(folder, 30, 300)
    commit = index.Collection.commit_files
    calls = []

    def fills_the_disk(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError(LANCE_FULL)
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(index.Collection, "commit_files", fills_the_disk)
    with pytest.raises(SatchelError, match="the disk is full") as err:
        index_paths([folder])
    assert "\n" not in str(err.value) and "Traceback" not in str(err.value)
    monkeypatch.setattr(index.Collection, "commit_files", commit)  # room again
    kept = index.Collection.open("default").documents()
    assert 0 < len(kept) < 30
    again = index_paths([folder])
    assert again.files_unchanged == len(kept) and again.files_indexed == 30 - len(kept)
    assert search("the", "default", k=1)


def test_the_cli_prints_the_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    from cli.app import run

    folder = tmp_path / "docs"
    write_text_files(folder, 2, 100)

    def full(*_args, **_kwargs):
        raise RuntimeError(LANCE_FULL)

    monkeypatch.setattr(index.Collection, "commit_files", full)
    assert run(["index", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("satchel: error: cannot write to ") and "the disk is full" in err
    assert "Traceback" not in err and err.count("\n") == 1
