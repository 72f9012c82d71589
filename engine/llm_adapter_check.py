"""Refuse a LoRA adapter built for another model before llama.cpp sees it (it may abort).

Read from the GGUF headers only (no weights are loaded): the adapter's kind and architecture,
then every lora_a / lora_b pair against the shape of the weight it adapts.
"""

from __future__ import annotations

import functools
from pathlib import Path

from engine.gguf_info import GGUFInfo, ModelFileError, read_info
from engine.llm import LLMError


def _tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape (GGUF order: ne0 = input width first) of every tensor in a GGUF file."""
    st = path.stat()
    return _tensor_shapes_of(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _tensor_shapes_of(path: str, size: int, mtime_ns: int) -> dict[str, tuple[int, ...]]:
    """Cached by size and mtime (a 4 GB model's table is read once per file version)."""
    from engine.gguf_header import read_header

    return {t.name: t.shape for t in read_header(Path(path)).tensors}


def verify_adapter_file(path: Path, model: GGUFInfo) -> None:
    """Refuse an adapter built for another model before llama.cpp sees it (it may abort).

    The file must be a LoRA adapter GGUF for the same architecture, and every ``lora_a`` /
    ``lora_b`` pair must fit a weight the model has: A's input width equals the weight's input
    width, B's output width equals the weight's output width, A and B share one rank.
    """
    try:
        info = read_info(path)
    except ModelFileError as exc:
        raise LLMError(f"adapter unusable: {exc}") from None
    if info.file_type != "adapter":
        raise LLMError(f"{path.name} is not a LoRA adapter (general.type={info.file_type})")
    if info.architecture != model.architecture:
        raise LLMError(f"adapter {path.name} was made for a {info.architecture} model, but the "
                       f"loaded model is {model.architecture}")
    adapter = _tensor_shapes(path)
    weights = _tensor_shapes(Path(model.path))
    other = "it was made for another model"
    for name, a_shape in sorted(adapter.items()):
        if not name.endswith(".lora_a"):
            continue
        base = name[: -len(".lora_a")]
        b_shape = adapter.get(base + ".lora_b")
        w_shape = weights.get(base)
        if w_shape is None:
            raise LLMError(f"adapter {path.name} adapts {base}, which the loaded model does not "
                           f"have: {other}")
        if b_shape is None or len(a_shape) != 2 or len(b_shape) != 2 or a_shape[1] != b_shape[0]:
            raise LLMError(f"adapter {path.name} is damaged: {base} has no matching "
                           "lora_a/lora_b pair")
        if a_shape[0] != w_shape[0] or b_shape[1] != w_shape[1]:
            raise LLMError(f"adapter {path.name} expects {base} of {a_shape[0]} x {b_shape[1]} "
                           f"but the loaded model's is {w_shape[0]} x {w_shape[1]}: {other}")
