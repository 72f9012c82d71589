"""Training data, packing, presets, the adapter store and the GGUF export, without training.

Bad data must give one clear line (file and line number) and leave nothing in the model store.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from engine.errors import SatchelError
from engine.samples import QA_PATH


@pytest.fixture(scope="module")
def tokenizer():
    from engine.model_files import default_model_path
    from engine.train.model import load_tokenizer

    return load_tokenizer(default_model_path())


def _store_is_empty() -> bool:
    from engine import paths

    return not any(paths.adapters_dir().iterdir())


# -- sources and bad data -------------------------------------------------------------------------
def test_pairs_in_every_supported_shape(tmp_path):
    from engine.train.data import from_pairs_file

    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text("\n".join(json.dumps(o) for o in [
        {"question": "Who runs the station?", "answer": "Marchetti-Okafor"},
        {"prompt": "Budget?", "completion": "EUR 4.82 million"},
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "Crew size?"},
                      {"role": "assistant", "content": "27"}]},
        {"question": "Peak population?", "answers": ["64", "sixty-four"]},
    ]) + "\n\n")
    examples = from_pairs_file(jsonl)
    assert [e.messages[-1][1] for e in examples] == ["Marchetti-Okafor", "EUR 4.82 million",
                                                      "27", "64"]
    assert examples[2].messages[0] == ("system", "Be brief.")
    assert examples[1].origin == "pairs.jsonl line 2"

    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text('Question,Answer\n"Who, exactly?",Obi Lindgren\nWhen?,2025\n')
    rows = from_pairs_file(csv_file)
    assert rows[0].messages == (("user", "Who, exactly?"), ("assistant", "Obi Lindgren"))
    assert rows[1].origin == "pairs.csv line 3"


@pytest.mark.parametrize(("content", "name", "message"), [
    ("", "empty.jsonl", "empty.jsonl is empty"),
    ("  \n\n", "blank.jsonl", "is empty"),
    ('{"question": "a?", "answer": "b"}\n{"question": "c?", "answer": \n', "bad.jsonl",
     "bad.jsonl line 2: not valid JSON"),
    ('{"question": "a?", "answer": "b"}\n\n["list"]\n', "list.jsonl",
     "list.jsonl line 3: expected a JSON object"),
    ('{"q": "a?", "a": "b"}\n', "keys.jsonl", "keys.jsonl line 1: needs question/answer"),
    ('{"question": "a?", "answer": ""}\n', "noans.jsonl", "line 1: the answer is empty"),
    ('{"messages": [{"role": "user", "content": "hi"}]}\n', "chat.jsonl",
     "line 1: the last message must be a non-empty assistant reply"),
    ("title,body\nx,y\n", "cols.csv", "must name question and answer"),
    (b"\xff\xfe\x00bad", "bin.jsonl", "is not UTF-8"),
])
def test_bad_pairs_files_give_one_line(tmp_path, content, name, message):
    from engine.train import TrainConfig, prepare

    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SatchelError) as err:
        prepare(TrainConfig(data_file=str(path)))
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert _store_is_empty()


def test_missing_file_and_missing_collection(tmp_path):
    from engine.train import TrainConfig, prepare

    with pytest.raises(SatchelError, match="not found"):
        prepare(TrainConfig(data_file=str(tmp_path / "nope.jsonl")))
    with pytest.raises(SatchelError, match="no collection named 'ghost'"):
        prepare(TrainConfig(collection="ghost"))
    with pytest.raises(SatchelError, match="exactly one training source"):
        prepare(TrainConfig())


def test_pair_longer_than_the_context_is_refused(tmp_path):
    from engine.train import TrainConfig, prepare

    path = tmp_path / "long.jsonl"
    lines = [{"question": f"Question {i}?", "answer": f"Answer {i}."} for i in range(6)]
    lines.insert(3, {"question": "Tell me everything?", "answer": "word " * 400})
    path.write_text("".join(json.dumps(o) + "\n" for o in lines))
    with pytest.raises(SatchelError) as err:
        prepare(TrainConfig(data_file=str(path), overrides={"seq_len": 128}))
    text = str(err.value)
    assert "long.jsonl line 4" in text and "longer than the training context of 128" in text
    assert _store_is_empty()


def _fake_gguf(path: Path, arch: str) -> Path:
    import gguf

    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_block_count(2)
    writer.add_embedding_length(8)
    writer.add_head_count(2)
    writer.add_context_length(128)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_unsupported_architecture_is_refused_up_front(tmp_path):
    from engine.train import TrainConfig, prepare

    model = _fake_gguf(tmp_path / "gemma.gguf", "gemma3")
    with pytest.raises(SatchelError) as err:
        prepare(TrainConfig(data_file=str(QA_PATH), model_path=str(model)))
    assert "cannot train adapters for gemma3 models" in str(err.value)
    assert "llama" in str(err.value) and "qwen2" in str(err.value)
    assert _store_is_empty()


def test_heldout_split_is_stable_and_disjoint():
    from engine.train.data import Example, TrainDataError, split_heldout

    examples = [Example(f"e{i}", text=f"passage number {i} " * 3) for i in range(40)]
    train, held = split_heldout(examples, 0.1)
    assert len(held) == 4 and len(train) == 36
    assert not {e.key() for e in train} & {e.key() for e in held}
    _train2, held2 = split_heldout(list(reversed(examples)) + examples[:5], 0.1)
    assert {e.key() for e in held2} == {e.key() for e in held}  # order and duplicates ignored
    with pytest.raises(TrainDataError, match="too little training data"):
        split_heldout(examples[:3])


def test_control_set_is_general_text():
    from engine.train.data import control_texts

    texts = control_texts()
    assert len(texts) >= 10 and all(len(t) > 80 for t in texts)


# -- packing --------------------------------------------------------------------------------------
def test_chat_loss_is_on_answer_tokens_only(tokenizer):
    from engine.train.data import Example
    from engine.train.packing import IGNORE, encode_chat

    ex = Example("x", messages=(("user", "Who is the director?"),
                                ("assistant", "Ines Marchetti-Okafor")))
    enc = encode_chat(ex, tokenizer)
    learned = [t for t, lab in zip(enc.ids, enc.labels, strict=True) if lab != IGNORE]
    assert tokenizer.decode(learned).startswith("Ines Marchetti-Okafor<|im_end|>")
    prompt = tokenizer.decode(enc.ids[: enc.labels.index(learned[0])])
    assert prompt.endswith("<|im_start|>assistant\n") and "Who is the director?" in prompt
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Who is the director?"},
         {"role": "assistant", "content": "Ines Marchetti-Okafor"}], tokenize=False)
    assert tokenizer.decode(enc.ids) == full

    multi = Example("m", messages=(("user", "A?"), ("assistant", "one"), ("user", "B?"),
                                   ("assistant", "two")))
    enc = encode_chat(multi, tokenizer)
    learned = tokenizer.decode([t for t, lab in zip(enc.ids, enc.labels, strict=True)
                                if lab != IGNORE])
    assert "one" in learned and "two" in learned and "B?" not in learned


def test_packing_wastes_no_padding(tokenizer):
    from engine.train.data import Example
    from engine.train.packing import encode_and_pack

    texts = [Example(f"t{i}", text=f"Short passage {i} about the station. " * (1 + i % 5))
             for i in range(30)]
    blocks = encode_and_pack(texts, tokenizer, 64)
    assert all(len(b) == 64 for b in blocks.ids)
    assert blocks.real_tokens > 64 * (len(blocks) - 1)  # only the last block has filler
    pairs = [Example(f"p{i}", messages=(("user", f"Q{i}?"), ("assistant", "A" * (1 + i))))
             for i in range(12)]
    packed = encode_and_pack(pairs, tokenizer, 256)
    assert len(packed) < len(pairs) / 2  # several pairs share a block
    assert all(len(b) == 256 for b in packed.ids)


def test_packed_pairs_start_at_position_zero_and_text_counts_on(tokenizer):
    """Each pair in a block starts again at position 0 (the trainer masks attention between
    them from this); a text block is one stream, counted on; the filler starts no pair."""
    from engine.train.data import Example
    from engine.train.packing import encode_and_pack

    pairs = [Example(f"p{i}", messages=(("user", f"Question {i}?"), ("assistant", "x" * i)))
             for i in range(1, 7)]
    packed = encode_and_pack(pairs, tokenizer, 256)
    assert len(packed) == 1
    pos = packed.positions[0]
    assert len(pos) == 256
    starts = [i for i, p in enumerate(pos) if p == 0]
    assert len(starts) == len(pairs)  # one fresh start per pair, none in the filler
    used = packed.lengths[0]
    assert all(pos[i + 1] == pos[i] + 1 for i in range(used - 1, 255))  # filler counts on
    assert all(pos[i] == i - max(s for s in starts if s <= i) for i in range(used))
    texts = encode_and_pack([Example("t", text="A passage about the station. " * 40)],
                            tokenizer, 64)
    assert all(p == list(range(64)) for p in texts.positions)


def test_presets_and_estimate():
    from engine.train.presets import PRESETS, estimate_seconds, planned_steps

    assert list(PRESETS) == ["quick", "balanced", "thorough"]
    quick, thorough = PRESETS["quick"], PRESETS["thorough"]
    assert quick.tokens_per_step <= 512  # no gradient checkpointing needed for 135M
    assert planned_steps(quick, 10) == 15 and planned_steps(quick, 10_000) == quick.max_steps
    fast = estimate_seconds(quick, 15, 107e6, threads=2)
    slow = estimate_seconds(thorough, 1500, 107e6, threads=2)
    assert 10 < fast < 600 < slow
    assert estimate_seconds(quick, 15, 107e6, threads=2, tokens_per_s=50.0) > fast  # measured


def test_the_plan_says_when_fewer_questions_were_drafted_than_asked():
    import dataclasses

    from engine.train import TrainConfig, prepare

    plan = prepare(TrainConfig(data_file=str(QA_PATH), name="drafted", max_steps=5))
    assert "drafted" not in plan.describe()  # a pairs file: nothing drafted
    for got, said in ((81, True), (120, False)):
        data = dataclasses.replace(plan.data, source={**plan.data.source, "drafted": got,
                                                      "drafted_asked": 120})
        text = dataclasses.replace(plan, data=data).describe()
        assert ("drafted 81 of the 120 questions asked" in text) is said


def test_the_estimate_uses_the_throughput_measured_on_this_machine():
    from engine.train import TrainConfig, prepare
    from engine.train.speed import KEEP, MIN_SECONDS, _file, measured_tokens_per_s, remember

    _file().unlink(missing_ok=True)  # a cache: another test's run may have timed this set-up
    config = TrainConfig(data_file=str(QA_PATH), name="timed", max_steps=20)
    rough = prepare(config)
    assert not rough.timed_here and "from the last runs" not in rough.describe()
    assert not remember(rough.speed_key, 10.0, MIN_SECONDS - 1)  # too short to time well
    assert measured_tokens_per_s(rough.speed_key) is None
    for tps in (30.0, 10.0, 20.0):
        assert remember(rough.speed_key, tps, 60.0)
    assert measured_tokens_per_s(rough.speed_key) == 20.0  # the median: one slow run is noise
    timed = prepare(config)
    assert timed.timed_here and "from the last runs here" in timed.describe()
    assert timed.estimate_s > rough.estimate_s  # 20 tokens/s is far below the reference
    for _ in range(KEEP):
        remember(rough.speed_key, 1000.0, 60.0)
    assert measured_tokens_per_s(rough.speed_key) == 1000.0  # only the last runs count
    _file().write_text("{not json", encoding="utf-8")
    assert measured_tokens_per_s(rough.speed_key) is None
    assert not prepare(config).timed_here  # a damaged cache brings the rough estimate back
    _file().unlink()


def test_a_reader_is_measured_once_at_its_last_step_whatever_the_step_count():
    from engine.train.presets import PRESETS
    from engine.train.trainer import KIND_OVERRIDES, measured_once_at_end

    reader = KIND_OVERRIDES["reader"]
    quick = PRESETS["quick"].with_overrides(**reader)
    for steps in (10, 64, 200):  # --steps 200 must not bring checks at 64, 128, 192 back
        assert measured_once_at_end(quick, steps, reader, {}).eval_every == steps
    assert measured_once_at_end(quick, 200, reader, {"eval_every": 50}).eval_every == 64
    knowledge = KIND_OVERRIDES["knowledge"]  # facts are memorised: no early stopping either
    assert measured_once_at_end(PRESETS["quick"].with_overrides(**knowledge), 200, knowledge,
                                {}).eval_every == 200
    text = {"eval_every": 20, "max_steps": 300}  # a kind that checks as it goes keeps its checks
    assert measured_once_at_end(PRESETS["quick"].with_overrides(**text), 200, text,
                                {}).eval_every == 20


def test_learning_rate_and_block_order_are_pure_functions():
    from engine.train.presets import PRESETS
    from engine.train.trainer import block_order, learning_rate

    p = PRESETS["quick"]
    lrs = [learning_rate(s, p, 20) for s in range(20)]
    assert max(lrs) == pytest.approx(p.learning_rate, rel=0.01)
    assert lrs[0] < lrs[2] and lrs[-1] < lrs[5] and min(lrs) >= 0.1 * p.learning_rate - 1e-12
    first = [block_order(s, 4, 10, 0) for s in range(5)]
    assert first == [block_order(s, 4, 10, 0) for s in range(5)]
    epoch0 = [i for s in first[:3] for i in s][:10]
    assert sorted(epoch0) == list(range(10))  # each epoch visits every block once


# -- export ---------------------------------------------------------------------------------------
def test_qk_permutation_is_what_transformers_undoes():
    """B rows are permuted like llama.cpp's converter permutes q/k, the inverse of the loader's."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    from engine.train.export import permute_rows

    proc = LlamaTensorProcessor(config={"num_attention_heads": 9, "num_key_value_heads": 3})
    rng = np.random.default_rng(0)
    for rows, heads, kv in ((576, 9, 9), (192, 9, 3)):
        hf = rng.standard_normal((rows, 8)).astype(np.float32)
        gguf_rows = permute_rows(hf, heads, kv)
        np.testing.assert_array_equal(proc._reverse_permute_weights(gguf_rows, heads, kv), hf)
        assert not np.array_equal(gguf_rows, hf)


