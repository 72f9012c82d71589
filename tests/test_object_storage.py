"""The index on object storage: a local S3-compatible server (moto), the real embedder, LanceDB.

Every engine feature is run against ``s3://``: incremental indexing, hybrid search with the
full-text index, a rebuild for a new chunk size, collections list/remove, a kill -9 mid-run then
a resume that matches a clean run, two processes writing one collection at once, and the CLI with
storage options from settings.json. moto honours conditional puts but not atomically, so the
compare-and-swap is also raced for real on a local folder through the same code path.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import index, storage, storage_lease, storage_meta
from engine.errors import SatchelError
from engine.indexer import index_paths
from engine.jobs import Cancelled, Job
from engine.retrieve import search
from engine.samples import CORPUS_DIR
from engine.settings import Settings
from tests.helpers_corpus import index_and_kill_mid_run, write_text_files
from tests.helpers_s3 import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    MotoS3,
    cas_worker,
    free_port,
    start_moto,
    stop_moto,
)
from tests.test_indexing import chunk_rows, doc_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ("buoy_deployments.csv", "data_management.md", "annual_report_2025.pdf",
           "wildlife_log_2025.txt")


@pytest.fixture(scope="module")
def s3() -> MotoS3:
    server = start_moto()
    yield server
    stop_moto(server)


@pytest.fixture(autouse=True)
def fresh_storage():
    """Locations, connections and leases of one test never reach the next."""
    storage.reset()
    yield
    storage.reset()


@pytest.fixture
def s3_index(s3: MotoS3) -> str:
    """A fresh bucket, configured as this test's index; returns its URI."""
    uri = f"s3://{s3.new_bucket()}/library"
    storage.configure(uri, s3.options())
    return uri


def copy_samples(dest: Path, names: tuple[str, ...] = SAMPLES) -> Path:
    dest.mkdir(parents=True)
    for name in names:
        shutil.copy2(CORPUS_DIR / name, dest / name)
    return dest


def tables_in(s3: MotoS3, uri: str) -> set[str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return {k[len(prefix) + 1:].split("/")[0] for k in s3.keys(bucket)}


def write_settings(home: Path, **values: object) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps(values))


# -- engine features on s3:// ---------------------------------------------------------------------
@pytest.mark.slow
def test_index_search_incremental_and_remove_on_s3(tmp_path, s3, s3_index, satchel_home):
    corpus = copy_samples(tmp_path / "corpus")
    first = index_paths([corpus])
    assert first.files_indexed == len(SAMPLES) and first.files_failed == []
    assert not (satchel_home / "index" / "collections.json").exists()  # nothing local
    assert {"_satchel_meta.lance", "default__chunks__g1.lance"} <= tables_in(s3, s3_index)

    for mode in ("vector", "text", "hybrid"):
        hits = search("buoy HRB-09 deployment depth", mode=mode, k=3)
        assert hits and any(h.path.endswith("buoy_deployments.csv") for h in hits), mode
    assert search("HRB-09", mode="hybrid", k=1)[0].path.endswith("buoy_deployments.csv")

    again = index_paths([corpus])
    assert again.files_indexed == 0 and again.files_unchanged == len(SAMPLES)
    before = chunk_rows()
    notes = corpus / "data_management.md"
    notes.write_text(notes.read_text() + "\n\nLate entry: the spare anchor is tagged KESTREL-5.\n")
    changed = index_paths([corpus])
    assert changed.files_indexed == 1 and changed.files_unchanged == len(SAMPLES) - 1
    assert search("KESTREL-5", mode="text", k=1)[0].path == str(notes)
    rows = chunk_rows()
    assert len(set(rows)) == len(rows) and rows != before

    assert [m.name for m in index.list_collections()] == ["default"]
    index.remove_collection("default")
    assert index.list_collections() == []
    assert not any(t.startswith("default__") for t in tables_in(s3, s3_index))


@pytest.mark.slow
def test_rebuild_with_a_new_chunk_size_on_s3(tmp_path, s3, s3_index):
    folder = tmp_path / "notes"
    write_text_files(folder, 4, 300)
    index_paths([folder])
    summary = index_paths([folder], settings=Settings(chunk_tokens=96, chunk_overlap=16))
    assert summary.rebuilt and summary.files_indexed == 4
    meta = index.get_meta("default")
    assert meta.generation == 2 and meta.chunk_tokens == 96 and meta.rebuild is None
    assert search("NX-0003-Q", mode="text", k=1)[0].path.endswith("note_0003.md")
    tables = tables_in(s3, s3_index)
    assert "default__chunks__g2.lance" in tables and "default__chunks__g1.lance" not in tables


