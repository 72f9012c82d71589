"""The ONNX embedder: same vectors as sentence-transformers, and no torch on the answer path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine import embed_onnx
from engine.embed import Embedder, get_embedder
from engine.model_files import resolve_embedder

ROOT = Path(__file__).resolve().parents[1]


def minilm() -> Path:
    return resolve_embedder(None)[1]


def corpus_chunks() -> list[str]:
    """Real chunks: the sample corpus through Satchel's own loaders and chunker."""
    from engine.ingest.chunker import chunk_document
    from engine.ingest.loaders import load
    from engine.ingest.tokens import load_tokenizer
    from engine.samples import CORPUS_DIR

    counter = load_tokenizer(minilm())
    texts: list[str] = []
    for path in sorted(CORPUS_DIR.iterdir()):
        texts += [c.text for c in chunk_document(load(path), counter)]
    return texts


def test_onnx_vectors_agree_with_sentence_transformers():
    texts = corpus_chunks()
    assert len(texts) >= 30
    onnx = Embedder("minilm", minilm(), "onnx")
    torch_ = Embedder("minilm", minilm(), "torch")
    assert onnx.load() == "onnx" and torch_.load() == "torch"
    a, b = onnx.encode(texts), torch_.encode(texts)
    cosines = np.sum(a * b, axis=1)
    assert a.shape == b.shape == (len(texts), 384)
    assert cosines.min() >= 0.99, cosines.min()
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    query = "How many people were in the 2025 winter crew?"
    assert float(onnx.encode_query(query) @ torch_.encode_query(query)) >= 0.99
    assert onnx.info == torch_.info  # the collection records the same model either way
    assert onnx.count_tokens(texts[:5]) == torch_.count_tokens(texts[:5])
    # Retrieval is unchanged: every chunk's nearest neighbour among the torch vectors is itself.
    assert (np.argmax(a @ b.T, axis=1) == np.arange(len(texts))).all()


def test_a_text_gets_the_same_vector_alone_or_in_a_batch():
    embedder = get_embedder(None)
    texts = corpus_chunks()[:40]
    batch = embedder.encode(texts)
    alone = np.vstack([embedder.encode([t]) for t in texts[:6]])
    assert np.sum(batch[:6] * alone, axis=1).min() >= 0.999


def test_export_records_its_quality_and_is_reused():
    export_dir = embed_onnx.ensure_exported(minilm())
    meta = json.loads((export_dir / "meta.json").read_text())
    assert meta["cosine_min"] >= 0.99 and meta["precision"].startswith(("int8", "fp32"))
    assert meta["tried"] and meta["texts_checked"] >= 40
    assert embed_onnx.ensure_exported(minilm()) == export_dir  # cached, not exported again
    assert sorted(p.name for p in export_dir.iterdir()) == ["meta.json", "model.onnx",
                                                            "tokenizer.json"]


def test_layouts_without_an_onnx_path_are_refused_with_the_reason(tmp_path):
    folder = tmp_path / "dense"
    shutil.copytree(minilm(), folder)
    modules = json.loads((folder / "modules.json").read_text())
    (folder / "modules.json").write_text(json.dumps(
        [*modules, {"idx": 3, "name": "3", "path": "3_Dense",
                    "type": "sentence_transformers.models.Dense"}]))
    with pytest.raises(embed_onnx.Unsupported, match="Dense"):
        embed_onnx.read_layout(folder)
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: "}, "default_prompt_name": "query"}))
    with pytest.raises(embed_onnx.Unsupported, match="prompts"):
        embed_onnx.read_layout(folder)
    assert embed_onnx.read_layout(minilm())["pooling"] == "mean"


def test_a_failed_export_is_remembered_and_auto_falls_back(tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    shutil.copytree(minilm(), folder)
    (folder / "model.safetensors").write_bytes(b"not weights")
    monkeypatch.setenv(embed_onnx.ENV_CACHE, str(tmp_path / "cache"))
    with pytest.raises(embed_onnx.Unsupported):
        embed_onnx.ensure_exported(folder)
    failed = list((tmp_path / "cache").glob("*.failed.json"))
    assert len(failed) == 1 and json.loads(failed[0].read_text())["error"]
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]
    with pytest.raises(embed_onnx.Unsupported):  # remembered: no second export attempt
        embed_onnx.ensure_exported(folder)
    with pytest.raises(embed_onnx.Unsupported):
        Embedder("broken", folder, "onnx").load()


def test_the_answer_path_never_imports_torch(tmp_path):
    """Index the sample corpus and answer a RAG question in a fresh process: no torch,
    transformers or sentence-transformers is ever imported."""
    script = textwrap.dedent("""
        import sys
        from engine import netguard
        netguard.install()
        from engine.answer import Assistant
        from engine.indexer import index_paths
        from engine.samples import CORPUS_DIR
        from engine.settings import Settings

        index_paths([CORPUS_DIR], "sample")
        stream = Assistant(Settings(default_collection="sample", temperature=0.0)).ask(
            "How many people were in the 2025 winter crew?", "rag", max_tokens=24)
        text = "".join(stream)
        assert stream.answer.sources and text, "no answer"
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers", "scipy",
                                   "sklearn") if m in sys.modules)
        print("HEAVY", ",".join(heavy) or "none")
    """)
    env = {**os.environ, "SATCHEL_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "HEAVY none" in done.stdout, done.stdout + done.stderr[-2000:]


def test_an_export_child_that_dies_is_noticed_at_once():
    """A killed or crashed export is reported within a second, not after the 15-minute timeout,
    and is not remembered as the model's failure (the next use tries again)."""
    import multiprocessing
    import queue
    import time

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=os._exit, args=(3,))
    child.start()
    started = time.monotonic()
    status, reason = embed_onnx._wait(child, results, queue.Empty, lambda: False)
    child.join()
    assert status == "died" and "exit code 3" in reason
    assert time.monotonic() - started < 10


def test_cancelling_an_index_run_stops_the_first_use_export(tmp_path, monkeypatch):
    """A window closed (or Ctrl-C) while a first run exports the embedder stops at once, not
    after the ~20 s export; nothing is left of it and the next use exports again."""
    import multiprocessing
    import threading
    import time

    from engine.indexer import index_paths
    from engine.jobs import Job

    cache = tmp_path / "empty-cache"
    monkeypatch.setenv(embed_onnx.ENV_CACHE, str(cache))
    monkeypatch.setattr("engine.embed._cache", {})  # a fresh embedder, not the loaded one
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The boiler is serviced every March.\n", encoding="utf-8")
    job = Job()
    statuses: list[str] = []
    job.add_listener(lambda state: statuses.append(state.status))
    timer = threading.Timer(1.0, job.cancel)
    timer.start()
    started = time.monotonic()
    summary = index_paths([docs], "first", job=job)
    timer.join()
    assert summary.cancelled and summary.files_indexed == 0
    assert time.monotonic() - started < 8  # the export alone takes ~20 s
    assert any("Preparing the embedder" in s for s in statuses)
    assert not multiprocessing.active_children()  # the export process was stopped
    assert not any(cache.iterdir()) if cache.exists() else True  # no half export kept
    assert not Embedder("minilm", minilm(), "auto").ready()  # made again next time


def test_ready_says_whether_the_first_use_will_export(tmp_path, monkeypatch):
    assert get_embedder(None).ready()  # the suite's shared cache holds MiniLM's export
    monkeypatch.setenv(embed_onnx.ENV_CACHE, str(tmp_path / "empty-cache"))
    assert not Embedder("minilm", minilm(), "auto").ready()
    assert Embedder("minilm", minilm(), "torch").ready()
