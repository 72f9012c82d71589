"""The exported adapter computes in llama.cpp what PEFT computes in PyTorch, per architecture.

A tiny random model is written as a GGUF for each supported architecture (llama with grouped
query attention, and qwen2 with its q/k/v biases), with SmolLM2's tokenizer copied in. The same
file is loaded by transformers (for PEFT) and by llama.cpp; a LoRA with random A and B goes
through :func:`engine.train.export.write_adapter`; logits must match with the adapter off and on.
A q/k permutation mistake makes them differ by orders of magnitude more than float noise, which
the llama case checks by exporting once without it.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

HIDDEN, HEADS, KV_HEADS, FFN, LAYERS = 64, 4, 2, 96, 2


def _copy_tokenizer(writer, source: Path) -> int:
    from gguf import GGUFReader, GGUFValueType

    reader = GGUFReader(str(source))
    vocab = 0
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        kind = field.types[0]
        if kind == GGUFValueType.STRING:
            writer.add_string(key, bytes(field.parts[field.data[0]]).decode())
        elif kind == GGUFValueType.ARRAY and field.types[1] == GGUFValueType.STRING:
            values = [bytes(field.parts[i]).decode() for i in field.data]
            writer.add_array(key, values)
            vocab = max(vocab, len(values)) if key.endswith("tokens") else vocab
        elif kind == GGUFValueType.ARRAY:
            writer.add_array(key, [int(field.parts[i][0]) for i in field.data])
        elif kind == GGUFValueType.BOOL:
            writer.add_bool(key, bool(field.parts[field.data[0]][0]))
        elif kind == GGUFValueType.UINT32:
            writer.add_uint32(key, int(field.parts[field.data[0]][0]))
    return vocab


def build_tiny_gguf(path: Path, arch: str) -> Path:
    """A 2-layer random model of ``arch`` as a float32 GGUF llama.cpp and transformers both load."""
    import gguf

    from engine.model_files import default_model_path

    rng = np.random.default_rng(7)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_name(f"tiny-{arch}")
    writer.add_context_length(256)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_block_count(LAYERS)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    vocab = _copy_tokenizer(writer, default_model_path())

    def w(*shape: int, scale: float = 0.08) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    embed = w(vocab, HIDDEN, scale=0.5)
    writer.add_tensor("token_embd.weight", embed)
    writer.add_tensor("output.weight", embed.copy())  # same values whether tied or not
    writer.add_tensor("output_norm.weight", np.ones(HIDDEN, dtype=np.float32))
    kv = KV_HEADS * HIDDEN // HEADS
    for b in range(LAYERS):
        writer.add_tensor(f"blk.{b}.attn_norm.weight", np.ones(HIDDEN, dtype=np.float32))
        writer.add_tensor(f"blk.{b}.ffn_norm.weight", np.ones(HIDDEN, dtype=np.float32))
        writer.add_tensor(f"blk.{b}.attn_q.weight", w(HIDDEN, HIDDEN, scale=0.3))
        writer.add_tensor(f"blk.{b}.attn_k.weight", w(kv, HIDDEN, scale=0.3))
        writer.add_tensor(f"blk.{b}.attn_v.weight", w(kv, HIDDEN))
        writer.add_tensor(f"blk.{b}.attn_output.weight", w(HIDDEN, HIDDEN))
        writer.add_tensor(f"blk.{b}.ffn_gate.weight", w(FFN, HIDDEN))
        writer.add_tensor(f"blk.{b}.ffn_up.weight", w(FFN, HIDDEN))
        writer.add_tensor(f"blk.{b}.ffn_down.weight", w(HIDDEN, FFN))
        if arch == "qwen2":
            writer.add_tensor(f"blk.{b}.attn_q.bias", w(HIDDEN))
            writer.add_tensor(f"blk.{b}.attn_k.bias", w(kv))
            writer.add_tensor(f"blk.{b}.attn_v.bias", w(kv))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _llama_logits(model_path: Path, adapter: Path | None, tokens: list[int]) -> np.ndarray:
    import llama_cpp

    llm = llama_cpp.Llama(str(model_path), n_ctx=64, n_batch=64, logits_all=True, n_threads=2,
                          verbose=False)
    handle = None
    try:
        if adapter is not None:
            handle = llama_cpp.llama_adapter_lora_init(llm._model.model, str(adapter).encode())
            assert handle
            arr = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
            assert llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, arr, 1,
                                                     (ctypes.c_float * 1)(1.0)) == 0
        llm.reset()
        llm.eval(tokens)
        return np.array(llm.scores[: len(tokens)], dtype=np.float64)
    finally:
        if handle is not None:
            llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
            llama_cpp.llama_adapter_lora_free(handle)
        llm.close()


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_adapter_logits_match_pytorch(tmp_path, arch, monkeypatch):
    import torch

    from engine.train import export
    from engine.train.model import (
        add_lora,
        check_architecture,
        load_model,
        load_tokenizer,
        lora_parameters,
        lora_tensors,
    )
    from engine.train.presets import ALL_TARGETS

    model_path = build_tiny_gguf(tmp_path / f"tiny-{arch}.gguf", arch)
    info = check_architecture(model_path)
    assert (info.architecture, info.head_count, info.head_count_kv) == (arch, HEADS, KV_HEADS)
    tokens = load_tokenizer(model_path).encode(
        "The winter crew at Halcyon Reach numbered 27 people.", add_special_tokens=False)
    peft_model = add_lora(load_model(model_path), 4, 8, ALL_TARGETS, 0.0, seed=0)
    lora = lora_parameters(peft_model)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in lora.items():
            if "lora_B" in name:
                param.normal_(0.0, 0.3)
    ids = torch.tensor([tokens])
    with torch.no_grad():
        adapted = peft_model(input_ids=ids).logits[0].double().numpy()
        with peft_model.disable_adapter():
            base = peft_model(input_ids=ids).logits[0].double().numpy()
    tensors = lora_tensors({k: v.detach() for k, v in lora.items()})
    assert len(tensors) == 7 * LAYERS
    out = export.write_adapter(tmp_path / "adapter.gguf", tensors, architecture=arch, alpha=8,
                               n_head=HEADS, n_head_kv=KV_HEADS)

    # llama.cpp keeps its KV cache in f16, so even the base differs from PyTorch by float noise.
    noise = np.abs(_llama_logits(model_path, None, tokens) - base).max()
    assert noise < 0.1
    tolerance = max(3 * noise, 0.02)
    effect = np.abs(adapted - base).max()
    assert effect > 20 * tolerance  # the adapter changes the logits a lot...
    error = np.abs(_llama_logits(model_path, out, tokens) - adapted).max()
    assert error < tolerance, (error, noise, effect)  # ...and llama.cpp applies exactly that

    if arch == "llama":  # the check is sharp: without the q/k permutation it fails
        monkeypatch.setitem(export.SUPPORTED_ARCHITECTURES, "llama", False)
        wrong = export.write_adapter(tmp_path / "wrong.gguf", tensors, architecture=arch,
                                     alpha=8, n_head=HEADS, n_head_kv=KV_HEADS)
        assert np.abs(_llama_logits(model_path, wrong, tokens) - adapted).max() > 10 * tolerance
