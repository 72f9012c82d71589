"""File names that are not UTF-8 (an older system's encoding) never end an index run.

Before: one file named ``r\\xe9sum\\xe9.txt`` (Latin-1, as FAT drives, CDs and old tarballs
hold them) ended the whole run with a UnicodeEncodeError traceback, and so did a tarball
member so named. Now such a file or folder on disk is reported with a name a user can read,
and an archive member or attachment is named by decoding the older encoding.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import SatchelError
from engine.indexer import index_paths
from engine.ingest.file_names import (
    NOT_UTF8_FILE,
    NOT_UTF8_FOLDER,
    is_text,
    legacy_text,
    printable,
    valid_text,
)
from engine.retrieve import search

ROOT = Path(__file__).resolve().parents[1]
#: Text with lone surrogates, as Python makes them of bytes that are not UTF-8.
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


def _latin1(folder: Path, name: str) -> bytes:
    """The path of ``name`` in ``folder``, the name written in Latin-1 (not UTF-8)."""
    return os.fsencode(folder) + b"/" + name.encode("latin-1")


@given(ANY_TEXT)
def test_every_repair_gives_text_the_index_can_store(text):
    for repaired in (legacy_text(text), valid_text(text), printable(text)):
        assert is_text(repaired)
        repaired.encode("utf-8")  # what Arrow, LanceDB and hashlib do with it
    if is_text(text):
        assert legacy_text(text) == valid_text(text) == printable(text) == text


def test_older_encodings_are_read_as_windows_1252():
    # Windows-1252 bytes (é, €) beside a UTF-8 ü, which stays ü
    name = os.fsdecode(b"r\xe9sum\xe9 \x80 " + "\u00fcber.txt".encode())
    assert not is_text(name)
    assert legacy_text(name) == "résumé € über.txt"
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"


def test_names_that_are_not_utf8_are_reported_and_the_run_goes_on(tmp_path):
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "ok.txt").write_text("The cellar key is under the third flowerpot.\n")
    with open(_latin1(folder, "r\xe9sum\xe9.txt"), "w") as fh:
        fh.write("This file's name is Latin-1.\n")
    os.mkdir(_latin1(folder, "caf\xe9"))
    with open(_latin1(folder, "caf\xe9") + b"/menu.txt", "w") as fh:
        fh.write("The soup of the day is leek.\n")
    data = b"The tar member says the spare oars are in the loft.\n"
    with tarfile.open(folder / "old.tar", "w", format=tarfile.GNU_FORMAT,
                      encoding="latin-1") as tar:
        member = tarfile.TarInfo("r\xe9sum\xe9.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with zipfile.ZipFile(folder / "old.zip", "w") as zf:  # a cp437 name, as DOS zips have
        zf.writestr(zipfile.ZipInfo("caf\xe9.txt"), "The zip member says the kettle is copper.")

    summary = index_paths([folder])
    failed = {f["path"]: f["reason"] for f in summary.files_failed}
    assert failed == {f"{folder}/r\\xe9sum\\xe9.txt": NOT_UTF8_FILE,
                      f"{folder}/caf\\xe9": NOT_UTF8_FOLDER}
    assert summary.files_indexed == 3 and not summary.cancelled
    hit = search("where are the spare oars", "default", k=1)[0]
    assert hit.path == f"{folder / 'old.tar'}//résumé.txt"
    assert search("kettle copper", "default", k=1)[0].path == \
        f"{folder / 'old.zip'}//café.txt"
    again = index_paths([folder])  # nothing to do: the reported ones are reported again
    assert again.files_unchanged == 3 and len(again.files_failed) == 2


def test_a_folder_named_so_on_the_command_line_is_one_line(tmp_path):
    os.mkdir(_latin1(tmp_path, "caf\xe9"))
    with pytest.raises(SatchelError, match=r"caf\\xe9: folder name is not UTF-8"):
        index_paths([os.fsdecode(_latin1(tmp_path, "caf\xe9"))])
    out = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path / "home"),
                          "index", _latin1(tmp_path, "caf\xe9")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "folder name is not UTF-8" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_question_typed_in_an_older_encoding_is_answered_not_a_traceback(tmp_path):
    """A terminal set to Latin-1 hands "café" over as b"caf\\xe9": the search, the one-shot
    answer and the chat read it as the older encoding instead of failing in the tokenizer."""
    folder = tmp_path / "menu"
    folder.mkdir()
    (folder / "cafe.txt").write_text("The café serves leek soup on Tuesdays.\n")
    index_paths([folder])
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}

    def run(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, input=stdin,
                              capture_output=True, timeout=300, env=env)

    found = run("search", b"caf\xe9 soup", "--k", "1")
    assert found.returncode == 0 and b"leek soup" in found.stdout, found.stderr
    chat = run("chat", "--mode", "rag", stdin=b"which day is caf\xe9 soup?\n/quit\n")
    assert chat.returncode == 0, chat.stderr
    assert b"Traceback" not in chat.stderr and b"cafe.txt" in chat.stdout
    assert search("caf\udce9 soup", "default", k=1)[0].path.endswith("cafe.txt")
