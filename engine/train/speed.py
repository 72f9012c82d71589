"""Training throughput measured on this machine, remembered for the next run's estimate.

Why: the estimate shown before a run (:func:`engine.train.presets.estimate_seconds`) models
"this class of machine" from reference figures, and machines differ more than the model
allows. On a 2-core AMD EPYC with native bf16 it said "3 min 38 s" for a reader whose steps
took 6 minutes (171 tokens/s measured against 360 assumed), and "5 min 52 s" for a knowledge
adapter that trained for 7.9 minutes (228 tokens/s). After one run the machine has told us its
speed: the next estimate for the same model, precision, thread count and kind of data uses it.

The file is a cache (``cache/train/speed.json``): deleting it only brings back the rough
estimate. Runs too short to time well (tests, a few steps) are not remembered.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from engine import paths

#: A run is remembered only when it trained this long: shorter ones are mostly start-up noise.
MIN_SECONDS = 30.0
#: Measurements kept per key; the estimate uses their median (a shared machine is noisy).
KEEP = 5


def _file() -> Path:
    return paths.cache_dir() / "train" / "speed.json"


def speed_key(model_sha256: str, precision: str, threads: int, kind: str) -> str:
    """What a throughput depends on: the model, bf16/fp32, threads, and the kind of data
    (a reader's one prompt per block runs slower per token than packed text)."""
    return f"{model_sha256[:16]}|{precision}|{threads}|{kind}"


def _load() -> dict[str, list[float]]:
    try:
        raw = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: [float(x) for x in v if isinstance(x, int | float) and x > 0]
            for k, v in raw.items() if isinstance(v, list)}


def measured_tokens_per_s(key: str) -> float | None:
    """The median of the throughputs remembered for ``key``; None when there are none."""
    values = _load().get(key)
    return statistics.median(values) if values else None


def remember(key: str, tokens_per_s: float, train_seconds: float) -> bool:
    """Remember one run's throughput (data tokens per second of training steps).

    Returns whether it was kept. A cache that cannot be written is not an error: the next
    estimate is only rougher.
    """
    if train_seconds < MIN_SECONDS or not tokens_per_s > 0:
        return False
    data = _load()
    data[key] = [*data.get(key, []), round(float(tokens_per_s), 1)][-KEEP:]
    try:
        paths.atomic_write_text(_file(), json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        return False
    return True
