"""Done-when tests of issue 5: train on the sample corpus, export, load in llama.cpp, and resume.

These use the real bundled model (SmolLM2-135M) end to end; sizes are cut (short sequences, a
handful of steps) so the module stays within about two minutes on two cores.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.jobs import Job
from engine.samples import CORPUS_DIR, QA_PATH

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_model():
    """The dequantized float32 base, loaded once for the module (the trainer copies it)."""
    from engine.model_files import default_model_path
    from engine.train.model import load_model

    return load_model(default_model_path())


# -- llama.cpp helpers (the low-level adapter API, as FACTS.md describes) -------------------------
class LlamaScorer:
    """Mean log-prob per token of texts under llama.cpp, with a LoRA switchable on and off."""

    def __init__(self, model_path: Path) -> None:
        import llama_cpp

        self.lib = llama_cpp
        self.llm = llama_cpp.Llama(str(model_path), n_ctx=512, n_batch=512, logits_all=True,
                                   n_threads=2, seed=0, verbose=False)
        self.adapters: list = []

    def load_adapter(self, path: Path):
        handle = self.lib.llama_adapter_lora_init(self.llm._model.model, str(path).encode())
        assert handle, f"llama.cpp refused the adapter {path}"
        self.adapters.append(handle)
        return handle

    def use(self, handle, scale: float = 1.0) -> None:
        ctx = self.llm._ctx.ctx
        if handle is None:
            rc = self.lib.llama_set_adapters_lora(ctx, None, 0, None)
        else:
            arr = (self.lib.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(scale)
            rc = self.lib.llama_set_adapters_lora(ctx, arr, 1, scales)
        assert rc == 0
        self.llm.reset()  # tokens evaluated under the other weights must not be reused

    def logits(self, text: str) -> np.ndarray:
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False)[:500]
        self.llm.reset()
        self.llm.eval(tokens)
        return np.array(self.llm.scores[: len(tokens)], dtype=np.float64), tokens

    def mean_logprob(self, texts: list[str]) -> float:
        total, count = 0.0, 0
        for text in texts:
            scores, tokens = self.logits(text)
            shifted = scores[:-1]
            logz = np.log(np.exp(shifted - shifted.max(1, keepdims=True)).sum(1)) + shifted.max(1)
            lp = shifted[np.arange(len(tokens) - 1), tokens[1:]] - logz
            total += float(lp.sum())
            count += len(tokens) - 1
        return total / count

    def close(self) -> None:
        for handle in self.adapters:
            self.lib.llama_adapter_lora_free(handle)
        self.llm.close()


def _index_sample() -> None:
    from engine.indexer import index_paths

    summary = index_paths([CORPUS_DIR], "sample")
    assert summary.chunks > 20 and not summary.files_failed


@pytest.mark.timeout(900)  # ~45 s on an idle 2-core machine; far slower under load
def test_adapter_from_sample_corpus_learns_and_loads_in_llama_cpp(base_model):
    """Train a few steps on the sample corpus, export, and measure through llama.cpp."""
    from engine.model_files import default_model_path
    from engine.train import TrainConfig, prepare, run
    from models.adapters import check_compatible, get_adapter, list_adapters

    _index_sample()
    snapshots = []
    job = Job(snapshots.append, min_interval_s=0)
    plan = prepare(TrainConfig(collection="sample", name="halcyon", max_steps=8,
                               overrides={"eval_every": 4, "checkpoint_every": 4,
                                          "learning_rate": 2e-3}), job)
    assert "estimated" in plan.describe() and plan.estimate_s > 0
    assert plan.data.heldout and plan.data.train and plan.control.loss_tokens
    result = run(plan, job, base_model=base_model)

    m = result.metrics
    assert m["steps"] == 8 and m["heldout_loss_after"] < m["heldout_loss_before"]
    assert {"heldout_ppl_before", "heldout_ppl_after", "control_ppl_before",
            "control_ppl_after", "tokens_per_s"} <= set(m)
    trained = [s for s in snapshots if s.metrics.get("tokens_per_s")]
    assert trained and trained[-1].done == 8 and trained[-1].total == 8
    assert "heldout_loss" in trained[-1].metrics and "loss" in trained[-1].metrics
    assert not plan.checkpoint_dir.exists()  # a finished run leaves no checkpoint behind

    entry = get_adapter("halcyon")
    assert [e.name for e in list_adapters()] == ["halcyon"]
    assert entry.manifest.base_model_sha256 == plan.base_sha256
    assert entry.manifest.data_source["kind"] == "collection"
    check_compatible(entry, default_model_path())

    from engine.gguf_info import read_info

    info = read_info(entry.path)
    assert info.file_type == "adapter" and info.lora_alpha == plan.preset.lora_alpha
    assert info.tensor_count == 2 * 7 * 30

    heldout = [ex.text for ex in plan.data.heldout]
    scorer = LlamaScorer(default_model_path())
    try:
        probe = heldout[0]
        off_before, _ = scorer.logits(probe)
        base_lp = scorer.mean_logprob(heldout)
        handle = scorer.load_adapter(entry.path)
        scorer.use(handle)
        on_logits, _ = scorer.logits(probe)
        adapted_lp = scorer.mean_logprob(heldout)
        scorer.use(None)
        off_after, _ = scorer.logits(probe)
        base_again = scorer.mean_logprob(heldout)
    finally:
        scorer.close()
    # Learning shows through llama.cpp: held-out facts of the corpus became more likely.
    assert adapted_lp > base_lp + 0.05, (base_lp, adapted_lp)
    # The torch-side gain and the llama.cpp gain agree (a wrong q/k permutation breaks this).
    torch_gain = m["heldout_loss_before"] - m["heldout_loss_after"]
    assert adapted_lp - base_lp > 0.4 * torch_gain, (adapted_lp - base_lp, torch_gain)
    # Switching the adapter off restores the base exactly.
    assert not np.array_equal(on_logits, off_before)
    assert np.array_equal(off_before, off_after)
    assert base_again == base_lp


def test_pairs_packed_in_one_block_are_learned_as_if_alone(base_model):
    """Packed pairs never see each other: the loss of a block of three pairs is the loss of
    each pair asked alone, as it is at answer time (engine.train.packing)."""
    import torch

    from engine.model_files import default_model_path
    from engine.train.data import Example
    from engine.train.model import load_tokenizer
    from engine.train.packing import encode_and_pack
    from engine.train.trainer import _loss_sum, evaluate

    tokenizer = load_tokenizer(default_model_path())
    pairs = [Example(f"p{i}", messages=(("system", "Answer briefly."), ("user", q),
                                        ("assistant", a)))
             for i, (q, a) in enumerate([("How many tables can a join hold?", "64"),
                                         ("Which pragma checks integrity fast?", "quick_check"),
                                         ("Who wrote the station log?", "Ines Marchetti")])]
    packed = encode_and_pack(pairs, tokenizer, 256)
    alone = encode_and_pack(pairs, tokenizer, 256, one_per_block=True)
    assert len(packed) == 1 and len(alone) == 3
    with torch.no_grad():
        isolated = evaluate(base_model, packed, 4)
        assert isolated == pytest.approx(evaluate(base_model, alone, 4), abs=1e-4)
        seen = float(_loss_sum(base_model, torch.tensor(packed.ids),
                               torch.tensor(packed.labels))) / packed.loss_tokens
    assert abs(seen - isolated) > 0.05  # without the position ids, pairs read each other


_RUNNER = textwrap.dedent("""
    import os, signal, sys, json
    from engine import netguard
    netguard.install()
    from engine.jobs import Job
    from engine.train import TrainConfig, prepare, run

    def main():
        data, name, resume, kill_at = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
        def listener(state):
            if kill_at and state.done >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # kill -9 mid-run, past a checkpoint
        config = TrainConfig(data_file=data, name=name, max_steps=6, resume=resume,
                             overrides=json.loads(os.environ["SATCHEL_TEST_OVERRIDES"]))
        job = Job(listener, min_interval_s=0)
        result = run(prepare(config, job), job)
        print(json.dumps({"resumed_from": result.resumed_from}))

    if __name__ == "__main__":
        main()
