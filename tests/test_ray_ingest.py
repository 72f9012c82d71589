"""Bulk ingestion on Ray (``satchel index --engine ray``): the same index as the local indexer.

One local Ray session (2 CPUs) is shared by the in-process tests: starting one costs seconds.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import index, paths
from engine.indexer import index_paths
from engine.jobs import Job
from engine.samples import CORPUS_DIR
from engine.scale.ray_ingest import RayOptions, index_paths_ray, plan_resources
from tests.helpers_corpus import write_bad_files

ROOT = Path(__file__).resolve().parents[1]
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install 'satchel[scale]')")
GOOD = ["annual_report_2025.pdf", "buoy_deployments.csv", "lab_booking.rst", "station_news.html"]
BAD = {"notazip.docx": "not a docx", "encrypted.pdf": "encrypted"}


def small_folder(tmp_path: Path, good: list[str] = GOOD) -> Path:
    """A few sample files of different formats plus two files that cannot be read."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in good:
        shutil.copy(CORPUS_DIR / name, folder / name)
    write_bad_files(tmp_path / "bad")
    for name in BAD:
        shutil.copy(tmp_path / "bad" / name, folder / name)
    return folder


def rows(collection: str = "default") -> tuple[list, list, dict[str, np.ndarray]]:
    """(chunk rows without vectors, document rows without timestamps, vector by chunk id)."""
    coll = index.Collection.open(collection)
    chunks = coll.chunks.to_arrow()
    vectors = {r["chunk_id"]: np.array(r["vector"]) for r in chunks.to_pylist()}
    chunk_rows = sorted(tuple(sorted(r.items())) for r in
                        chunks.drop_columns(["vector"]).to_pylist())
    doc_rows = sorted(tuple(sorted(r.items())) for r in
                      coll.docs.to_arrow().drop_columns(["indexed_at"]).to_pylist())
    return chunk_rows, doc_rows, vectors


@pytest.fixture(scope="module")
def ray_cluster():
    from engine.scale.cluster import ray_session

    with ray_session(num_cpus=2) as ray:
        yield ray


def test_plan_leaves_cpu_for_the_parse_tasks():
    """An actor pool holding every CPU starves the tasks that feed it (ray#44687)."""
    assert plan_resources(2, None) == (1, 1.0, 1.0)
    assert plan_resources(2, 2) == (2, 0.75, 0.5)
    assert plan_resources(1, None) == (1, 0.5, 0.5)
    assert plan_resources(16, None) == (8, 1.0, 1.0)


def test_engine_ray_without_ray_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    from cli.app import run

    monkeypatch.setitem(sys.modules, "ray", None)  # what an install without the extra sees
    (tmp_path / "a.md").write_text("# A\n\nSome text.")
    assert run(["index", "--engine", "ray", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "pip install 'satchel[scale]'" in err and "Traceback" not in err


@needs_ray
def test_a_second_writer_is_refused_before_ray_starts(tmp_path):
    from engine.errors import SatchelError

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "a.md").write_text("# A\n\nSome text.")
    with index.writer_lock("default"), pytest.raises(SatchelError, match="another Satchel"):
        index_paths_ray([tmp_path / "n"])


@needs_ray
@pytest.mark.slow
def test_ray_index_matches_local_after_a_cancel_and_resume(tmp_path, monkeypatch, ray_cluster):
    folder = small_folder(tmp_path)
    options = RayOptions(batch_chunks=4)  # several commits from a small folder
    job = Job()
    job.add_listener(lambda state: job.cancel() if state.done >= 1 and not job.cancelled()
                     else None)
    first = index_paths_ray([folder], job=job, options=options)
    assert first.cancelled and 1 <= first.files_indexed < len(GOOD)

    second = index_paths_ray([folder], options=options)
    assert not second.cancelled
    assert second.files_unchanged == first.files_indexed
    assert second.files_indexed == len(GOOD) - first.files_indexed
    failed = {Path(f["path"]).name: f["reason"] for f in second.files_failed}
    assert set(failed) == set(BAD)
    for name, fragment in BAD.items():
        assert fragment in failed[name].lower() and "\n" not in failed[name]

    third = index_paths_ray([folder], options=options)  # nothing changed: Ray is not even started
    assert (third.files_indexed, third.files_unchanged, third.chunks) == (0, len(GOOD), 0)
    assert {Path(f["path"]).name for f in third.files_failed} == set(BAD)
    ray_chunks, ray_docs, ray_vectors = rows()

    monkeypatch.setenv(paths.ENV_HOME, str(tmp_path / "local-home"))
    paths.set_data_dir(None)
    local = index_paths([folder])
    assert local.files_indexed == len(GOOD) and local.chunks == first.chunks + second.chunks
    local_chunks, local_docs, local_vectors = rows()
    assert ray_chunks == local_chunks and len(local_chunks) == local.chunks
    assert ray_docs == local_docs and len(local_docs) == len(GOOD) + len(BAD)
    assert set(ray_vectors) == set(local_vectors)
    for chunk_id, vector in local_vectors.items():
        assert np.allclose(ray_vectors[chunk_id], vector, atol=1e-5)


@needs_ray
@pytest.mark.slow
def test_cli_engine_ray_prints_the_summary(tmp_path):
    folder = small_folder(tmp_path, good=GOOD[2:])
    out = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path / "home"),
                          "index", "--engine", "ray", str(folder), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)  # stdout holds the summary and nothing else
    assert {"files_indexed", "files_unchanged", "files_removed", "files_failed", "chunks",
            "seconds"} <= set(summary)
    assert summary["files_indexed"] == 2 and summary["chunks"] > 0
    assert {Path(f["path"]).name for f in summary["files_failed"]} == set(BAD)
    assert "Traceback" not in out.stderr and "WARNING" not in out.stderr
    listed = subprocess.run([sys.executable, "main.py", "--data-dir", str(tmp_path / "home"),
                             "collections", "--json"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert json.loads(listed.stdout)[0]["chunks"] == summary["chunks"]