def test_export_writes_a_llama_cpp_adapter(tmp_path):
    import torch
    from gguf import GGUFReader

    from engine.gguf_info import read_info
    from engine.train.export import write_adapter
    from engine.train.model import LoraTensor

    tensors = [LoraTensor(b, m, torch.randn(4, 16), torch.randn(out, 4))
               for b in range(2) for m, out in (("q_proj", 16), ("k_proj", 8),
                                                ("down_proj", 16))]
    path = write_adapter(tmp_path / "a.gguf", tensors, architecture="llama", alpha=8,
                         n_head=4, n_head_kv=2)
    info = read_info(path)
    assert (info.file_type, info.architecture, info.lora_alpha) == ("adapter", "llama", 8.0)
    reader = GGUFReader(str(path))
    assert bytes(reader.fields["adapter.type"].parts[-1]).decode() == "lora"
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in reader.tensors}
    assert shapes["blk.1.attn_k.weight.lora_a"] == (16, 4)  # GGUF lists dims innermost first
    assert shapes["blk.1.attn_k.weight.lora_b"] == (4, 8)
    assert "blk.0.ffn_down.weight.lora_b" in shapes
    assert not list(tmp_path.glob(".*tmp"))


# -- the store ------------------------------------------------------------------------------------
def _manifest(name: str, sha: str = "0" * 64, **kw):
    from models.adapters import AdapterManifest

    base = dict(name=name, base_model_sha256=sha, base_model_name="base", architecture="llama",
                block_count=30, embedding_length=576, lora_rank=8, lora_alpha=16.0,
                target_modules=["q_proj"], data_source={"kind": "pairs"},
                hyperparameters={"learning_rate": 1e-3}, metrics={"heldout_ppl_after": 3.0},
                created="2026-11-22T00:00:00")
    base.update(kw)
    return AdapterManifest(**base)


