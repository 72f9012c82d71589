"""Training presets (quick / balanced / thorough) and the duration estimate shown before a run.

Why presets: a user who wants "the model should know my documents" cannot pick a LoRA rank or a
learning rate, but can pick "quick" and see "about 3 minutes". Every field can still be overridden
(``--steps``; the GUI's advanced panel). The numbers were chosen on SmolLM2-135M on 2 CPU cores:

* all seven linear kinds get a LoRA (attention and MLP): on a small model, MLP-only or
  attention-only adapters learned facts markedly slower per step;
* ``lora_dropout`` is 0: dropout on the LoRA input makes PEFT keep one extra activation copy per
  adapted layer (memory and time) and brought nothing on corpora this small;
* a scale of alpha / rank = 2 with a high learning rate for "quick" (few steps must move the
  weights), lower for longer runs where early stopping has room to work.

The first estimate is rough on purpose (within a factor of about 1.5): it assumes the throughput
this trainer measured on this class of machine, scaled by the model's size and the thread count.
Once a run has trained on the machine, the throughput it measured is used instead
(:mod:`engine.train.speed`).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace
from typing import Any

#: Satchel's LoRA target kinds, by llama.cpp tensor name -> transformers module name.
TARGET_KINDS: dict[str, str] = {
    "attn_q": "q_proj", "attn_k": "k_proj", "attn_v": "v_proj", "attn_output": "o_proj",
    "ffn_gate": "gate_proj", "ffn_up": "up_proj", "ffn_down": "down_proj",
}
ALL_TARGETS: tuple[str, ...] = tuple(TARGET_KINDS.values())

#: Training tokens per second per core for a model of REFERENCE_PARAMS non-embedding parameters,
#: measured with this trainer (SmolLM2-135M: 107M non-embedding parameters, fp32, packed).
REFERENCE_TOKENS_PER_S_PER_CORE = 100.0
REFERENCE_PARAMS = 107e6
#: bfloat16 autocast on a CPU with native bf16. A linear layer ran 2.3x faster on Zen 4, but
#: whole training steps on a 2-core AMD EPYC with native bf16 ran at 150-228 data tokens/s
#: (readers 150-215, knowledge 228), the fp32 reference rate: 1.8 made every estimate there
#: about half the real time. Counted as no speedup; after one run, the throughput measured on
#: the machine replaces the reference (engine.train.speed).
BF16_SPEEDUP = 1.0
#: Seconds to import torch/transformers and load + dequantize a GGUF base per 100M parameters
#: (measured 21.4 s for SmolLM2-135M on 2 cores).
LOAD_S_PER_100M = 20.0
#: Held-out/control evaluation runs about as fast per token as a training step here (measured:
#: a quick run spent ~15 s outside load and steps, where "forward-only is 3x faster" gave 3 s).
EVAL_SPEEDUP = 1.0


@dataclass(frozen=True)
class Preset:
    """Hyper-parameters of one training run."""

    name: str
    lora_rank: int
    lora_alpha: float
    target_modules: tuple[str, ...]
    learning_rate: float
    epochs: float
    max_steps: int
    seq_len: int
    micro_batch: int
    grad_accum: int
    warmup_steps: int
    eval_every: int
    checkpoint_every: int
    patience: int  # evaluations without held-out improvement before stopping early
    weight_decay: float = 0.0
    lora_dropout: float = 0.0
    seed: int = 0

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.micro_batch * self.grad_accum

    def with_overrides(self, **changes: Any) -> Preset:
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        return data


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", lora_rank=8, lora_alpha=16, target_modules=ALL_TARGETS,
                    learning_rate=1e-3, epochs=3, max_steps=60, seq_len=256, micro_batch=2,
                    grad_accum=1, warmup_steps=3, eval_every=10, checkpoint_every=10,
                    patience=2),
    "balanced": Preset("balanced", lora_rank=16, lora_alpha=32, target_modules=ALL_TARGETS,
                       learning_rate=5e-4, epochs=4, max_steps=300, seq_len=512,
                       micro_batch=2, grad_accum=2, warmup_steps=10, eval_every=20,
                       checkpoint_every=20, patience=3),
    "thorough": Preset("thorough", lora_rank=32, lora_alpha=64, target_modules=ALL_TARGETS,
                       learning_rate=3e-4, epochs=8, max_steps=1500, seq_len=512,
                       micro_batch=2, grad_accum=4, warmup_steps=30, eval_every=40,
                       checkpoint_every=40, patience=4),
}
DEFAULT_PRESET = "quick"


def get_preset(name: str) -> Preset:
    from engine.train.data import TrainDataError

    if name not in PRESETS:
        raise TrainDataError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def cpu_threads() -> int:
    """Threads to train with: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def planned_steps(preset: Preset, train_blocks: int) -> int:
    """Optimizer steps for ``epochs`` over ``train_blocks`` packed sequences, capped."""
    per_epoch = max(1, math.ceil(train_blocks / (preset.micro_batch * preset.grad_accum)))
    return max(1, min(preset.max_steps, math.ceil(per_epoch * preset.epochs)))


def estimate_tokens_per_s(body_params: float, threads: int | None = None, *,
                          bf16: bool = False) -> float:
    """Expected training throughput for a model with ``body_params`` non-embedding parameters."""
    threads = threads or cpu_threads()
    base = REFERENCE_TOKENS_PER_S_PER_CORE * (BF16_SPEEDUP if bf16 else 1.0)
    return base * threads * REFERENCE_PARAMS / max(body_params, 1e6)


def estimate_seconds(preset: Preset, steps: int, body_params: float, *, eval_tokens: int = 0,
                     threads: int | None = None, include_load: bool = True,
                     bf16: bool = False, fill: float = 1.0,
                     tokens_per_s: float | None = None) -> float:
    """Rough wall time for a run: load + training steps + evaluations.

    ``fill``: the share of each block that is data. The trainer trims a micro-batch's filler,
    so one short example per block (reader adapters) costs its own length, not the block's.
    ``tokens_per_s``: the throughput measured on this machine (:mod:`engine.train.speed`),
    when known, instead of the reference model's.
    """
    tps = tokens_per_s or estimate_tokens_per_s(body_params, threads, bf16=bf16)
    train_s = steps * preset.tokens_per_step * min(1.0, max(fill, 0.05)) / tps
    n_evals = steps // max(1, preset.eval_every) + 2  # periodic + before + after
    eval_s = n_evals * eval_tokens / (EVAL_SPEEDUP * tps)
    load_s = LOAD_S_PER_100M * body_params / 1e8 if include_load else 0.0
    return load_s + train_s + eval_s
