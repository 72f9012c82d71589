"""Write a trained LoRA as a GGUF adapter that llama.cpp loads (``llama_adapter_lora_init``).

The format is what llama.cpp's own ``convert_lora_to_gguf.py`` produces: ``general.type =
adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``; per adapted linear layer two float32
tensors ``blk.N.<kind>.weight.lora_a`` (rank x in) and ``.lora_b`` (out x rank).

The subtle part: for llama-type models, llama.cpp's HF->GGUF converter permutes the rows of the q
and k weights (it interleaves the two rotary halves of every head), and transformers undoes that
permutation when it loads the GGUF for training. The LoRA product B·A adds to those rows, so B's
rows (the output dimension) need the same permutation, with ``n_head`` for q and ``n_head_kv`` for
k. Without it the adapter loads fine and is subtly wrong. qwen2 GGUFs are not permuted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.paths import atomic_target
from engine.train.model import SUPPORTED_ARCHITECTURES, LoraTensor
from engine.train.presets import TARGET_KINDS

#: transformers module name -> llama.cpp tensor kind.
GGUF_KIND: dict[str, str] = {hf: kind for kind, hf in TARGET_KINDS.items()}


def permute_rows(weights: Any, n_head: int, n_head_kv: int | None = None) -> Any:
    """llama.cpp's ``LlamaModel.permute`` on the first axis (numpy array, rows = outputs)."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    if rows % (2 * n_head):
        raise ValueError(f"{rows} rows do not split into {n_head} heads of two halves")
    return (weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def write_adapter(path: Path, tensors: list[LoraTensor], *, architecture: str, alpha: float,
                  n_head: int, n_head_kv: int, name: str = "") -> Path:
    """Write the GGUF adapter to ``path`` atomically (temp file in the same folder, rename)."""
    import gguf
    import numpy as np

    if architecture not in SUPPORTED_ARCHITECTURES:
        raise ValueError(f"no GGUF adapter export for architecture {architecture}")
    permute = SUPPORTED_ARCHITECTURES[architecture]
    with atomic_target(path) as tmp:
        writer = gguf.GGUFWriter(str(tmp), arch=architecture)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        if name:
            writer.add_name(name)
        for t in tensors:
            kind = GGUF_KIND[t.module]
            a = np.ascontiguousarray(t.a.detach().to("cpu").float().numpy())
            b = t.b.detach().to("cpu").float().numpy()
            if permute and kind == "attn_q":
                b = permute_rows(b, n_head, n_head)
            elif permute and kind == "attn_k":
                b = permute_rows(b, n_head, n_head_kv)
            writer.add_tensor(f"blk.{t.block}.{kind}.weight.lora_a", a)
            writer.add_tensor(f"blk.{t.block}.{kind}.weight.lora_b", np.ascontiguousarray(b))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return path