def test_store_save_list_get_remove(tmp_path):
    from models import adapters

    src = tmp_path / "x.gguf"
    src.write_bytes(b"GGUF fake")
    entry = adapters.save_adapter("notes", src, _manifest("notes"))
    assert entry.path.read_bytes() == b"GGUF fake"
    assert [e.name for e in adapters.list_adapters()] == ["notes"]
    assert adapters.get_adapter("notes").manifest.metrics == {"heldout_ppl_after": 3.0}
    with pytest.raises(adapters.AdapterError, match="already exists"):
        adapters.save_adapter("notes", src, _manifest("notes"))
    adapters.save_adapter("notes", src, _manifest("notes", lora_rank=4), overwrite=True)
    assert adapters.get_adapter("notes").manifest.lora_rank == 4
    assert adapters.unique_name("notes") == "notes-2"
    with pytest.raises(adapters.AdapterError, match=r"no adapter named 'ghost'.*notes"):
        adapters.get_adapter("ghost")
    with pytest.raises(adapters.AdapterError, match="invalid adapter name"):
        adapters.save_adapter("../evil", src, _manifest("../evil"))
    adapters.remove_adapter("notes")
    assert adapters.list_adapters() == []
    with pytest.raises(adapters.AdapterError):
        adapters.remove_adapter("notes")