@pytest.mark.slow
def test_kill_9_mid_run_into_s3_then_resume_matches_a_clean_index(tmp_path, s3, monkeypatch):
    folder = tmp_path / "docs"
    # several embed-and-commit batches (as in the local kill test): with 16 short files the
    # parser finished them all while the embedder loaded, and one batch committed everything
    write_text_files(folder, 48, 1500, seed=3)
    bucket = s3.new_bucket()
    crashed = tmp_path / "crashed"
    write_settings(crashed, index_uri=f"s3://{bucket}/crashed", storage_options=s3.options())
    monkeypatch.setenv("SATCHEL_HOME", str(crashed))
    storage.configure(f"s3://{bucket}/crashed", s3.options())

    def committed_files() -> int:
        return len(index.Collection.open("default").documents())

    committed = index_and_kill_mid_run([folder], crashed, committed_files)
    assert 0 < committed < 48
    leases = storage_meta.read_remote(storage.location())[2]
    assert leases["default"]["host"] == platform.node()  # the dead child's lease: taken over
    resumed = index_paths([folder])
    assert resumed.files_unchanged >= committed
    assert resumed.files_unchanged + resumed.files_indexed == 48
    crashed_chunks, crashed_docs = chunk_rows(), doc_rows()
    assert storage_meta.read_remote(storage.location())[2] == {}  # released

    monkeypatch.setenv("SATCHEL_HOME", str(tmp_path / "clean"))
    storage.configure(f"s3://{bucket}/clean", s3.options())
    assert index_paths([folder]).files_indexed == 48
    assert chunk_rows() == crashed_chunks and doc_rows() == crashed_docs


