"""Builders for test corpora: copies of the shipped sample corpus and generated bad files."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.samples import CORPUS_DIR

WORDS = ["ledger", "harbour", "turbine", "glacier", "ferry", "quota", "beacon", "archive",
         "lantern", "meridian", "saline", "compass", "ration", "drift", "anchor", "signal",
         "gravel", "cobalt", "orchard", "vessel", "summit", "tundra"]


def copy_corpus(dest: Path) -> Path:
    """A private copy of the sample corpus (tests modify it)."""
    shutil.copytree(CORPUS_DIR, dest)
    return dest


def write_text_files(folder: Path, count: int, words: int, seed: int = 0) -> list[Path]:
    """``count`` Markdown files of ``words`` pseudo-random words with a heading each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        paras = []
        for _ in range(max(1, words // 60)):
            paras.append(" ".join(rng.choice(WORDS) for _ in range(60)) + ".")
        path = folder / f"note_{i:04d}.md"
        path.write_text(f"# Note {i}\n\nReference code NX-{i:04d}-Q.\n\n" + "\n\n".join(paras))
        out.append(path)
    return out


def write_bad_files(folder: Path) -> dict[str, str]:
    """One file per failure kind; returns {file name: expected reason fragment}."""
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Secret budget")
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.output(str(folder / "encrypted.pdf"))
    good = FPDF()
    good.add_page()
    good.set_font("helvetica", size=12)
    good.multi_cell(w=0, text="A perfectly fine page of text. " * 40)
    data = bytes(good.output())
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 3])
    (folder / "empty.pdf").write_bytes(b"")  # a download that never finished
    (folder / "mislabelled.pdf").write_text("this is plain text pretending to be a PDF")
    (folder / "notazip.docx").write_text("not a zip archive at all")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "huge.md").write_text("# Huge\n\n" + ("word " * 60_000))  # ~300 KB
    (folder / "dangling.md").symlink_to(folder / "does-not-exist.md")
    return {
        "encrypted.pdf": "encrypted",
        "truncated.pdf": "",
        "empty.pdf": "empty",
        "mislabelled.pdf": "",
        "notazip.docx": "",
        "binary.txt": "binary",
        "huge.md": "limit",
        "dangling.md": "broken symbolic link",
    }


def index_and_kill_mid_run(paths_: list[Path], home: Path, committed: Callable[[], int],
                           timeout_s: float = 240) -> int:
    """Run ``satchel index`` on ``paths_`` in a child with data dir ``home`` and kill -9 it as
    soon as ``committed()`` (read in this process) is above 0; returns that count."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "main.py", "index", *map(str, paths_), "--json"],
                            cwd=root, env={**os.environ, "SATCHEL_HOME": str(home)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None and not done:
            time.sleep(0.3)
            try:
                done = committed()
            except Exception:  # tables still being created by the child
                done = 0
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return done


def indexed_sample_home(tmp_path_factory: Any, prefix: str) -> Path:
    """A data dir of its own with the sample corpus indexed as collection "sample" (for a
    module-scoped fixture: indexing is the slow part)."""
    from engine import paths
    from engine.indexer import index_paths

    home = tmp_path_factory.mktemp(prefix)
    paths.set_data_dir(home)
    try:
        assert not index_paths([CORPUS_DIR], "sample").files_failed
    finally:
        paths.set_data_dir(None)
    return home


def in_data_dir(home: Path) -> Iterator[Path]:
    """Body of a fixture that points Satchel at ``home`` for one test (``yield from``)."""
    from engine import paths

    paths.set_data_dir(home)
    yield home
    paths.set_data_dir(None)
