"""Train a LoRA adapter on the user's own data, on the CPU, and export it for llama.cpp.

Public API (importing this package is cheap; torch, transformers, peft and gguf load on use)::

    from engine.train import TrainConfig, prepare, run

    plan = prepare(TrainConfig(collection="notes", preset="quick"), job)   # data + estimate
    print(plan.describe())                                                  # shown before start
    result = run(plan, job)          # -> TrainResult(adapter=AdapterEntry, metrics={...})

Modules: ``data`` (sources, held-out split, control set), ``packing`` (tokenize + pack),
``presets`` (quick / balanced / thorough, duration estimate), ``model`` (GGUF base through
transformers, architecture check, PEFT LoRA), ``trainer`` (the loop), ``checkpoint`` (exact
resume), ``export`` (GGUF adapter writer), ``generate_qa`` (pairs drafted by the model itself).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "TrainConfig": "engine.train.trainer",
    "TrainingPlan": "engine.train.trainer",
    "TrainResult": "engine.train.trainer",
    "prepare": "engine.train.trainer",
    "run": "engine.train.trainer",
    "train_adapter": "engine.train.trainer",
    "TrainDataError": "engine.train.data",
    "TrainModelError": "engine.train.model",
    "PRESETS": "engine.train.presets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine.train' has no attribute {name!r}")