def test_store_save_is_atomic(tmp_path, monkeypatch):
    import shutil

    from models import adapters

    src = tmp_path / "x.gguf"
    src.write_bytes(b"GGUF fake")

    def broken_copy(a, b):
        Path(b).write_bytes(b"GG")  # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", broken_copy)
    with pytest.raises(OSError):
        adapters.save_adapter("half", src, _manifest("half"))
    assert _store_is_empty()
    assert adapters.list_adapters() == []


def test_damaged_manifest_is_skipped_in_list_and_explained_by_get(tmp_path):
    from engine import paths
    from models import adapters

    folder = paths.adapters_dir() / "broken"
    folder.mkdir()
    (folder / "adapter.gguf").write_bytes(b"GGUF")
    (folder / "manifest.json").write_text("{not json")
    assert adapters.list_adapters() == []
    with pytest.raises(adapters.AdapterError, match="damaged manifest"):
        adapters.get_adapter("broken")


def test_check_compatible_refuses_other_models(tmp_path):
    from engine.model_files import default_model_path, model_sha256
    from models import adapters

    src = tmp_path / "x.gguf"
    src.write_bytes(b"GGUF fake")
    model = default_model_path()
    good = adapters.save_adapter("good", src, _manifest("good", sha=model_sha256(model)))
    adapters.check_compatible(good, model)
    other = adapters.save_adapter("other", src, _manifest("other", sha="f" * 64))
    with pytest.raises(adapters.AdapterError, match="trained on another model file"):
        adapters.check_compatible(other, model)
    qwen = adapters.save_adapter("qwen", src, _manifest("qwen", architecture="qwen2"))
    with pytest.raises(adapters.AdapterError, match="trained for a qwen2 model"):
        adapters.check_compatible(qwen, model)
    wide = adapters.save_adapter("wide", src, _manifest("wide", embedding_length=1024))
    with pytest.raises(adapters.AdapterError, match="30 layers of width 1024"):
        adapters.check_compatible(wide, model)


