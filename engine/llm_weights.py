"""The weights file llama.cpp runs: the model's own file, or a Q8_0 copy of a small Q4_1 model.

Why: llama.cpp (the CPU build Satchel ships) has no batched matrix kernel for Q4_1, the format
of the bundled SmolLM2-135M, so a prompt is evaluated at about 220 tokens/s on 2 cores. It has
one for Q8_0: the same prompt runs 1.6x faster, and generation is as fast (the 135M model is
too small to be limited by the bigger file). Prompt evaluation is about half of a RAG answer's
time, so answers start sooner. Measured (2 cores, 176-token prompt, then 40 tokens): Q4_1 0.81 s
+ 12.6 ms/token, Q8_0 0.52 s + 13.0 ms/token; on the development question set RAG answered as
often (72%, median latency 2.0 s -> 1.4 s) and the reader adapter too (82%, 2.0 s -> 1.7 s).

Q8_0 stores every Q4_1 weight to within 1/254 of its block's largest weight, so the copy is
near-lossless; it is made with llama.cpp's own quantizer (0.8 s for the 135M model), cached per
model file, and is deterministic. The model's identity stays the original file: adapters are
trained against it, checked against its sha256, and apply to the copy unchanged (a LoRA adds to
the base weights whatever their storage). Only small models are copied: a large model's
generation is limited by memory bandwidth, where a file 1.6x bigger would be slower.

A copy that cannot be made (read-only disk, disk full) is not an error: the original runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from engine import paths

log = logging.getLogger(__name__)

#: Bump when the copy's recipe changes: old copies are then made again.
FORMAT = 1
#: Points the cache somewhere shared (the test suite, so each test does not convert again).
ENV_CACHE = "SATCHEL_WEIGHTS_CACHE"
#: Quantizations that run faster as a Q8_0 copy (no batched kernel of their own on the CPU).
SLOW_FORMATS = frozenset({"Q4_1"})
#: Largest model file copied: beyond, generation is memory-bound and the bigger copy would slow it.
MAX_COPY_BYTES = 512 * 1024 * 1024

_lock = threading.Lock()


def cache_root() -> Path:
    """Where the copies live: ``$SATCHEL_WEIGHTS_CACHE`` or the data dir's cache."""
    return paths.derived_cache("weights", ENV_CACHE)


def wants_copy(quantization: str | None, size_bytes: int) -> bool:
    """Whether a model of this quantization and size runs faster as a Q8_0 copy."""
    return quantization in SLOW_FORMATS and 0 < size_bytes <= MAX_COPY_BYTES


def copy_path(model: Path) -> Path:
    """The copy's file: named after the model and what identifies its bytes and the recipe."""
    import llama_cpp

    stat = model.stat()
    key = hashlib.sha256(f"{FORMAT}|{llama_cpp.__version__}|{model.resolve()}|{stat.st_size}|"
                         f"{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_root() / f"{model.stem[:60]}-{key}.q8_0.gguf"


def runtime_weights(model: Path, quantization: str | None, size_bytes: int) -> Path:
    """The file llama.cpp should load for ``model``: its Q8_0 copy (made now if missing) when
    that runs faster, else ``model`` itself. Never raises for a copy that cannot be made."""
    if not wants_copy(quantization, size_bytes):
        return model
    try:
        target = copy_path(model)
        with _lock:
            if not target.is_file():
                _convert(model, target)
        return target
    except (OSError, RuntimeError) as exc:
        log.warning("running %s as it is: its faster Q8_0 copy could not be made (%s)",
                    model.name, exc)
        return model


def _convert(model: Path, target: Path) -> None:
    """Write the Q8_0 copy to a private temporary file, then rename it into place (another
    process converting at the same time renames an identical file over it)."""
    import ctypes

    import llama_cpp
    from llama_cpp._logger import set_verbose

    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = max(1, min(4, os.cpu_count() or 1))
    set_verbose(False)  # the quantizer logs every tensor through llama.cpp's log callback
    try:
        code = llama_cpp.llama_model_quantize(str(model).encode(), str(work).encode(),
                                              ctypes.byref(params))
        if code != 0 or not work.is_file():
            raise RuntimeError(f"llama.cpp's quantizer returned {code}")
        os.replace(work, target)
        log.info("made a Q8_0 copy of %s for faster prompts: %s", model.name, target)
    finally:
        work.unlink(missing_ok=True)