@pytest.mark.slow
def test_two_processes_write_one_collection_while_a_third_writes_another(tmp_path, s3,
                                                                         monkeypatch):
    """Same collection, overlapping files, two real processes: neither fails, and the result
    has exactly the rows of one clean run. A different collection is written meanwhile."""
    part1, part2 = tmp_path / "part1", tmp_path / "part2"
    files1 = write_text_files(part1, 8, 400, seed=1)
    write_text_files(part2, 4, 400, seed=2)
    bucket = s3.new_bucket()
    uri = f"s3://{bucket}/shared"
    env = {**os.environ, "AWS_ENDPOINT_URL": s3.endpoint, "AWS_ALLOW_HTTP": "true",
           "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

    def start(home: str, *inputs: Path) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "main.py", "--index-uri", uri, "index",
                                 *map(str, inputs), "--collection", "shared", "--json"],
                                cwd=ROOT, env={**env, "SATCHEL_HOME": str(tmp_path / home)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    writers = [start("a", part1), start("b", *files1[4:], part2)]
    storage.configure(uri, s3.options())
    other = tmp_path / "other"
    write_text_files(other, 1, 80, seed=9)
    assert index_paths([other], "other").files_indexed == 1  # not held up by "shared"
    outputs = [w.communicate(timeout=400) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
    done = [json.loads(out) for out, _ in outputs]
    # Whichever went first, the other found the 4 shared files already indexed: the writers took
    # turns (had both written at once, those files would count twice: 16).
    assert sum(d["files_indexed"] for d in done) == 12
    shared, shared_docs = chunk_rows("shared"), doc_rows("shared")
    assert len({row[0][1] for row in shared}) == len(shared)  # no chunk id twice
    names = {m.name: m for m in index.list_collections()}
    assert set(names) == {"shared", "other"} and names["shared"].sources == sorted(
        [str(part1), str(part2)])
    assert storage_meta.read_remote(storage.location())[2] == {}

    monkeypatch.setenv("SATCHEL_HOME", str(tmp_path / "clean"))
    storage.configure(f"s3://{bucket}/clean", s3.options())
    index_paths([part1, part2], "shared")
    assert chunk_rows("shared") == shared and doc_rows("shared") == shared_docs
    assert len(shared_docs) == 12


# -- the CLI, errors, the guard -------------------------------------------------------------------
@pytest.mark.slow
def test_cli_index_search_collections_with_options_from_settings(tmp_path, s3, satchel_home,
                                                                 capsys):
    from cli.app import run

    corpus = copy_samples(tmp_path / "corpus", SAMPLES[:2])
    bucket = s3.new_bucket()
    write_settings(satchel_home, storage_options=s3.options())
    uri = f"s3://{bucket}/cli"

    def cli(*args: str) -> tuple[int, str, str]:
        code = run(["--index-uri", uri, *args])
        out, err = capsys.readouterr()
        assert SECRET_KEY not in out + err
        return code, out, err

    code, out, err = cli("index", str(corpus), "--collection", "station", "--json")
    assert code == 0, err
    assert json.loads(out)["files_indexed"] == 2
    code, out, _ = cli("collections", "--json")
    assert [c["name"] for c in json.loads(out)] == ["station"] and json.loads(out)[0]["chunks"]
    code, out, _ = cli("search", "HRB-09", "--collection", "station", "--json", "--k", "1")
    assert code == 0 and json.loads(out)[0]["path"].endswith("buoy_deployments.csv")
    assert cli("collections", "remove", "station")[0] == 0
    assert json.loads(cli("collections", "--json")[1]) == []
    assert not (satchel_home / "index" / "collections.json").exists()


def test_bad_locations_are_one_line_errors_without_secrets(tmp_path, s3, satchel_home, capsys):
    from cli.app import run

    write_settings(satchel_home, storage_options=s3.options())

    def error(*args: str) -> str:
        started = time.monotonic()
        assert run(list(args)) == 2
        _, err = capsys.readouterr()
        assert time.monotonic() - started < 30  # bounded retries, never a hang
        assert "Traceback" not in err and SECRET_KEY not in err and len(err.splitlines()) == 1
        return err

    assert "not supported" in error("--index-uri", "ftp://host/x", "collections")
    assert "does not exist" in error("--index-uri", "s3://no-such-bucket-here/x", "collections")
    bucket = s3.new_bucket()
    with s3.require_auth():
        assert "access was refused" in error("--index-uri", f"s3://{bucket}/x", "collections")
    dead = f"http://127.0.0.1:{free_port()}"
    write_settings(satchel_home, storage_options=s3.options(endpoint=dead))
    assert "cannot reach" in error("--index-uri", f"s3://{bucket}/x", "search", "x")
    write_settings(satchel_home, storage_options=s3.options(allow_http="false"))
    assert "allow_http" in error("--index-uri", f"s3://{bucket}/x", "collections")


def test_configuring_allows_exactly_the_endpoint(monkeypatch, s3):
    from engine import netguard

    monkeypatch.setenv(netguard.ENV_ALLOWED_ENDPOINTS, "")
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(var, raising=False)
    storage.configure("s3://some-bucket/x", {"region": "eu-west-1"})
    assert os.environ[netguard.ENV_ALLOWED_ENDPOINTS] == ""  # no endpoint: nothing opened
    loc = storage.configure("s3://some-bucket/x", s3.options(endpoint="http://10.1.2.3:9000"))
    assert os.environ[netguard.ENV_ALLOWED_ENDPOINTS] == "10.1.2.3:9000"
    assert SECRET_KEY not in repr(loc) and "aws_secret_access_key" in repr(loc)
    assert storage.location() == loc
    storage.reset()
    assert not storage.location().remote  # reset: the data dir's own index again


def test_following_settings_moves_the_index_when_the_file_changes(satchel_home, s3):
    storage.follow_settings()  # what the GUI's engine worker does: it gets only a data dir
    assert not storage.location().remote
    write_settings(satchel_home, index_uri="s3://team-bucket/lib", storage_options=s3.options())
    assert storage.location().uri == "s3://team-bucket/lib"
    write_settings(satchel_home, index_uri="s3://team-bucket/other-lib",
                   storage_options=s3.options())
    assert storage.location().uri == "s3://team-bucket/other-lib"
    storage.configure("")  # an explicit location (a --index-uri) wins over the file
    assert not storage.location().remote


# -- metadata compare-and-swap and leases ---------------------------------------------------------
@pytest.mark.slow
def test_metadata_compare_and_swap_loses_no_update_in_a_real_race(tmp_path):
    """Three processes change the metadata row at once through the object-store code path, on
    a local folder where Lance's commits are truly atomic (moto's conditional put is not)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=cas_worker, args=(str(tmp_path), w, 4, barrier))
             for w in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    rev, colls, leases = storage_meta.read_remote(storage.Location(str(tmp_path), True, ()))
    assert rev == 12 and len(colls) == 12 and leases == {}


def test_a_live_lease_is_waited_for_and_a_dead_one_taken_over(s3, s3_index, monkeypatch):
    loc = storage.location()
    other = {"token": "t-other", "host": "another-machine", "pid": 1, "started": 0, "beat": 0}
    storage_meta.update_remote(loc, lambda _c, leases: leases.update(default=dict(other)))
    job, seen = Job(), []
    job.add_listener(lambda state: seen.append(state.status))
    monkeypatch.setattr(storage_lease, "TTL_S", 1.5)
    started = time.monotonic()
    with index.writer_lock("default", job):  # the holder never renews: taken over after TTL
        assert storage_meta.read_remote(loc)[2]["default"]["pid"] == os.getpid()
    assert time.monotonic() - started >= 1.5
    assert any("another-machine" in (s or "") for s in seen)
    assert storage_meta.read_remote(loc)[2] == {}

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = {**other, "host": platform.node(), "pid": dead.pid, "started": time.time()}
    storage_meta.update_remote(loc, lambda _c, leases: leases.update(default=gone))
    started = time.monotonic()
    with index.writer_lock("default"):  # same machine, process gone: at once
        pass
    assert time.monotonic() - started < 1.0
    with pytest.raises(SatchelError, match="another task of this Satchel process"), \
            index.writer_lock("default"), index.writer_lock("default"):
        pass  # waiting for itself would never end

    storage_meta.update_remote(loc, lambda _c, leases: leases.update(default=dict(other)))
    monkeypatch.setattr(storage_lease, "TTL_S", 60)
    cancelling = Job()
    cancelling.add_listener(lambda state: state.cancelled or cancelling.cancel())
    with pytest.raises(Cancelled), index.writer_lock("default", cancelling):
        pass
    with pytest.raises(SatchelError, match="another Satchel"):
        storage.reset()  # local again: the fcntl lock still fails fast
        with index.writer_lock("default"), index.writer_lock("default"):
            pass