""")

#: Small enough to be quick, large enough to cross checkpoints, evaluations and an epoch edge.
RESUME_OVERRIDES = ('{"seq_len": 96, "micro_batch": 2, "grad_accum": 2, "checkpoint_every": 2, '
                    '"eval_every": 3, "patience": 5, "warmup_steps": 2}')


def _tensors(path: Path) -> dict[str, np.ndarray]:
    from gguf import GGUFReader

    return {t.name: np.array(t.data) for t in GGUFReader(str(path)).tensors}


@pytest.mark.timeout(900)  # three model loads; ~95 s on an idle 2-core machine
def test_kill_9_and_resume_gives_the_same_adapter(tmp_path, base_model, satchel_home):
    """SIGKILL in step 5 (checkpoint at 4), resume: tensors identical to an uninterrupted run."""
    from engine.train import TrainConfig, prepare, run
    from models.adapters import get_adapter

    script = tmp_path / "runner.py"
    script.write_text(_RUNNER)
    env = {**os.environ, "SATCHEL_TEST_OVERRIDES": RESUME_OVERRIDES,
           "PYTHONPATH": str(ROOT)}

    def runner(resume: bool, kill_at: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), str(QA_PATH), "resumed",
                               "1" if resume else "0", str(kill_at)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=1200)

    killed = runner(resume=False, kill_at=5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    checkpoints = list((satchel_home / "cache" / "train").glob("*/checkpoint.pt"))
    assert len(checkpoints) == 1
    with pytest.raises(Exception, match="no adapter named"):
        get_adapter("resumed")  # nothing half-written in the store

    resumed = runner(resume=True, kill_at=0)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert '"resumed_from": 4' in resumed.stdout

    import json

    plan = prepare(TrainConfig(data_file=str(QA_PATH), name="straight", max_steps=6,
                               overrides=json.loads(RESUME_OVERRIDES)))
    straight = run(plan, Job(), base_model=base_model)
    assert straight.resumed_from is None
    a = _tensors(get_adapter("resumed").path)
    b = _tensors(get_adapter("straight").path)
    assert a.keys() == b.keys() and len(a) == 2 * 7 * 30
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert get_adapter("resumed").manifest.metrics["heldout_loss_after"] == \
        straight.metrics["heldout_loss_after"]


@pytest.mark.timeout(600)
def test_cli_trains_lists_and_removes(tmp_path, base_model, monkeypatch, capsys):
    """`satchel adapter train` end to end (plan, progress, report lines), then list and remove."""
    import json

    from cli.app import run as cli_run
    from engine.train import presets, trainer

    monkeypatch.setitem(presets.PRESETS, "quick", presets.PRESETS["quick"].with_overrides(
        seq_len=96, eval_every=2, checkpoint_every=2))
    real_run = trainer.run
    monkeypatch.setattr(trainer, "run", lambda plan, job=None, **kw: real_run(
        plan, job, base_model=base_model))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"question": f"What is code {i}?",
                                         "answer": f"Code {i} is the Halcyon beacon {i * 7}."})
                             + "\n" for i in range(24)))
    assert cli_run(["adapter", "train", "--data", str(pairs), "--steps", "3"]) == 0
    out, err = capsys.readouterr()
    assert "training adapter 'pairs'" in err and "estimated" in err and "e.g." in err
    assert "adapter 'pairs' saved" in out and "held-out perplexity" in out
    assert "--mode adapter --adapter pairs" in out
    assert cli_run(["adapter", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in listed] == ["pairs"] and listed[0]["path"].endswith(".gguf")
    assert listed[0]["metrics"]["steps"] == 3
    # the same name again is refused with one line, and nothing is overwritten
    assert cli_run(["adapter", "train", "--data", str(pairs), "--name", "pairs"]) != 0
    assert "already exists" in capsys.readouterr().err
    assert cli_run(["adapter", "remove", "pairs"]) == 0
    assert cli_run(["adapter", "list"]) == 0
    assert "no adapters yet" in capsys.readouterr().out


@pytest.mark.timeout(600)
def test_a_stopped_training_goes_with_its_collection(base_model, satchel_home):
    """A stopped run's checkpoint holds weights learned from the collection's text: it can be
    resumed while the collection exists, and removing the collection removes it."""
    import json

    from engine import index, paths
    from engine.jobs import Cancelled
    from engine.train import TrainConfig, prepare, run
    from engine.train.checkpoint import checkpoint_path

    _index_sample()
    config = TrainConfig(collection="sample", name="stopped", max_steps=6,
                         overrides=json.loads(RESUME_OVERRIDES))
    plan = prepare(config)
    job = Job(lambda s: s.done >= 3 and not job.cancelled() and job.cancel(), min_interval_s=0)
    with pytest.raises(Cancelled):
        run(plan, job, base_model=base_model)
    saved = checkpoint_path(plan.checkpoint_dir)
    assert saved.is_file() and paths.collection_cache("sample") in saved.parents
    assert prepare(config).checkpoint_step() == 3  # a new plan of the same run finds it
    # a run stopped by a Satchel that kept checkpoints under cache/train resumes from there
    older = paths.cache_dir() / "train" / plan.run_id
    older.mkdir(parents=True)
    saved.replace(checkpoint_path(older))
    assert prepare(config).checkpoint_step() == 3
    checkpoint_path(older).replace(saved)
    index.remove_collection("sample")
    assert not saved.exists()
    assert not list(satchel_home.rglob("checkpoint.pt"))


def test_a_collection_removed_during_training_takes_the_run_with_it(base_model, satchel_home):
    """Removing the collection a run learns from stops the run at its next checkpoint: no
    checkpoint, no adapter and no cache folder learned from the removed text are left."""
    import json

    from engine import index, paths
    from engine.errors import SatchelError
    from engine.train import TrainConfig, prepare, run
    from models.adapters import list_adapters

    _index_sample()
    plan = prepare(TrainConfig(collection="sample", name="orphan", max_steps=6,
                               overrides=json.loads(RESUME_OVERRIDES)))

    def on_progress(s: Any) -> None:
        if s.done == 3:  # after the step-2 checkpoint was written
            index.remove_collection("sample")

    with pytest.raises(SatchelError, match="'sample' was removed during training"):
        run(plan, Job(on_progress, min_interval_s=0), base_model=base_model)
    assert not paths.collection_cache("sample").exists()
    assert not list(satchel_home.rglob("checkpoint.pt"))
    assert [a.name for a in list_adapters()] == []
