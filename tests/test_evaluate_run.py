"""Evaluation end to end: the real bundled model, a real index of the sample corpus, a real
(small, random) LoRA adapter, the report on disk, resume after cancel, the CLI, drafting.

Sizes are cut to stay within a few minutes on two cores: three questions, 16 answer tokens. The
adapter is a random LoRA (benchmarks.random_adapter.make_random_adapter): training a real one takes
minutes, and the harness only needs one the store and llama.cpp accept.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from benchmarks.random_adapter import make_random_adapter
from engine import paths
from engine.evaluate import EvalConfig, evaluate, load_questions
from engine.evaluate import metrics as M
from engine.jobs import Cancelled, Job
from engine.samples import QA_SET_PATH
from engine.settings import Settings

pytestmark = pytest.mark.slow

COLLECTION = "sample"
ADAPTER = "eval-test-lora"
MAX_TOKENS = 16
MODES = ["base", "rag", "adapter", "rag+adapter"]


@pytest.fixture(scope="module")
def eval_home(tmp_path_factory):
    """A data dir with the sample corpus indexed and a test adapter stored (module-wide)."""
    from engine.indexer import index_paths
    from engine.samples import CORPUS_DIR

    home = tmp_path_factory.mktemp("eval-home")
    paths.set_data_dir(home)
    try:
        index_paths([CORPUS_DIR], COLLECTION)
        make_random_adapter(ADAPTER)
    finally:
        paths.set_data_dir(None)
    return home


@pytest.fixture
def in_home(eval_home):
    paths.set_data_dir(eval_home)
    yield eval_home
    paths.set_data_dir(None)


def settings() -> Settings:
    return Settings(default_collection=COLLECTION)


@pytest.fixture(scope="module")
def full_run(eval_home, tmp_path_factory):
    """Three shipped questions through all four modes, report written: the reference run."""
    paths.set_data_dir(eval_home)
    try:
        items = load_questions(QA_SET_PATH, limit=3)
        out = tmp_path_factory.mktemp("report")
        result = evaluate(items, EvalConfig(collection=COLLECTION, max_tokens=MAX_TOKENS),
                          out, settings=settings())
    finally:
        paths.set_data_dir(None)
    return result


def strip_timing(row: dict) -> dict:
    """A row without what legitimately differs between runs (timings, cache reuse)."""
    row = json.loads(json.dumps(row))
    if row.get("answer"):
        row["answer"].pop("timings")
    row["metrics"]["similarity"] = round(row["metrics"]["similarity"] or 0.0, 4)
    return row


def test_all_modes_on_the_sample_corpus(full_run):
    result = full_run
    assert result.modes == MODES and result.meta["adapter"] == ADAPTER
    assert any("newest adapter" in n for n in result.notes)  # picked, and said so
    assert len(result.rows) == 12
    by = {(r["id"], r["mode"]): r for r in result.rows}
    for r in result.rows:
        a, m = r["answer"], r["metrics"]
        assert a["error"] is None and a["answer"]
        assert a["adapter"] == (ADAPTER if "adapter" in r["mode"] else None)
        # the scores follow from the row's own data
        assert m["correct"] == float(any(g.lower() in a["answer"].lower()
                                         for g in r["gold"]["answers"]))
        assert m["token_f1"] == pytest.approx(M.best(M.token_f1, a["answer"],
                                                     r["gold"]["answers"]))
        assert 0.0 <= m["similarity"] <= 1.0
        if "rag" in r["mode"]:
            ranked = [(h["path"], h["page"]) for h in r["retrieval"]["ranked"]]
            assert len(ranked) == M.RETRIEVAL_DEPTH
            assert r["retrieval"]["gold_rank"] == M.gold_rank(ranked, r["gold"]["sources"],
                                                              r["gold"]["pages"])
            assert a["sources"] and m["cited"] == float(bool(a["cited"]))
            # the answer's passages are the scored ranking's first ones (same search)
            assert [s["path"] for s in a["sources"]] == [p for p, _ in ranked[:len(a["sources"])]]
        else:
            assert r["retrieval"] is None and m["hit_at_5"] is None and a["sources"] == []
    for qid in (1, 2, 3):  # retrieval is scored once per question, shared by both rag modes
        assert by[(qid, "rag")]["retrieval"] == by[(qid, "rag+adapter")]["retrieval"]
    s = result.summary
    # the gold page of each of the first three questions is in the top 5 (hybrid search)
    assert s["rag"]["hit_at_5"] == 1.0 and s["rag+adapter"]["hit_at_5"] == 1.0
    assert s["base"]["hit_at_5"] is None and s["adapter"]["mrr"] is None
    assert s["rag"]["prompt_tokens"] > s["base"]["prompt_tokens"]  # passages cost tokens
    assert all(s[m]["latency_p95_ms"] >= s[m]["latency_p50_ms"] > 0 for m in MODES)
    t = result.times
    assert 0 < t.generation_s < t.total_s and t.overhead_pct < 50
    assert {"retrieval scoring", "metrics", "journal", "report"} <= set(t.sections)
    cli = result.to_cli_json()
    assert set(cli) == {"report_dir", "modes"} and list(cli["modes"]) == MODES
    assert all(list(v) == list(result.CLI_FIELDS) for v in cli["modes"].values())
    assert cli["modes"]["base"]["hit_at_5"] is None
    assert cli["modes"]["base"]["citation_correct"] is None
    assert isinstance(cli["modes"]["rag"]["mrr"], float)


def test_report_files_are_real(full_run):
    folder = full_run.report_dir
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert len(data["rows"]) == 12 and data["summary"]["rag"]["n"] == 3
    assert data["times"]["overhead_pct"] == pytest.approx(full_run.times.overhead_pct, abs=0.01)
    md = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| metric | base | rag | adapter | rag+adapter |" in md
    assert "![accuracy](accuracy.png)" in md and "overhead" in md
    from matplotlib.image import imread

    for name in ("accuracy.png", "latency.png", "questions.png"):
        raw = (folder / name).read_bytes()
        assert raw[:8] == b"\x89PNG\r\n\x1a\n", name
        pixels = imread(folder / name)
        height, width = pixels.shape[:2]
        assert width >= 300 and height >= 200, (name, pixels.shape)
        flat = pixels[..., :3].reshape(-1, 3)
        assert len({tuple(p) for p in flat[:: max(1, len(flat) // 20000)]}) > 20, name
        assert flat.std() > 0.05, name  # not a blank canvas
    assert not Path(full_run.meta["journal"]).exists()  # finished runs leave no journal


def test_resume_after_cancel_gives_the_same_rows(full_run, in_home, tmp_path):
    items = load_questions(QA_SET_PATH, limit=3)
    config = EvalConfig(collection=COLLECTION, max_tokens=MAX_TOKENS, modes=("base", "rag"))

    def cancel_after_two(state):
        if state.done >= 2 and not state.cancelled:
            job.cancel()

    job = Job(cancel_after_two, min_interval_s=0)
    with pytest.raises(Cancelled):
        evaluate(items, config, tmp_path / "cancelled", settings=settings(), job=job)
    assert len(job.partial_results) == 2
    from engine.paths import collection_cache

    # in the collection's cache: its answers quote the documents, and go with the collection
    journals = list((collection_cache(COLLECTION) / "eval-journals").glob("*.jsonl"))
    assert len(journals) == 1
    with open(journals[0], "a", encoding="utf-8") as fh:
        fh.write('{"key": "torn by a kill')  # a half-written last line must not matter
    resumed = evaluate(items, config, tmp_path / "resumed", settings=settings(), job=Job())
    assert resumed.resumed_rows == 2 and any("resumed: 2 of 6" in n for n in resumed.notes)
    # the same rows as the uninterrupted reference run (which also ran the adapter modes)
    assert [strip_timing(r) for r in resumed.rows] == \
        [strip_timing(r) for r in full_run.rows if r["mode"] in ("base", "rag")]
    assert not journals[0].exists()


def test_retrieval_only(in_home, tmp_path):
    items = load_questions(QA_SET_PATH, limit=20)
    result = evaluate(items, EvalConfig(collection=COLLECTION, retrieval_only=True),
                      tmp_path / "ret", settings=settings())
    assert result.modes == ["rag"] and len(result.rows) == 20
    assert all(r["answer"] is None for r in result.rows)
    s = result.summary["rag"]
    assert s["hit_at_5"] >= 0.9 and s["correct"] is None and s["latency_p50_ms"] is None
    ranks = [r["retrieval"]["gold_rank"] for r in result.rows]
    assert s["mrr"] == pytest.approx(sum(1 / k for k in ranks if k) / 20)
    files = sorted(p.name for p in (tmp_path / "ret").iterdir())
    assert files == ["results.json", "retrieval.png", "summary.md"]
    assert result.to_cli_json()["modes"]["rag"]["correct"] is None


def test_shipped_answers_are_on_their_gold_pages(in_home):
    """Every question of the shipped set: a gold answer occurs in a chunk of its gold page."""
    from engine.index import Collection

    rows = Collection.open(COLLECTION).chunks.to_arrow().select(
        ["path", "page", "text"]).to_pylist()
    for item in load_questions(QA_SET_PATH):
        gold = [r for r in rows if M.is_gold(r["path"], r["page"], item.sources, item.pages)]
        assert gold, item.question
        assert any(M.contains_answer(r["text"], item.answers) for r in gold), item.question


# ---------------------------------------------------------------------------------------- CLI
def run_cli(*argv: str) -> tuple[int, str, str]:
    """``satchel ...`` in this process: exit status, stdout, stderr."""
    from cli.app import run

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_eval_json_contract(eval_home, tmp_path):
    code, out, err = run_cli("--data-dir", str(eval_home), "eval", "--qa", "sample",
                             "--modes", "base,rag", "--limit", "1", "--max-tokens", "12",
                             "--out", str(tmp_path / "r"), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["report_dir"] == str(tmp_path / "r")
    assert list(data["modes"]) == ["base", "rag"]
    fields = ["hit_at_5", "mrr", "correct", "token_f1", "rouge_l", "similarity",
              "citation_correct", "latency_p50_ms", "latency_p95_ms", "ttft_p50_ms",
              "tokens_per_s"]
    assert all(list(v) == fields for v in data["modes"].values())
    assert data["modes"]["base"]["mrr"] is None and data["modes"]["rag"]["mrr"] is not None
    assert data["modes"]["rag"]["latency_p50_ms"] > 0


def test_cli_errors_are_one_line(eval_home, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q?", "answers": ["a"]}\n{"question": "q2?"}\n', "utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "q?", "answers": ["a"]}\n\n{"question": "q2?", '
                      '"answers": ["a"]\n', "utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", "utf-8")
    home = ("--data-dir", str(eval_home))
    cases = [
        (("eval", "--qa", str(bad)), "bad.jsonl:2: 'answers' is missing"),
        (("eval", "--qa", str(broken)), "broken.jsonl:3: not valid JSON"),
        (("eval", "--qa", str(empty)), "empty.jsonl: no questions in the file"),
        (("eval", "--qa", str(tmp_path / "nope.jsonl")), "nope.jsonl not found"),
        (("eval",), "needs --qa FILE"),
        (("eval", "--qa", "sample", "--modes", "rag,magic"), "unknown mode 'magic'"),
        (("eval", "--qa", "sample", "--modes", "base", "magic"), "unknown mode 'magic'"),
        (("eval", "--qa", "sample", "--modes", "adapter", "--adapter", "nope"),
         "no adapter named 'nope'"),
        (("eval", "--qa", "sample", "--collection", "missing"),
         "no collection named 'missing'"),
        (("eval", "--qa", "sample", "--model", str(tmp_path / "none.gguf")),
         "model file not found"),
        (("eval", "--qa", "sample", "--limit", "0"), "--limit must be at least 1"),
        (("--data-dir", str(tmp_path / "fresh"), "eval", "--qa", "sample", "--retrieval-only"),
         "no collection named 'sample'"),
    ]
    for argv, needle in cases:
        code, _out, err = run_cli(*home, *argv)
        lines = [line for line in err.splitlines() if line.strip()]  # a progress bar may clear
        assert code == 2 and len(lines) == 1 and needle in lines[0], (argv, err)
        assert lines[0].startswith("satchel: error: ")


def test_cli_error_through_the_real_entry_point(tmp_path):
    """The installed command, as a user runs it: one line on stderr, status 2, no traceback."""
    import subprocess
    import sys

    broken = tmp_path / "qa.jsonl"
    broken.write_text('{"question": "Where?", "answers": ["here"]}\n{"question": \n', "utf-8")
    main = Path(__file__).resolve().parents[1] / "main.py"
    proc = subprocess.run([sys.executable, str(main), "--data-dir", str(tmp_path / "home"),
                           "eval", "--qa", str(broken)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "satchel: error: qa.jsonl:2: not valid JSON (Expecting value at column 13)"]


def test_cli_adapter_modes_without_adapter(tmp_path):
    """No adapter stored: default modes skip adapter ones with a note; asking for one fails."""
    from engine.indexer import index_paths

    home = tmp_path / "home"
    paths.set_data_dir(home)
    try:
        folder = tmp_path / "docs"
        folder.mkdir()
        (folder / "note.md").write_text("The spare key is kept in drawer 7.\n", "utf-8")
        index_paths([folder], COLLECTION)
    finally:
        paths.set_data_dir(None)
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "Where is the spare key?", "answers": ["drawer 7"], '
                  '"sources": ["note.md"]}\n', "utf-8")
    code, out, err = run_cli("--data-dir", str(home), "eval", "--qa", str(qa), "--collection",
                             COLLECTION, "--retrieval-only", "--modes", "rag,rag+adapter,base",
                             "--json")
    assert code == 0, err
    assert list(json.loads(out)["modes"]) == ["rag", "rag+adapter"]  # nothing to generate
    code, out, err = run_cli("--data-dir", str(home), "eval", "--qa", str(qa), "--collection",
                             COLLECTION, "--modes", "rag+adapter")
    assert code == 2 and "needs an adapter" in err
    assert [line for line in err.splitlines() if line.strip()] == [err.strip()]


# -------------------------------------------------------------------------------------- draft
def test_draft_from_the_collection_is_scoreable(in_home, tmp_path):
    from engine.evaluate import draft_questions, write_questions
    from engine.index import Collection

    items = draft_questions(COLLECTION, 4, settings=settings())
    assert len(items) == 4
    chunks = {r["chunk_id"]: r for r in Collection.open(COLLECTION).chunks.to_arrow().select(
        ["chunk_id", "path", "page", "text"]).to_pylist()}
    for item in items:
        chunk = chunks[item.extra["chunk_id"]]
        assert M.contains_answer(chunk["text"], item.answers)  # gold answer is in the chunk
        assert M.is_gold(chunk["path"], chunk["page"], item.sources, item.pages)
        if item.question.startswith("Fill in the blank"):
            assert "____" in item.question
        else:  # phrased by the model: a question that does not give the answer away
            assert item.question.endswith("?")
            assert item.answers[0].lower() not in item.question.lower()
    path = write_questions(tmp_path / "draft.jsonl", items)
    again = load_questions(path)
    assert [i.question for i in again] == [i.question for i in items]
    result = evaluate(again, EvalConfig(collection=COLLECTION, retrieval_only=True),
                      tmp_path / "r", settings=settings())
    assert result.summary["rag"]["hit_at_5"] >= 0.75  # drafted from chunks retrieval finds


def test_cli_draft_without_model(eval_home, tmp_path):
    out_file = tmp_path / "mine.jsonl"
    code, _out, err = run_cli("--data-dir", str(eval_home), "eval", "draft", "--collection",
                              COLLECTION, "--out", str(out_file), "--count", "6", "--no-model")
    assert code == 0, err
    items = load_questions(out_file)
    assert len(items) == 6 and all(i.question.startswith("Fill in the blank") for i in items)
    assert len({i.sources[0] for i in items}) >= 4  # spread over files, not one document
    code, _out, err = run_cli("--data-dir", str(eval_home), "eval", "draft", "--collection",
                              COLLECTION, "--out", str(out_file))
    assert code == 2 and "exists" in err


# --------------------------------------------------------------------------------------- demo
def test_demo_runs_the_shipped_question_set(eval_home, tmp_path):
    """``satchel demo --eval``: (re)index the sample corpus, then evaluate every mode on it."""
    out = tmp_path / "demo-report"
    code, stdout, err = run_cli("--data-dir", str(eval_home), "demo", "--eval", "--limit", "1",
                                "--max-tokens", "8", "--out", str(out))
    assert code == 0, err
    assert "13 files in collection 'sample' (0 newly indexed)" in stdout
    assert f"report: {out}" in stdout and "correct" in stdout
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["modes"] == MODES and len(data["rows"]) == 4  # the adapter was found
    assert data["meta"]["qa_file"] == str(QA_SET_PATH)
    assert {p.name for p in out.glob("*.png")} == {"accuracy.png", "latency.png",
                                                   "questions.png"}
