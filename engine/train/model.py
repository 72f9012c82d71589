"""The base model for training: the user's GGUF, loaded by transformers, with LoRA layers on top.

Why load the GGUF itself instead of the original checkpoint: the adapter must be trained against
exactly the weights llama.cpp will run. transformers dequantizes the GGUF (so a Q4 model trains as
its dequantized float32 copy, which is what llama.cpp's quantized matmuls approximate), and no hub
download is ever needed. Only architectures whose tensor layout we export correctly are accepted:
an adapter for any other one would load in llama.cpp and silently compute garbage, so it is
refused before anything is loaded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import SatchelError
from engine.gguf_info import GGUFInfo, ModelFileError

#: GGUF architecture -> does llama.cpp's converter permute q/k rows for it (see export.py)?
SUPPORTED_ARCHITECTURES: dict[str, bool] = {"llama": True, "qwen2": False}


class TrainModelError(SatchelError):
    """A base model Satchel cannot train an adapter for; one line for the user."""


def check_architecture(model_path: Path) -> GGUFInfo:
    """Read the GGUF header and refuse, up front, models we cannot train or export for."""
    try:
        info = _read(model_path)
    except ModelFileError as exc:
        raise TrainModelError(str(exc)) from None
    if info.file_type == "adapter":
        raise TrainModelError(f"{Path(model_path).name} is a LoRA adapter, not a base model")
    if info.architecture not in SUPPORTED_ARCHITECTURES:
        supported = ", ".join(SUPPORTED_ARCHITECTURES)
        raise TrainModelError(
            f"cannot train adapters for {info.architecture} models ({Path(model_path).name}); "
            f"Satchel trains {supported} models (SmolLM2, Llama, Mistral-style, Qwen2)")
    if not info.block_count or not info.embedding_length or not info.head_count:
        raise TrainModelError(f"{Path(model_path).name} lacks layer/width/head counts in its "
                              "header; cannot train an adapter for it")
    return info


def _read(model_path: Path) -> GGUFInfo:
    from engine.gguf_info import read_info

    return read_info(model_path)


def load_tokenizer(model_path: Path) -> Any:
    """The GGUF's own tokenizer and chat template, through transformers (no hub access)."""
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model_path.parent), gguf_file=model_path.name)
    except Exception as exc:  # transformers raises many kinds for unsupported GGUF content
        raise TrainModelError(f"cannot read the tokenizer of {model_path.name}: "
                              f"{_first_line(exc)}") from None
    if tok.eos_token_id is None:
        raise TrainModelError(f"{model_path.name} has no end-of-sequence token")
    return tok


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def load_model(model_path: Path) -> Any:
    """The float32 (dequantized) causal LM, frozen, in eval mode (no dropout in the base)."""
    import torch
    from transformers import AutoModelForCausalLM
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # The GGUF dequantization loop has its own tqdm bar, which would garble the CLI's progress
    # display and start tqdm's monitor thread; the Job reports progress instead.
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    gguf_utils.tqdm = lambda iterable, *args, **kwargs: iterable
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(model_path.parent), gguf_file=model_path.name, dtype=torch.float32)
    except Exception as exc:
        raise TrainModelError(f"cannot load {model_path.name} for training: "
                              f"{_first_line(exc)}") from None
    finally:
        gguf_utils.tqdm = gguf_tqdm
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    model.requires_grad_(False)
    model.eval()
    model.config.use_cache = False
    return model


def body_parameters(info: GGUFInfo) -> float:
    """Parameters that cost compute per token (everything but the embedding lookup)."""
    embed = (info.vocab_size or 0) * (info.embedding_length or 0)
    return float(max(info.parameters - embed, info.parameters // 2))


def add_lora(model: Any, rank: int, alpha: float, targets: tuple[str, ...],
             dropout: float, seed: int) -> Any:
    """Wrap ``model`` with PEFT LoRA layers; the initial A matrices depend only on ``seed``."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(targets), bias="none", task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # PEFT reads a property transformers deprecated: its
        # FutureWarning printed over every `adapter train` progress bar, and is not the user's
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing",
                                category=FutureWarning)
        return get_peft_model(model, config)


def lora_parameters(peft_model: Any) -> dict[str, Any]:
    """Trainable LoRA tensors by a stable name (the checkpoint and export key on it)."""
    return {name: p for name, p in peft_model.named_parameters() if p.requires_grad}


@dataclass
class LoraTensor:
    """One adapted linear layer: which block, which kind, and its A (r x in) / B (out x r)."""

    block: int
    module: str  # transformers name: q_proj, ..., down_proj
    a: Any  # torch tensor
    b: Any


def lora_tensors(state: dict[str, Any]) -> list[LoraTensor]:
    """Group a LoRA state dict (``...layers.N.self_attn.q_proj.lora_A.default.weight``) by layer."""
    import re

    pattern = re.compile(r"layers\.(\d+)\.[a-z_]+\.([a-z_]+)\.lora_([AB])\.")
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for name, tensor in state.items():
        m = pattern.search(name)
        if not m:
            raise ValueError(f"unexpected LoRA tensor name {name}")
        found.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = tensor
    out = []
    for (block, module), pair in sorted(found.items()):
        if set(pair) != {"A", "B"}:
            raise ValueError(f"layer {block} {module} lacks lora_A or lora_B")
        out.append(LoraTensor(block, module, pair["A"], pair["B"]))
    return out


def trim_heap() -> None:
    """Hand the C heap's free memory back to the OS (glibc ``malloc_trim``; elsewhere nothing).

    Why: training steps trim their micro-batches to the examples' own lengths, so every step
    allocates tensors of new shapes; glibc kept the freed ones in its arenas and a reader
    adapter's RSS grew from ~2.5 GB to 3.4 GB over 100 steps. Trimming after each step costs
    milliseconds against seconds per step.
    """
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def release_memory() -> None:
    """Collect garbage and trim the heap before a big allocation (the 3 GB peak-RSS target).

    The drafting model and the embedder are gone before training, and the GGUF
    dequantization's temporaries after the model loads, but glibc keeps their freed arenas;
    without this the reader's training process peaked at 3.05 GB instead of under 3 GB.
    """
    import gc

    gc.collect()
    trim_heap()
