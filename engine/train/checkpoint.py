"""Training checkpoints: everything needed to continue a run as if it had never stopped.

Why so much state: "resume gives the same adapter as an uninterrupted run" only holds if the
resumed run sees the same weights, the same optimizer moments, the same learning rate, the same
next batch and the same random stream. So a checkpoint holds the LoRA tensors, AdamW's state, the
step (from which the data position and the learning rate are recomputed: both are pure functions
of the step), torch's RNG state, and the early-stopping state (best weights, best loss, patience
count, history). The file is replaced atomically (temp file, fsync, rename), so a kill -9 during
a save leaves the previous checkpoint intact.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import SatchelError
from engine.paths import atomic_target

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = 1


class CheckpointDamaged(SatchelError):
    """The run's checkpoint exists but cannot be read: resuming from it is impossible, and
    starting over silently would throw away the user's training time without a word."""


@dataclass
class TrainState:
    """The loop's mutable state besides tensors owned by the model and optimizer."""

    step: int = 0
    best_loss: float = float("inf")
    best_step: int = 0
    best_weights: dict[str, Any] | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    train_tokens: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    before: dict[str, float] = field(default_factory=dict)
    last_heldout: float | None = None


def checkpoint_path(folder: Path) -> Path:
    return folder / CHECKPOINT_FILE


def save(folder: Path, run_id: str, state: TrainState, lora: dict[str, Any],
         optimizer: Any) -> Path:
    """Write the checkpoint for ``state.step`` atomically."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    target = checkpoint_path(folder)
    payload = {
        "format": FORMAT,
        "run_id": run_id,
        "lora": {k: v.detach().clone() for k, v in lora.items()},
        "optimizer": optimizer.state_dict(),
        "rng": torch.get_rng_state(),
        "state": {
            "step": state.step, "best_loss": state.best_loss, "best_step": state.best_step,
            "best_weights": state.best_weights, "bad_evals": state.bad_evals,
            "stopped_early": state.stopped_early, "train_tokens": state.train_tokens,
            "train_seconds": state.train_seconds, "history": state.history,
            "before": state.before, "last_heldout": state.last_heldout,
        },
    }
    with atomic_target(target) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)
    return target


def load(folder: Path, run_id: str) -> dict[str, Any] | None:
    """The checkpoint of run ``run_id`` in ``folder``, or None when there is none (or it belongs
    to another run or format). Raises :class:`CheckpointDamaged` for a file that cannot be read.
    """
    import torch

    path = checkpoint_path(folder)
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, overwritten, not a torch file...
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else \
            type(exc).__name__
        raise CheckpointDamaged(f"the checkpoint {path} is damaged ({reason}); run without "
                                "--resume to start this training over") from None
    if not isinstance(payload, dict) or not {"lora", "optimizer", "rng", "state"} <= set(
            payload):
        raise CheckpointDamaged(f"the checkpoint {path} is damaged (missing fields); run "
                                "without --resume to start this training over")
    if payload.get("format") != FORMAT or payload.get("run_id") != run_id:
        return None
    return payload


def restore(payload: dict[str, Any], lora: dict[str, Any], optimizer: Any) -> TrainState:
    """Put a loaded checkpoint back into the LoRA tensors, the optimizer and torch's RNG."""
    import torch

    with torch.no_grad():
        for name, param in lora.items():
            param.copy_(payload["lora"][name])
    optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["rng"])
    return TrainState(**payload["state"])


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