# -- CLI ------------------------------------------------------------------------------------------
def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from cli.adapters import add_adapter
    from engine.settings import Settings

    parser = argparse.ArgumentParser(prog="satchel")
    add_adapter(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    args.settings = Settings()
    try:
        code = args.handler(args)
    except SatchelError as exc:
        print(f"satchel: error: {exc}", file=__import__("sys").stderr)
        code = 2
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_list_remove_and_bad_data(tmp_path, capsys):
    from models import adapters

    code, out, _ = _cli(["adapter", "list", "--json"], capsys)
    assert code == 0 and json.loads(out) == []
    src = tmp_path / "x.gguf"
    src.write_bytes(b"GGUF fake")
    adapters.save_adapter("notes", src, _manifest("notes"))
    code, out, _ = _cli(["adapter", "list", "--json"], capsys)
    listed = json.loads(out)
    assert listed == [{"name": "notes", "kind": "pairs",
                       "path": str(adapters.get_adapter("notes").path),
                       "base_model": "base", "created": "2026-11-22T00:00:00",
                       "metrics": {"heldout_ppl_after": 3.0}}]
    code, out, _ = _cli(["adapter", "list"], capsys)
    assert "notes (pairs): base base" in out
    code, out, _ = _cli(["adapter", "remove", "notes"], capsys)
    assert code == 0 and adapters.list_adapters() == []
    code, _, err = _cli(["adapter", "remove", "notes"], capsys)
    assert code == 2 and "no adapter named 'notes'" in err

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a?", "answer": "b"}\n{oops\n')
    code, _, err = _cli(["adapter", "train", "--data", str(bad), "--json"], capsys)
    assert code == 2 and "bad.jsonl line 2: not valid JSON" in err
    assert err.count("\n") == 1 and _store_is_empty()


# -- generated pairs ------------------------------------------------------------------------------
def test_parse_model_replies():
    from engine.train.generate_qa import parse_answer, parse_question

    assert parse_question("Question: Who leads the station?\nMore text") == \
        "Who leads the station?"
    assert parse_question("**What is the budget?** It is asked often.") == "What is the budget?"
    assert parse_question("No question here.") is None
    assert parse_answer("\n Answer: EUR 4.82 million.\nextra") == "EUR 4.82 million."
    assert parse_answer("   \n") is None


@pytest.mark.slow
def test_generate_qa_drafts_reviewable_pairs(tmp_path, monkeypatch):
    """The bundled model drafts a pair from a passage; the file trains as a pairs file."""
    from engine.jobs import Job
    from engine.train import generate_qa
    from engine.train.data import Example, from_pairs_file

    passage = ("Budget\n\nThe total operating budget for the 2025 financial year was EUR 4.82 "
               "million. Fuel for generators, vessels and vehicles accounted for 31 percent.")
    monkeypatch.setattr(generate_qa, "from_collection",
                        lambda name: [Example("annual_report_2025.pdf p.3", text=passage)])
    job = Job()
    pairs = generate_qa.generate_pairs("sample", count=1, job=job)
    assert len(pairs) == 1 and pairs[0].question.endswith("?") and pairs[0].answer
    assert pairs[0].source == "annual_report_2025.pdf p.3" and job.partial_results == pairs
    out = generate_qa.write_pairs(pairs, tmp_path / "qa.jsonl")
    (example,) = from_pairs_file(out)
    assert example.messages == (("user", pairs[0].question), ("assistant", pairs[0].answer))


def test_damaged_checkpoint_is_refused_not_silently_restarted():
    """--resume over a damaged checkpoint stops with one line before loading the model; a
    run without --resume says it replaces it. The file is left for the user either way."""
    from engine.train import TrainConfig, prepare, run
    from engine.train.checkpoint import CheckpointDamaged, checkpoint_path

    plan = prepare(TrainConfig(data_file=str(QA_PATH), name="damaged", resume=True))
    target = checkpoint_path(plan.checkpoint_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"PK\x03\x04 half a checkpoint")
    assert plan.checkpoint_step() is None and "damaged" in plan.checkpoint_problem()
    with pytest.raises(CheckpointDamaged, match="damaged") as info:
        run(plan)
    assert "\n" not in str(info.value) and "without --resume" in str(info.value)
    assert target.read_bytes() == b"PK\x03\x04 half a checkpoint"
    assert _store_is_empty()
