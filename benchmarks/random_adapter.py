"""A random (untrained) LoRA adapter for the bundled model, for tests and benchmarks.

Cheap (about a second, no torch) and real as far as the runtime is concerned: the adapter store
checks its manifest, llama.cpp loads it, and the adapter modes switch it on and off. Training a
real one takes minutes on two cores; the runtime, the modes and evaluation do not care how the
weights were made. It changes answers arbitrarily.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from engine import paths


def write_random_lora(path: Path, *, architecture: str, width: int, blocks: int, rank: int = 4,
                      std: float = 0.1, seed: int = 0) -> Path:
    """Write a LoRA GGUF on every ``attn_output`` (``width`` x ``width``) of ``blocks`` layers."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch=architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
    for block in range(blocks):
        writer.add_tensor(f"blk.{block}.attn_output.weight.lora_a",
                          rng.normal(0, std, (rank, width)).astype(np.float32))
        writer.add_tensor(f"blk.{block}.attn_output.weight.lora_b",
                          rng.normal(0, std, (width, rank)).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def make_random_adapter(name: str, rank: int = 4, std: float = 0.1, seed: int = 0,
                        kind: str = "random (untrained)") -> str:
    """Store a random LoRA for the bundled model, with a matching manifest; returns its name.
    ``kind``: what its manifest says it was trained as ("reader" stands in for a reader)."""
    from engine.gguf_info import read_info
    from engine.model_files import default_model_path, model_sha256
    from models.adapters import AdapterManifest, save_adapter

    model = default_model_path()
    info = read_info(model)
    width = int(info.embedding_length or 0)
    folder = paths.cache_dir() / f"random-adapter-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path = write_random_lora(folder / "adapter.gguf", architecture=info.architecture,
                                 width=width, blocks=int(info.block_count or 0), rank=rank,
                                 std=std, seed=seed)
        manifest = AdapterManifest(
            name=name, base_model_sha256=model_sha256(model), base_model_name=info.name or "",
            architecture=info.architecture, block_count=int(info.block_count or 0),
            embedding_length=width, lora_rank=rank, lora_alpha=float(rank),
            target_modules=["o_proj"], data_source={"kind": kind},
            created=time.strftime("%Y-%m-%dT%H:%M:%S"))
        save_adapter(name, path, manifest, overwrite=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return name
